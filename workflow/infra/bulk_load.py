"""A large load into tables nearly empty, their secondary indexes built after it (PostgreSQL).

PostgreSQL's manual ("Populating a Database", 14.4.3 "Remove Indexes"): filling a table and
then building its indexes is faster than keeping the indexes up to date row by row. A
province's first school register writes 2,000,000 children: inserted with the child table's
seven secondary indexes in place it took 32 s, into the bare table 2.9 s and the seven
indexes built after it 8 s (the bench's data, 2026-12-04); the register entries, events,
guardians and sources likewise.

Only for a load of ``LARGE`` rows or more into a table holding less than a tenth of that
(the first register of a province, or of a county that has tried Lianbao on a few children):
the table is locked ``ACCESS EXCLUSIVE`` for the rest of the transaction (what dropping an
index takes; the requests that read it meanwhile fail with the retryable LOCK_TIMEOUT), so a
county already keeping its register here is never locked out of it by a next period's list.
The lock is asked for without waiting: held by anyone, the table is loaded as any other.
The indexes and unique constraints are read from the catalogue and created again from their
own definitions, in the same transaction: a fault rolls the drop back with the rows, and a
duplicate the load brought fails the unique index's build as it would have failed the
insert (23505, the same error). The primary key stays (the foreign keys refer to it).
A role that does not own the tables (the server's app role, ``lianbao create-app-role``)
loads them with their indexes, as before (docs/deploy.md). SQLite: nothing is dropped.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

# Below this many rows the indexes' upkeep is seconds at most, and not worth the lock.
LARGE = 100_000
# A table holding less than 1/SMALL of the load is "nearly empty": building its indexes
# over all its rows after costs about what keeping them up to date for the few did.
SMALL = 10

# The table's secondary indexes that back no constraint, and its unique constraints that
# no foreign key refers to: what may be dropped and made again from its definition.
_INDEXES = text("""
    SELECT 'index', i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid)
    FROM pg_index i
    WHERE i.indrelid = CAST(:table AS regclass) AND NOT i.indisprimary
      AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)
    UNION ALL
    SELECT 'constraint', c.conname, pg_get_constraintdef(c.oid)
    FROM pg_constraint c
    WHERE c.conrelid = CAST(:table AS regclass) AND c.contype = 'u'
      AND NOT EXISTS (SELECT 1 FROM pg_constraint f
                      WHERE f.contype = 'f' AND f.conindid = c.conindid)
    ORDER BY 1, 2
""")


async def _take_if_small(session: AsyncSession, table: str, rows: int) -> bool:
    """The table locked for the load, if the session's role owns it (only an owner may drop
    its indexes), it holds less than a tenth of ``rows`` (counted no further) and nobody
    holds it."""
    owner = text("SELECT pg_has_role(relowner, 'USAGE') FROM pg_class"
                 " WHERE oid = CAST(:table AS regclass)")
    if not (await session.execute(owner, {"table": table})).scalar_one():
        return False
    try:
        async with session.begin_nested():
            await session.execute(text(f"LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE NOWAIT"))
    except DBAPIError:  # lock_not_available: somebody reads or writes it
        return False
    held = await session.execute(
        text(f"SELECT count(*) FROM (SELECT 1 FROM {table} LIMIT :n) AS held"),
        {"n": rows // SMALL})
    return int(held.scalar_one()) < rows // SMALL


@asynccontextmanager
async def indexes_after(
    session: AsyncSession, tables: Sequence[str], rows: int
) -> AsyncIterator[list[str]]:
    """Load ``rows`` rows into ``tables`` inside the block; for each table nearly empty at
    the start (PostgreSQL, ``rows >= LARGE``) its secondary indexes are dropped before and built
    after. Yields the tables so loaded (for the caller's report and the tests)."""
    taken: list[tuple[str, list[tuple[str, str, str]]]] = []
    if session.get_bind().dialect.name == "postgresql" and rows >= LARGE:
        for table in tables:
            if await _take_if_small(session, table, rows):
                found = await session.execute(_INDEXES, {"table": table})
                taken.append((table, [(kind, name, ddl) for kind, name, ddl in found]))
        for table, defined in taken:
            for kind, name, _ in defined:
                await session.execute(text(
                    f"DROP INDEX {name}" if kind == "index"
                    else f'ALTER TABLE {table} DROP CONSTRAINT "{name}"'))
    yield [table for table, _ in taken]
    for table, defined in taken:
        for kind, name, ddl in defined:
            await session.execute(text(
                ddl if kind == "index" else f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {ddl}'))
