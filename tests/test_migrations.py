"""Alembic owns the schema: models and migrations agree, and every migration goes both ways."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, inspect

import models
from api import migrate
from models.session import create_engine
from tests.helpers import Database, create_empty_database


def _diff(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, models.Base.metadata))


async def test_models_match_migrations(database: Database) -> None:
    async with database.engine.connect() as conn:
        diff = await conn.run_sync(_diff)
    assert diff == [], f"models and migrations disagree: {diff}"


async def test_single_head() -> None:
    assert len(migrate.head_revisions()) == 1


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
async def test_upgrade_downgrade_upgrade(backend: str, tmp_path: Path) -> None:
    url, drop = await create_empty_database(backend, tmp_path)
    try:
        migrate.upgrade(url)
        engine = create_engine(url, pool=False)
        async with engine.connect() as conn:
            tables = await conn.run_sync(lambda c: set(inspect(c).get_table_names()))
        assert set(models.Base.metadata.tables) <= tables
        migrate.downgrade(url, "base")
        async with engine.connect() as conn:
            left = await conn.run_sync(lambda c: set(inspect(c).get_table_names()))
        assert left <= {"alembic_version"}
        migrate.upgrade(url)
        async with engine.connect() as conn:
            assert not await conn.run_sync(_diff)
        await engine.dispose()
    finally:
        await drop()


async def test_0009_marks_the_register_of_cases_the_engine_left_unmarked(
    tmp_path: Path,
) -> None:
    """Before 0009 the engine moved cases to dropout_reported without the SPT 7 register
    mark. The migration marks every open case at or past that stage, the entry kept."""
    from datetime import UTC, datetime

    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import AsyncSession

    from authz.enforcer import Authorizer
    from authz.policy import default_rules
    from tests.helpers import load_demo_county
    from workflow.demo import seed as demo

    url, drop = await create_empty_database("sqlite", tmp_path)
    engine = create_engine(url, pool=False)
    try:
        migrate.upgrade(url)
        await load_demo_county(engine, 120)
        async with AsyncSession(engine, expire_on_commit=False) as session:
            await demo.seed_demo_cases(session, Authorizer(default_rules()),
                                       datetime(2026, 11, 2, 8, tzinfo=UTC), count=6)
            await session.commit()
        async with engine.begin() as conn:
            past = (await conn.execute(text(
                "SELECT child_id FROM dropout_case WHERE stage_rank >= 3"))).scalars().all()
            assert past, "the demo spread reaches the dropout stage"
            demo_marked = (await conn.execute(text(
                "SELECT child_id FROM enrolment WHERE status = 'dropout_marked'"))).scalars()
            assert sorted(demo_marked) == sorted(past), "the demo's engine-moved cases are marked"
            # what the old engine left behind: the entry still 'enrolled', no register event
            await conn.execute(text("DELETE FROM register_event"))
            await conn.execute(text("UPDATE enrolment SET status = 'enrolled'"))
        migrate.downgrade(url, "0008")
        migrate.upgrade(url)
        async with engine.connect() as conn:
            marked = (await conn.execute(text(
                "SELECT child_id FROM enrolment WHERE status = 'dropout_marked'"))).scalars()
            events = (await conn.execute(text(
                "SELECT child_id, to_status FROM register_event"))).all()
        assert sorted(marked) == sorted(past), "kept and marked, no other entry touched"
        assert sorted(events) == sorted((c, "dropout_marked") for c in past)
    finally:
        await engine.dispose()
        await drop()
