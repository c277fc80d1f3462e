"""Field encryption (AES-GCM) and blind indexes (HMAC-SHA256).

Ciphertext layout, as stored: "<key version>$<base64(nonce ‖ ciphertext ‖ tag)>". The version
lets keys rotate: new writes use the current key, old rows still decrypt with theirs. The
table and column are the associated data, so a ciphertext copied into another column (say, a
phone number pasted where an ID number belongs) fails to decrypt instead of leaking.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from functools import cache

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


class DecryptionError(ValueError):
    pass


class _Keys:
    def __init__(self, spec: dict[str, object]) -> None:
        encryption = spec["encryption"]
        if not isinstance(encryption, dict) or not encryption:
            raise ValueError("data keys: 'encryption' must map versions to keys")
        self.by_version = {str(v): AESGCM(base64.b64decode(k)) for v, k in encryption.items()}
        self.current = str(spec.get("current") or max(self.by_version, key=int))
        if self.current not in self.by_version:
            raise ValueError(f"data keys: current version {self.current} has no key")
        index = spec.get("index")
        if not isinstance(index, str):
            raise ValueError("data keys: 'index' (the blind-index key) is missing")
        self.index_key = base64.b64decode(index)


@cache
def _keys() -> _Keys:
    spec = settings.SHOUWANG_DATA_KEYS
    if spec is None:
        raise ImproperlyConfigured(
            "No data keys: set SHOUWANG_DATA_KEYS or run `shouwang init-secrets` "
            "(see `shouwang check`)."
        )
    return _Keys(spec)


def reset_key_cache() -> None:
    _keys.cache_clear()


def encrypt(plaintext: str, context: str) -> str:
    keys = _keys()
    nonce = os.urandom(12)
    sealed = keys.by_version[keys.current].encrypt(nonce, plaintext.encode(), context.encode())
    return f"{keys.current}${base64.b64encode(nonce + sealed).decode()}"


def decrypt(stored: str, context: str) -> str:
    version, _, body = stored.partition("$")
    aead = _keys().by_version.get(version)
    if aead is None or not body:
        raise DecryptionError(f"no key version {version!r} for {context}")
    raw = base64.b64decode(body)
    try:
        return aead.decrypt(raw[:12], raw[12:], context.encode()).decode()
    except InvalidTag as exc:
        raise DecryptionError(f"ciphertext for {context} does not authenticate") from exc


def key_version(stored: str) -> str:
    return stored.partition("$")[0]


def current_key_version() -> str:
    return _keys().current


def blind_index(value: str, purpose: str) -> str:
    """A keyed hash to find rows by an encrypted value without decrypting every row."""
    message = f"{purpose}\x00{value}".encode()
    return hmac.new(_keys().index_key, message, hashlib.sha256).hexdigest()


def encrypt_bytes(plaintext: bytes, context: str) -> bytes:
    """Like `encrypt`, for a file kept for a while (an uploaded roster): "<version>$" + raw."""
    keys = _keys()
    nonce = os.urandom(12)
    sealed = keys.by_version[keys.current].encrypt(nonce, plaintext, context.encode())
    return keys.current.encode() + b"$" + nonce + sealed


def decrypt_bytes(stored: bytes, context: str) -> bytes:
    version, _, body = bytes(stored).partition(b"$")
    aead = _keys().by_version.get(version.decode(errors="replace"))
    if aead is None or len(body) < 12:
        raise DecryptionError(f"no key version {version!r} for {context}")
    try:
        return aead.decrypt(body[:12], body[12:], context.encode())
    except InvalidTag as exc:
        raise DecryptionError(f"ciphertext for {context} does not authenticate") from exc
