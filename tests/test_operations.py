"""Running it for real (issue 18): /metrics, rate limits, access lines, quiet /readyz."""

from __future__ import annotations

import io
import json
import logging
import os
import subprocess
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import date, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api import metrics
from api.app import create_app, tick_once
from api.auth import issue_dev_token
from api.logs import JsonFormatter
from api.ratelimit import TokenBuckets
from api.settings import Settings
from api.sockets import SocketRegistry
from authz.enforcer import Authorizer, domain_covers
from models.enums import AgencyKind, TaskStatus
from models.reference import Agency
from models.session import create_engine
from models.task import Task
from tests.helpers import TEST_SECRET, Database
from workflow.calendar import local_date
from workflow.clock import FixedClock

ME = "query Me { me { username } }"


@asynccontextmanager
async def client_for(
    database: Database,
    sessions: async_sessionmaker[AsyncSession],
    authorizer: Authorizer,
    clock: FixedClock,
    **overrides: Any,
) -> AsyncIterator[tuple[httpx.AsyncClient, Settings, Any]]:
    settings = Settings(
        database_url=database.url, jwt_secret=TEST_SECRET, environment="development",
        **overrides,
    )
    app = create_app(settings, engine=database.engine, sessions=sessions, authz=authorizer,
                     clock=clock, check_schema=False)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client, settings, app


ClientWith = Callable[..., AbstractAsyncContextManager[tuple[httpx.AsyncClient, Settings, Any]]]


@pytest.fixture
def client_with(
    database: Database,
    sessions: async_sessionmaker[AsyncSession],
    authorizer: Authorizer,
    clock: FixedClock,
) -> ClientWith:
    """``client_for`` this test's database, policy and clock; keywords override settings."""
    return partial(client_for, database, sessions, authorizer, clock)


def bearer(settings: Settings, user: str = "edu_officer") -> dict[str, str]:
    return {"Authorization": f"Bearer {issue_dev_token(settings, user)}"}


Samples = dict[tuple[str, tuple[Any, ...]], float]


