"""Organisation identifiers: the unified social credit code and a school's education code.

The unified social credit code (统一社会信用代码, GB 32100-2015) has 18 characters from an
alphabet of 31 (digits and the capitals without I, O, S, V, Z): the registration authority
(1), the organisation type (1), the region code (6), the organisation code (9) and a check
character computed over the first 17 with weights 3^i mod 31 (ISO 7064 style MOD 31).
A school may be identified by its 学校标识码 instead: ten digits given by the education
authority.
"""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from shouwang.core.text import squash

ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
WEIGHTS = tuple(pow(3, i, 31) for i in range(17))  # 1, 3, 9, 27, 19, 26, 16, 17, 20, 29…
_SHAPE = re.compile(rf"^[{ALPHABET}]{{18}}$")
_EDUCATION = re.compile(r"^\d{10}$")


def credit_check_char(first17: str) -> str:
    total = sum(ALPHABET.index(c) * w for c, w in zip(first17, WEIGHTS, strict=True))
    return ALPHABET[(31 - total % 31) % 31]


def normalize_credit_code(value: str) -> str:
    """The canonical (upper-case, 18-character) code, or ValidationError saying what is wrong.
    Full-width characters and spaces are accepted, as people paste them."""
    text = squash(value or "").upper()
    if len(text) != 18:
        raise ValidationError(
            _("A unified social credit code has 18 characters (this one has %(n)d).")
            % {"n": len(text)},
            code="credit_length",
        )
    if not _SHAPE.match(text):
        bad = sorted({c for c in text if c not in ALPHABET})
        raise ValidationError(
            _("A unified social credit code cannot contain %(chars)s.") % {"chars": "、".join(bad)},
            code="credit_shape",
        )
    if credit_check_char(text[:17]) != text[17]:
        raise ValidationError(
            _(
                "The check character of the unified social credit code is wrong: "
                "typed in incorrectly?"
            ),
            code="credit_check",
        )
    return text


def normalize_education_code(value: str) -> str:
    text = squash(value or "")
    if not _EDUCATION.match(text):
        raise ValidationError(
            _("A school identification code is 10 digits."), code="education_code"
        )
    return text
