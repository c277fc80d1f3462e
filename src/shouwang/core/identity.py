"""National ID numbers and phone numbers: validation, normalisation and masked display.

ID numbers follow GB 11643-1999: 6-digit region code, 8-digit birth date, 3-digit sequence and
an ISO 7064 MOD 11-2 check character (0-9 or X). Old 15-digit numbers (GB 11643-1989: a 2-digit
year, no check character) are still found in rosters; they convert exactly to 18 digits by
inserting "19" and computing the check character, which is what the issuing offices did.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _

from shouwang.core.text import squash

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"
_ID_SHAPE = re.compile(r"^[1-9]\d{16}[\dX]$")
_OLD_ID_SHAPE = re.compile(r"^[1-9]\d{14}$")
# Province-level codes of GB/T 2260 (71 Taiwan; 81, 82, 83 the residence permits of Hong Kong,
# Macao and Taiwan residents, whose region code is the province code and "0000").
PROVINCES = frozenset(
    {11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37, 41, 42, 43, 44, 45, 46}
    | {50, 51, 52, 53, 54, 61, 62, 63, 64, 65, 71, 81, 82, 83}
)
_NO_PREFECTURE = frozenset({71, 81, 82, 83})
_MOBILE = re.compile(r"^1[3-9]\d{9}$")
# Landlines as residents' committees write them: area code 0xx/0xxx, 7-8 digits, optional ext.
_LANDLINE = re.compile(r"^0\d{2,3}-?\d{7,8}(-\d{1,6})?$")


def id_check_char(first17: str) -> str:
    total = sum(int(d) * w for d, w in zip(first17, _ID_WEIGHTS, strict=True))
    return _ID_CHECK[total % 11]


def convert_old_id(old: str) -> str:
    """A 15-digit ID number as its 18-digit form (born 19xx, check character added)."""
    first17 = old[:6] + "19" + old[6:]
    return first17 + id_check_char(first17)


def normalize_id_number(value: str) -> str:
    """The canonical form (upper-case X, 18 characters) of a valid ID number, or ValidationError.

    Full-width digits, a lower-case x and spaces are accepted; an old 15-digit number is
    converted. Region code and birth date must be plausible, and the check character right.
    """
    text = squash(value or "").upper()
    if len(text) == 15:
        if not _OLD_ID_SHAPE.match(text):
            raise ValidationError(
                _("An old 15-digit ID number must be 15 digits."), code="id_shape"
            )
        try:
            date(1900 + int(text[6:8]), int(text[8:10]), int(text[10:12]))
        except ValueError as exc:
            raise ValidationError(
                _("Old 15-digit ID number holds an impossible birth date (19%(d)s).")
                % {"d": text[6:12]},
                code="id_birth_date",
            ) from exc
        text = convert_old_id(text)
    if len(text) != 18:
        raise ValidationError(
            _("ID number must have 18 characters (it has %(n)d).") % {"n": len(text)},
            code="id_length",
        )
    if not _ID_SHAPE.match(text):
        raise ValidationError(
            _("ID number must be 17 digits followed by a digit or X."), code="id_shape"
        )
    province, prefecture = int(text[:2]), text[2:4]
    if province not in PROVINCES or (prefecture == "00" and province not in _NO_PREFECTURE):
        raise ValidationError(
            _("ID number starts with %(r)s, which is not a region code.") % {"r": text[:6]},
            code="id_region",
        )
    try:
        born = date(int(text[6:10]), int(text[10:12]), int(text[12:14]))
    except ValueError as exc:
        raise ValidationError(
            _("ID number holds an impossible birth date (%(d)s).") % {"d": text[6:14]},
            code="id_birth_date",
        ) from exc
    if born > timezone.localdate() or born.year < 1900:
        raise ValidationError(
            _("ID number holds a birth date that cannot be right (%(d)s).") % {"d": text[6:14]},
            code="id_birth_date",
        )
    if id_check_char(text[:17]) != text[17]:
        raise ValidationError(
            _("ID number check digit is wrong: typed in incorrectly?"), code="id_check_digit"
        )
    return text


def normalize_phone(value: str) -> str:
    """A mobile (11 digits) or landline number, or ValidationError.

    Written as people write them: full-width digits, +86/0086/86, spaces, dots, hyphens and
    brackets. A landline keeps one hyphen after its area code when it was written with one.
    """
    text = re.sub(r"[\s.()（）\[\]]", "", squash(value or ""))
    text = re.sub(r"^(\+86|0086|86(?=-?1\d{2}-?\d{4}-?\d{4}$))-?", "", text)
    mobile = text.replace("-", "")
    if _MOBILE.match(mobile):
        return mobile
    if _LANDLINE.match(text):
        return text
    if _LANDLINE.match(mobile):
        return mobile
    raise ValidationError(
        _("Phone number must be an 11-digit mobile number or a landline with area code."),
        code="phone",
    )


def birth_date_from_id(id_number: str) -> date:
    return date(int(id_number[6:10]), int(id_number[10:12]), int(id_number[12:14]))


def mask_name(name: str) -> str:
    """张三 → 张*, 张三明 → 张*明, 欧阳明月 → 欧**月; Latin names keep their first letter."""
    name = (name or "").strip()
    if len(name) <= 1:
        return name
    if len(name) == 2:
        return name[0] + "*"
    return name[0] + "*" * (len(name) - 2) + name[-1]


def mask_id_number(id_number: str | None) -> str:
    if not id_number:
        return ""
    if len(id_number) < 10:
        return "*" * len(id_number)
    return id_number[:6] + "*" * (len(id_number) - 10) + id_number[-4:]


def mask_phone(phone: str | None) -> str:
    if not phone:
        return ""
    if len(phone) == 11 and phone.isdigit():
        return phone[:3] + "****" + phone[-4:]
    # Landlines: keep the area code and the last two digits.
    return phone[: max(3, len(phone) - 6)] + "****" + phone[-2:]


class MaskedContact:
    """For a model with `name` and `phone` (a resident, a visitor, a family contact): the
    masked forms every screen shows, and the masked name as its text."""

    name: Any
    phone: Any

    @property
    def masked_name(self) -> str:
        return mask_name(self.name)

    @property
    def masked_phone(self) -> str:
        return mask_phone(self.phone)

    def __str__(self) -> str:
        return mask_name(self.name)
