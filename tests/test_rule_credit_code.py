"""Unified Social Credit Codes (GB 32100-2015), without a database.

The check character is ``31 - (Σ cᵢ·wᵢ mod 31)`` over the first 17 characters, with the
weights 3ⁱ mod 31 and the 31-character alphabet without I, O, S, V, Z. The valid codes
below are real ones, printed on the business licences of registered enterprises: if the
arithmetic drifted from the standard's, they would fail.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from workflow.infra import uscc

REAL = [
    "914403001922038216",
    "91440300708461136T",
    "91330100799655058B",
    "91110000802100433B",
    "91310000717854505W",
]


def test_the_weights_are_powers_of_three_mod_31() -> None:
    assert tuple(pow(3, i, 31) for i in range(17)) == uscc.WEIGHTS
    assert len(uscc.ALPHABET) == 31 and not set("IOSVZ") & set(uscc.ALPHABET)


@pytest.mark.parametrize("code", REAL)
def test_real_codes_are_valid(code: str) -> None:
    info = uscc.validate(code)
    assert info.code == code
    assert (info.authority, info.category) == ("9", "1")
    assert info.kind == "enterprise"
    assert info.area_code == code[2:8] and info.organisation_code == code[8:17]


def test_input_is_trimmed_and_upper_cased() -> None:
    assert uscc.validate("  91440300708461136t ").code == "91440300708461136T"


@pytest.mark.parametrize("code", REAL)
def test_every_single_character_change_is_caught(code: str) -> None:
    """A mod-31 check over distinct non-zero weights catches any one wrong character."""
    for i in range(18):
        for c in uscc.ALPHABET:
            if c == code[i]:
                continue
            mutated = code[:i] + c + code[i + 1:]
            with pytest.raises(uscc.InvalidCreditCode) as caught:
                uscc.validate(mutated)
            assert caught.value.reason in {"checksum", "area_code"}, mutated


@pytest.mark.parametrize("code", REAL)
def test_adjacent_transpositions_are_caught(code: str) -> None:
    for i in range(17):
        if code[i] == code[i + 1]:
            continue
        swapped = code[:i] + code[i + 1] + code[i] + code[i + 2:]
        with pytest.raises(uscc.InvalidCreditCode):
            uscc.validate(swapped)


@pytest.mark.parametrize(
    ("code", "reason"),
    [
        ("91440300708461136", "length"),
        ("91440300708461136TT", "length"),
        ("91440300708461136O", "characters"),  # O is not in the alphabet
        ("9144030070846113IT", "characters"),
        ("91440300708461136-", "characters"),
        ("9144A300708461136T", "area_code"),
        ("91440300708461136A", "checksum"),
    ],
)
def test_malformed_codes_say_why(code: str, reason: str) -> None:
    with pytest.raises(uscc.InvalidCreditCode) as caught:
        uscc.validate(code)
    assert caught.value.reason == reason


@pytest.mark.parametrize(
    ("prefix", "kind"),
    [("91", "enterprise"), ("92", "individual_business"), ("93", "cooperative"),
     ("11", "other"), ("Y1", "other"), ("A1", "other"), ("51", "other")],
)
def test_the_kind_follows_authority_and_category(prefix: str, kind: str) -> None:
    """Market supervision (9) registers enterprises (1), individual businesses (2) and
    farmers' cooperatives (3); other authorities (including the letter ones python-stdnum
    rejects) are valid codes of "other" employers."""
    assert uscc.validate(uscc.make(prefix, "370406", "MA3C8Q2X1")).kind == kind


_first17 = st.text(alphabet=uscc.ALPHABET, min_size=2, max_size=2).flatmap(
    lambda prefix: st.tuples(
        st.just(prefix),
        st.text(alphabet="0123456789", min_size=6, max_size=6),
        st.text(alphabet=uscc.ALPHABET, min_size=9, max_size=9),
    )
)


@given(_first17)
def test_make_always_validates_and_the_check_is_unique(parts: tuple[str, str, str]) -> None:
    code = uscc.make(*parts)
    assert uscc.validate(code).code == code
    others = [code[:17] + c for c in uscc.ALPHABET if c != code[17]]
    assert not any(_valid(o) for o in others), "exactly one check character fits"


def _valid(code: str) -> bool:
    try:
        uscc.validate(code)
    except uscc.InvalidCreditCode:
        return False
    return True
