"""Pass-signing keys: Ed25519, private halves in 0600 files under var/pass_keys/, public halves
(with their ids and status) in the database.

Rotation adds a key that signs from then on; the old key keeps verifying the codes it signed.
Retiring a key re-signs the live passes it signed with the current key, then stops trusting
it: its codes answer "retired key" at every gate after the gates' next sync.
"""

from __future__ import annotations

import base64
import os
import secrets
import time
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cwt import COSEKey
from cwt.cose_key_interface import COSEKeyInterface
from django.conf import settings
from django.db import transaction

from shouwang.core import audit
from shouwang.core.permissions import require
from shouwang.passes.models import KeyStatus, SigningKey

MANAGE_KEYS = "passes.change_signingkey"
# Verifying processes re-read a key's status this often: a retirement reaches every process
# within this time (and every offline gate at its next sync).
CACHE_SECONDS = 30.0

_public_cache: dict[str, tuple[float, COSEKeyInterface | None, str]] = {}


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def key_dir() -> Path:
    path = Path(settings.VAR_DIR) / "pass_keys"
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    return path


def key_file(kid: str) -> Path:
    return key_dir() / f"{kid}.key"


def _cose_key(public: bytes, kid: str, private: bytes | None = None) -> COSEKeyInterface:
    jwk: dict[str, Any] = {
        "kty": "OKP",
        "crv": "Ed25519",
        "alg": "EdDSA",
        "kid": kid,
        "x": b64url(public),
    }
    if private is not None:
        jwk["d"] = b64url(private)
    return COSEKey.from_jwk(jwk)


def forget_cache() -> None:
    _public_cache.clear()


def create_signing_key(actor: Any) -> SigningKey:
    """A new key that signs every pass issued from now on (the rotation step)."""
    require(actor, MANAGE_KEYS)
    private = Ed25519PrivateKey.generate()
    raw = private.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )
    public = private.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    kid = secrets.token_hex(4)
    # The file first, 0600 from creation: a key row without its private half could not sign.
    fd = os.open(key_file(kid), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(b64url(raw))
    with transaction.atomic():
        key = SigningKey.objects.create(kid=kid, public_key=b64url(public))
        audit.record("pass_key.create", actor=actor, target=key, details={"kid": kid})
    forget_cache()
    return key


def current_signer() -> tuple[str, COSEKeyInterface]:
    """The newest active key whose private half this machine holds (created on first use)."""
    for attempt in range(2):
        for key in SigningKey.objects.filter(status=KeyStatus.ACTIVE):
            path = key_file(key.kid)
            if path.exists():
                private = _unb64url(path.read_text(encoding="ascii").strip())
                return key.kid, _cose_key(_unb64url(key.public_key), key.kid, private)
        if not attempt:
            create_signing_key(None)
    raise AssertionError("unreachable: a key was just created")  # pragma: no cover


def public_key(kid: str) -> tuple[COSEKeyInterface | None, str]:
    """(key, status) for a key id; (None, "") if unknown. Cached: the verify hot path."""
    now = time.monotonic()
    hit = _public_cache.get(kid)
    if hit is not None and now - hit[0] < CACHE_SECONDS:
        return hit[1], hit[2]
    row = SigningKey.objects.filter(kid=kid).values_list("public_key", "status").first()
    entry: tuple[float, COSEKeyInterface | None, str] = (now, None, "")
    if row is not None:
        entry = (now, _cose_key(_unb64url(row[0]), kid), row[1])
    if len(_public_cache) > 1000:  # unknown kids from forged codes must not grow it forever
        _public_cache.clear()
    _public_cache[kid] = entry
    return entry[1], entry[2]


def verification_keys() -> list[dict[str, str]]:
    """The active public keys as JWK-like dicts, for offline verifiers."""
    return [
        {"kid": k.kid, "kty": "OKP", "crv": "Ed25519", "alg": "EdDSA", "x": k.public_key}
        for k in SigningKey.objects.filter(status=KeyStatus.ACTIVE).order_by("created_at", "id")
    ]


def retired_kids() -> list[str]:
    """Key ids no longer trusted, so offline verifiers can say "old code" rather than "forged"."""
    return list(
        SigningKey.objects.filter(status=KeyStatus.RETIRED)
        .order_by("retired_at", "id")
        .values_list("kid", flat=True)
    )
