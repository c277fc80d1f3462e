"""Pickup codes and their check at the point; no-shows released after their slot.

The QR code is signed like a pass (COSE_Sign1, Ed25519, the passes' signing keys), but carries
its own claim (`MASK_CLAIM`) and prefix (`SWM1:`), so a gate never reads it as a pass and a
pass is never read as a pickup code. The short numeric code (8 digits) is the fallback for a
phone that cannot show the QR code: stored only as a blind index with its point, unique.
Verification is online at the point: the reservation's row decides (status, slot, point), so
a code used once, cancelled, released or past its slot is refused with the reason.
"""

from __future__ import annotations

import secrets
import zlib
from dataclasses import dataclass
from datetime import datetime

import base45  # type: ignore[import-untyped]
import cbor2
from cwt import COSE
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from shouwang.core import audit, crypto
from shouwang.core.permissions import require
from shouwang.core.scoping import Actor, user_covers_area
from shouwang.core.sqlite import writer
from shouwang.masks.models import Reservation, ReservationStatus, RoundPoint
from shouwang.masks.perms import HAND_OUT
from shouwang.passes.services import keys

PREFIX = "SWM1:"
ISSUER = "shouwang"
ISS, IAT, CTI = 1, 6, 7
MASK_CLAIM = -70017
KID_HEADER = 4
MAX_CODE_LENGTH = 600
PIN_PURPOSE = "masks.pickup-pin"

_cose = COSE.new(alg_auto_inclusion=True, kid_auto_inclusion=False)


class PickupRefused(Exception):
    """A code that does not hand out masks: `code` names why, `message` says it."""

    MALFORMED = "malformed"
    FORGED = "forged"
    UNKNOWN = "unknown"
    OTHER_POINT = "other_point"
    USED = "used"
    CANCELLED = "cancelled"
    EXPIRED = "expired"

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def new_pin() -> str:
    return f"{secrets.randbelow(10**8):08d}"


def pin_index(point_id: int, pin: str) -> str:
    return crypto.blind_index(f"{point_id}:{pin}", PIN_PURPOSE)


def qr_code(reservation: Reservation) -> str:
    """The signed QR text of a reservation."""
    kid, private = keys.current_signer()
    body = {
        ISS: ISSUER,
        IAT: int(reservation.created_at.timestamp()),
        CTI: reservation.pk.to_bytes(8, "big").lstrip(b"\0") or b"\0",
        MASK_CLAIM: {1: reservation.stock.point_id, 2: reservation.quantity},
    }
    message = _cose.encode_and_sign(
        cbor2.dumps(body), private, unprotected={KID_HEADER: kid.encode()}
    )
    encoded: bytes = base45.b45encode(zlib.compress(message, 9))
    return PREFIX + encoded.decode("ascii")


def _read_qr(code: str) -> int:
    """The reservation id a genuine code names, or PickupRefused (malformed, forged)."""
    text = code.strip()
    if len(text) > MAX_CODE_LENGTH:
        raise PickupRefused(PickupRefused.MALFORMED, _("This is not a pickup code."))
    try:
        raw = zlib.decompress(base45.b45decode(text[len(PREFIX) :]))
        decoded = cbor2.loads(raw)
        value = decoded.value if isinstance(decoded, cbor2.CBORTag) else decoded
        kid = value[1][KID_HEADER].decode("ascii")
        if not isinstance(decoded, cbor2.CBORTag):
            raw = cbor2.dumps(cbor2.CBORTag(18, value))
    except Exception as exc:
        raise PickupRefused(PickupRefused.MALFORMED, _("This is not a pickup code.")) from exc
    public, _status = keys.public_key(kid)
    if public is None:
        raise PickupRefused(PickupRefused.FORGED, _("This code was not issued by Shouwang."))
    try:
        payload = _cose.decode(raw, public)
        body = cbor2.loads(payload)
        claim = body[MASK_CLAIM]
        cti = body[CTI]
        if body.get(ISS) != ISSUER or not isinstance(claim, dict) or not isinstance(cti, bytes):
            raise ValueError("claims")
    except Exception as exc:
        raise PickupRefused(
            PickupRefused.FORGED, _("This code was not issued by Shouwang.")
        ) from exc
    return int.from_bytes(cti, "big")


@dataclass(frozen=True)
class Checked:
    reservation: Reservation
    handed_out: bool  # False: shown only (a check before confirming)


