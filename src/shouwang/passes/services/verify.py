"""The gate: is this code good here, now? And the access log it writes.

`evaluate` answers for a code, a compound and a time, reading the database (the authority:
revocations and quarantine reach every online gate at once). `check` is what a gate calls: it
evaluates and logs the scan, once per client scan id, and alerts the worker when someone under
home quarantine tries to go out. `upload` takes the scans an offline gate verified itself.
`sync_payload` is what an offline verifier keeps: the keys and the lists of passes not to let
through.
"""

from __future__ import annotations

import contextlib
import hmac
import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.dateparse import parse_datetime
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from shouwang.alerts import rules
from shouwang.alerts.services.alerting import Trigger, raise_alerts
from shouwang.core import bounds
from shouwang.core.models import Area, Household, Person
from shouwang.core.services.areas import ancestor_names, household_address
from shouwang.passes.alert_kinds import QUARANTINE_GATE_DENIED
from shouwang.passes.models import (
    Direction,
    GateDevice,
    KeyStatus,
    Pass,
    PassKind,
    PassStatus,
    Reason,
    Scan,
    Visitor,
)
from shouwang.passes.services import codec, keys
from shouwang.passes.services.visitors import approval_text
from shouwang.quarantine.services.queries import (
    household_quarantined,
    quarantined_household_ids,
    quarantined_person_ids,
)

DYNAMIC_PREFIX = "SWD:"
WINDOW_SECONDS = 30
# A code read at the very end of its window may reach the server just after it.
GRACE_SECONDS = 5
# Offline scans from further in the future than this are a broken clock, not a scan.
CLOCK_SKEW = timedelta(minutes=5)
MAX_UPLOAD = 500
_SCAN_ID = re.compile(r"^[A-Za-z0-9_.:-]{8,64}$")
_DYNAMIC = re.compile(r"^SWD:(\d{1,12})\.(\d{1,12})\.([0-9a-f]{16})$")
_Through = Pass.compounds.through


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    reason: str
    holder_name: str = ""
    pass_id: int | None = None
    person_id: int | None = None
    household_id: int | None = None
    kind: str = ""
    valid_until: datetime | None = None
    # A visit to a household under home quarantine let in by a worker: why, and by whom.
    approval: str = ""

    @property
    def reason_label(self) -> str:
        return reason_label(self.reason)

    def as_dict(self) -> dict[str, Any]:
        return {
            "allowed": self.allowed,
            "reason": self.reason,
            "reason_label": self.reason_label,
            "name": self.holder_name,
            "pass_id": self.pass_id,
            "kind": self.kind,
            "valid_until": self.valid_until.isoformat() if self.valid_until else None,
            "approval": self.approval,
        }


_labels: dict[tuple[str | None, str], str] = {}


def reason_label(reason: str) -> str:
    """The reason in the request's language; cached, since every scan needs one."""
    key = (get_language(), reason)
    label = _labels.get(key)
    if label is None:
        label = _labels[key] = str(Reason(reason).label)
    return label


def _deny(reason: str, **known: Any) -> Verdict:
    return Verdict(False, reason, **known)


# --- dynamic codes -----------------------------------------------------------------------


def _window_mac(p_id: int, link_hash: str, window: int) -> str:
    # Keyed by the pass's link: a new personal link also ends every code shown before it.
    mac = salted_hmac("shouwang.passes.dynamic", f"{p_id}.{window}.{link_hash}")
    return mac.hexdigest()[:16]


