"""Login everywhere, lockout after repeated failures, session expiry, reveal is audited."""

from __future__ import annotations

import pytest
from django.test import Client

from shouwang.core.models import AuditLog
from tests.conftest import PASSWORD, Town, login


@pytest.mark.parametrize("url", ["/", "/areas/", "/people/", "/households/", "/people/import/"])
def test_every_page_needs_login(db: None, url: str) -> None:
    response = Client().get(url)
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


def test_login_page_and_static_files_are_public(db: None) -> None:
    assert Client().get("/login/").status_code == 200


def test_login_works_with_the_right_password(town: Town) -> None:
    client = Client()
    response = client.post("/login/", {"username": "east", "password": PASSWORD})
    assert response.status_code == 302
    assert client.get("/").status_code == 200


def test_five_failures_lock_the_account_even_for_the_right_password(town: Town) -> None:
    client = Client(REMOTE_ADDR="10.0.0.7")
    for _ in range(5):
        response = client.post("/login/", {"username": "east", "password": "wrong"})
    assert response.status_code in (200, 429)
    locked = client.post("/login/", {"username": "east", "password": PASSWORD})
    assert locked.status_code == 429
    assert client.get("/").status_code == 302  # still not logged in
    # Another account from the same address is not locked by it.
    other = Client(REMOTE_ADDR="10.0.0.7")
    assert other.post("/login/", {"username": "west", "password": PASSWORD}).status_code == 302


def test_sessions_expire(town: Town, settings: object) -> None:
    from django.conf import settings as live

    assert live.SESSION_COOKIE_AGE <= 12 * 3600
    assert live.SESSION_EXPIRE_AT_BROWSER_CLOSE is True


def test_reveal_shows_the_value_and_writes_an_audit_entry(town: Town) -> None:
    client = Client(REMOTE_ADDR="192.0.2.10", HTTP_USER_AGENT="phone")
    client.force_login(town.east_worker)
    page = client.post(f"/people/{town.east_person.pk}/", {"field": "phone"}).content.decode()
    assert 'href="tel:13812345678"' in page
    entry = AuditLog.objects.get(action="person.reveal")
    assert (entry.actor, entry.target_id, entry.ip, entry.source, entry.user_agent) == (
        town.east_worker,
        str(town.east_person.pk),
        "192.0.2.10",
        "web",
        "phone",
    )
    assert entry.details["field"] == "phone"
    api = client.post(
        f"/api/v1/people/{town.east_person.pk}/reveal",
        {"field": "id_number", "reason": "核对身份"},
        content_type="application/json",
    )
    assert api.json() == {"field": "id_number", "value": "11010519491231002X"}
    assert AuditLog.objects.filter(action="person.reveal", source="api").count() == 1


def test_person_page_shows_masked_values_only(town: Town) -> None:
    page = login(town.east_worker).get(f"/people/{town.east_person.pk}/").content.decode()
    assert "138****5678" in page
    assert "13812345678" not in page
    assert "11010519491231002X" not in page


def test_api_reveal_rejects_other_fields(town: Town) -> None:
    response = login(town.east_worker).post(
        f"/api/v1/people/{town.east_person.pk}/reveal",
        {"field": "name"},
        content_type="application/json",
    )
    assert response.status_code == 422
    assert not AuditLog.objects.filter(action="person.reveal").exists()


def test_api_docs_use_only_assets_served_by_the_app(town: Town) -> None:
    import re

    page = login(town.east_worker).get("/api/v1/docs").content.decode()
    assets = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert assets
    assert all(a.startswith("/static/") for a in assets), assets
