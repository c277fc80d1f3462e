"""The code on the resident's phone: a CWT in COSE_Sign1, zlib, base45, behind "SW1:"."""

from __future__ import annotations

import zlib
from datetime import UTC, datetime, timedelta

import base45  # type: ignore[import-untyped]
import cbor2
import pytest
import segno
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cwt import COSEKey
from hypothesis import given
from hypothesis import strategies as st

from shouwang.passes.services import codec
from shouwang.passes.services.keys import b64url

NOW = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)


def _keypair(kid: str = "k1") -> tuple[COSEKey, COSEKey]:
    from cryptography.hazmat.primitives import serialization as s

    private = Ed25519PrivateKey.generate()
    raw = private.private_bytes(s.Encoding.Raw, s.PrivateFormat.Raw, s.NoEncryption())
    pub = private.public_key().public_bytes(s.Encoding.Raw, s.PublicFormat.Raw)
    base = {"kty": "OKP", "crv": "Ed25519", "alg": "EdDSA", "kid": kid, "x": b64url(pub)}
    return COSEKey.from_jwk({**base, "d": b64url(raw)}), COSEKey.from_jwk(base)


CLAIMS = codec.Claims(
    pass_id=123456,
    name="张*明",
    compounds=(5, 17),
    kind="r",
    issued_at=NOW,
    not_before=NOW,
    expires=NOW + timedelta(days=365),
)


def test_a_signed_code_opens_and_verifies_to_the_same_claims() -> None:
    private, public = _keypair()
    code = codec.sign(CLAIMS, private, "k1")
    assert code.startswith("SW1:")
    envelope = codec.open_envelope(code)
    assert envelope.kid == "k1"
    assert codec.verify(envelope, public) == CLAIMS


def test_the_code_is_a_standard_cose_sign1_with_the_kid_in_the_unprotected_header() -> None:
    private, _ = _keypair("abcd1234")
    code = codec.sign(CLAIMS, private, "abcd1234")
    message = cbor2.loads(zlib.decompress(base45.b45decode(code[4:])))
    assert message.tag == 18  # COSE_Sign1
    protected, unprotected, payload, signature = message.value
    assert cbor2.loads(protected) == {1: -8}  # alg: EdDSA
    assert unprotected == {4: b"abcd1234"}
    assert len(signature) == 64
    claims = cbor2.loads(payload)
    assert claims[1] == "shouwang"
    assert claims[4] == int(CLAIMS.expires.timestamp())


def test_the_code_fits_a_qr_code_a_cheap_camera_reads_at_arms_length() -> None:
    private, _ = _keypair()
    code = codec.sign(CLAIMS, private, "k1")
    assert len(code) < 260
    # Alphanumeric mode with medium error correction: version 10 or below (57 modules).
    assert segno.make_qr(code, error="m").version <= 10


def test_a_code_signed_by_another_key_is_forged() -> None:
    private, _ = _keypair()
    _, other_public = _keypair()
    envelope = codec.open_envelope(codec.sign(CLAIMS, private, "k1"))
    with pytest.raises(codec.CodeError) as caught:
        codec.verify(envelope, other_public)
    assert caught.value.reason == "forged"


def test_a_tampered_payload_is_forged() -> None:
    private, public = _keypair()
    code = codec.sign(CLAIMS, private, "k1")
    message = cbor2.loads(zlib.decompress(base45.b45decode(code[4:])))
    claims = cbor2.loads(message.value[2])
    claims[codec.PASS_CLAIM][codec.P_COMPOUNDS] = [99]  # let me into compound 99
    message.value[2] = cbor2.dumps(claims)
    tampered = "SW1:" + base45.b45encode(zlib.compress(cbor2.dumps(message))).decode()
    with pytest.raises(codec.CodeError) as caught:
        codec.verify(codec.open_envelope(tampered), public)
    assert caught.value.reason == "forged"


@pytest.mark.parametrize(
    ("code", "why"),
    [
        ("", "prefix"),
        ("HC1:6BFOXN", "prefix"),
        ("SW1:????", "base45"),
        ("SW1:" + base45.b45encode(b"plain text").decode(), "zlib"),
        ("SW1:" + base45.b45encode(zlib.compress(b"\xff\xff")).decode(), "CBOR"),
        ("SW1:" + base45.b45encode(zlib.compress(cbor2.dumps([1, 2]))).decode(), "COSE"),
        ("SW1:" + base45.b45encode(zlib.compress(b"\0" * 100_000)).decode(), "too large"),
        ("SW1:" + "A" * 2000, "too long"),
    ],
)
def test_malformed_codes_say_so(code: str, why: str) -> None:
    with pytest.raises(codec.CodeError) as caught:
        codec.open_envelope(code)
    assert caught.value.reason == "malformed", why


def _reason_of(code: str) -> str:
    try:
        codec.open_envelope(code)
    except codec.CodeError as exc:
        return exc.reason
    return "opened"


@given(st.text(max_size=300))
def test_no_text_crashes_the_reader(text: str) -> None:
    # Any text either opens (only the signature can judge it then) or is malformed.
    assert _reason_of("SW1:" + text) in {"malformed", "opened"}
