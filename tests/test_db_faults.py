"""Database faults on PostgreSQL: timeouts, lock waits, serialisation failures, deadlocks and
an unreachable database come back as retryable codes, never as INTERNAL, and never hang.

- A case row held by another session (a psql user in an open transaction): a mutation on the
  case fails fast with LOCK_TIMEOUT, while ``{ me }`` and a read of that very case answer at
  once (reads take no row locks).
- A serialisation failure or deadlock inside a mutation runs the mutation once more in the
  server; failing twice it returns the coded, retryable error. The faults are raised by
  PostgreSQL itself (``RAISE ... USING ERRCODE``) through the real driver, and a real
  deadlock between two transactions is classified the same way.
- A database that cannot be reached from a resolver (refused, pool timeout) answers
  DATABASE_UNAVAILABLE.
"""

from __future__ import annotations

import asyncio
import base64
import sqlite3
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from sqlalchemy import exc as sa_exc
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from api.app import create_app
from api.auth import issue_dev_token
from api.settings import Settings
from authz.enforcer import Authorizer
from authz.policy import default_rules
from models.audit import AuditEvent
from models.case import CaseEvent
from models.faults import classify
from tests.helpers import NOW, TEST_SECRET, scratch_postgres
from workflow import case as case_service
from workflow.case import query as case_query
from workflow.clock import FixedClock
from workflow.context import ServiceContext

LOCK_MS = 400


class Client:
    def __init__(self, client: httpx.AsyncClient, settings: Settings, engine: AsyncEngine,
                 app_engine: AsyncEngine) -> None:
        self.client = client
        self.settings = settings
        self.engine = engine  # the test's own (no timeouts), like psql or the command line
        self.app_engine = app_engine  # what the server built from its settings

    async def post(self, query: str, variables: dict[str, Any] | None = None,
                   user: str = "head_teacher") -> dict[str, Any]:
        token = issue_dev_token(self.settings, user)
        response = await self.client.post(
            "/graphql", json={"query": query, "variables": variables},
            headers={"Authorization": f"Bearer {token}"})
        body: dict[str, Any] = response.json()
        return body


@pytest_asyncio.fixture
async def pg(tmp_path: Path) -> AsyncIterator[Client]:
    """The app on a scratch PostgreSQL database whose transactions really commit, with the
    server's timeouts (a short lock timeout so the test is quick)."""
    async with scratch_postgres(tmp_path, 40) as scratch:
        url = scratch.url.render_as_string(hide_password=False)
        settings = Settings(database_url=url, jwt_secret=TEST_SECRET,
                            db_lock_timeout_ms=LOCK_MS, db_statement_timeout_ms=5000,
                            db_pool_timeout_seconds=2.0, tick_interval_seconds=0)
        app = create_app(settings, authz=Authorizer(default_rules()), clock=FixedClock(NOW),
                         check_schema=False)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            try:
                yield Client(client, settings, scratch, app.state.lianbao.engine)
            finally:
                await app.state.lianbao.engine.dispose()


REPORT = """mutation($child: ID!, $day0: Date!) { reportAbsence(input: {childId: $child,
  firstAbsence: $day0}) { case { id } userErrors { code: errorCode } } }"""
NOTE = """mutation($case: ID!, $text: String!) { addCaseNote(input: {caseId: $case, text: $text})
  { case { id timeline { kind reason } } userErrors { code: errorCode } } }"""
READ = "query($id: ID!) { node(id: $id) { ... on DropoutCase { id stage status } } }"


async def open_case(pg: Client) -> tuple[str, int]:
    kids = await pg.post("{ children(first: 1) { edges { node { id } } } }", user="principal")
    child = kids["data"]["children"]["edges"][0]["node"]["id"]
    done = await pg.post(REPORT, {"child": child, "day0": NOW.date().isoformat()})
    assert done["data"]["reportAbsence"]["userErrors"] == [], done
    gid: str = done["data"]["reportAbsence"]["case"]["id"]
    kind, _, key = base64.b64decode(gid).decode().partition(":")
    assert kind == "DropoutCase"
    return gid, int(key)


async def timed(coro: Awaitable[dict[str, Any]], limit: float) -> tuple[dict[str, Any], float]:
    started = time.monotonic()
    body = await asyncio.wait_for(coro, limit)  # old code: waits for the lock indefinitely
    return body, time.monotonic() - started


