"""The upload → preview → confirm flow, large files through the task, and hostile files."""

from __future__ import annotations

import io
import zipfile
from typing import Any

import pytest
from django.utils import translation

from shouwang.core import crypto
from shouwang.core.models import Person, RosterUpload, UploadStatus
from shouwang.core.services import roster, roster_uploads
from shouwang.core.services.roster import import_roster
from shouwang.core.sheets import Limits, SheetError, read_sheet
from tests.conftest import Town, login
from tests.core import hostile
from tests.core.roster_corpus import CORPUS, EAST


@pytest.fixture(autouse=True)
def _english_reasons() -> Any:
    with translation.override("en"):
        yield


def corpus(name: str) -> bytes:
    return next(c.data for c in CORPUS if c.name == name)


def test_the_file_is_kept_encrypted_and_dropped_after_the_import(town: Town) -> None:
    data = corpus("messy.xlsx")
    upload = roster_uploads.stage(town.east_worker, town.east_compound, "messy.xlsx", data)
    assert upload.status == UploadStatus.READY
    stored = bytes(RosterUpload.objects.get(pk=upload.pk).content or b"")
    assert data not in stored
    assert stored.startswith(crypto.current_key_version().encode())
    assert upload.report["created_people"] == len(EAST)
    assert Person.objects.filter(name="王小明").count() == 0
    roster_uploads.confirm(town.east_worker, upload)
    upload.refresh_from_db()
    assert upload.status == UploadStatus.DONE
    assert upload.content is None
    assert Person.objects.filter(name="王小明").count() == 1
    # Confirming twice imports nothing twice.
    with pytest.raises(Exception, match="not waiting"):
        roster_uploads.confirm(town.east_worker, upload)


def test_a_refused_file_is_not_kept(town: Town) -> None:
    upload = roster_uploads.stage(
        town.east_worker, town.east_compound, "bad.xlsx", corpus("bad_rows.xlsx")
    )
    assert upload.status == UploadStatus.REFUSED
    assert upload.content is None
    assert {e["row"] for e in upload.report["errors"]} == {5, 6, 7, 8, 9}


def test_a_large_file_is_read_by_the_task_with_progress(
    town: Town, monkeypatch: pytest.MonkeyPatch, django_capture_on_commit_callbacks: Any
) -> None:
    monkeypatch.setattr(roster_uploads, "INLINE_BYTES", 100)
    monkeypatch.setattr(roster, "LIMITS", Limits(progress_every=4))
    stored: list[int] = []  # rows_read as the page would see it, at each progress report
    real_progress = roster_uploads._progress

    def spy(upload_id: int) -> Any:
        report = real_progress(upload_id)

        def progress(rows: int) -> None:
            report(rows)
            stored.append(RosterUpload.objects.get(pk=upload_id).rows_read)

        return progress

    monkeypatch.setattr(roster_uploads, "_progress", spy)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        upload = roster_uploads.stage(
            town.east_worker, town.east_compound, "m.xlsx", corpus("messy.xlsx")
        )
    assert len(callbacks) == 1  # queued, not read in the request
    upload.refresh_from_db()
    assert upload.status == UploadStatus.READY
    assert stored[:3] == [4, 8, 12]  # the messy file has 16 rows
    assert upload.rows_read >= len(EAST)
    with django_capture_on_commit_callbacks(execute=True):
        roster_uploads.confirm(town.east_worker, upload)
    upload.refresh_from_db()
    assert upload.status == UploadStatus.DONE
    assert Person.objects.filter(name="欧阳明月").exists()


def test_a_task_run_twice_does_nothing_the_second_time(town: Town) -> None:
    upload = roster_uploads.stage(
        town.east_worker, town.east_compound, "m.xlsx", corpus("messy.xlsx")
    )
    roster_uploads.check(upload.pk)  # already READY: nothing happens
    roster_uploads.apply(upload.pk)  # not confirmed: nothing happens
    assert not Person.objects.filter(name="王小明").exists()


