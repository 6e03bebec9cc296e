"""Test fixtures: every database test runs on SQLite and on PostgreSQL.

A session-scoped database per backend is migrated with Alembic (never ``create_all``) and
loaded with reference data and a small demo county. Each test then runs inside an outer
transaction that is rolled back, with the application's sessions joining it through
savepoints, so tests see committed-looking state and leave nothing behind.

PostgreSQL comes from ``TEST_DATABASE_URL`` (default: this machine kind's local server). When
it is unreachable the PostgreSQL half is skipped, except with ``CI=true``, where it fails.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker

from api import migrate
from api.app import create_app
from api.auth import issue_dev_token
from api.settings import Settings
from authz.enforcer import Authorizer
from authz.policy import default_rules
from authz.store import ensure_default_policy
from models.session import SerialSession, create_engine
from workflow import demo, ladder, reference
from workflow.clock import FixedClock

PG_ADMIN_URL = os.environ.get(
    "TEST_DATABASE_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
)
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
TEST_SECRET = "test-secret-" + "x" * 32
DEMO_CHILDREN = 400
NOW = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)


def _pg_url(database: str) -> str:
    base, _, _ = PG_ADMIN_URL.rpartition("/")
    return f"{base}/{database}"


async def _pg_admin(sql: str) -> None:
    engine = create_engine(PG_ADMIN_URL, pool=False)
    try:
        async with engine.connect() as conn:
            await conn.execution_options(isolation_level="AUTOCOMMIT")
            await conn.execute(text(sql))
    finally:
        await engine.dispose()


async def pg_available() -> str | None:
    """None when PostgreSQL answers, else the reason."""
    try:
        async with asyncio.timeout(5):
            await _pg_admin("SELECT 1")
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"
    return None


async def create_empty_database(backend: str, tmp: Path) -> tuple[str, Callable[[], Any]]:
    """A fresh empty database; returns its URL and an async cleanup."""
    if backend == "sqlite":
        path = tmp / f"lianbao-{uuid.uuid4().hex[:8]}.db"

        async def drop_sqlite() -> None:
            for suffix in ("", "-wal", "-shm"):
                await asyncio.to_thread(Path(f"{path}{suffix}").unlink, missing_ok=True)

        return f"sqlite+aiosqlite:///{path}", drop_sqlite
    reason = await pg_available()
    if reason:
        if IN_CI:
            pytest.fail(f"PostgreSQL is required in CI but unreachable at {PG_ADMIN_URL}: {reason}")
        pytest.skip(f"PostgreSQL unreachable ({reason}); set TEST_DATABASE_URL")
    name = f"lianbao_test_{uuid.uuid4().hex[:10]}"
    await _pg_admin(f'CREATE DATABASE "{name}"')

    async def drop_pg() -> None:
        await _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    return _pg_url(name), drop_pg


@dataclass
class Database:
    backend: str
    url: str
    engine: AsyncEngine

    @property
    def is_postgres(self) -> bool:
        return self.backend == "postgresql"


async def load_demo_county(engine: AsyncEngine, children: int) -> None:
    """What ``lianbao migrate`` and ``seed-demo`` put in a migrated database."""
    async with AsyncSession(engine, expire_on_commit=False) as session:
        await reference.load_reference_data(session)
        await ensure_default_policy(session)
        await ladder.install_templates(session)
        await demo.seed_demo(session, children=children)
        await session.commit()


@contextlib.asynccontextmanager
async def scratch_postgres(tmp_path: Path, children: int) -> AsyncIterator[AsyncEngine]:
    """A PostgreSQL database of its own, migrated and seeded, for tests whose transactions
    must really commit and contend (concurrency), dropped afterwards."""
    url, drop = await create_empty_database("postgresql", tmp_path)
    engine = create_engine(url)
    try:
        migrate.upgrade(url)
        await load_demo_county(engine, children)
        yield engine
    finally:
        await engine.dispose()
        await drop()


@pytest.fixture(scope="session")
def settings_factory() -> Callable[[str], Settings]:
    def make(url: str) -> Settings:
        # Rate limits off: a test makes hundreds of requests from one address in a second
        # (tests/test_operations.py tests the limits with apps of their own).
        return Settings(database_url=url, jwt_secret=TEST_SECRET, environment="development",
                        rate_limit_user_per_minute=0, rate_limit_address_per_minute=0)

    return make


@pytest_asyncio.fixture(scope="session", params=["sqlite", "postgresql"])
async def database(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Database]:
    url, drop = await create_empty_database(request.param, tmp_path_factory.mktemp("db"))
    migrate.upgrade(url)
    engine = create_engine(url)
    await load_demo_county(engine, DEMO_CHILDREN)
    yield Database(request.param, url, engine)
    await engine.dispose()
    await drop()


@pytest_asyncio.fixture
async def conn(database: Database) -> AsyncIterator[AsyncConnection]:
    """A connection inside a transaction that is rolled back after the test."""
    async with database.engine.connect() as connection:
        outer = await connection.begin()
        try:
            yield connection
        finally:
            if outer.is_active:
                await outer.rollback()


@pytest.fixture
def sessions(conn: AsyncConnection) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(
        bind=conn,
        class_=SerialSession,
        expire_on_commit=False,
        autoflush=False,
        join_transaction_mode="create_savepoint",
    )


@pytest_asyncio.fixture
async def session(sessions: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    async with sessions() as s:
        yield s


@pytest.fixture(scope="session")
def authorizer() -> Authorizer:
    return Authorizer(default_rules())


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(NOW)


class Api:
    """An HTTP client for the app under test, signed in as a chosen demo user."""

    def __init__(self, client: httpx.AsyncClient, settings: Settings) -> None:
        self.client = client
        self.settings = settings
        self.scratch: dict[str, Any] = {}  # per-test state for multi-step probes

    def token(self, username: str) -> str:
        return issue_dev_token(self.settings, username)

    async def post(
        self,
        query: str,
        variables: dict[str, Any] | None = None,
        *,
        user: str | None = "edu_officer",
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        h = dict(headers or {})
        if user is not None:
            h["Authorization"] = f"Bearer {self.token(user)}"
        return await self.client.post(
            "/graphql", json={"query": query, "variables": variables}, headers=h
        )

    async def gql(
        self, query: str, variables: dict[str, Any] | None = None, *, user: str = "edu_officer"
    ) -> dict[str, Any]:
        """Run a query that must succeed; returns ``data``."""
        response = await self.post(query, variables, user=user)
        body: dict[str, Any] = response.json()
        assert response.status_code == 200, body
        assert not body.get("errors"), body["errors"]
        data: dict[str, Any] = body["data"]
        return data

    async def errors(
        self, query: str, variables: dict[str, Any] | None = None, *, user: str = "edu_officer"
    ) -> list[dict[str, Any]]:
        """Run a query that must fail; returns its errors."""
        response = await self.post(query, variables, user=user)
        body: dict[str, Any] = response.json()
        assert body.get("errors"), body
        errors: list[dict[str, Any]] = body["errors"]
        return errors


@pytest_asyncio.fixture
async def api(
    database: Database,
    sessions: async_sessionmaker[AsyncSession],
    authorizer: Authorizer,
    clock: FixedClock,
    settings_factory: Callable[[str], Settings],
) -> AsyncIterator[Api]:
    settings = settings_factory(database.url)
    app = create_app(
        settings,
        engine=database.engine,
        sessions=sessions,
        authz=authorizer,
        clock=clock,
        check_schema=False,
    )
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield Api(client, settings)


@pytest.fixture
def seeds_dir() -> Iterator[Path]:
    yield Path(__file__).resolve().parent.parent / "docs" / "seeds"
