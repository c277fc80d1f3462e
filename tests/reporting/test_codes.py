"""The unified social credit code (GB 32100): real published codes pass; every one-character
corruption of them is caught by the check character; the shapes people paste are accepted."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from shouwang.reporting.codes import (
    ALPHABET,
    credit_check_char,
    normalize_credit_code,
    normalize_education_code,
)
from tests.reporting.conftest import REAL_CODES


@pytest.mark.parametrize("code", REAL_CODES)
def test_real_published_codes_are_valid(code: str) -> None:
    assert normalize_credit_code(code) == code
    assert credit_check_char(code[:17]) == code[17]


@pytest.mark.parametrize("code", REAL_CODES)
def test_every_single_character_corruption_is_refused(code: str) -> None:
    corrupted = 0
    for position in range(18):
        for char in ALPHABET:
            if char == code[position]:
                continue
            wrong = code[:position] + char + code[position + 1 :]
            with pytest.raises(ValidationError) as caught:
                normalize_credit_code(wrong)
            assert caught.value.code == "credit_check"
            corrupted += 1
    assert corrupted == 18 * 30


def test_adjacent_swaps_are_refused() -> None:
    code = REAL_CODES[0]
    for i in range(17):
        swapped = code[:i] + code[i + 1] + code[i] + code[i + 2 :]
        if swapped != code:
            with pytest.raises(ValidationError):
                normalize_credit_code(swapped)


def test_pasted_forms_are_accepted_and_shapes_explained() -> None:
    assert normalize_credit_code(" 9144 0300 7152 6726 xg ") == "9144030071526726XG"
    full_width = "９１１１００００８０２１００４３３Ｂ"
    assert normalize_credit_code(full_width) == "91110000802100433B"
    with pytest.raises(ValidationError, match="18"):
        normalize_credit_code("91110000802100433")
    # I, O, S, V and Z are not in the code's alphabet (they look like digits).
    with pytest.raises(ValidationError) as caught:
        normalize_credit_code("9111000080210O433B")
    assert caught.value.code == "credit_shape"


def test_education_code_is_ten_digits() -> None:
    assert normalize_education_code("2131 000 001") == "2131000001"
    for bad in ("213100000", "21310000011", "21310000A1", ""):
        with pytest.raises(ValidationError):
            normalize_education_code(bad)
