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
from tests.conftest import Database, create_empty_database


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
