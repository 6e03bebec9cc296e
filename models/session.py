"""Engines and sessions for the two supported backends.

SQLite (aiosqlite) is the embedded default; PostgreSQL (asyncpg) is production. The SQLite
listeners below make pysqlite honour SAVEPOINT and real transactions (SQLAlchemy's SQLite
dialect docs, "Serializable isolation / Savepoints / Transactional DDL"), and turn on foreign
keys, which SQLite leaves off by default.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
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
    pool_timeout_seconds: float | None = None,
    lock_timeout_ms: int | None = None,
    statement_timeout_ms: int | None = None,
    idle_in_transaction_timeout_ms: int | None = None,
    jit: bool = True,
) -> AsyncEngine:
    """An engine for either backend. ``pool_size``/``max_overflow`` of None keep the
    backend's default (SQLite 5 + 10, PostgreSQL 10 + 10); ``pool=False`` opens a connection
    per use (commands that run once).

    On PostgreSQL the timeouts are set per connection (asyncpg ``server_settings``, so they
    hold from the first statement, for every session). Without them one session holding a row
    lock (a psql user, a stuck worker) makes every request that touches the row wait, each
    holding a pooled connection, until the pools are exhausted and even reads that need no
    lock queue for a connection. With them the waiter fails fast with a retryable error
    (``models/faults.py``) and gives its connection back. None or 0 leaves PostgreSQL's
    default (no limit). The server passes its settings; the command line (migrations, ticks,
    benchmarks) leaves long work unlimited.

    ``jit=False`` turns PostgreSQL's JIT compilation off for the connections: the server's
    statements are pages and counts of a domain, whose estimated cost passes
    ``jit_above_cost`` at a district's size, and compiling them took 14–15 ms of a 108 ms
    ledger count (docs/ledgers.md). Set-based jobs over a province keep it.
    """
    pooling: dict[str, Any] = {}
    if not pool:
        pooling["poolclass"] = NullPool
    else:
        if pool_timeout_seconds:
            pooling["pool_timeout"] = pool_timeout_seconds
        if pool_size is not None:
            pooling["pool_size"] = pool_size
        if max_overflow is not None:
            pooling["max_overflow"] = max_overflow
    if url.startswith("sqlite"):
        engine = create_async_engine(
            url,
            echo=echo,
            connect_args={"timeout": 30},
            **pooling,
        )
        _sqlite_listeners(engine)
        return engine
    # No pre-ping: it was a round trip before every checkout, a tenth of a task page's
    # database time. A connection that died in the pool fails its first statement instead:
    # SQLAlchemy then invalidates the whole pool (so one request, not one per connection,
    # meets a dead one) and the request answers with a retryable code (models/faults.py).
    kwargs: dict[str, Any] = dict(pooling)
    if pool:
        kwargs.setdefault("pool_size", 10)
        kwargs.setdefault("max_overflow", 10)
    server_settings = {
        name: str(value)
        for name, value in (
            ("lock_timeout", lock_timeout_ms),
            ("statement_timeout", statement_timeout_ms),
            ("idle_in_transaction_session_timeout", idle_in_transaction_timeout_ms),
        )
        if value
    }
    if not jit:
        server_settings["jit"] = "off"
    if server_settings:
        kwargs["connect_args"] = {"server_settings": server_settings}
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


class _Turn:
    """A per-session lock that the task holding it may take again.

    Some ``AsyncSession`` coroutines call others on ``self`` (``scalars`` awaits
    ``execute``, ``stream_scalars`` awaits ``stream``, ``aclose`` awaits ``close``); with a
    plain ``asyncio.Lock`` the inner call would wait forever for the outer one. Only the
    outermost call of the owning task takes and releases the lock.
    """

    def __init__(self) -> None:
        self._lock = asyncio.Lock()
        self._owner: asyncio.Task[Any] | None = None

    @asynccontextmanager
    async def __call__(self) -> AsyncIterator[None]:
        me = asyncio.current_task()
        if me is not None and self._owner is me:
            yield
            return
        async with self._lock:
            self._owner = me
            try:
                yield
            finally:
                self._owner = None


def _taking_turns(name: str, method: Callable[..., Awaitable[Any]]) -> Callable[..., Any]:
    @functools.wraps(method)
    async def wrapper(self: SerialSession, *args: Any, **kwargs: Any) -> Any:
        async with self._turn():
            return await method(self, *args, **kwargs)

    wrapper.__name__ = name
    return wrapper


class SerialSession(AsyncSession):
    """An ``AsyncSession`` whose database calls take turns.

    GraphQL resolves sibling fields concurrently, and DataLoaders for different relations
    dispatch their batches as concurrent tasks over the one request session; SQLAlchemy's
    AsyncSession must not be used by concurrent tasks. A per-session lock makes each call
    wait for the previous one, keeping batching's one-statement-per-relation without any
    sharing hazard.

    Every public coroutine method of ``AsyncSession`` is wrapped, found by introspection
    below rather than listed by hand: a hand-written list let ``get_one`` and ``delete``
    (and any method a SQLAlchemy upgrade adds) run outside the lock. The lock is reentrant
    for its owning task (``_Turn``), since some of these methods call others.
    ``__aexit__`` is left alone: it runs ``close`` in a task of its own, which takes the
    lock itself.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._turn = _Turn()


def _serialise_coroutines(cls: type[AsyncSession]) -> frozenset[str]:
    """Wrap each public instance coroutine method of ``AsyncSession`` on ``cls``."""
    wrapped = set()
    for name, member in vars(AsyncSession).items():
        if name.startswith("_") or not inspect.iscoroutinefunction(member):
            continue
        setattr(cls, name, _taking_turns(name, member))
        wrapped.add(name)
    return frozenset(wrapped)


# The method names that take turns (tests check it covers every coroutine method).
SERIALISED = _serialise_coroutines(SerialSession)


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, class_=SerialSession, expire_on_commit=False, autoflush=False)
