"""Engines and sessions for the two supported backends.

SQLite (aiosqlite) is the embedded default; PostgreSQL (asyncpg) is production. The SQLite
listeners below make pysqlite honour SAVEPOINT and real transactions (SQLAlchemy's SQLite
dialect docs, "Serializable isolation / Savepoints / Transactional DDL"), and turn on foreign
keys, which SQLite leaves off by default.
"""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import NullPool


def create_engine(
    url: str,
    *,
    echo: bool = False,
    pool: bool = True,
    pool_size: int | None = None,
    max_overflow: int | None = None,
    pool_timeout: float = 30.0,
) -> AsyncEngine:
    """An engine for either backend. ``pool_size``/``max_overflow`` of None keep the
    backend's default (SQLite 5 + 10, PostgreSQL 10 + 10); ``pool=False`` opens a connection
    per use (commands that run once)."""
    if url.startswith("sqlite"):
        pooling: dict[str, Any] = {"poolclass": NullPool}
        if pool:
            pooling = {"pool_timeout": pool_timeout}
            if pool_size is not None:
                pooling["pool_size"] = pool_size
            if max_overflow is not None:
                pooling["max_overflow"] = max_overflow
        engine = create_async_engine(
            url,
            echo=echo,
            connect_args={"timeout": 30},
            **pooling,
        )
        _sqlite_listeners(engine)
        return engine
    kwargs: dict[str, Any] = {"pool_pre_ping": True}
    if not pool:
        kwargs["poolclass"] = NullPool
    else:
        kwargs.update(
            pool_size=10 if pool_size is None else pool_size,
            max_overflow=10 if max_overflow is None else max_overflow,
            pool_timeout=pool_timeout,
        )
    return create_async_engine(url, echo=echo, **kwargs)


def _sqlite_listeners(engine: AsyncEngine) -> None:
    sync_engine = engine.sync_engine

    @event.listens_for(sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, connection_record: Any) -> None:
        # Let SQLAlchemy, not pysqlite, decide when transactions begin.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        # Lets SQLite answer ``scope LIKE 'path/%'`` from the index (paths have no letters
        # whose case could differ).
        cursor.execute("PRAGMA case_sensitive_like=ON")
        cursor.close()

    @event.listens_for(sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        # Deferred: in WAL mode readers never wait for a writer. (SQLite is the embedded
        # default; concurrent writers belong on PostgreSQL.)
        conn.exec_driver_sql("BEGIN")


class SerialSession(AsyncSession):
    """An ``AsyncSession`` whose database calls take turns.

    GraphQL resolves sibling fields concurrently, and DataLoaders for different relations
    dispatch their batches as concurrent tasks over the one request session; SQLAlchemy's
    AsyncSession must not be used by concurrent tasks. A per-session lock makes each call
    wait for the previous one (none of these methods calls another of them, so it cannot
    deadlock), keeping batching's one-statement-per-relation without any sharing hazard.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._turn = asyncio.Lock()

    async def execute(self, *args: Any, **kwargs: Any) -> Any:
        async with self._turn:
            return await super().execute(*args, **kwargs)

    async def scalar(self, *args: Any, **kwargs: Any) -> Any:
        async with self._turn:
            return await super().scalar(*args, **kwargs)

    async def scalars(self, *args: Any, **kwargs: Any) -> Any:
        async with self._turn:
            return await super().scalars(*args, **kwargs)

    async def get(self, *args: Any, **kwargs: Any) -> Any:
        async with self._turn:
            return await super().get(*args, **kwargs)

    async def flush(self, *args: Any, **kwargs: Any) -> None:
        async with self._turn:
            await super().flush(*args, **kwargs)

    async def refresh(self, *args: Any, **kwargs: Any) -> None:
        async with self._turn:
            await super().refresh(*args, **kwargs)

    async def commit(self) -> None:
        async with self._turn:
            await super().commit()

    async def rollback(self) -> None:
        async with self._turn:
            await super().rollback()

    async def connection(self, *args: Any, **kwargs: Any) -> Any:
        async with self._turn:
            return await super().connection(*args, **kwargs)


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, class_=SerialSession, expire_on_commit=False, autoflush=False)
