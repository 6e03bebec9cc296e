"""The one cursor format (workflow/pagination.py): every list, the task queue too (issue 13).

A cursor names its list and the key of the last row seen; one list's cursor is refused by
another, and a key the columns cannot hold is bad input, not a fault.
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime

import pytest
from sqlalchemy import literal, select
from sqlalchemy.dialects import postgresql, sqlite

from models.base import MAX_INT_KEY
from models.inline import inline
from workflow.errors import InvalidInput
from workflow.pagination import (
    PageRequest,
    check_first,
    decode_cursor,
    decode_key,
    encode_cursor,
)


def test_a_key_round_trips() -> None:
    assert decode_key("case", encode_cursor("case", 42)) == 42


def test_the_last_part_may_hold_colons() -> None:
    # The task queue's (order, id, sort value) key: a timestamp has colons in its offset.
    cursor = encode_cursor("task", "updated", 7, "2026-12-01T10:00:00+08:00")
    assert decode_cursor("task", cursor, parts=3) == ["updated", "7", "2026-12-01T10:00:00+08:00"]


@pytest.mark.parametrize(
    "cursor",
    [
        encode_cursor("child", 42),  # another list's cursor
        encode_cursor("case", MAX_INT_KEY + 1),  # overflows the INTEGER column
        encode_cursor("case", "x"),
        base64.urlsafe_b64encode(b"\xff\xfe").decode(),  # not text
        "not base64!",
        encode_cursor("case"),  # no key
    ],
)
def test_a_bad_cursor_is_bad_input(cursor: str) -> None:
    with pytest.raises(InvalidInput) as raised:
        decode_key("case", cursor)
    assert raised.value.field == "after"


def test_a_task_cursor_has_all_its_parts() -> None:
    with pytest.raises(InvalidInput):
        decode_cursor("task", encode_cursor("task", "due", 7), parts=3)


def test_page_size_is_checked_against_the_cap() -> None:
    assert PageRequest(first=None, after=None, cap=100).limit == 20
    assert check_first(100, 100) == 100
    for first in (-1, 101):
        with pytest.raises(InvalidInput) as raised:
            check_first(first, 100)
        assert raised.value.field == "first"


@pytest.mark.parametrize("value", [True, datetime(2026, 12, 1, tzinfo=UTC), "a\x00b"])
def test_a_value_the_statement_cannot_hold_is_not_inlined(value: object) -> None:
    """``models/inline.py`` writes a keyset bound into the statement's text: a bool or a
    datetime passes the type check as an int or a date, and a NUL ends asyncpg's text."""
    with pytest.raises(ValueError, match="not a value to inline"):
        inline(value)  # type: ignore[type-var]


def test_an_inlined_string_is_quoted_as_the_dialect_quotes() -> None:
    stmt = select(literal(1)).where(inline("o'brien") == inline("o'brien"))
    for dialect in (sqlite.dialect(), postgresql.dialect()):
        sql = str(stmt.compile(dialect=dialect, compile_kwargs={"render_postcompile": True}))
        assert "'o''brien' = 'o''brien'" in sql, sql
