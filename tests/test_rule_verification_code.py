"""Document verification codes typed back, without a database (workflow/document/numbering.py).

A served document carries a twelve-character code in Crockford's alphabet, printed in groups
of four (``WF6K-XNHV-8A9Q``). Whoever checks it types what they read: ``normalise_code`` must
turn every reasonable way of typing it back into the stored form, and nothing else into a
different valid code.
"""

from __future__ import annotations

import unicodedata

from hypothesis import given
from hypothesis import strategies as st

from workflow.document import CODE_ALPHABET, normalise_code, printed_code

codes = st.text(alphabet=CODE_ALPHABET, min_size=12, max_size=12)


def test_a_code_reads_back_however_it_is_typed() -> None:
    assert normalise_code("WF6K-XNHV-8A9Q") == "WF6KXNHV8A9Q"
    assert normalise_code(" wf6k xnhv 8a9q ") == "WF6KXNHV8A9Q"
    # full width, as a Chinese input method types it
    assert normalise_code("ＷＦ６Ｋ－ＸＮＨＶ－８Ａ９Ｑ") == "WF6KXNHV8A9Q"
    assert normalise_code("wf6k–xnhv—8a9q") == "WF6KXNHV8A9Q"  # dashes a word processor makes
    assert normalise_code("1O0I-L1oi-0000") == "100111010000"
    assert not set("OIL") & set(CODE_ALPHABET), "look-alikes map only onto letters left out"


def test_the_printed_form_is_groups_of_four() -> None:
    assert printed_code("WF6KXNHV8A9Q") == "WF6K-XNHV-8A9Q"
    assert printed_code(None) is None


@given(code=codes)
def test_the_printed_code_reads_back(code: str) -> None:
    printed = printed_code(code)
    assert printed is not None
    assert normalise_code(printed) == code
    assert normalise_code(printed.lower()) == code
    assert normalise_code(printed.replace("-", " ")) == code
    assert normalise_code(f"  {printed}  ") == code


@given(code=codes, separators=st.lists(st.sampled_from(["-", " ", ".", "–", "—", "　", "－"]),
                                       min_size=11, max_size=11))
def test_any_separators_and_full_width_read_back(code: str, separators: list[str]) -> None:
    typed = "".join(c + s for c, s in zip(code, [*separators, ""], strict=True))
    assert normalise_code(typed) == code
    full_width = "".join(chr(ord(c) + 0xFEE0) for c in code)  # what a Chinese IME types
    assert unicodedata.normalize("NFKC", full_width) == code
    assert normalise_code(full_width) == code


@given(code=codes)
def test_look_alikes_read_as_the_digits(code: str) -> None:
    """O for 0, I or L for 1 (in either case): the code still verifies."""
    typed = code.replace("0", "O").replace("1", "l")
    assert normalise_code(typed) == code


@given(text=st.text(max_size=40))
def test_the_result_is_always_in_the_alphabet(text: str) -> None:
    """Whatever is typed, the result holds only code characters (or U, which no code has and
    so verifies nothing), so a lookup can never match on stray input."""
    assert set(normalise_code(text)) <= set(CODE_ALPHABET) | {"U"}
