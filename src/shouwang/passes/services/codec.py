"""The QR content of a pass, in the EU Digital COVID Certificate's layout:

    "SW1:" + base45( zlib( COSE_Sign1( CWT claims ) ) )

COSE_Sign1 (RFC 9052) signed with Ed25519 (alg EdDSA, -8), the key id in the unprotected header
as the DCC puts it; the payload is a CWT claims set (RFC 8392). python-cwt does the COSE work;
the envelope (prefix, base45, zlib) and the claims are ours. This module has no database:
the gate's offline verifier in the browser (static/passes/gate.js) mirrors it.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from datetime import UTC, datetime

import base45  # type: ignore[import-untyped]
import cbor2
from cwt import COSE
from cwt.cose_key_interface import COSEKeyInterface

PREFIX = "SW1:"
ISSUER = "shouwang"
# CWT claim keys (RFC 8392) and our private claim (negative keys are for private use).
ISS, EXP, NBF, IAT, CTI = 1, 4, 5, 6, 7
PASS_CLAIM = -70000
# Inside the private claim: short integer keys keep the code small enough for a cheap camera.
P_NAME, P_COMPOUNDS, P_KIND = 1, 2, 3
KID_HEADER = 4
SIGN1_TAG = 18
# A base45 code of this size fills a version-12 QR code; beyond it something is wrong.
MAX_CODE_LENGTH = 1000
MAX_INFLATED = 4096

_cose = COSE.new(alg_auto_inclusion=True, kid_auto_inclusion=False)


class CodeError(Exception):
    """The code cannot be read as a pass (reason: malformed), or its signature fails (forged)."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class Claims:
    pass_id: int
    name: str
    compounds: tuple[int, ...]
    kind: str
    issued_at: datetime
    not_before: datetime | None = None
    expires: datetime | None = None
    extra: dict[int, object] = field(default_factory=dict)


def _ts(value: datetime | None) -> int | None:
    return None if value is None else int(value.timestamp())


def _dt(value: object) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, int | float) or isinstance(value, bool):
        raise CodeError("malformed", "a time claim is not a number")
    return datetime.fromtimestamp(value, UTC)


def claims_to_cbor(claims: Claims) -> bytes:
    body: dict[int, object] = {
        ISS: ISSUER,
        IAT: _ts(claims.issued_at),
        CTI: claims.pass_id.to_bytes(8, "big").lstrip(b"\0") or b"\0",
        PASS_CLAIM: {P_NAME: claims.name, P_COMPOUNDS: list(claims.compounds), P_KIND: claims.kind},
    }
    if claims.not_before is not None:
        body[NBF] = _ts(claims.not_before)
    if claims.expires is not None:
        body[EXP] = _ts(claims.expires)
    return cbor2.dumps(body)


def sign(claims: Claims, private_key: COSEKeyInterface, kid: str) -> str:
    message = _cose.encode_and_sign(
        claims_to_cbor(claims), private_key, unprotected={KID_HEADER: kid.encode()}
    )
    encoded: bytes = base45.b45encode(zlib.compress(message, 9))
    return PREFIX + encoded.decode("ascii")


@dataclass(frozen=True)
class Envelope:
    """A code opened but not yet verified: its key id and the raw COSE message."""

    kid: str
    message: bytes


def open_envelope(code: str) -> Envelope:
    text = (code or "").strip()
    if not text.startswith(PREFIX):
        raise CodeError("malformed", "missing the SW1: prefix")
    if len(text) > MAX_CODE_LENGTH:
        raise CodeError("malformed", "code too long")
    try:
        compressed = base45.b45decode(text[len(PREFIX) :])
    except (ValueError, KeyError) as exc:
        raise CodeError("malformed", "not base45") from exc
    try:
        inflater = zlib.decompressobj()
        message = inflater.decompress(compressed, MAX_INFLATED)
        if inflater.unconsumed_tail or not inflater.eof:
            raise CodeError("malformed", "compressed data truncated or too large")
    except zlib.error as exc:
        raise CodeError("malformed", "not zlib data") from exc
    try:
        decoded = cbor2.loads(message)
    except (cbor2.CBORDecodeError, ValueError, TypeError, RecursionError) as exc:
        raise CodeError("malformed", "not CBOR") from exc
    value = decoded.value if isinstance(decoded, cbor2.CBORTag) else decoded
    if (
        (isinstance(decoded, cbor2.CBORTag) and decoded.tag != SIGN1_TAG)
        or not isinstance(value, list)
        or len(value) != 4
    ):
        raise CodeError("malformed", "not a COSE_Sign1 message")
    protected, unprotected = value[0], value[1]
    kid: object = None
    if isinstance(unprotected, dict):
        kid = unprotected.get(KID_HEADER)
    if kid is None and isinstance(protected, bytes) and protected:
        try:
            header = cbor2.loads(protected)
        except (cbor2.CBORDecodeError, ValueError) as exc:
            raise CodeError("malformed", "protected header is not CBOR") from exc
        if isinstance(header, dict):
            kid = header.get(KID_HEADER)
    if not isinstance(kid, bytes) or not kid:
        raise CodeError("malformed", "no key id")
    try:
        kid_text = kid.decode("ascii")
    except UnicodeDecodeError as exc:
        raise CodeError("malformed", "key id is not text") from exc
    if not isinstance(decoded, cbor2.CBORTag):
        message = cbor2.dumps(cbor2.CBORTag(SIGN1_TAG, value))
    return Envelope(kid_text, message)


def verify(envelope: Envelope, public_key: COSEKeyInterface) -> Claims:
    """Check the signature, then read the claims. CodeError("forged") if it does not verify."""
    try:
        payload = _cose.decode(envelope.message, public_key)
    except Exception as exc:  # python-cwt raises several types for one meaning: not signed by us
        raise CodeError("forged", "signature does not verify") from exc
    return parse_claims(payload)


def parse_claims(payload: bytes) -> Claims:
    try:
        body = cbor2.loads(payload)
    except (cbor2.CBORDecodeError, ValueError, TypeError) as exc:
        raise CodeError("malformed", "claims are not CBOR") from exc
    if not isinstance(body, dict) or body.get(ISS) != ISSUER:
        raise CodeError("malformed", "not issued by Shouwang")
    inner = body.get(PASS_CLAIM)
    cti = body.get(CTI)
    if not isinstance(inner, dict) or not isinstance(cti, bytes) or not 0 < len(cti) <= 8:
        raise CodeError("malformed", "pass claims missing")
    compounds = inner.get(P_COMPOUNDS)
    name, kind = inner.get(P_NAME), inner.get(P_KIND)
    if (
        not isinstance(compounds, list)
        or not all(isinstance(c, int) for c in compounds)
        or not isinstance(name, str)
        or not isinstance(kind, str)
    ):
        raise CodeError("malformed", "pass claims have the wrong types")
    issued = _dt(body.get(IAT))
    if issued is None:
        raise CodeError("malformed", "no issue time")
    return Claims(
        pass_id=int.from_bytes(cti, "big"),
        name=name,
        compounds=tuple(compounds),
        kind=kind,
        issued_at=issued,
        not_before=_dt(body.get(NBF)),
        expires=_dt(body.get(EXP)),
    )