async def test_held_row_lock_fails_writes_fast_and_never_blocks_reads(pg: Client) -> None:
    gid, case_id = await open_case(pg)
    async with pg.engine.connect() as holder:
        # What a psql user does: BEGIN; UPDATE the case; go for coffee.
        await holder.execute(text("UPDATE dropout_case SET updated_at = updated_at "
                                  "WHERE id = :id"), {"id": case_id})
        body, took = await timed(pg.post(NOTE, {"case": gid, "text": "电话联系家长"}), 10)
        assert took < 3, f"the mutation waited {took:.1f} s for the lock"
        (error,) = body["errors"]
        assert error["extensions"] == {"code": "LOCK_TIMEOUT", "retryable": True}, error
        me, took = await timed(pg.post("{ me { username } }"), 5)
        assert me["data"]["me"]["username"] == "head_teacher" and took < 1, (me, took)
        read, took = await timed(pg.post(READ, {"id": gid}), 5)
        assert read["data"]["node"]["id"] == gid and took < 1, (read, took)
        await holder.rollback()
    # The lock released, the same request succeeds (what the client's retry does).
    again = await pg.post(NOTE, {"case": gid, "text": "电话联系家长"})
    assert again["data"]["addCaseNote"]["userErrors"] == [], again


async def test_timeouts_are_set_on_every_server_connection(pg: Client) -> None:
    names = ("lock_timeout", "statement_timeout", "idle_in_transaction_session_timeout", "jit")
    async with pg.app_engine.connect() as conn:
        shown = [(await conn.execute(text(f"SHOW {name}"))).scalar_one() for name in names]
    assert shown == [f"{LOCK_MS}ms", "5s", "30s", "off"]
    assert pg.app_engine.pool.timeout() == 2.0  # type: ignore[attr-defined]
    # The command line's engine (migrations, ticks) keeps PostgreSQL's defaults: long DDL,
    # and whatever the server's configuration says of JIT (set by no client).
    async with pg.engine.connect() as conn:
        assert (await conn.execute(text("SHOW lock_timeout"))).scalar_one() == "0"
        source = text("SELECT source FROM pg_settings WHERE name = 'jit'")
        assert (await conn.execute(source)).scalar_one() != "client"


def inject(
    monkeypatch: pytest.MonkeyPatch, errcode: str, failures: int
) -> list[int]:
    """Make ``add_note`` hit a PostgreSQL error ``errcode`` on its first ``failures`` calls,
    raised by the server inside the mutation's transaction after the note was written."""
    calls: list[int] = []
    original = case_service.add_note

    async def add_note(ctx: ServiceContext, **kwargs: Any) -> Any:
        calls.append(1)
        event = await original(ctx, **kwargs)
        if len(calls) <= failures:
            await ctx.session.execute(text(
                f"DO $$ BEGIN RAISE EXCEPTION 'injected' USING ERRCODE = '{errcode}'; END $$"))
        return event

    monkeypatch.setattr(case_service, "add_note", add_note)
    return calls


async def notes(engine: AsyncEngine, case_id: int) -> tuple[int, int]:
    async with engine.connect() as conn:
        events = (await conn.execute(select(func.count()).select_from(CaseEvent).where(
            CaseEvent.case_id == case_id, CaseEvent.kind == "note"))).scalar_one()
        audits = (await conn.execute(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.operation == "add_case_note"))).scalar_one()
        return int(events), int(audits)


@pytest.mark.parametrize("errcode", ["serialization_failure", "deadlock_detected"])
async def test_rolled_back_mutation_is_retried_once_and_succeeds(
    pg: Client, monkeypatch: pytest.MonkeyPatch, errcode: str
) -> None:
    gid, case_id = await open_case(pg)
    calls = inject(monkeypatch, errcode, failures=1)
    body = await pg.post(NOTE, {"case": gid, "text": "家访"})
    assert "errors" not in body, body
    assert body["data"]["addCaseNote"]["userErrors"] == []
    assert len(calls) == 2, "the mutation ran once more after the database rolled it back"
    assert await notes(pg.engine, case_id) == (1, 1), "one note and one audit row, not two"


@pytest.mark.parametrize(("errcode", "code"), [("serialization_failure", "SERIALIZATION_FAILURE"),
                                               ("deadlock_detected", "DEADLOCK")])
async def test_failing_twice_returns_the_retryable_code(
    pg: Client, monkeypatch: pytest.MonkeyPatch, errcode: str, code: str
) -> None:
    gid, case_id = await open_case(pg)
    calls = inject(monkeypatch, errcode, failures=5)
    body = await pg.post(NOTE, {"case": gid, "text": "家访"})
    (error,) = body["errors"]
    assert error["extensions"] == {"code": code, "retryable": True}, error
    assert len(calls) == 2, "retried exactly once"
    assert await notes(pg.engine, case_id) == (0, 0), "nothing of either attempt was kept"


