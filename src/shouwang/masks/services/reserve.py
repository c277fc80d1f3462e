"""First come, first served: a resident reserves masks at a point, or cancels.

Never oversells, whatever the concurrency: the stock is taken by one conditional `UPDATE`
(`remaining >= quantity`), which PostgreSQL re-checks on the newest row version after waiting
for a concurrent writer, and a check constraint keeps `remaining` at 0 or above. The per-ID
limit (one reservation per `limit_days` across every round and point, read by blind index) is
checked while holding a transaction-scoped advisory lock on that blind index, so two requests
with one ID number are decided one after the other. On SQLite every write transaction is
serialised (IMMEDIATE, and on a file database the process's one writer thread).

A resent request (a double tap, a retry after a lost answer) carries the same idempotency key
and gets the reservation it already made. Refusals are `Refused` with a code the page shows as
its reason; nothing is half-applied.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from shouwang.core import audit, crypto, identity
from shouwang.core.services.people import id_index
from shouwang.core.sqlite import writer
from shouwang.masks.models import Reservation, ReservationStatus, Round, RoundPoint
from shouwang.masks.services import pickup

KEY_SHAPE = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
LINK_PURPOSE = "masks.reservation-link"
# Statuses that use up a person's allowance (a cancelled reservation gives it back).
COUNTING = (ReservationStatus.RESERVED, ReservationStatus.PICKED_UP)


class Refused(Exception):
    """A reservation the rules do not allow; `code` names why, `message` says it to a person."""

    SOLD_OUT = "sold_out"
    LIMIT = "limit"
    NOT_OPEN = "not_open"
    CLOSED = "closed"
    UNKNOWN = "unknown"
    KEY_REUSED = "key_reused"
    RATE = "rate"  # too many attempts (the page's rate limits, `limits.py`)

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Applicant:
    """A resident's cleaned input."""

    name: str
    id_number: str
    phone: str

    @classmethod
    def clean(cls, name: str, id_number: str, phone: str) -> Applicant:
        """Normalised values, or ValidationError with a message per field."""
        errors: dict[str, list[ValidationError]] = {}
        clean_name = " ".join((name or "").split())
        if not clean_name:
            errors["name"] = [ValidationError(_("Enter your name."), code="required")]
        elif len(clean_name) > 50:
            errors["name"] = [ValidationError(_("The name is too long."), code="name_length")]
        number = phone_number = ""
        try:
            number = identity.normalize_id_number(id_number)
        except ValidationError as exc:
            errors["id_number"] = [exc]
        try:
            phone_number = identity.normalize_phone(phone)
        except ValidationError as exc:
            errors["phone"] = [exc]
        if errors:
            raise ValidationError(errors)
        return cls(name=clean_name, id_number=number, phone=phone_number)


@dataclass(frozen=True)
class Reserved:
    reservation: Reservation
    token: str  # the resident's link to this reservation
    repeated: bool  # the same request again (same idempotency key): nothing new was taken


def link_token(idempotency_key: str) -> str:
    """The resident's link token: derived with the server's index key from the form's key, so
    a resent request leads to the same page, and nobody without the key can make one."""
    return crypto.blind_index(idempotency_key, LINK_PURPOSE)[:40]


def link_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def reserve(round_pk: int, stock_pk: int, applicant: Applicant, idempotency_key: str) -> Reserved:
    """Reserve the round's `per_person` masks at one point for the applicant, or `Refused`."""
    if not KEY_SHAPE.match(idempotency_key or ""):
        raise ValidationError(_("The form has expired; reload the page."), code="key")
    index = id_index(applicant.id_number)
    stock = (
        RoundPoint.objects.select_related("round", "point")
        .filter(pk=stock_pk, round_id=round_pk, point__active=True)
        .first()
    )
    if stock is None:
        raise Refused(Refused.UNKNOWN, _("This pickup point is not part of the round."))
    # Cheap answers first, without a lock: a double tap, a closed window, an empty point.
    earlier = _by_key(idempotency_key, index)
    if earlier is not None:
        return earlier
    _check_window(stock.round, timezone.now())
    if stock.remaining < stock.round.per_person:
        raise _sold_out()
    try:
        return _commit(stock, applicant, index, idempotency_key)
    except IntegrityError:
        # The key was used for another ID number at the same moment (the unique key refused
        # the second row), or the stock constraint refused; either way nothing was written.
        earlier = _by_key(idempotency_key, index)
        if earlier is not None:
            return earlier
        if Reservation.objects.filter(idempotency_key=idempotency_key).exists():
            raise Refused(
                Refused.KEY_REUSED, _("This form was already used; reload the page.")
            ) from None
        raise _sold_out() from None


