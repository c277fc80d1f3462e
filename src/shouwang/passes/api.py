"""The gate API: verify a code, fetch keys and deny-lists, upload queued scans, read a photo.

Two kinds of caller use the same endpoints:
- gate hardware (turnstiles, kiosks) with its own key: `Authorization: Bearer swg_…`; the
  compound is the device's;
- the guard's page in the browser, logged in (session and CSRF token); it names the compound,
  which must lie inside the guard's areas.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from ninja import File, Form, Router, Schema
from ninja.files import UploadedFile
from ninja.security import HttpBearer, django_auth

from shouwang.core.api_types import Id, Problem
from shouwang.core.models import Area, AreaKind
from shouwang.core.permissions import get_visible, require
from shouwang.passes.models import GateDevice
from shouwang.passes.services import gates, photo
from shouwang.passes.services.verify import Gate, check, new_scan_id, sync_payload, upload

router = Router(tags=["gate"])

USE_GATE = "passes.use_gate"
MAX_PHOTO_BYTES = 12 * 1024 * 1024


class GateKey(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> GateDevice | None:
        return gates.authenticate(token)


GATE_AUTH = [GateKey(), django_auth]


def _gate(request: HttpRequest, compound_id: int | None, name: str = "") -> Gate:
    auth = request.auth  # type: ignore[attr-defined]
    if isinstance(auth, GateDevice):
        return Gate(auth.compound, auth.name, device=auth)
    require(auth, USE_GATE)
    compounds = Area.objects.filter(kind=AreaKind.COMPOUND)
    return Gate(get_visible(auth, compounds, compound_id), name, guard=auth)


def _unreadable(detail: str) -> HttpResponse:
    return JsonResponse({"detail": detail}, status=422)


class VerifyIn(Schema):
    code: str
    direction: str = "in"
    scan_id: str | None = None
    compound_id: Id | None = None
    gate: str = ""
    method: str = "api"


class VerdictOut(Schema):
    allowed: bool
    reason: str
    reason_label: str
    name: str
    pass_id: int | None
    kind: str
    valid_until: str | None
    # A visit to a household under home quarantine, let in by a worker: why and by whom.
    approval: str = ""
    scan_id: str


@router.post("/gate/verify", auth=GATE_AUTH, response=VerdictOut)
def verify(request: HttpRequest, payload: VerifyIn) -> dict[str, Any]:
    """Verify one code at this gate and log it. `allowed` opens the turnstile; `reason` says
    why not. Send a `scan_id` you generate to make a retried request safe."""
    gate = _gate(request, payload.compound_id, payload.gate)
    scan_id = payload.scan_id or new_scan_id()
    verdict = check(
        gate,
        payload.code[:2000],
        direction=payload.direction,
        scan_id=scan_id,
        method=payload.method,
    )
    return {**verdict.as_dict(), "scan_id": scan_id}


@router.get("/gate/sync", auth=GATE_AUTH)
def sync(request: HttpRequest, compound_id: Id | None = None) -> dict[str, Any]:
    """Verification keys (JWK, Ed25519) and the pass ids to refuse (revoked, suspended, under
    home quarantine, visitors to a quarantined household without approval, dynamic-only), for
    verifying offline. Fetch it every few minutes."""
    gate = _gate(request, compound_id)
    if gate.device is not None:
        gates.synced(gate.device)
    return sync_payload(gate.compound)


class ScansIn(Schema):
    compound_id: Id | None = None
    scans: list[dict[str, Any]]


@router.post("/gate/scans", auth=GATE_AUTH, response={200: dict[str, int]})
def upload_scans(request: HttpRequest, payload: ScansIn) -> dict[str, int]:
    """Scans verified offline: each {scan_id, code, at, direction, allowed, reason, gate}.
    Idempotent by scan_id; one bad scan refuses the batch (422) with its number."""
    gate = _gate(request, payload.compound_id)
    return upload(gate, payload.scans)


@router.post("/gate/photo", auth=GATE_AUTH, response={200: VerdictOut, 422: Problem})
def verify_photo(
    request: HttpRequest,
    image: File[UploadedFile],
    compound_id: Form[Id | None] = None,
    direction: Form[str] = "in",
    gate: Form[str] = "",
) -> Any:
    """A photo of the code (JPEG, PNG, PGM…), read on the server."""
    where = _gate(request, compound_id, gate)
    if image.size is None or image.size > MAX_PHOTO_BYTES:
        return _unreadable("photo too large")
    try:
        codes = photo.codes_in(image.read())
    except photo.PhotoError as exc:
        return _unreadable(str(exc))
    if not codes:
        return _unreadable("no QR code found in the photo")
    scan_id = new_scan_id()
    verdict = check(where, codes[0], direction=direction, scan_id=scan_id, method="photo")
    return {**verdict.as_dict(), "scan_id": scan_id}