def dynamic_code(p: Pass, at: datetime | None = None) -> tuple[str, int]:
    """The code a dynamic pass shows now, and the seconds it has left."""
    ts = (at or timezone.now()).timestamp()
    window = int(ts // WINDOW_SECONDS)
    code = f"{DYNAMIC_PREFIX}{p.pk}.{window}.{_window_mac(p.pk, p.link_hash or '', window)}"
    return code, int((window + 1) * WINDOW_SECONDS - ts)


# --- evaluation ----------------------------------------------------------------------------

_FIELDS = (
    "id",
    "kind",
    "person_id",
    "household_id",
    "holder_name",
    "valid_from",
    "valid_until",
    "status",
    "kid",
    "link_hash",
    "dynamic",
    "visitor_id",
)
_LOAD_SQL: str | None = None


def _load_sql() -> str:
    # Written once by hand: the ORM spent longer building this query than the database did
    # answering it, on the path every gate waits for.
    global _LOAD_SQL
    if _LOAD_SQL is None:
        qn = connection.ops.quote_name
        through = _Through._meta.db_table
        columns = ", ".join(f"p.{qn(f)}" for f in _FIELDS)
        _LOAD_SQL = (
            f"SELECT {columns}, EXISTS (SELECT 1 FROM {qn(through)} t"  # noqa: S608 - names only
            f" WHERE t.{qn('pass_id')} = p.{qn('id')} AND t.{qn('area_id')} = %s)"
            f" FROM {qn(Pass._meta.db_table)} p WHERE p.{qn('id')} = %s"
        )
    return _LOAD_SQL


def _aware(value: Any) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = parse_datetime(value)
    if value is not None and timezone.is_naive(value):
        value = value.replace(tzinfo=UTC)
    result: datetime | None = value
    return result


def _load(pass_id: int, compound_id: int) -> dict[str, Any] | None:
    """The pass and whether it covers this compound: one query."""
    if pass_id <= 0 or pass_id > 2**62:
        return None
    with connection.cursor() as cursor:
        cursor.execute(_load_sql(), [compound_id, pass_id])
        found = cursor.fetchone()
    if found is None:
        return None
    row = dict(zip((*_FIELDS, "here"), found, strict=True))
    row["pk"] = row["id"]
    row["valid_from"] = _aware(row["valid_from"])
    row["valid_until"] = _aware(row["valid_until"])
    row["here"], row["dynamic"] = bool(row["here"]), bool(row["dynamic"])
    return row


# --- who is under quarantine, per compound ----------------------------------------------------

# Asking the quarantine app once per scan was half the CPU of a verification. Gate traffic
# comes in bursts per compound, so live checks read a snapshot of the compound's quarantined
# residents taken at most this long ago: a case started or ended reaches the gates within it.
SNAPSHOT_SECONDS = 5.0
_snapshots: dict[int, tuple[datetime, frozenset[int]]] = {}


def forget_cache() -> None:
    _snapshots.clear()


def _quarantined(person_id: int, compound_id: int, at: datetime, live: bool) -> bool:
    if not live or not compound_id:
        # A scan verified offline and uploaded later is judged at its own time.
        return bool(quarantined_person_ids([person_id], at))
    taken = _snapshots.get(compound_id)
    if taken is None or not 0 <= (at - taken[0]).total_seconds() < SNAPSHOT_SECONDS:
        holders = Pass.objects.filter(
            compounds=compound_id, status=PassStatus.ACTIVE, person__isnull=False
        ).values_list("person_id", flat=True)
        taken = (at, frozenset(quarantined_person_ids(holders, at)))
        if len(_snapshots) > 10_000:
            _snapshots.clear()
        _snapshots[compound_id] = taken
    return person_id in taken[1]


def _judge(
    row: dict[str, Any],
    at: datetime,
    signed_until: datetime | None,
    *,
    dynamic: bool,
    live: bool = False,
    compound_id: int = 0,
) -> Verdict:
    known = {
        "holder_name": row["holder_name"],
        "pass_id": row["pk"],
        "person_id": row["person_id"],
        "household_id": row["household_id"],
        "kind": row["kind"],
        "valid_until": row["valid_until"],
    }
    if row["status"] == PassStatus.REVOKED:
        return _deny(Reason.REVOKED, **known)
    if row["status"] == PassStatus.SUSPENDED:
        return _deny(Reason.SUSPENDED, **known)
    ends = [t for t in (row["valid_until"], signed_until) if t is not None]
    if ends and min(ends) <= at:
        return _deny(Reason.EXPIRED, **known)
    if row["valid_from"] > at:
        return _deny(Reason.NOT_YET_VALID, **known)
    if not row["here"]:
        return _deny(Reason.WRONG_COMPOUND, **known)
    if row["dynamic"] and not dynamic:
        # The holder chose the changing code: a fixed one is a screenshot or an old print.
        return _deny(Reason.STALE, **known)
    if row["person_id"] is not None and _quarantined(row["person_id"], compound_id, at, live):
        return _deny(Reason.QUARANTINE, **known)
    if row["kind"] == PassKind.VISITOR and row["household_id"] is not None:
        return _judge_visit(row, at, known)
    return Verdict(True, Reason.OK, **known)


def _judge_visit(row: dict[str, Any], at: datetime, known: dict[str, Any]) -> Verdict:
    """A visitor's pass: refused while the host household is under home quarantine, unless a
    worker approved this visit. Judged at scan time, so a case started after the pass was
    handed out stops the visit as well. (Visitor passes are few: a query or two is fine.)"""
    if not household_quarantined(row["household_id"], at):
        return Verdict(True, Reason.OK, **known)
    visitor = (
        Visitor.objects.select_related("approved_by").filter(pk=row["visitor_id"]).first()
        if row["visitor_id"]
        else None
    )
    if visitor is None or visitor.approved_at is None or visitor.approved_at > at:
        return _deny(Reason.QUARANTINE_VISIT, **known)
    return Verdict(True, Reason.APPROVED_VISIT, approval=approval_text(visitor), **known)


def _evaluate_dynamic(code: str, compound_id: int, at: datetime, live: bool) -> Verdict:
    match = _DYNAMIC.match(code)
    if match is None:
        return _deny(Reason.MALFORMED)
    pass_id, window, mac = int(match[1]), int(match[2]), match[3]
    row = _load(pass_id, compound_id)
    if row is None:
        return _deny(Reason.NOT_FOUND)
    if not hmac.compare_digest(mac, _window_mac(pass_id, row["link_hash"] or "", window)):
        return _deny(Reason.FORGED)
    ts = at.timestamp()
    current = int(ts // WINDOW_SECONDS)
    late = ts - current * WINDOW_SECONDS
    if not (window == current or (window == current - 1 and late < GRACE_SECONDS)):
        verdict = _judge(row, at, None, dynamic=True, live=live, compound_id=compound_id)
        return _deny(
            Reason.STALE if verdict.allowed else verdict.reason,
            **{k: getattr(verdict, k) for k in ("holder_name", "pass_id", "person_id")},
            household_id=verdict.household_id,
            kind=verdict.kind,
            valid_until=verdict.valid_until,
        )
    return _judge(row, at, None, dynamic=True, live=live, compound_id=compound_id)


def evaluate(
    code: str, compound_id: int, at: datetime | None = None, *, live: bool | None = None
) -> Verdict:
    """The verdict for a code at a gate of this compound, at `at` (default now)."""
    # Live: a scan happening now (quarantine from the compound's snapshot), not a replay.
    live = at is None if live is None else live
    at = at or timezone.now()
    text = (code or "").strip()
    if text.startswith(DYNAMIC_PREFIX):
        return _evaluate_dynamic(text, compound_id, at, live)
    try:
        envelope = codec.open_envelope(text)
        public, status = keys.public_key(envelope.kid)
        if public is None:
            return _deny(Reason.FORGED)
        claims = codec.verify(envelope, public)
    except codec.CodeError as exc:
        return _deny(exc.reason)
    if status == KeyStatus.RETIRED:
        return _deny(Reason.RETIRED_KEY, holder_name=claims.name)
    row = _load(claims.pass_id, compound_id)
    if row is None:
        return _deny(Reason.NOT_FOUND, holder_name=claims.name)
    return _judge(row, at, claims.expires, dynamic=False, live=live, compound_id=compound_id)


# --- recording -----------------------------------------------------------------------------


def _quarantine_trigger(verdict: Verdict, at: datetime, compound: Area) -> Trigger | None:
    if verdict.reason != Reason.QUARANTINE or verdict.household_id is None:
        return None
    household = Household.objects.select_related("area").get(pk=verdict.household_id)
    setting = rules.RuleBook([QUARANTINE_GATE_DENIED]).resolve(
        QUARANTINE_GATE_DENIED, household.area.path, household.pk, verdict.person_id
    )
    if not setting.enabled:
        return None
    address = household_address(household, ancestor_names([household.area]))
    person = Person.objects.filter(pk=verdict.person_id or 0).first()
    return Trigger(
        kind=QUARANTINE_GATE_DENIED,
        subject=f"household:{household.pk}",
        at=at,
        title=f"{address} {verdict.holder_name}",
        area=household.area,
        severity=setting.severity,
        household=household,
        person=person,
        data={"pass": verdict.pass_id, "compound": compound.pk, "gate": compound.name},
    )


def _stored_verdict(scan: Scan) -> Verdict:
    return Verdict(
        scan.allowed,
        scan.reason,
        holder_name=scan.holder_name,
        pass_id=scan.pass_obj_id,
        person_id=scan.person_id,
    )


@dataclass(frozen=True)
class Gate:
    """Where a scan happens and who made it: a guard's page or a gate device."""

    compound: Area
    name: str = ""
    guard: Any = None
    device: GateDevice | None = None


def new_scan_id() -> str:
    return uuid.uuid4().hex


def check(
    gate: Gate,
    code: str,
    *,
    direction: str = Direction.IN,
    scan_id: str | None = None,
    method: str = "",
    at: datetime | None = None,
) -> Verdict:
    """Verify a code at a gate and log it. The same scan id twice: the first answer again."""
    if direction not in Direction.values:
        raise ValidationError({"direction": [_("Direction must be in or out.")]})
    scan_id = scan_id or new_scan_id()
    if not _SCAN_ID.match(scan_id):
        raise ValidationError({"scan_id": [_("A scan id is 8 to 64 letters, digits or -_.:")]})
    live = at is None
    at = at or timezone.now()
    verdict = evaluate(code, gate.compound.pk, at, live=live)
    # A scan alone is one INSERT, atomic by itself: no BEGIN and COMMIT round trips on the
    # hot path. With an alert to raise, or inside a caller's transaction, a (savepoint) block.
    block = verdict.reason == Reason.QUARANTINE or connection.in_atomic_block
    try:
        with transaction.atomic() if block else contextlib.nullcontext():
            _store(gate, scan_id, verdict, direction=direction, at=at, method=method)
    except IntegrityError:
        earlier = Scan.objects.filter(scan_id=scan_id).first()
        if earlier is None:
            raise
        return _stored_verdict(earlier)
    return verdict


def _store(
    gate: Gate,
    scan_id: str,
    verdict: Verdict,
    *,
    direction: str,
    at: datetime,
    method: str,
    offline: bool = False,
    server_reason: str = "",
) -> Scan:
    scan = Scan.objects.create(
        scan_id=scan_id,
        compound=gate.compound,
        gate=gate.name[:100] or (gate.device.name if gate.device else ""),
        device=gate.device,
        guard=gate.guard if getattr(gate.guard, "pk", None) else None,
        direction=direction,
        at=at,
        allowed=verdict.allowed,
        reason=verdict.reason,
        offline=offline,
        server_reason=server_reason,
        method=method[:10],
        pass_obj_id=verdict.pass_id,
        person_id=verdict.person_id,
        holder_name=verdict.holder_name[:100],
    )
    trigger = _quarantine_trigger(verdict, at, gate.compound)
    if trigger is not None:
        raise_alerts([trigger])
    return scan


@dataclass(frozen=True)
class Queued:
    scan_id: str
    code: str
    at: datetime
    direction: str
    allowed: bool
    reason: str
    gate: str


def parse_queued(items: Sequence[Mapping[str, Any]]) -> list[Queued]:
    """Check a whole upload before storing any of it: one bad scan refuses the batch."""
    if len(items) > MAX_UPLOAD:
        raise ValidationError({"scans": [_("At most %(n)d scans per upload.") % {"n": MAX_UPLOAD}]})
    now = timezone.now()
    parsed: list[Queued] = []
    for index, item in enumerate(items):
        where = _("scan %(n)d") % {"n": index + 1}
        if not isinstance(item, Mapping):
            raise ValidationError({"scans": [f"{where}: " + _("not an object")]})
        scan_id = str(item.get("scan_id") or "")
        at = item.get("at")
        when = parse_datetime(at) if isinstance(at, str) else None
        if when is not None and timezone.is_naive(when):
            when = when.replace(tzinfo=UTC)
        reason = str(item.get("reason") or "")
        problems = []
        if not _SCAN_ID.match(scan_id):
            problems.append(_("scan_id must be 8 to 64 letters, digits or -_.:"))
        if when is None:
            problems.append(_("at must be an ISO 8601 time"))
        elif not bounds.in_range(when):
            problems.append(_("at is not a plausible time (is the gate's clock right?)"))
        elif when > now + CLOCK_SKEW:
            problems.append(_("at lies in the future (is the gate's clock right?)"))
        if item.get("direction", Direction.IN) not in Direction.values:
            problems.append(_("direction must be in or out"))
        if not isinstance(item.get("allowed"), bool):
            problems.append(_("allowed must be true or false"))
        if reason not in Reason.values:
            problems.append(_("unknown reason"))
        if not isinstance(item.get("code", ""), str):
            problems.append(_("code must be text"))
        if problems or when is None:
            raise ValidationError({"scans": [f"{where}: " + "; ".join(problems)]})
        parsed.append(
            Queued(
                scan_id=scan_id,
                code=str(item.get("code") or "")[: codec.MAX_CODE_LENGTH],
                at=when,
                direction=str(item.get("direction", Direction.IN)),
                allowed=bool(item["allowed"]),
                reason=reason,
                gate=str(item.get("gate") or "")[:100],
            )
        )
    return parsed


def upload(gate: Gate, items: Sequence[Mapping[str, Any]]) -> dict[str, int]:
    """Store scans an offline gate verified itself; each scan id once, however often sent.

    The log keeps what the gate decided (that is what happened at the gate) and, next to it,
    what the server says of the same code at the same time: a pass revoked after the gate's
    last sync shows up there.
    """
    queued = parse_queued(items)
    known = set(
        Scan.objects.filter(scan_id__in=[q.scan_id for q in queued]).values_list(
            "scan_id", flat=True
        )
    )
    stored = duplicates = 0
    with transaction.atomic():
        for q in sorted(queued, key=lambda q: q.at):
            if q.scan_id in known:
                duplicates += 1
                continue
            known.add(q.scan_id)
            server = evaluate(q.code, gate.compound.pk, q.at)
            gate_verdict = Verdict(
                q.allowed,
                q.reason,
                holder_name=server.holder_name,
                pass_id=server.pass_id,
                person_id=server.person_id,
                household_id=server.household_id,
            )
            _store(
                Gate(gate.compound, q.gate or gate.name, gate.guard, gate.device),
                q.scan_id,
                gate_verdict,
                direction=q.direction,
                at=q.at,
                method="offline",
                offline=True,
                server_reason=server.reason,
            )
            stored += 1
    return {"stored": stored, "duplicates": duplicates}


# --- what offline verifiers keep -----------------------------------------------------------


def sync_payload(compound: Area, at: datetime | None = None) -> dict[str, Any]:
    """Keys and deny-lists for one compound's gates. Pass ids, no residents' names; an approved
    visit to a household under home quarantine carries its approval as the gate shows it
    (reason, note, the approving worker), so an offline gate shows it too."""
    at = at or timezone.now()
    covering = Pass.objects.filter(compounds=compound).filter(
        Q(valid_until__isnull=True) | Q(valid_until__gt=at - timedelta(days=1))
    )
    revoked = sorted(covering.filter(status=PassStatus.REVOKED).values_list("pk", flat=True))
    suspended = sorted(covering.filter(status=PassStatus.SUSPENDED).values_list("pk", flat=True))
    live = dict(
        covering.filter(status=PassStatus.ACTIVE, person__isnull=False).values_list(
            "person_id", "pk"
        )
    )
    quarantined = quarantined_person_ids(live.keys(), at)
    dynamic = sorted(
        covering.filter(status=PassStatus.ACTIVE, dynamic=True).values_list("pk", flat=True)
    )
    # Visitors to a household under home quarantine: refused unless a worker approved the
    # visit; an approved one is let in with the approval shown, as the online gate shows it.
    visits = list(
        covering.filter(status=PassStatus.ACTIVE, kind=PassKind.VISITOR).values_list(
            "pk", "household_id", "visitor_id"
        )
    )
    closed_homes = quarantined_household_ids({h for _p, h, _v in visits}, at)
    to_closed = [(p, v) for p, h, v in visits if h in closed_homes]
    approved = {
        visitor.pk: approval_text(visitor)
        for visitor in Visitor.objects.select_related("approved_by").filter(
            pk__in=[v for _p, v in to_closed if v is not None], approved_at__lte=at
        )
    }
    quarantine_visits = sorted(p for p, v in to_closed if v not in approved)
    approved_visits = {str(p): approved[v] for p, v in sorted(to_closed) if v in approved}
    return {
        "generated_at": at.isoformat(),
        "compound": {"id": compound.pk, "name": compound.name},
        "prefix": codec.PREFIX,
        "keys": keys.verification_keys(),
        "retired_keys": keys.retired_kids(),
        "revoked": revoked,
        "suspended": suspended,
        "quarantine": sorted(live[p] for p in quarantined),
        "quarantine_visits": quarantine_visits,
        "approved_visits": approved_visits,
        "dynamic": dynamic,
    }
