"""Excel exports of personal data, one way for every list that leaves the system.

An export is masked unless the actor may reveal and asked for full values; its first row and
its file properties say who exported it and when, so a file found in a chat group names its
source; writing it out is audited with what it held. Full values are given only with a
reason, which goes into the audit entry and into the file's own stamp, and the file's name
says "unmasked" so nobody forwards it thinking it is the masked list.
"""

from __future__ import annotations

import io
from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from shouwang.core import audit, roles
from shouwang.core.models import Person


def file_name(base: str, unmasked: bool) -> str:
    """`residents-20261201-0930.xlsx`, or `residents-unmasked-…` for full values."""
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    return f"{base}-unmasked-{stamp}.xlsx" if unmasked else f"{base}-{stamp}.xlsx"


def clean_reason(unmasked: bool, reason: str | None) -> str:
    """The reason for a full export, required; nothing for a masked one."""
    text = " ".join((reason or "").split())[:200]
    if unmasked and not text:
        raise ValidationError(
            _("Say why you need the full values: the reason goes into the audit log and the file.")
        )
    return text if unmasked else ""


class PersonalExport:
    def __init__(self, actor: Any, title: str, unmasked: bool = False, reason: str = "") -> None:
        self.actor = actor
        self.unmasked = bool(unmasked and actor is not None and actor.has_perm(roles.REVEAL))
        self.reason = clean_reason(self.unmasked, reason)
        self.who = actor.get_username() if actor is not None else "system"
        # Imported here: openpyxl costs ~0.3 s to import, and processes that never export
        # (`shouwang ingest`, the worker) load this module through the apps' registrations.
        from openpyxl import Workbook

        self.book = Workbook(write_only=True)
        self.sheet = self.book.create_sheet(title=title)
        stamp = timezone.localtime().strftime("%Y-%m-%d %H:%M")
        when = {"who": self.who, "when": stamp, "reason": self.reason}
        if self.unmasked:
            line = _("Exported by %(who)s at %(when)s (full values; reason: %(reason)s)") % when
        else:
            line = _("Exported by %(who)s at %(when)s (masked)") % when
        self.sheet.append([line])

    def append(self, row: list[Any]) -> None:
        self.sheet.append(row)

    def person_cells(self, person: Person | None) -> list[str]:
        """Name, ID number and phone, masked unless this export is unmasked."""
        if person is None:
            return ["", "", ""]
        if self.unmasked:
            return [person.name, person.id_number or "", person.phone or ""]
        return [person.masked_name, person.masked_id_number, person.masked_phone]

    def finish(self, action: str, details: dict[str, Any]) -> bytes:
        """The file's bytes; the export is audited (`action` ends in ".export")."""
        self.book.properties.creator = self.who
        self.book.properties.created = datetime.now(tz=timezone.get_current_timezone())
        buffer = io.BytesIO()
        self.book.save(buffer)
        with transaction.atomic():
            audit.record(
                action,
                actor=self.actor,
                details={**details, "unmasked": self.unmasked, "reason": self.reason},
            )
        return buffer.getvalue()
