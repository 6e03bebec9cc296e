"""Test fixtures: every database test runs on SQLite and on PostgreSQL.

A session-scoped database per backend is migrated with Alembic (never ``create_all``) and
loaded with reference data and a small demo county. Each test then runs inside an outer
transaction that is rolled back, with the application's sessions joining it through
savepoints, so tests see committed-looking state and leave nothing behind.

The helpers these fixtures are built from live in tests/helpers.py, which test modules import.
PostgreSQL comes from ``TEST_DATABASE_URL`` (default: this machine kind's local server). When
it is unreachable the PostgreSQL half is skipped, except with ``CI=true``, where it fails.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import httpx
import pytest
import pytest_asyncio
from hypothesis import settings as hypothesis_settings
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession, async_sessionmaker

from api import migrate
from api.app import create_app
from api.settings import Settings
from authz.enforcer import Authorizer
from authz.policy import default_rules
from models.session import SerialSession, create_engine
from tests.helpers import (
    DEMO_CHILDREN,
    IN_CI,
    NOW,
    TEST_SECRET,
    Api,
    Database,
    create_empty_database,
    load_demo_county,
)
from workflow.clock import FixedClock

# Property tests (tests/test_rule_*.py): no per-example deadline, since a shared two-core
# machine stalls at random and a timing failure says nothing about the rule; no example
# database written into the work tree; under CI a fixed seed, so a failure reproduces.
hypothesis_settings.register_profile(
    "lianbao", deadline=None, database=None, derandomize=IN_CI, print_blob=True
)
hypothesis_settings.load_profile("lianbao")


@pytest.fixture(scope="session")
def settings_factory() -> Callable[[str], Settings]:
    def make(url: str) -> Settings:
        # Rate limits off: a test makes hundreds of requests from one address in a second
        # (tests/test_operations.py tests the limits with apps of their own).
        return Settings(database_url=url, jwt_secret=TEST_SECRET, environment="development",
                        rate_limit_user_per_minute=0, rate_limit_address_per_minute=0,
                        verify_rate_limit_per_minute=0)

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