@writer.on_writer
def _commit(stock: RoundPoint, applicant: Applicant, index: str, key: str) -> Reserved:
    round_ = stock.round
    with transaction.atomic():
        _lock_identity(index)
        earlier = _by_key(key, index)
        if earlier is not None:
            return earlier
        now = timezone.now()
        _check_window(round_, now)
        last = (
            Reservation.objects.filter(
                id_index=index,
                status__in=COUNTING,
                created_at__gt=now - timedelta(days=round_.limit_days),
            )
            .order_by("-created_at")
            .values_list("created_at", flat=True)
            .first()
        )
        if last is not None:
            raise _over_limit(last, round_.limit_days)
        taken = RoundPoint.objects.filter(pk=stock.pk, remaining__gte=round_.per_person).update(
            remaining=F("remaining") - round_.per_person
        )
        if not taken:
            raise _sold_out()
        token = link_token(key)
        pin = _free_pin(stock.point_id)
        reservation = Reservation.objects.create(
            round=round_,
            stock=stock,
            name=applicant.name,
            id_number=applicant.id_number,
            id_index=index,
            phone=applicant.phone,
            quantity=round_.per_person,
            idempotency_key=key,
            link_hash=link_hash(token),
            pin=pin,
            pin_index=pickup.pin_index(stock.point_id, pin),
            created_at=now,
            slot_end=now + timedelta(hours=round_.pickup_hours),
        )
        audit.record(
            "masks.reserve",
            target=reservation,
            area=stock.point.area,
            details={"round": round_.pk, "point": stock.point_id, "masks": round_.per_person},
        )
    return Reserved(reservation=reservation, token=token, repeated=False)


def _free_pin(point_id: int) -> str:
    """A short code not in use at this point (a clash only re-draws, 1 in 10^8 per row)."""
    while True:
        pin = pickup.new_pin()
        if not Reservation.objects.filter(pin_index=pickup.pin_index(point_id, pin)).exists():
            return pin


def _lock_identity(index: str) -> None:
    """Decide one ID number's requests one at a time (PostgreSQL; SQLite writes are serial)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_lock_key(index)])


def _lock_key(index: str) -> int:
    # A signed 64-bit key from the blind index (a shared key only serialises two IDs more).
    return int(index[:16], 16) - (1 << 63)


def _by_key(key: str, index: str) -> Reserved | None:
    earlier = Reservation.objects.filter(idempotency_key=key, id_index=index).first()
    if earlier is None:
        return None
    return Reserved(reservation=earlier, token=link_token(key), repeated=True)


def _check_window(round_: Round, now: datetime) -> None:
    if now < round_.opens_at:
        raise Refused(
            Refused.NOT_OPEN,
            _("Reservations open at %(time)s.")
            % {"time": timezone.localtime(round_.opens_at).strftime("%Y-%m-%d %H:%M")},
        )
    if now >= round_.closes_at:
        raise Refused(Refused.CLOSED, _("This round has closed."))


def _sold_out() -> Refused:
    return Refused(Refused.SOLD_OUT, _("Sold out at this pickup point."))


def _over_limit(last: datetime, days: int) -> Refused:
    return Refused(
        Refused.LIMIT,
        _(
            "This ID number already reserved on %(day)s; one reservation every %(days)d days "
            "across all points."
        )
        % {"day": timezone.localtime(last).strftime("%Y-%m-%d"), "days": days},
    )


def reservation_for_link(token: str) -> Reservation | None:
    if not token or len(token) > 64:
        return None
    return (
        Reservation.objects.select_related("round", "stock__point")
        .filter(link_hash=link_hash(token))
        .first()
    )


def cancel(token: str) -> Reservation | None:
    """The resident cancels: the masks go back to the point's stock, the allowance back to the
    ID number. Cancelling twice changes nothing. None for an unknown link."""
    found = reservation_for_link(token)
    if found is None:
        return None
    _cancel(found.pk)
    found.refresh_from_db()
    return found


@writer.on_writer
def _cancel(pk: int) -> None:
    with transaction.atomic():
        reservation = Reservation.objects.select_related("stock__point").get(pk=pk)
        now = timezone.now()
        changed = Reservation.objects.filter(pk=pk, status=ReservationStatus.RESERVED).update(
            status=ReservationStatus.CANCELLED, cancelled_at=now
        )
        if not changed:
            return
        RoundPoint.objects.filter(pk=reservation.stock_id).update(
            remaining=F("remaining") + reservation.quantity
        )
        audit.record(
            "masks.cancel",
            target=reservation,
            area=reservation.stock.point.area,
            details={"round": reservation.round_id, "masks": reservation.quantity},
        )
