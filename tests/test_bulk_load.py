"""A large load into an empty table builds its indexes after (workflow/infra/bulk_load.py):
the same indexes and constraints afterwards, a duplicate still refused, nothing dropped for a
table that has rows, that somebody holds, or on SQLite."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from tests.helpers import Database
from workflow.infra import bulk_load
from workflow.infra.bulk_load import indexes_after

TABLES = ("bulk_parent", "bulk_child")


async def scratch(session: AsyncSession | AsyncConnection) -> None:
    """Two tables as the register's are: a primary key, a unique constraint a foreign key
    refers to, a unique constraint none does, a plain, a partial and a pattern index."""
    for ddl in (
        "CREATE TABLE bulk_parent (id integer PRIMARY KEY, code varchar(8),"
        " CONSTRAINT uq_bulk_parent_code UNIQUE (code))",
        "CREATE TABLE bulk_child (id integer PRIMARY KEY, parent_code varchar(8)"
        " REFERENCES bulk_parent (code), national_id varchar(18), path varchar(40),"
        " name varchar(20), CONSTRAINT uq_bulk_child_national_id UNIQUE (national_id))",
        "CREATE INDEX ix_bulk_child_path ON bulk_child (path varchar_pattern_ops)",
        "CREATE INDEX ix_bulk_child_name ON bulk_child (name, id) WHERE national_id IS NULL",
    ):
        await session.execute(text(ddl))


async def defined(session: AsyncSession) -> set[Any]:
    found = await session.execute(text(
        "SELECT tablename, indexname, indexdef FROM pg_indexes WHERE tablename = ANY(:t)"
        " UNION ALL SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid)"
        " FROM pg_constraint WHERE conrelid::regclass::text = ANY(:t)"), {"t": list(TABLES)})
    return {tuple(r) for r in found}


async def load(
    session: AsyncSession | AsyncConnection, start: int = 0, n: int = 1000
) -> None:
    """``n`` rows of bulk_child from id ``start``, and ten parents they refer to."""
    await session.execute(text(
        "INSERT INTO bulk_parent SELECT g, 'p' || g"
        " FROM generate_series(CAST(:a AS int), CAST(:a AS int) + 9) g"),
        {"a": start})
    await session.execute(text(
        "INSERT INTO bulk_child SELECT g, 'p' || (CAST(:a AS int) + g % 10),"
        " lpad(g::text, 18, '0'), '1/' || (g % 7), 'n' || g"
        " FROM generate_series(CAST(:a AS int), CAST(:a AS int) + CAST(:n AS int) - 1) g"),
        {"a": start, "n": n})


def postgresql_only(database: Database) -> None:
    if not database.is_postgres:
        pytest.skip("SQLite: indexes are kept (the module does nothing)")


async def test_a_nearly_empty_tables_indexes_are_built_after_the_load(
    session: AsyncSession, database: Database
) -> None:
    postgresql_only(database)
    await scratch(session)
    await load(session, start=90_000, n=5)  # a few rows already: a county's trial
    before = await defined(session)
    async with indexes_after(session, TABLES, bulk_load.LARGE) as loaded:
        assert loaded == list(TABLES)
        left = {name for _, name, _ in await defined(session)}
        # the primary keys and the constraint a foreign key refers to stay; the rest go
        assert left == {"bulk_parent_pkey", "bulk_child_pkey", "uq_bulk_parent_code",
                        "bulk_child_parent_code_fkey"}
        await load(session)
    assert await defined(session) == before


async def test_a_duplicate_the_load_brought_is_refused_when_the_index_is_built(
    session: AsyncSession, database: Database
) -> None:
    postgresql_only(database)
    await scratch(session)
    with pytest.raises(IntegrityError) as refused:
        async with session.begin_nested(), indexes_after(session, TABLES, bulk_load.LARGE):
            await load(session)
            await session.execute(text(
                "INSERT INTO bulk_child VALUES (5000, 'p1', '000000000000000001', '', '')"))
    assert refused.value.orig is not None and "uq_bulk_child_national_id" in str(refused.value)
    # the savepoint's rollback put the dropped indexes back with the rows
    assert {name for _, name, _ in await defined(session)} >= {
        "uq_bulk_child_national_id", "ix_bulk_child_path", "ix_bulk_child_name"}


async def test_a_small_load_keeps_the_indexes(
    session: AsyncSession, database: Database
) -> None:
    postgresql_only(database)
    await scratch(session)
    before = await defined(session)
    async with indexes_after(session, TABLES, bulk_load.LARGE - 1) as loaded:
        assert loaded == [] and await defined(session) == before
        await load(session)
    assert await defined(session) == before


@pytest.mark.parametrize("unsaid", [
    "COMMENT ON INDEX ix_bulk_child_path IS '按路径'",
    "ALTER TABLE bulk_child CLUSTER ON ix_bulk_child_path",
    "ALTER INDEX uq_bulk_child_national_id SET (fillfactor = 70)",
    "CREATE INDEX ix_bulk_child_lower ON bulk_child (lower(name));"
    " ALTER INDEX ix_bulk_child_lower ALTER COLUMN 1 SET STATISTICS 500",
])
async def test_an_index_with_more_than_its_definition_is_not_dropped(
    session: AsyncSession, database: Database, unsaid: str
) -> None:
    """What ``pg_get_indexdef`` would not give back (a comment, the CLUSTER mark, storage
    options, a statistics target): the tables keep their indexes."""
    postgresql_only(database)
    await scratch(session)
    for statement in unsaid.split(";"):
        await session.execute(text(statement))
    before = await defined(session)
    async with indexes_after(session, TABLES, bulk_load.LARGE) as loaded:
        assert loaded == [] and await defined(session) == before
        await load(session)


@pytest_asyncio.fixture
async def committed(database: Database) -> AsyncIterator[None]:
    """The scratch tables committed, for tests that need a second connection."""
    postgresql_only(database)
    async with database.engine.begin() as setup:
        await setup.execute(text("DROP TABLE IF EXISTS bulk_child, bulk_parent"))
        await scratch(setup)
        await setup.execute(text("CREATE INDEX ix_bulk_parent_code_id ON bulk_parent (code, id)"))
    try:
        yield
    finally:
        async with database.engine.begin() as cleanup:
            await cleanup.execute(text("DROP TABLE IF EXISTS bulk_child, bulk_parent"))


EXCLUSIVE = text(
    "SELECT count(*) FROM pg_locks WHERE pid = pg_backend_pid() AND mode = 'AccessExclusiveLock'"
    " AND relation IN ('bulk_parent'::regclass, 'bulk_child'::regclass)")


async def test_a_table_with_a_tenth_of_the_load_keeps_the_indexes_and_no_lock(
    database: Database, committed: None
) -> None:
    """All or nothing: the children hold a tenth of the load, so the parents (ten rows,
    nearly empty) are not taken either, and neither table stays locked."""
    async with database.engine.begin() as fill:
        await load(fill, n=bulk_load.LARGE // bulk_load.SMALL)
    async with database.engine.connect() as conn, AsyncSession(bind=conn) as s:
        before = await defined(s)
        async with indexes_after(s, TABLES, bulk_load.LARGE) as loaded:
            assert loaded == []
            assert (await s.execute(EXCLUSIVE)).scalar_one() == 0
            await load(s, start=50_000)
        assert await defined(s) == before
        await s.rollback()


async def test_a_table_somebody_holds_keeps_its_indexes(
    database: Database, committed: None
) -> None:
    """The lock is asked for without waiting: a reader of the parents elsewhere keeps the
    load ordinary, for both tables, and the loader keeps no lock of its own."""
    async with database.engine.connect() as reader, database.engine.connect() as loader:
        await reader.execute(text("BEGIN"))
        await reader.execute(text("SELECT count(*) FROM bulk_parent"))
        async with AsyncSession(bind=loader) as s:
            before = await defined(s)
            async with indexes_after(s, TABLES, bulk_load.LARGE) as loaded:
                assert loaded == []
                assert (await s.execute(EXCLUSIVE)).scalar_one() == 0
                assert await defined(s) == before
                await load(s)
            await s.rollback()
        await reader.execute(text("ROLLBACK"))


async def test_a_role_that_does_not_own_the_tables_keeps_their_indexes(
    session: AsyncSession, database: Database
) -> None:
    """The server's app role owns no tables (api/db_roles.py): dropping an index would fail
    the import, so the load keeps them."""
    postgresql_only(database)
    await scratch(session)
    role = f"bulk_reader_{uuid.uuid4().hex[:8]}"  # rolled back with the test's transaction
    await session.execute(text(f"CREATE ROLE {role}"))
    await session.execute(text(f"GRANT ALL ON bulk_parent, bulk_child TO {role}"))
    before = await defined(session)
    await session.execute(text(f"SET LOCAL ROLE {role}"))
    async with indexes_after(session, TABLES, bulk_load.LARGE) as loaded:
        assert loaded == []
        await load(session)
    await session.execute(text("RESET ROLE"))
    assert await defined(session) == before


async def test_sqlite_keeps_every_index(session: AsyncSession, database: Database) -> None:
    if database.is_postgres:
        pytest.skip("the PostgreSQL tests above")
    async with indexes_after(session, ("child",), 10 * bulk_load.LARGE) as loaded:
        assert loaded == []