def test_only_the_uploader_sees_and_confirms_an_upload(town: Town) -> None:
    upload = roster_uploads.stage(
        town.east_worker, town.east_compound, "m.xlsx", corpus("messy.xlsx")
    )
    url = f"/people/import/{upload.token}/"
    assert login(town.east_worker).get(url).status_code == 200
    assert login(town.west_worker).get(url).status_code == 404
    assert login(town.town_operator).get(url).status_code == 404
    assert login(town.west_worker).post(url + "confirm/").status_code == 404
    assert not Person.objects.filter(name="王小明").exists()


def test_cancel_forgets_the_file(town: Town) -> None:
    upload = roster_uploads.stage(
        town.east_worker, town.east_compound, "m.xlsx", corpus("messy.xlsx")
    )
    login(town.east_worker).post(f"/people/import/{upload.token}/cancel/")
    upload.refresh_from_db()
    assert (upload.status, upload.content) == (UploadStatus.CANCELLED, None)


# --- hostile files: refused quickly, with a reason, before memory or time run away ----


def test_declared_range_a1_xfd1048576_does_not_pad_rows() -> None:
    data = hostile.declared_huge_range(rows=20_000)
    assert len(data) < 200_000
    sheet = read_sheet("wide.xlsx", data)
    assert len(sheet.rows) == 20_000
    assert max(len(r) for r in sheet.rows) == 1


def test_reading_stops_at_the_first_row_over_the_limit() -> None:
    data = hostile.many_rows(rows=5_000)
    with pytest.raises(SheetError, match="beyond row 1000"):
        read_sheet("long.xlsx", data, Limits(max_rows=1_000))


def test_a_row_with_cells_far_to_the_right_is_refused() -> None:
    with pytest.raises(SheetError, match="column 16384"):
        read_sheet("far.xlsx", hostile.far_right_cell())


def test_a_zip_bomb_is_refused_before_it_is_opened() -> None:
    data = hostile.zip_bomb(unpacked_mb=300)
    assert len(data) < 1_000_000
    with pytest.raises(SheetError, match="zip bomb"):
        read_sheet("bomb.xlsx", data)


def test_a_part_that_lies_about_its_size_cannot_unpack_more() -> None:
    # The directory says 1 KB; the data inflates to 50 MB. zipfile stops at the declared
    # size (and the CRC then fails): the lie gives a damaged file, not a bomb.
    data = hostile.lying_sizes()
    with pytest.raises(SheetError, match="readable"):
        read_sheet("liar.xlsx", data)


def test_too_many_merged_ranges_are_refused() -> None:
    with pytest.raises(SheetError, match="merged ranges"):
        read_sheet("merges.xlsx", hostile.many_merges(30_000))


def test_a_csv_of_millions_of_rows_stops_at_the_limit() -> None:
    data = "姓名,楼栋,门牌号\n".encode()
    data += b"a,1,1\n" * 2_000_000
    with pytest.raises(SheetError, match="beyond row"):
        read_sheet("long.csv", data)


def test_hostile_files_are_refused_whole_by_the_import(town: Town) -> None:
    before = Person.objects.count()
    for name, data in [
        ("bomb.xlsx", hostile.zip_bomb(unpacked_mb=300)),
        ("long.xlsx", hostile.many_rows(rows=60_000)),
    ]:
        report = import_roster(town.east_worker, town.east_compound, name, data)
        assert [e.row for e in report.errors] == [0], name
    assert Person.objects.count() == before


def test_the_bomb_really_declares_its_unpacked_size() -> None:
    with zipfile.ZipFile(io.BytesIO(hostile.zip_bomb(unpacked_mb=300))) as archive:
        sizes = {i.filename: i.file_size for i in archive.infolist()}
    assert sizes["xl/worksheets/sheet1.xml"] >= 300 * 1024 * 1024


def test_reading_stops_at_the_filled_cell_limit() -> None:
    with pytest.raises(SheetError, match="more than 2000 filled cells"):
        read_sheet("long.xlsx", hostile.many_rows(rows=5_000), Limits(max_cells=2_000))
