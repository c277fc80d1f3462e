"""Model fields that keep personal data encrypted at rest."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.db import models
from django.db.models import Lookup

from shouwang.core import crypto

if TYPE_CHECKING:
    _TextField = models.TextField[str | None, str | None]
else:
    _TextField = models.TextField


class EncryptedTextField(_TextField):
    """Text encrypted with AES-GCM; the database only ever sees ciphertext.

    Equality lookups cannot work on randomised ciphertext, so only `isnull` is allowed: find
    rows through a blind-index column instead.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("null", True)
        kwargs.setdefault("blank", True)
        super().__init__(*args, **kwargs)

    @property
    def crypto_context(self) -> str:
        return f"{self.model._meta.db_table}.{self.column}"

    def from_db_value(self, value: str | None, expression: Any, connection: Any) -> str | None:
        if value is None:
            return None
        return crypto.decrypt(value, self.crypto_context)

    def get_prep_value(self, value: Any) -> str | None:
        value = super().get_prep_value(value)
        if value is None or value == "":
            return None
        if not isinstance(value, str):
            value = str(value)
        return crypto.encrypt(value, self.crypto_context)

    def get_lookup(self, lookup_name: str) -> type[Lookup[Any]] | None:
        if lookup_name != "isnull":
            return None
        return super().get_lookup(lookup_name)
