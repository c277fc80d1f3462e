"""Export to Excel: masked unless the role may reveal and asks; always audited."""

from __future__ import annotations

import io

from openpyxl import load_workbook

from shouwang.core.models import AuditLog
from tests.conftest import Town, login


def _rows(content: bytes) -> list[list[object]]:
    sheet = load_workbook(io.BytesIO(content)).worksheets[0]
    return [list(r) for r in sheet.iter_rows(values_only=True)]


def test_export_is_masked_and_names_who_exported(town: Town) -> None:
    response = login(town.east_worker).post("/people/export/", {})
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    rows = _rows(response.content)
    assert "east" in str(rows[0][0])
    assert rows[2][1:4] == ["张*明", "110105********002X", "138****5678"]
    assert "东风花园 3号楼 2单元" in str(rows[2][4])
    assert len(rows) == 3  # title, header, the one resident of the worker's community
    entry = AuditLog.objects.get(action="roster.export")
    assert entry.actor == town.east_worker
    assert entry.details == {"count": 1, "unmasked": False, "reason": ""}
    assert response["Content-Disposition"].startswith('attachment; filename="residents-2')


def test_full_values_need_a_reason_kept_in_the_audit_and_on_the_file(town: Town) -> None:
    client = login(town.east_worker)
    for blank in ({"unmasked": "1"}, {"unmasked": "1", "reason": "   "}):
        refused = client.post("/people/export/", {**blank, "back": "tag=1"})
        assert refused.status_code == 302
        assert refused["Location"] == "/people/?tag=1"
    assert not AuditLog.objects.filter(action="roster.export").exists()
    assert "说明" in client.get("/people/").content.decode()  # the refusal, in Chinese

    reason = "区疾控中心 流调核对"
    response = client.post("/people/export/", {"unmasked": "1", "reason": reason})
    assert response.status_code == 200
    assert 'filename="residents-unmasked-' in response["Content-Disposition"]
    rows = _rows(response.content)
    assert reason in str(rows[0][0])
    assert rows[2][1:4] == ["张三明", "11010519491231002X", "13812345678"]
    entry = AuditLog.objects.get(action="roster.export")
    assert entry.details == {"count": 1, "unmasked": True, "reason": reason}


def test_a_role_that_may_not_reveal_gets_no_full_export_with_any_reason(town: Town) -> None:
    guard = login(town.gate_guard)
    assert guard.post("/people/export/", {"unmasked": "1", "reason": "x"}).status_code == 403


def test_export_follows_the_list_filters(town: Town) -> None:
    client = login(town.town_operator)
    everyone = _rows(client.post("/people/export/", {}).content)
    assert len(everyone) == 4
    one = _rows(client.post("/people/export/", {"area": town.west_compound.pk}).content)
    assert [r[1] for r in one[2:]] == ["李*"]


def test_export_of_another_community_is_not_found(town: Town) -> None:
    response = login(town.east_worker).post("/people/export/", {"area": town.west_compound.pk})
    assert response.status_code == 404


def test_guard_may_not_export(town: Town) -> None:
    assert login(town.gate_guard).post("/people/export/", {}).status_code == 403
