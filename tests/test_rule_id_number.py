"""Resident ID numbers (GB 11643-1999), without a database.

Six-digit area code, birth date YYYYMMDD, a three-digit sequence whose parity gives the sex
(odd male, even female), and an ISO 7064 MOD 11-2 check character, where 10 is written X.
The two valid numbers below are the standard's own examples.
"""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from workflow.infra import id_number

STANDARD_EXAMPLES = {
    "11010519491231002X": ("110105", date(1949, 12, 31), 2, "female"),
    "440524188001010014": ("440524", date(1880, 1, 1), 1, "male"),
}


def test_the_weights_are_iso_7064_mod_11_2() -> None:
    """Weight of position i (from the right, the check digit at 1) is 2^(i-1) mod 11."""
    assert tuple(pow(2, 17 - i, 11) for i in range(17)) == id_number.WEIGHTS
    # The check character makes Σ aᵢ·Wᵢ ≡ 1 (mod 11), the check digit weighted 1.
    for remainder, check in enumerate(id_number.CHECK):
        value = 10 if check == "X" else int(check)
        assert (remainder + value) % 11 == 1


@pytest.mark.parametrize(("number", "expected"), STANDARD_EXAMPLES.items())
def test_the_standards_examples(number: str, expected: tuple[str, date, int, str]) -> None:
    info = id_number.validate(number)
    assert (info.area_code, info.birth_date, info.sequence, info.sex) == expected


def test_a_lower_case_x_is_read_as_x() -> None:
    assert id_number.validate(" 11010519491231002x ").number == "11010519491231002X"


@pytest.mark.parametrize("number", STANDARD_EXAMPLES)
def test_every_single_digit_change_is_caught(number: str) -> None:
    for i in range(18):
        for c in "0123456789X" if i == 17 else "0123456789":
            if c == number[i]:
                continue
            mutated = number[:i] + c + number[i + 1:]
            assert not id_number.is_valid(mutated), mutated


@pytest.mark.parametrize(
    ("number", "reason"),
    [
        ("11010519491231002", "length"),
        ("1101051949123100211", "length"),
        ("1101051949123100A2", "characters"),
        ("11010519491231002Y", "characters"),
        ("X10105194912310020", "characters"),
        ("110105194902300027", "birth_date"),  # 30 February
        ("110105194913010027", "birth_date"),  # month 13
        ("110105194912310021", "checksum"),
    ],
)
def test_malformed_numbers_say_why(number: str, reason: str) -> None:
    with pytest.raises(id_number.InvalidIdNumber) as caught:
        id_number.validate(number)
    assert caught.value.reason == reason


def test_leap_days() -> None:
    assert id_number.validate(id_number.make("370406", date(2012, 2, 29), 15)).birth_date == \
        date(2012, 2, 29)
    with pytest.raises(id_number.InvalidIdNumber, match="birth date"):
        id_number.validate("370406201302290151")  # 2013 has no 29 February


def test_mask_keeps_the_ends_only() -> None:
    assert id_number.mask("11010519491231002X") == "1101**********002X"


@given(
    area=st.text(alphabet="0123456789", min_size=6, max_size=6),
    born=st.dates(min_value=date(1900, 1, 1), max_value=date(2099, 12, 31)),
    sequence=st.integers(min_value=0, max_value=999),
)
def test_made_numbers_read_back(area: str, born: date, sequence: int) -> None:
    number = id_number.make(area, born, sequence)
    info = id_number.validate(number)
    assert (info.area_code, info.birth_date, info.sequence) == (area, born, sequence)
    assert info.sex == ("male" if sequence % 2 else "female")
    others = [number[:17] + c for c in "0123456789X" if c != number[17]]
    assert not any(id_number.is_valid(o) for o in others), "exactly one check character fits"