async def test_killed_transaction_is_not_retried_and_is_coded(
    pg: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A transaction the server ended (pg_terminate_backend, idle timeout) may have been
    mid-commit, so it is not retried in the server: the client gets TRANSACTION_ABORTED."""
    gid, _ = await open_case(pg)
    calls = inject(monkeypatch, "admin_shutdown", failures=5)
    body = await pg.post(NOTE, {"case": gid, "text": "家访"})
    (error,) = body["errors"]
    assert error["extensions"] == {"code": "TRANSACTION_ABORTED", "retryable": True}, error
    assert len(calls) == 1


async def test_a_real_deadlock_is_classified_as_deadlock(pg: Client) -> None:
    _, first = await open_case(pg)
    async with pg.engine.connect() as conn:
        second = (await conn.execute(text("SELECT max(id) FROM child"))).scalar_one()
    bump_case = text("UPDATE dropout_case SET updated_at = updated_at WHERE id = :id")
    bump_child = text("UPDATE child SET updated_at = updated_at WHERE id = :id")
    a_locked, b_locked = asyncio.Event(), asyncio.Event()

    async def one(mine: Any, theirs: Any, locked: asyncio.Event, other: asyncio.Event,
                  ids: tuple[int, int]) -> BaseException | None:
        async with pg.engine.connect() as conn:
            try:
                await conn.execute(mine, {"id": ids[0]})
                locked.set()
                await other.wait()
                await conn.execute(theirs, {"id": ids[1]})
                await conn.rollback()
            except sa_exc.DBAPIError as exc:
                await conn.rollback()
                return exc
        return None

    results = await asyncio.wait_for(asyncio.gather(
        one(bump_case, bump_child, a_locked, b_locked, (first, second)),
        one(bump_child, bump_case, b_locked, a_locked, (second, first)),
    ), 15)
    faults = [classify(r) for r in results if r is not None]
    assert [f.code for f in faults if f] == ["DEADLOCK"], results


Failure = Callable[[], BaseException]


@pytest.mark.parametrize("failure", [
    lambda: ConnectionRefusedError(111, "Connect call failed ('127.0.0.1', 5432)"),
    lambda: sa_exc.TimeoutError("QueuePool limit of size 10 overflow 10 reached"),
], ids=["refused", "pool-timeout"])
async def test_unreachable_database_in_a_resolver_is_coded(
    pg: Client, monkeypatch: pytest.MonkeyPatch, failure: Failure
) -> None:
    gid, _ = await open_case(pg)

    async def unreachable(*_: Any, **__: Any) -> Any:
        raise failure()

    # Patched where it is defined: the Node's refetch looks it up there at each call.
    monkeypatch.setattr(case_query, "get_cases", unreachable)
    body = await pg.post(READ, {"id": gid})
    (error,) = body["errors"]
    assert error["extensions"] == {"code": "DATABASE_UNAVAILABLE", "retryable": True}, error


async def test_statement_timeout_in_a_resolver_is_coded(
    pg: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    gid, _ = await open_case(pg)
    original = case_query.get_cases

    async def slow(ctx: ServiceContext, ids: Any) -> Any:
        # A runaway query, cut short by PostgreSQL's statement_timeout (57014).
        await ctx.session.execute(text("SET LOCAL statement_timeout = 100"))
        await ctx.session.execute(text("SELECT pg_sleep(2)"))
        return await original(ctx, ids)

    monkeypatch.setattr(case_query, "get_cases", slow)
    body, took = await timed(pg.post(READ, {"id": gid}), 5)
    (error,) = body["errors"]
    assert error["extensions"] == {"code": "STATEMENT_TIMEOUT", "retryable": True}, error
    assert took < 1.5


def test_only_database_faults_are_classified() -> None:
    """Other errors stay bugs (INTERNAL): a missing file or an asyncio timeout is not
    "the database is unavailable"."""
    assert classify(FileNotFoundError(2, "no such file")) is None
    assert classify(TimeoutError()) is None
    assert classify(ValueError("x")) is None
    locked = sa_exc.OperationalError("INSERT …", {}, sqlite3.OperationalError("database is locked"))
    fault = classify(locked)
    assert fault is not None and fault.code == "LOCK_TIMEOUT" and not fault.retry_in_server
