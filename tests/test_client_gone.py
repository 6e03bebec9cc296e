"""A request whose client has gone cancels its query (issue 19), on PostgreSQL.

Driven at the ASGI level, which is what the server sees when the client goes away: the body
arrives, then ``http.disconnect`` while the query runs. The statement must be cancelled in
PostgreSQL itself, not only abandoned by the app.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from api import persisted
from api.app import create_app
from api.auth import issue_dev_token
from api.settings import Settings
from authz.enforcer import Authorizer
from authz.policy import default_rules
from models.session import create_engine
from tests.helpers import NOW, TEST_SECRET, Database
from workflow import json_sql
from workflow import task as task_service
from workflow.clock import FixedClock

SLEEP = "SELECT pg_sleep(30)"
# Backends of this database sleeping in pg_sleep (asyncpg's extended protocol does not always
# show the statement's text, so the wait event is the mark).
RUNNING = text("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
               "AND wait_event = 'PgSleep'")


async def fresh_reads(conn: Any) -> None:
    """Each poll its own transaction: a backend reads ``pg_stat_activity`` once per
    transaction and keeps that snapshot, so a watch whose first poll came before the
    request's query began never saw it start (the test's flake: "never started")."""
    await conn.execution_options(isolation_level="AUTOCOMMIT")


@pytest.mark.parametrize("path", ["normal", "persisted"])
async def test_a_slow_query_is_cancelled_when_the_client_goes(
    database: Database, monkeypatch: pytest.MonkeyPatch, path: str
) -> None:
    """On the normal path (a resolver's statement) and on the persisted one (the planned
    statement, run through the driver itself: api/persisted.py)."""
    if not database.is_postgres:
        pytest.skip("statement cancellation is PostgreSQL's")

    async def slow_page(ctx: Any, *args: Any, **kwargs: Any) -> Any:
        await ctx.session.execute(text(SLEEP))
        raise AssertionError("the query should have been cancelled")

    async def slow_plan(session: Any, sql: str, *args: Any) -> Any:
        await json_sql.fetch_text(session, SLEEP + "::text")
        raise AssertionError("the query should have been cancelled")

    if path == "normal":
        monkeypatch.setattr(task_service, "page", slow_page)
        request: dict[str, Any] = {"query": "{ agencyQueue(first: 5) { totalCount } }"}
    else:
        monkeypatch.setattr(persisted, "fetch_text", slow_plan)
        digest = next(d for d, op in persisted.load_manifest().items()
                      if op.name == "AgencyQueue")
        request = {"extensions": {"persistedQuery": {"version": 1, "sha256Hash": digest}}}
    settings = Settings(database_url=database.url, jwt_secret=TEST_SECRET,
                        rate_limit_user_per_minute=0, rate_limit_address_per_minute=0)
    engine = create_engine(database.url)
    app = create_app(settings, engine=engine, authz=Authorizer(default_rules()),
                     clock=FixedClock(NOW), check_schema=False)
    body = json.dumps(request).encode()
    token = issue_dev_token(settings, "edu_officer")
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
        "scheme": "http", "path": "/graphql", "raw_path": b"/graphql", "query_string": b"",
        "root_path": "", "client": ("127.0.0.1", 5000), "server": ("127.0.0.1", 80),
        "headers": [(b"content-type", b"application/json"), (b"host", b"t"),
                    (b"authorization", f"Bearer {token}".encode())],
    }
    started = asyncio.Event()
    sent: list[dict[str, Any]] = []
    messages = [{"type": "http.request", "body": body, "more_body": False}]

    async def receive() -> dict[str, Any]:
        if messages:
            return messages.pop()
        # The client hangs up once the query is running in PostgreSQL.
        await started.wait()
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    began: list[float] = []

    async def watch() -> None:
        async with engine.connect() as conn:
            await fresh_reads(conn)
            # Up to a minute for the request to reach its query: on a loaded machine the
            # first request of a fresh app can take long. What is timed is what follows.
            for _ in range(1200):
                if (await conn.execute(RUNNING)).scalar_one():
                    began.append(time.monotonic())
                    started.set()
                    return
                await asyncio.sleep(0.05)

    try:
        await asyncio.wait_for(asyncio.gather(app(scope, receive, send), watch()), 90)
        assert started.is_set(), "the slow query never started"
        # pg_sleep(30) left to run would hold the request for 30 s after it began.
        assert time.monotonic() - began[0] < 15, "the request waited for the query"
        assert sent == [], "nothing is sent to a client that is gone"
        async with engine.connect() as conn:
            await fresh_reads(conn)
            for _ in range(100):
                if not (await conn.execute(RUNNING)).scalar_one():
                    break
                await asyncio.sleep(0.05)
            assert (await conn.execute(RUNNING)).scalar_one() == 0, "still running in PostgreSQL"
    finally:
        await engine.dispose()


async def test_a_connection_that_died_in_the_pool_costs_one_retryable_answer(
    database: Database,
) -> None:
    """Without a pre-ping per checkout, a pooled connection the server ended fails its first
    statement: that request gets a coded, retryable answer (never INTERNAL), SQLAlchemy
    invalidates the pool, and the next request is served on a fresh connection."""
    if not database.is_postgres:
        pytest.skip("pg_terminate_backend is PostgreSQL's")
    settings = Settings(database_url=database.url, jwt_secret=TEST_SECRET,
                        rate_limit_user_per_minute=0, rate_limit_address_per_minute=0)
    engine = create_engine(database.url)
    app = create_app(settings, engine=engine, authz=Authorizer(default_rules()),
                     clock=FixedClock(NOW), check_schema=False)
    headers = {"Authorization": f"Bearer {issue_dev_token(settings, 'edu_officer')}"}
    query = {"query": "{ cases(first: 1) { totalCount } }"}
    transport = httpx.ASGITransport(app=app)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            assert (await client.post("/graphql", json=query, headers=headers)).json()["data"]
            async with engine.connect() as conn:  # the pool's one connection, back idle
                pid = (await conn.execute(text("SELECT pg_backend_pid()"))).scalar_one()
            killer = create_engine(database.url, pool=False)
            try:
                async with killer.connect() as conn:
                    await conn.execute(text("SELECT pg_terminate_backend(:p)"), {"p": pid})
            finally:
                await killer.dispose()
            first = (await client.post("/graphql", json=query, headers=headers)).json()
            if first.get("errors"):
                (error,) = first["errors"]
                assert error["extensions"]["retryable"] is True, error
                assert error["extensions"]["code"] != "INTERNAL"
            second = (await client.post("/graphql", json=query, headers=headers)).json()
            assert second.get("data") and not second.get("errors"), second
    finally:
        await engine.dispose()
