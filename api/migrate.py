"""Programmatic Alembic: upgrade, downgrade, and "is this database at head?".

Alembic's ``env.py`` runs its own event loop, so these helpers run it on a worker thread;
that lets async callers (the server's startup, tests) use them without nesting loops.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, inspect, text
from sqlalchemy.ext.asyncio import AsyncEngine

from api.settings import PROJECT_ROOT

VERSION_TABLE = "alembic_version"  # alembic's default, which env.py keeps


def alembic_config(url: str) -> Config:
    cfg = Config(str(PROJECT_ROOT / "alembic.ini"))
    cfg.set_main_option("script_location", str(PROJECT_ROOT / "migrations"))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def _in_thread(fn: Callable[[], None]) -> None:
    errors: list[BaseException] = []

    def target() -> None:
        try:
            fn()
        except BaseException as exc:  # re-raised in the caller's thread
            errors.append(exc)

    thread = threading.Thread(target=target, name="alembic")
    thread.start()
    thread.join()
    if errors:
        raise errors[0]


def upgrade(url: str, revision: str = "head") -> None:
    _in_thread(lambda: command.upgrade(alembic_config(url), revision))


def downgrade(url: str, revision: str = "base") -> None:
    _in_thread(lambda: command.downgrade(alembic_config(url), revision))


def head_revisions(url: str = "sqlite://") -> set[str]:
    return set(ScriptDirectory.from_config(alembic_config(url)).get_heads())


def _current(connection: Connection) -> set[str]:
    """The revisions in ``alembic_version``, read directly: ``MigrationContext.configure``
    logs two INFO lines ("Context impl …", "Will assume …") each time, and ``/readyz`` asks
    on every probe, which buried the server's own lines."""
    if not inspect(connection).has_table(VERSION_TABLE):
        return set()
    rows = connection.execute(text(f"SELECT version_num FROM {VERSION_TABLE}"))
    return {str(r[0]) for r in rows}


async def current_revisions(engine: AsyncEngine) -> set[str]:
    async with engine.connect() as conn:
        return await conn.run_sync(_current)


async def schema_status(engine: AsyncEngine) -> str | None:
    """None when the database is at head; otherwise a sentence saying what to do."""
    current = await current_revisions(engine)
    heads = head_revisions()
    if current == heads:
        return None
    have = ", ".join(sorted(current)) or "an empty schema"
    return (
        f"the database is at {have} but the code needs {', '.join(sorted(heads))}: "
        "run `lianbao migrate` (or `alembic upgrade head`) first"
    )
