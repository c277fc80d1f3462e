"""Retiring a pass-signing key: its live passes are re-signed with the current key first.

Apart from `keys` (the key store) and `issue` (signing passes) so that neither imports the
other.
"""

from __future__ import annotations

import contextlib
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from shouwang.core import audit
from shouwang.core.permissions import require
from shouwang.passes.models import KeyStatus, SigningKey
from shouwang.passes.services import keys
from shouwang.passes.services.issue import resign_passes


def retire_signing_key(actor: Any, kid: str) -> int:
    """Stop trusting a key. Live passes it signed are re-signed first; returns how many."""
    require(actor, keys.MANAGE_KEYS)
    with transaction.atomic():
        key = SigningKey.objects.select_for_update().filter(kid=kid).first()
        if key is None:
            raise ValidationError({"kid": [_("No such signing key.")]})
        if key.status == KeyStatus.RETIRED:
            return 0
        others = SigningKey.objects.filter(status=KeyStatus.ACTIVE).exclude(pk=key.pk)
        if not any(keys.key_file(k.kid).exists() for k in others):
            raise ValidationError(
                {"kid": [_("Create a new signing key before retiring the last one.")]}
            )
        key.status, key.retired_at = KeyStatus.RETIRED, timezone.now()
        key.save(update_fields=["status", "retired_at"])
        keys.forget_cache()
        count = resign_passes(kid)
        audit.record(
            "pass_key.retire", actor=actor, target=key, details={"kid": kid, "resigned": count}
        )
    # The private half can never be needed again.
    with contextlib.suppress(FileNotFoundError):
        keys.key_file(kid).unlink()
    keys.forget_cache()
    return count
