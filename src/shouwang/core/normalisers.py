"""Cell values as typed into rosters, made canonical or refused with a reason.

Each normaliser takes the raw cell value (str, int, float, date or None, as openpyxl or the
CSV reader gives it) and returns `(value, warning)`: the canonical value and, when something
was changed that the person should know about, a sentence saying what. It raises
ValidationError (with a Chinese-first, translatable reason) when the value cannot be right.
They know nothing of residents, so a list of an organisation's members can use them too.
"""

from __future__ import annotations

import re
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from shouwang.core import identity
from shouwang.core.tabular import cell_text
from shouwang.core.text import squash, tidy, tidy_name

Normalised = tuple[str, str | None]

# "4.40606197904118E+17": what Excel shows (and writes to CSV) for an ID typed as a number.
_SCIENTIFIC = re.compile(r"^\d+(\.\d+)?e\+?\d+$", re.IGNORECASE)
_PHONE_SPLIT = re.compile(r"[,，;；/、]|\s{2,}")


def _digits_lost(shown: str) -> ValidationError:
    return ValidationError(
        _(
            "The ID number was stored as a number by Excel (%(shown)s) and its last digits are "
            "lost: format the column as text and type the number again."
        )
        % {"shown": shown},
        code="id_number_as_number",
    )


def id_number(value: Any) -> Normalised:
    """A valid 18-character ID number ("" when the cell is empty)."""
    if isinstance(value, bool):
        value = str(value)
    if isinstance(value, float):
        if not value.is_integer() or abs(value) >= 1e15:
            raise _digits_lost(f"{value:.14E}")
        value = int(value)
    if isinstance(value, int):
        # Excel keeps 15 significant digits: an old 15-digit ID survives, an 18-digit one not.
        if len(str(abs(value))) != 15:
            raise _digits_lost(str(value))
        value = str(value)
    text = squash(cell_text(value))
    if not text:
        return "", None
    if _SCIENTIFIC.match(text):
        raise _digits_lost(text)
    clean = identity.normalize_id_number(text)
    if len(text) == 15:
        return clean, _("Old 15-digit ID number converted to 18 digits.")
    return clean, None


def phone(value: Any) -> Normalised:
    """A normalised phone number ("" when empty); of several, the first is kept."""
    text = tidy(cell_text(value))
    if not text:
        return "", None
    numbers = [n for n in _PHONE_SPLIT.split(text) if n.strip()]
    clean = identity.normalize_phone(numbers[0])
    if len(numbers) > 1:
        return clean, _("Several phone numbers: only the first (%(kept)s) is kept.") % {
            "kept": identity.mask_phone(clean)
        }
    return clean, None


def name(value: Any) -> Normalised:
    text = tidy_name(cell_text(value))
    if not text:
        raise ValidationError(_("Name is required."), code="required")
    if len(text) > 100:
        raise ValidationError(_("Name is longer than 100 characters."), code="max_length")
    return text, None


_CN_DIGITS = {c: i for i, c in enumerate("〇一二三四五六七八九")} | {"十": 10}


def _number_word(text: str) -> str:
    """ "3", "03" or "三" (up to 十九) as "3"; anything else unchanged."""
    if text.isdigit():
        return str(int(text))
    if text and all(c in _CN_DIGITS for c in text):
        if text == "十":
            return "10"
        if len(text) == 1:
            return str(_CN_DIGITS[text])
        if len(text) == 2 and text[0] == "十":
            return str(10 + _CN_DIGITS[text[1]])
    return text


_BUILDING = re.compile(r"^(?:第)?(\d+|[〇一二三四五六七八九十]{1,2})(号楼|号|栋|幢|座|#|楼)?$")
_UNIT = re.compile(r"^(?:第)?(\d+|[〇一二三四五六七八九十]{1,2})(单元|单|门|#)?$")
_DOOR = re.compile(r"^(\d+)(室|号|户)?$")


def _place(value: Any, limit: int, label: str) -> str:
    text = squash(cell_text(value))
    if len(text) > limit:
        raise ValidationError(
            _("%(what)s is longer than %(n)d characters.") % {"what": label, "n": limit}
        )
    return text


def building(value: Any) -> Normalised:
    """ "3", "３", "3号楼", "3栋", "3幢", "3#", "三号楼" → "3号楼"; other names kept."""
    text = _place(value, 100, _("Building"))
    match = _BUILDING.match(text)
    return (f"{_number_word(match.group(1))}号楼" if match else text), None


def unit(value: Any) -> Normalised:
    text = _place(value, 100, _("Unit"))
    match = _UNIT.match(text)
    return (f"{_number_word(match.group(1))}单元" if match else text), None


def door(value: Any) -> Normalised:
    """ "501", "５０１", "501室" → "501"; "B-501" kept as written (half-width, no spaces)."""
    text = _place(value, 50, _("Door number")).upper()
    match = _DOOR.match(text)
    return (match.group(1) if match else text), None