def find(actor: Actor, stock: RoundPoint, code: str) -> Reservation:
    """The reservation a code (QR text or 8-digit number) names at this point, checked, or
    PickupRefused with the reason."""
    require(actor, HAND_OUT)
    if actor is not None and not user_covers_area(actor, stock.point.area.path):
        raise PermissionDenied
    text = (code or "").strip()  # base45 has a space in its alphabet: only the ends go
    digits = "".join(text.split())
    if text.startswith(PREFIX):
        found = (
            Reservation.objects.select_related("round", "stock__point")
            .filter(pk=_read_qr(text))
            .first()
        )
    elif digits.isdigit() and len(digits) == 8:
        found = (
            Reservation.objects.select_related("round", "stock__point")
            .filter(pin_index=pin_index(stock.point_id, digits))
            .first()
        )
    else:
        raise PickupRefused(
            PickupRefused.MALFORMED, _("Enter the 8-digit code or scan the QR code.")
        )
    if found is None:
        raise PickupRefused(PickupRefused.UNKNOWN, _("No reservation has this code."))
    _judge(found, stock, timezone.now())
    return found


def _judge(found: Reservation, stock: RoundPoint, now: datetime) -> None:
    if found.stock.point_id != stock.point_id:
        raise PickupRefused(
            PickupRefused.OTHER_POINT,
            _("This reservation is for %(point)s.") % {"point": found.stock.point.name},
        )
    if found.status == ReservationStatus.PICKED_UP:
        raise PickupRefused(
            PickupRefused.USED,
            _("Already picked up at %(time)s.")
            % {"time": timezone.localtime(found.picked_up_at or now).strftime("%m-%d %H:%M")},
        )
    if found.status == ReservationStatus.CANCELLED:
        raise PickupRefused(PickupRefused.CANCELLED, _("This reservation was cancelled."))
    if found.status == ReservationStatus.RELEASED or now >= found.slot_end:
        raise PickupRefused(
            PickupRefused.EXPIRED,
            _("The pickup time ended at %(time)s; the masks went back to stock.")
            % {"time": timezone.localtime(found.slot_end).strftime("%m-%d %H:%M")},
        )


def hand_out(actor: Actor, stock: RoundPoint, code: str) -> Reservation:
    """Masks handed over: the reservation is picked up, once (a second scan is refused)."""
    found = find(actor, stock, code)
    _hand_out(actor, found.pk, stock)
    found.refresh_from_db()
    return found


@writer.on_writer
def _hand_out(actor: Actor, pk: int, stock: RoundPoint) -> None:
    with transaction.atomic():
        now = timezone.now()
        changed = Reservation.objects.filter(
            pk=pk, status=ReservationStatus.RESERVED, slot_end__gt=now
        ).update(status=ReservationStatus.PICKED_UP, picked_up_at=now, picked_up_by=actor)
        if not changed:  # someone else handed it out (or it ran out) a moment ago
            found = Reservation.objects.select_related("stock__point").get(pk=pk)
            _judge(found, stock, now)
            raise PickupRefused(PickupRefused.USED, _("Already picked up."))
        audit.record(
            "masks.hand_out",
            actor=actor,
            target=Reservation(pk=pk),
            area=stock.point.area,
            details={"point": stock.point_id},
        )


def release_no_shows(now: datetime | None = None) -> int:
    """Reservations not picked up by the end of their slot go back to stock. Idempotent: each
    row is released by a conditional UPDATE, its masks returned once."""
    now = now or timezone.now()
    due = list(
        Reservation.objects.filter(status=ReservationStatus.RESERVED, slot_end__lte=now)
        .values_list("pk", "stock_id", "quantity")
        .order_by("pk")[:1000]
    )
    released = 0
    for pk, stock_id, quantity in due:
        released += _release(pk, stock_id, quantity, now)
    return released


@writer.on_writer
def _release(pk: int, stock_id: int, quantity: int, now: datetime) -> int:
    with transaction.atomic():
        changed = Reservation.objects.filter(
            pk=pk, status=ReservationStatus.RESERVED, slot_end__lte=now
        ).update(status=ReservationStatus.RELEASED)
        if changed:
            RoundPoint.objects.filter(pk=stock_id).update(remaining=F("remaining") + quantity)
            audit.record("masks.release", target=Reservation(pk=pk), details={"masks": quantity})
    return changed
