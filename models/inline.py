"""Values rendered into a statement (``literal_execute``) rather than bound as parameters.

asyncpg prepares every statement, and PostgreSQL plans a prepared statement for its values
only for its first five runs: then, where the estimates allow, it keeps one generic plan
that no longer knows them. A bound LIKE pattern then plans as a sequential scan, and a bound
date range as a range of 0.5 % of the table (a school-age range is nearly all of it): the
ledger's township page went from 15 ms to 110 ms from its sixth run, the planner ANDing the
scope's bitmap with a whole index's scan of the birth dates (docs/ledgers.md). Inlined, each
value's statement is planned with the value, and picks the index that suits it.

Inline only values from the server's own rules and grants (a domain, today's school-age
bounds) or numbers the server has parsed and range-checked (a keyset page's bound and size:
a bound id is taken for a third of the table, and the generic plan ANDs a bitmap of a
million keys), never a client's text: SQLAlchemy renders them as literals of the dialect,
quoted where they are strings. Each distinct value is its own prepared statement (a Parse
more, and a plan for the value: about a millisecond against tens).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import TypeVar

from sqlalchemy import ColumnElement, literal

V = TypeVar("V", str, date, int)


def inline(value: V) -> ColumnElement[V]:
    """``value`` written into the statement's text when it is executed.

    A ``bool`` or a ``datetime`` would pass the type check as an ``int`` or a ``date`` and
    render in a form nobody wrote a plan for; a NUL cannot be in a statement's text (asyncpg
    sends it NUL-terminated): each is a programming error, refused here rather than sent."""
    if isinstance(value, bool | datetime) or (isinstance(value, str) and "\x00" in value):
        raise ValueError(f"not a value to inline: {value!r}")
    return literal(value, literal_execute=True)
