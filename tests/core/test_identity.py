"""ID numbers (GB 11643), phone numbers and masked display."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from hypothesis import given
from hypothesis import strategies as st

from shouwang.core import identity

VALID_ID = "11010519491231002X"


def test_valid_id_is_normalised() -> None:
    assert identity.normalize_id_number(" 11010519491231002x ") == VALID_ID


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("1101051949123100", "id_length"),
        ("11010519491231002XX", "id_length"),
        ("11010519491231002A", "id_shape"),
        ("01010519491231002X", "id_shape"),
        ("110105194902300028", "id_birth_date"),
        ("110105194912310021", "id_check_digit"),
        ("100105194912310020", "id_region"),  # no province 10
        ("990105194912310020", "id_region"),
        ("110005194912310020", "id_region"),  # a province, not a county
        ("110105209912310020", "id_birth_date"),  # born in the future
        ("110105180012310020", "id_birth_date"),
        ("11010549123A002", "id_shape"),
        ("110105490230002", "id_birth_date"),  # 1949-02-30
    ],
)
def test_bad_id_numbers_say_what_is_wrong(value: str, code: str) -> None:
    with pytest.raises(ValidationError) as caught:
        identity.normalize_id_number(value)
    assert caught.value.code == code


def test_an_id_number_written_in_full_width_with_a_lower_case_x_is_accepted() -> None:
    assert identity.normalize_id_number("１１０１０５ １９４９１２３１００２ｘ") == VALID_ID
    assert identity.normalize_id_number("11010519491231002x\n") == VALID_ID


def test_old_15_digit_id_numbers_convert_to_18_digits() -> None:
    # 110105 49 12 31 002 → 110105 1949 12 31 002 + check character
    assert identity.normalize_id_number("110105491231002") == VALID_ID
    assert identity.convert_old_id("110105491231002") == VALID_ID


@given(
    region=st.sampled_from([110105, 440305, 310104, 650102, 810000]),
    year=st.integers(1900, 2025),
    month=st.integers(1, 12),
    day=st.integers(1, 28),
    seq=st.integers(0, 999),
    position=st.integers(0, 16),
    delta=st.integers(1, 9),
)
def test_check_digit_catches_any_single_typo(
    region: int, year: int, month: int, day: int, seq: int, position: int, delta: int
) -> None:
    first17 = f"{region}{year:04d}{month:02d}{day:02d}{seq:03d}"
    good = first17 + identity.id_check_char(first17)
    assert identity.normalize_id_number(good) == good
    digits = list(first17)
    digits[position] = str((int(digits[position]) + delta) % 10)
    typo = "".join(digits) + good[17]
    with pytest.raises(ValidationError):
        identity.normalize_id_number(typo)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("13812345678", "13812345678"),
        ("+86 138 1234 5678", "13812345678"),
        ("0086-13812345678", "13812345678"),
        ("8613812345678", "13812345678"),
        ("010-62345678", "010-62345678"),
        ("0755-1234567-12", "0755-1234567-12"),
        ("１３８ １２３４ ５６７８", "13812345678"),
        ("138-1234-5678", "13812345678"),
        ("138.1234.5678", "13812345678"),
        ("+86-138-1234-5678", "13812345678"),
        ("(010)62345678", "01062345678"),
        ("０１０－６２３４５６７８", "010-62345678"),
    ],
)
def test_phone_numbers_normalise(value: str, expected: str) -> None:
    assert identity.normalize_phone(value) == expected


@pytest.mark.parametrize("value", ["12812345678", "1381234567", "138123456789", "abc", "62345678"])
def test_bad_phone_numbers_are_rejected(value: str) -> None:
    with pytest.raises(ValidationError) as caught:
        identity.normalize_phone(value)
    assert caught.value.code == "phone"


@pytest.mark.parametrize(
    ("name", "masked"), [("张三", "张*"), ("张三明", "张*明"), ("欧阳明月", "欧**月"), ("王", "王")]
)
def test_names_are_masked(name: str, masked: str) -> None:
    assert identity.mask_name(name) == masked


def test_id_and_phone_masks_match_the_design() -> None:
    assert identity.mask_id_number("110101199003071234") == "110101********1234"
    assert identity.mask_phone("13812345678") == "138****5678"
    assert identity.mask_phone("010-62345678") == "010-62****78"
    assert identity.mask_phone(None) == ""
