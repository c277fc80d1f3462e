"""National ID numbers and phone numbers: validation, normalisation and masked display.

ID numbers follow GB 11643-1999: 6-digit region code, 8-digit birth date, 3-digit sequence and
an ISO 7064 MOD 11-2 check character (0-9 or X).
"""

from __future__ import annotations

import re
from datetime import date

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"
_ID_SHAPE = re.compile(r"^[1-9]\d{16}[\dX]$")
_MOBILE = re.compile(r"^1[3-9]\d{9}$")
# Landlines as residents' committees write them: area code 0xx/0xxx, 7-8 digits, optional ext.
_LANDLINE = re.compile(r"^0\d{2,3}-?\d{7,8}(-\d{1,6})?$")


def id_check_char(first17: str) -> str:
    total = sum(int(d) * w for d, w in zip(first17, _ID_WEIGHTS, strict=True))
    return _ID_CHECK[total % 11]


def normalize_id_number(value: str) -> str:
    """The canonical form (upper-case X, no spaces) of a valid ID number, or ValidationError."""
    text = (value or "").strip().replace(" ", "").upper()
    if len(text) != 18:
        raise ValidationError(
            _("ID number must have 18 characters (it has %(n)d).") % {"n": len(text)},
            code="id_length",
        )
    if not _ID_SHAPE.match(text):
        raise ValidationError(
            _("ID number must be 17 digits followed by a digit or X."), code="id_shape"
        )
    try:
        date(int(text[6:10]), int(text[10:12]), int(text[12:14]))
    except ValueError as exc:
        raise ValidationError(
            _("ID number holds an impossible birth date (%(d)s).") % {"d": text[6:14]},
            code="id_birth_date",
        ) from exc
    if id_check_char(text[:17]) != text[17]:
        raise ValidationError(
            _("ID number check digit is wrong: typed in incorrectly?"), code="id_check_digit"
        )
    return text


def normalize_phone(value: str) -> str:
    """A mobile (11 digits, +86 dropped) or landline number, or ValidationError."""
    text = re.sub(r"[\s()（）]", "", value or "")
    text = re.sub(r"^(\+86|0086|86(?=1\d{10}$))-?", "", text)
    if _MOBILE.match(text) or _LANDLINE.match(text):
        return text
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
