"""A body temperature as people type it, read the same by every app that takes one."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from shouwang.core.readings import parse_temperature


@pytest.mark.parametrize(
    ("typed", "read"),
    [
        ("36.5", "36.5"),
        ("３７．２", "37.2"),  # a Chinese phone keyboard's full-width digits
        ("37.25", "37.2"),  # one decimal, rounded half to even
        ("37,4", "37.4"),
        ("37。4", "37.4"),
        (" 38 ℃", "38.0"),
        ("36.8度", "36.8"),
        ("36.8 °c", "36.8"),
        (37, "37.0"),
    ],
)
def test_temperatures_as_typed(typed: object, read: str) -> None:
    assert parse_temperature(typed) == Decimal(read)


@pytest.mark.parametrize(
    "typed", ["", "abc", "37.2.1", "NaN", "Infinity", "33.9", "43.1", "3.7e1x"]
)
def test_what_is_not_a_body_temperature_is_refused_with_the_reason(typed: str) -> None:
    with pytest.raises(ValidationError):
        parse_temperature(typed)
