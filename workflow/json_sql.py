"""Answers built as JSON by PostgreSQL: the pieces of a statement that spells a GraphQL
response (issue 19, persisted queries), and running it once planned.

A known operation (``api/persisted.py``) is answered by one statement whose result is the
response's JSON text: PostgreSQL joins, filters by the compiled policy and builds the
objects (``json_build_object``/``json_agg``), so no ORM object, resolver or field value is
made in Python for it. The statement is compiled once per principal and policy generation
(``Plans``) into SQL text with the policy's domains inlined (as ``authz.filters`` renders
them), which asyncpg prepares once per connection.

The GraphQL spellings (global ids, enum names) are the API's: the API layer hands them down
as data (``Spelling``), so this layer does not import the schema.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import ColumnElement, Select, case, cast, func, literal, literal_column
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.types import Integer


@dataclass(frozen=True)
class Spelling:
    """How the API writes what a statement builds: each model enum's GraphQL names by value
    (taken from the built schema, its one source)."""

    enums: Mapping[type[StrEnum], Mapping[str, str]]

    def enum(self, column: Any, enum: type[StrEnum]) -> ColumnElement[str]:
        """The GraphQL name of the enum value a column holds (NULL stays null)."""
        names = self.enums[enum]
        return case({value: literal(name) for value, name in names.items()}, value=column)


def obj(*pairs: tuple[str, Any]) -> ColumnElement[Any]:
    """``json_build_object`` over (key, value) pairs, in the order given: the order of the
    fields in the operation, which is the order the normal path's response has."""
    args: list[Any] = []
    for key, value in pairs:
        args.extend((literal(key), value))
    return func.json_build_object(*args)


def agg(value: Any, *order_by: Any) -> ColumnElement[Any]:
    """A JSON array of ``value`` in ``order_by`` order; ``[]`` (not null) for no rows."""
    return func.coalesce(func.json_agg(aggregate_order_by(value, *order_by)),
                         literal_column("'[]'::json"))


def global_id(type_name: str, key: Any) -> ColumnElement[str]:
    """A Relay global id, ``base64("<Type>:<key>")``, as the API spells ``Node.id``. Short
    enough that base64's line breaks (every 76 characters) never occur."""
    raw = func.convert_to(func.concat(literal(f"{type_name}:"), key), literal("UTF8"))
    return func.encode(raw, literal("base64"))


def utc_iso(column: Any) -> ColumnElement[str]:
    """A timestamp as Python's ``isoformat()`` of the aware UTC value writes it (the API's
    DateTime): microseconds only when there are any, and ``+00:00``; whatever the session's
    time zone."""
    utc = func.timezone(literal("UTC"), column)
    seconds = func.to_char(utc, literal('YYYY-MM-DD"T"HH24:MI:SS'))
    fraction = case(
        (cast(func.date_part(literal("microseconds"), utc), Integer) % 1_000_000 != 0,
         func.to_char(utc, literal(".US"))),
        else_=literal(""),
    )
    return func.concat(seconds, fraction, literal("+00:00"))


def compile_text(stmt: Select[Any], dialect: Dialect) -> str:
    """The statement as SQL text, every value rendered in (policy domains, enum names, the
    page size): a constant text per plan, prepared once per connection."""
    return str(stmt.compile(dialect=dialect, compile_kwargs={"literal_binds": True}))


class Plans:
    """Compiled statements by key (the principal, the policy generation, the operation's
    arguments that shape the SQL), at most ``size`` of them: planning the policy filter and
    compiling the statement is most of the work when done per request."""

    def __init__(self, size: int = 1024) -> None:
        self.size = size
        self._texts: dict[Hashable, str] = {}

    def text(self, key: Hashable, build: Callable[[], str]) -> str:
        found = self._texts.get(key)
        if found is None:
            if len(self._texts) >= self.size:
                # Oldest first out (dicts keep insertion order): principals come and go.
                self._texts.pop(next(iter(self._texts)))
            found = self._texts[key] = build()
        return found


async def fetch_text(session: AsyncSession, sql: str, *args: Any) -> str | None:
    """Run a planned statement that returns one text value (the JSON), on the session's
    connection through the driver itself: no ORM, no result processing, no transaction
    round trips for this read (asyncpg runs it as one prepared statement). A cancelled
    request cancels it in PostgreSQL as any statement (asyncpg sends the cancel)."""
    connection = await session.connection()
    raw = await connection.get_raw_connection()
    driver = raw.driver_connection
    assert driver is not None
    value: str | None = await driver.fetchval(sql, *args)
    return value