async def scrape(client: httpx.AsyncClient, **kwargs: Any) -> Samples:
    response = await client.get("/metrics", **kwargs)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    samples: Samples = {}
    for family in text_string_to_metric_families(response.text):
        for s in family.samples:
            samples[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return samples


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


async def test_requests_latency_and_errors_per_operation(client_with: ClientWith) -> None:
    async with client_with() as (client, settings, _):
        before = await scrape(client)
        ok = await client.post("/graphql", json={"query": ME}, headers=bearer(settings))
        assert ok.status_code == 200 and not ok.json().get("errors")
        bad = await client.post("/graphql", json={"query": "query Broken { nope }"},
                                headers=bearer(settings))
        assert bad.json()["errors"]
        unauth = await client.post("/graphql", json={"query": ME})
        assert unauth.status_code == 401
        after = await scrape(client)
    requests = "lianbao_graphql_requests_total"
    assert value(after, requests, operation="Me", outcome="ok") == value(
        before, requests, operation="Me", outcome="ok") + 1
    assert value(after, requests, operation="Broken", outcome="error") == value(
        before, requests, operation="Broken", outcome="error") + 1
    latency = "lianbao_graphql_request_duration_seconds_count"
    assert value(after, latency, operation="Me", outcome="ok") == value(
        before, latency, operation="Me", outcome="ok") + 1
    code = unauth.json()["errors"][0]["extensions"]["code"]
    errors = "lianbao_graphql_errors_total"
    assert value(after, errors, code=code) == value(before, errors, code=code) + 1
    validation_code = bad.json()["errors"][0]["extensions"]["code"]
    assert value(after, errors, code=validation_code) >= value(
        before, errors, code=validation_code) + 1


def test_operation_names_are_bounded() -> None:
    assert metrics.operation_label(None) == "anonymous"
    assert metrics.operation_label("x" * 100) == "invalid"
    assert metrics.operation_label("bad name; drop") == "invalid"
    for i in range(metrics.MAX_OPERATION_NAMES + 5):
        metrics.operation_label(f"Generated{i}")
    assert metrics.operation_label("OneMoreNewName") == "other"


async def add_task(sessions: async_sessionmaker[AsyncSession], due: date) -> Agency:
    """A live task in the queue of the first education agency; returns the agency."""
    async with sessions() as session:
        agency = await session.scalar(
            select(Agency).where(Agency.kind == AgencyKind.EDUCATION).order_by(Agency.id).limit(1)
        )
        assert agency is not None
        session.add(Task(kind="follow_up", title="metrics test", agency_kind=agency.kind,
                         scope_path=agency.scope_path, due_on=due, status=TaskStatus.OPEN))
        await session.commit()
        return agency


async def test_tasks_open_and_overdue_per_agency(
    client_with: ClientWith, sessions: async_sessionmaker[AsyncSession], clock: FixedClock
) -> None:
    today = local_date(clock.now())
    async with client_with(metrics_cache_seconds=0) as (client, _, _):
        before = await scrape(client)
        assert any(n == "lianbao_tasks_open" for n, _ in before), "the gauge is missing"
        agency = await add_task(sessions, today - timedelta(days=3))
        after = await scrape(client)
    labels = (("agency", agency.name), ("agency_id", str(agency.id)),
              ("agency_kind", agency.kind.value))
    for name in ("lianbao_tasks_open", "lianbao_tasks_overdue"):
        assert after[(name, labels)] == before.get((name, labels), 0.0) + 1, name
    # Every agency's counts agree with its queue as the task list defines it (domain_covers).
    async with sessions() as session:
        agencies = (await session.execute(
            select(Agency.id, Agency.name, Agency.kind, Agency.scope_path))).all()
        live = (await session.execute(
            select(Task.agency_kind, Task.scope_path, Task.due_on)
            .where(Task.status.in_(metrics.LIVE)))).all()
    for a_id, a_name, a_kind, a_scope in agencies:
        key = (("agency", a_name), ("agency_id", str(a_id)), ("agency_kind", a_kind.value))
        queue = [due for kind, path, due in live
                 if kind == a_kind and domain_covers(path, a_scope)]
        assert after[("lianbao_tasks_open", key)] == len(queue)
        assert after[("lianbao_tasks_overdue", key)] == sum(due < today for due in queue)


async def test_task_counts_are_cached_between_scrapes(
    client_with: ClientWith, sessions: async_sessionmaker[AsyncSession], clock: FixedClock
) -> None:
    async with client_with(metrics_cache_seconds=60) as (client, _, _):
        await add_task(sessions, local_date(clock.now()))
        await scrape(client)
        async with sessions() as session:
            await session.execute(update(Task).values(status=TaskStatus.CANCELLED))
            await session.commit()
        cached = await scrape(client)
    assert sum(v for (n, _), v in cached.items() if n == "lianbao_tasks_open") > 0


async def test_metrics_are_not_public(client_with: ClientWith) -> None:
    token = "metrics-token-" + "y" * 32
    async with client_with(metrics_allow=("10.0.0.0/8",), metrics_token=token) as (client, _, _):
        refused = await client.get("/metrics")
        assert refused.status_code == 403
        assert refused.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"
        wrong = await client.get("/metrics", headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 403
        await scrape(client, headers={"Authorization": f"Bearer {token}"})
    async with client_with(metrics_enabled=False) as (client, _, _):
        assert (await client.get("/metrics")).status_code == 404


async def test_pool_connections_in_use(database: Database) -> None:
    engine = create_engine(database.url)
    metrics.instrument_pool(engine)
    metrics.instrument_pool(engine)  # once per engine, however often the app is built
    gauge = "lianbao_db_pool_connections_in_use"
    base = REGISTRY.get_sample_value(gauge) or 0.0
    try:
        async with engine.connect():
            assert REGISTRY.get_sample_value(gauge) == base + 1
        assert REGISTRY.get_sample_value(gauge) == base
    finally:
        await engine.dispose()


async def test_tick_duration_and_steps(client_with: ClientWith, clock: FixedClock) -> None:
    async with client_with() as (client, _, app):
        before = await scrape(client)
        clock.advance(days=45)
        report = await tick_once(app.state.lianbao)
        assert report is not None and not report.skipped
        after = await scrape(client)
    assert value(after, "lianbao_tick_duration_seconds_count") == value(
        before, "lianbao_tick_duration_seconds_count") + 1
    assert value(after, "lianbao_tick_steps_entered_total") == value(
        before, "lianbao_tick_steps_entered_total") + report.steps_entered
    assert value(after, "lianbao_tick_tasks_created_total") == value(
        before, "lianbao_tick_tasks_created_total") + report.tasks_created


def test_socket_gauge_follows_the_registry() -> None:
    gauge = "lianbao_websockets_open"
    base = REGISTRY.get_sample_value(gauge) or 0.0
    registry = SocketRegistry()
    assert registry.acquire(7, 2) and registry.acquire(7, 2)
    assert not registry.acquire(7, 2)  # refused: not counted
    assert REGISTRY.get_sample_value(gauge) == base + 2
    registry.release(7)
    registry.release(7)
    registry.release(7)  # an extra release does not go below
    assert REGISTRY.get_sample_value(gauge) == base


def test_token_bucket_refills() -> None:
    now = [0.0]
    buckets = TokenBuckets(60, burst=2, now=lambda: now[0])
    assert buckets.take("a") is None and buckets.take("a") is None
    wait = buckets.take("a")
    assert wait is not None and 0.9 < wait <= 1.0
    assert buckets.take("b") is None  # another key has its own bucket
    now[0] += 1.0
    assert buckets.take("a") is None
    assert TokenBuckets(0, burst=1).take("a") is None  # 0: off


async def test_rate_limit_per_user(client_with: ClientWith) -> None:
    async with client_with(rate_limit_user_per_minute=1, rate_limit_address_per_minute=0,
                           rate_limit_burst=2) as (client, settings, _):
        for _ in range(2):
            ok = await client.post("/graphql", json={"query": ME}, headers=bearer(settings))
            assert ok.status_code == 200
        refused = await client.post("/graphql", json={"query": ME}, headers=bearer(settings))
        assert refused.status_code == 429
        assert int(refused.headers["retry-after"]) >= 1
        error = refused.json()["errors"][0]
        assert error["extensions"]["code"] == "RATE_LIMITED"
        assert error["extensions"]["scope"] == "user"
        # The file route counts against the same user's allowance.
        pdf = await client.get("/documents/1/pdf", headers=bearer(settings))
        assert pdf.status_code == 429
        assert pdf.json()["errors"][0]["extensions"]["code"] == "RATE_LIMITED"
        other = await client.post("/graphql", json={"query": ME},
                                  headers=bearer(settings, "spt_edu_officer"))
        assert other.status_code == 200
        samples = await scrape(client)
    assert value(samples, "lianbao_rate_limited_total", scope="user") >= 2


async def test_rate_limit_per_address(client_with: ClientWith) -> None:
    async with client_with(rate_limit_address_per_minute=1, rate_limit_burst=2,
                           rate_limit_user_per_minute=0) as (client, settings, _):
        assert (await client.post("/graphql", json={"query": ME})).status_code == 401
        assert (await client.get("/documents/1/pdf")).status_code == 401
        refused = await client.post("/graphql", json={"query": ME}, headers=bearer(settings))
        assert refused.status_code == 429
        assert refused.json()["errors"][0]["extensions"]["scope"] == "address"
        assert "retry-after" in refused.headers
        # Probes are not limited.
        assert (await client.get("/healthz")).status_code == 200
        assert (await client.get("/metrics")).status_code == 200


def _capture(logger: str) -> tuple[logging.Handler, io.StringIO]:
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.setFormatter(JsonFormatter())
    logging.getLogger(logger).addHandler(handler)
    return handler, buffer


async def test_access_line_carries_user_agency_operation_and_request_id(
    api: Any,
) -> None:
    access = logging.getLogger("lianbao.access")
    handler, buffer = _capture("lianbao.access")
    old_level = access.level
    access.setLevel(logging.INFO)
    try:
        response = await api.post(ME, headers={"X-Request-ID": "req-abc-123"})
        assert response.status_code == 200
    finally:
        logging.getLogger("lianbao.access").removeHandler(handler)
        access.setLevel(old_level)
    lines = [json.loads(line) for line in buffer.getvalue().splitlines()]
    line = next(x for x in lines if x.get("path") == "/graphql")
    assert line["request_id"] == "req-abc-123"
    assert line["user"] == "edu_officer"
    assert line["agency"]
    assert line["operation"] == "Me"


async def test_readyz_does_not_log_alembic_lines(api: Any) -> None:
    alembic = logging.getLogger("alembic")
    handler, buffer = _capture("alembic")
    old_level = alembic.level
    alembic.setLevel(logging.INFO)  # as alembic.ini's logging config leaves it after migrate
    try:
        for _ in range(3):
            response = await api.client.get("/readyz")
            assert response.status_code == 200, response.text
    finally:
        alembic.removeHandler(handler)
        alembic.setLevel(old_level)
    assert buffer.getvalue() == ""



@pytest.mark.slow
def test_metrics_sum_over_worker_processes(tmp_path: Path) -> None:
    """Multi-process mode: two 'workers' count, a third process's scrape sees the sum."""
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    work = ("from api import metrics; "
            "metrics.record_operation('Me', 'ok', 0.01, []); metrics.SOCKETS_OPEN.inc()")
    for _ in range(2):
        subprocess.run([sys.executable, "-c", work], env=env, check=True, timeout=60)
    scrape_code = ("import sys; from api import metrics; "
                   "sys.stdout.write(metrics.process_metrics().decode())")
    out = subprocess.run([sys.executable, "-c", scrape_code], env=env, check=True,
                         capture_output=True, text=True, timeout=60).stdout
    samples = {(s.name, tuple(sorted(s.labels.items()))): s.value
               for f in text_string_to_metric_families(out) for s in f.samples}
    key = ("lianbao_graphql_requests_total", (("operation", "Me"), ("outcome", "ok")))
    assert samples[key] == 2


def test_serve_empties_the_metrics_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import uvicorn

    from api import cli

    stale = tmp_path / "counter_123.db"
    stale.write_bytes(b"old")
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    seen: dict[str, Any] = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: seen.update(kw, app=app))
    settings = Settings(jwt_secret=TEST_SECRET)
    assert cli.cmd_serve(settings, None, None, 3) == 0
    assert seen["workers"] == 3
    assert not stale.exists()
    assert os.environ["PROMETHEUS_MULTIPROC_DIR"] == str(tmp_path)


async def test_listen_connection_can_bypass_a_pooler(database: Database) -> None:
    """Behind pgbouncer in transaction mode, LISTEN needs a direct connection of its own."""
    if not database.is_postgres:
        pytest.skip("LISTEN is PostgreSQL's")
    direct = database.url.replace("127.0.0.1", "localhost")
    settings = Settings(database_url=database.url, jwt_secret=TEST_SECRET,
                        listen_database_url=direct)
    app = create_app(settings, engine=database.engine, check_schema=False)
    listener = app.state.lianbao.bus.listener
    assert listener.engine is not database.engine
    assert listener.engine.url.host == "localhost"
    await listener.engine.dispose()
    default = create_app(Settings(database_url=database.url, jwt_secret=TEST_SECRET),
                         engine=database.engine, check_schema=False)
    assert default.state.lianbao.bus.listener.engine is database.engine
