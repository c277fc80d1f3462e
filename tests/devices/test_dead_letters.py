"""Dead letters: held by the area of the key (or batch) they came through, kept once however
often they come again, and kept whatever bytes they hold (NUL, invalid UTF-8) on SQLite and
PostgreSQL alike."""

from __future__ import annotations

import base64
import json
import re

import pytest
from django.test import Client

from shouwang.core.models import AreaKind
from shouwang.core.services.areas import create_area
from shouwang.devices.adapters import DecodeError, Reading
from shouwang.devices.models import DeadLetter
from shouwang.devices.services.ingest import Incoming, ingest, record_dead_letter
from shouwang.devices.services.keys import create_ingest_key
from tests.conftest import Town, login
from tests.devices.test_ingest import T0


def push(key: str, body: bytes) -> int:
    response = Client().post(
        "/api/v1/ingest/generic",
        body,
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {key}",
    )
    return int(response.status_code)


def listed(client: Client) -> list[str]:
    page = client.get("/devices/dead-letters/").content.decode()
    return re.findall(r'<tr data-testid="dead-letter">.*?<a href="[^"]*">([^<]*)</a>', page, re.S)


def test_dead_letters_are_held_by_the_key_s_area(town: Town) -> None:
    other_street = create_area(None, town.district, "另一街道", AreaKind.STREET)
    east_key = create_ingest_key(None, "东风网关", "generic", area=town.east)[1]
    other_key = create_ingest_key(None, "外街网关", "generic", area=other_street)[1]
    loose_key = create_ingest_key(None, "无区域", "generic")[1]
    assert push(east_key, b"east: not json") == 422
    assert push(other_key, b"other: not json") == 422
    assert push(loose_key, b"nobody's: not json") == 422
    ours, theirs, loose = (
        DeadLetter.objects.get(source=name) for name in ("东风网关", "外街网关", "无区域")
    )
    assert (ours.area, theirs.area, loose.area) == (town.east, other_street, None)

    operator = login(town.town_operator)
    assert len(listed(operator)) == 1
    assert operator.get(f"/devices/dead-letters/{ours.pk}/").status_code == 200
    # Out of scope, and unattributed, are as if they did not exist.
    assert operator.get(f"/devices/dead-letters/{theirs.pk}/").status_code == 404
    assert operator.get(f"/devices/dead-letters/{loose.pk}/").status_code == 404
    assert operator.get("/devices/dead-letters/999999/").status_code == 404
    # Platform admins see all of them, the unattributed ones included.
    admin = login(town.admin)
    assert len(listed(admin)) == 3
    assert admin.get(f"/devices/dead-letters/{loose.pk}/").status_code == 200
    # Workers do not see dead letters at all.
    assert login(town.east_worker).get(f"/devices/dead-letters/{ours.pk}/").status_code == 403


def test_a_redelivered_dead_letter_is_recorded_once(db: None) -> None:
    for _ in range(3):
        record_dead_letter("zigbee2mqtt", "mqtt", "not JSON", b"{", topic="z/a", redelivered=True)
    letter = DeadLetter.objects.get()
    assert letter.repeats == 0
    # A gateway sending the same bad message again is counted on the same row.
    record_dead_letter("zigbee2mqtt", "mqtt", "not JSON", b"{", topic="z/a")
    letter.refresh_from_db()
    assert (DeadLetter.objects.count(), letter.repeats) == (1, 1)
    # The same bytes on another topic are another message.
    record_dead_letter("zigbee2mqtt", "mqtt", "not JSON", b"{", topic="z/b")
    assert DeadLetter.objects.count() == 2


def test_http_retry_of_a_bad_push_is_one_dead_letter(town: Town) -> None:
    key = create_ingest_key(None, "东风网关", "generic", area=town.east)[1]
    assert push(key, b"[1, 2") == 422
    assert push(key, b"[1, 2") == 422
    assert DeadLetter.objects.get().repeats == 1


def test_nul_and_invalid_utf8_are_kept_byte_for_byte(town: Town) -> None:
    key = create_ingest_key(None, "东风网关", "generic", area=town.east)[1]
    bodies = [
        b'{"device": "d1", "door": "open\x00"}',  # a raw NUL: not JSON
        b"\xff\xfe\x00\x01 binary \xc3\x28 garbage",  # not UTF-8 at all
        '{"device": "门\x00磁"'.encode(),  # NUL inside unfinished JSON
    ]
    for body in bodies:
        assert push(key, body) == 422
    letters = {bytes(d.body): d for d in DeadLetter.objects.all()}
    assert set(letters) == set(bodies)
    admin = login(town.admin)
    for body, letter in letters.items():
        assert "\x00" not in letter.payload
        page = admin.get(f"/devices/dead-letters/{letter.pk}/").content.decode()
        shown = re.search(r'data-testid="body"[^>]*>([^<]*)</pre>', page)
        assert shown is not None
        assert base64.b64decode(shown.group(1)) == body
    assert admin.get("/devices/dead-letters/").status_code == 200


def test_a_reading_the_columns_cannot_hold_keeps_its_area_and_odd_text(town: Town) -> None:
    # A lone surrogate or a NUL (valid in a JSON string, not in PostgreSQL's text) never gets
    # as far as a reading: the adapter edge refuses it, and the message is a dead letter there.
    with pytest.raises(DecodeError, match="NUL or an unpaired surrogate"):
        Reading(adapter="generic", device_key="k", door="open", raw={"note": "\ud800\x00"})
    # Decoded, but its device id is too long for the column: a dead letter of the batch's area,
    # its exact text kept.
    reading = Reading(adapter="generic", device_key="k" * 300, door="open", raw={"note": "门磁 ①"})
    result = ingest([Incoming(reading, T0)], "http", town.east)
    assert result.refused == 1
    letter = DeadLetter.objects.get()
    assert letter.area == town.east
    assert json.loads(bytes(letter.body).decode("utf-8")) == {"note": "门磁 ①"}
