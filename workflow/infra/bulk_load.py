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
The tables are taken together or not at all, in one ``LOCK … NOWAIT``: held by anyone, or
one of them not nearly empty, the load goes as any other and no lock is kept (the savepoint
that took them is rolled back). The indexes and unique constraints are read from the
catalogue and created again from their own definitions, inside a savepoint: a fault rolls
the drop back with the rows whatever the caller does next. A duplicate the load brought
fails the unique index's build, after the load, with the same SQLSTATE (23505) and
constraint an insert would have named. The primary key stays (the foreign keys refer to it),
so does a unique constraint a foreign key refers to; a table whose indexes carry what their
definitions do not say (a CLUSTER mark, a tablespace, storage options, a comment, a
statistics target, replica identity, an invalid index) is not taken.

A role that does not own the tables (the server's app role, ``lianbao create-app-role``)
loads them with their indexes, as before (docs/deploy.md). SQLite: nothing is dropped.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from models.faults import sqlstate

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
    SELECT 'constraint', quote_ident(c.conname), pg_get_constraintdef(c.oid)
    FROM pg_constraint c
    WHERE c.conrelid = CAST(:table AS regclass) AND c.contype = 'u'
      AND NOT EXISTS (SELECT 1 FROM pg_constraint f
                      WHERE f.contype = 'f' AND f.conindid = c.conindid)
    ORDER BY 1, 2
""")

# Whether the table may be taken: its role owns it, and none of its indexes carries what
# ``pg_get_indexdef`` / ``pg_get_constraintdef`` would not give back.
_TAKEABLE = text("""
    SELECT pg_has_role(t.relowner, 'USAGE') AND NOT EXISTS (
        SELECT 1 FROM pg_index i JOIN pg_class x ON x.oid = i.indexrelid
        WHERE i.indrelid = t.oid AND NOT i.indisprimary
          AND (i.indisclustered OR NOT i.indisvalid OR i.indisreplident
               OR x.reloptions IS NOT NULL OR x.reltablespace <> 0
               OR obj_description(x.oid, 'pg_class') IS NOT NULL
               OR EXISTS (SELECT 1 FROM pg_attribute a
                          WHERE a.attrelid = x.oid AND a.attstattarget > 0)
               OR EXISTS (SELECT 1 FROM pg_constraint c
                          WHERE c.conindid = x.oid
                            AND obj_description(c.oid, 'pg_constraint') IS NOT NULL)))
    FROM pg_class t WHERE t.oid = CAST(:table AS regclass)
""")

LOCK_NOT_AVAILABLE = "55P03"


async def _small(session: AsyncSession, table: str, rows: int) -> bool:
    """The table holds less than a tenth of ``rows`` (counted no further)."""
    held = await session.execute(
        text(f"SELECT count(*) FROM (SELECT 1 FROM {table} LIMIT :n) AS held"),
        {"n": rows // SMALL})
    return int(held.scalar_one()) < rows // SMALL


async def _take(session: AsyncSession, tables: Sequence[str], rows: int) -> bool:
    """Every table locked for the load, if each may be taken, is nearly empty and is held by
    nobody; else none stays locked. Counted before the lock (no lock for a register in use)
    and again under it."""
    for table in tables:
        if not ((await session.execute(_TAKEABLE, {"table": table})).scalar_one()
                and await _small(session, table, rows)):
            return False
    nested = await session.begin_nested()
    try:
        await session.execute(text(
            f"LOCK TABLE {', '.join(tables)} IN ACCESS EXCLUSIVE MODE NOWAIT"))
    except DBAPIError as error:
        await nested.rollback()
        if sqlstate(error) != LOCK_NOT_AVAILABLE:
            raise
        return False
    for table in tables:
        if not await _small(session, table, rows):  # filled since the first count
            await nested.rollback()  # the lock with it
            return False
    await nested.commit()
    return True


@asynccontextmanager
async def indexes_after(
    session: AsyncSession, tables: Sequence[str], rows: int
) -> AsyncIterator[list[str]]:
    """Load ``rows`` rows into ``tables`` inside the block; if every table is nearly empty
    at the start (PostgreSQL, ``rows >= LARGE``) their secondary indexes are dropped before
    and built after. Yields the tables so loaded (all or none: for the tests). No statement
    in the block may rely on a dropped index (an ``ON CONFLICT`` on these tables would fail
    with 42P10, in this mode only)."""
    if (session.get_bind().dialect.name != "postgresql" or rows < LARGE
            or not await _take(session, tables, rows)):
        yield []
        return
    defined = [(table, [(kind, name, ddl) for kind, name, ddl in
                        await session.execute(_INDEXES, {"table": table})])
               for table in tables]
    nested = await session.begin_nested()
    try:
        for table, found in defined:
            for kind, name, _ in found:
                await session.execute(text(
                    f"DROP INDEX {name}" if kind == "index"
                    else f"ALTER TABLE {table} DROP CONSTRAINT {name}"))
        yield list(tables)
        for table, found in defined:
            for kind, name, ddl in found:
                await session.execute(text(
                    ddl if kind == "index" else f"ALTER TABLE {table} ADD CONSTRAINT {name} {ddl}"))
    except BaseException:
        await nested.rollback()  # the indexes back, whatever the caller does next
        raise
    await nested.commit()
