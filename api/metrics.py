"""``/metrics`` in the Prometheus text format (prometheus-client).

What is counted, and where:

* GraphQL requests and their latency per operation name and outcome, and errors by
  ``extensions.code`` (``OperationMetrics``, a strawberry extension the app adds to the schema,
  and ``GraphQLEndpoint`` for answers that never reach execution);
* the database pool's connections in use and its size (SQLAlchemy pool events);
* the deadline engine's tick duration, steps entered, tasks created and failures (observed by
  the callers, ``api.app.run_ticks`` and ``lianbao tick``);
* open and overdue tasks per agency: a gauge computed at scrape time from one grouped query,
  cached for ``metrics_cache_seconds`` so a scrape storm does not become a query storm;
* open sockets, and requests refused by the rate limits.

Several workers: when ``PROMETHEUS_MULTIPROC_DIR`` is set (``lianbao serve --workers N`` sets
it), every process writes its samples to files there and any worker's ``/metrics`` sums them
(prometheus-client's multiprocess mode); gauges of live state are ``livesum``, so a dead
worker's connections and sockets stop counting once it is marked dead at shutdown.

Operation names come from clients, so they are bounded: a name must look like a GraphQL name
and at most ``MAX_OPERATION_NAMES`` distinct ones are labelled per process (the rest are
``other``); otherwise one client could grow the series without limit.
"""

from __future__ import annotations

import ipaddress
import os
import re
import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import Receive, Scope, Send
from strawberry.extensions import SchemaExtension

from models.enums import TaskStatus
from models.reference import Agency
from models.task import Task

MAX_OPERATION_NAMES = 200
# A task in a queue (workflow/task.py LIVE): waiting to be claimed, or claimed and not done.
LIVE = (TaskStatus.OPEN, TaskStatus.CLAIMED)
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
_ENGINES_INSTRUMENTED: set[int] = set()

GRAPHQL_REQUESTS = Counter(
    "lianbao_graphql_requests_total",
    "GraphQL requests by operation name and outcome (ok, partial, error).",
    ["operation", "outcome"],
)
GRAPHQL_LATENCY = Histogram(
    "lianbao_graphql_request_duration_seconds",
    "Time to execute a GraphQL operation, by operation name and outcome.",
    ["operation", "outcome"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
GRAPHQL_ERRORS = Counter(
    "lianbao_graphql_errors_total",
    "GraphQL errors by extensions.code (INTERNAL is a fault of ours).",
    ["code"],
)
DB_POOL_IN_USE = Gauge(
    "lianbao_db_pool_connections_in_use",
    "Database connections checked out of the pool, summed over live processes.",
    multiprocess_mode="livesum",
)
DB_POOL_SIZE = Gauge(
    "lianbao_db_pool_size",
    "Configured pool size (without overflow), summed over live processes.",
    multiprocess_mode="livesum",
)
TICK_DURATION = Histogram(
    "lianbao_tick_duration_seconds",
    "Duration of one deadline-engine tick.",
    buckets=(0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0),
)
TICK_STEPS = Counter("lianbao_tick_steps_entered_total", "Ladder steps entered by the engine.")
TICK_TASKS = Counter("lianbao_tick_tasks_created_total", "Tasks created by the engine.")
TICK_BREACHES = Counter("lianbao_tick_breaches_total", "Deadline breaches found by the engine.")
TICK_FAILURES = Counter("lianbao_tick_failures_total", "Ticks that failed (retried next time).")
SOCKETS_OPEN = Gauge(
    "lianbao_websockets_open",
    "GraphQL WebSocket connections open, summed over live processes.",
    multiprocess_mode="livesum",
)
RATE_LIMITED_TOTAL = Counter(
    "lianbao_rate_limited_total",
    "Requests refused with 429, by the limit that refused them (user or address).",
    ["scope"],
)

_seen_operations: set[str] = set()


def operation_label(name: str | None) -> str:
    """A bounded label for a client-chosen operation name."""
    if not name:
        return "anonymous"
    if not _NAME.match(name):
        return "invalid"
    if name in _seen_operations:
        return name
    if len(_seen_operations) >= MAX_OPERATION_NAMES:
        return "other"
    _seen_operations.add(name)
    return name


def record_operation(name: str | None, outcome: str, seconds: float, codes: list[str]) -> None:
    label = operation_label(name)
    GRAPHQL_REQUESTS.labels(operation=label, outcome=outcome).inc()
    GRAPHQL_LATENCY.labels(operation=label, outcome=outcome).observe(seconds)
    for code in codes:
        GRAPHQL_ERRORS.labels(code=code).inc()


def count_errors(errors: Any) -> None:
    """Errors of a formatted GraphQL response, by ``extensions.code``."""
    for error in errors or []:
        code = (error.get("extensions") or {}).get("code") if isinstance(error, dict) else None
        GRAPHQL_ERRORS.labels(code=str(code or "UNCODED")).inc()


class OperationMetrics(SchemaExtension):
    """Counts each executed operation; leaves what it saw in the request's scope state so the
    access log line can carry the operation name (api/logs.py)."""

    def on_operation(self) -> Iterator[None]:
        started = time.perf_counter()
        yield
        ctx = self.execution_context
        result = ctx.result
        errors = list(getattr(result, "errors", None) or [])
        data = getattr(result, "data", None)
        outcome = "ok" if not errors else ("partial" if data else "error")
        name = ctx.operation_name
        # The errors' codes are counted from the formatted response (LianbaoGraphQL's
        # process_result, count_errors): they are final only there.
        record_operation(name, outcome, time.perf_counter() - started, [])
        request = getattr(ctx.context, "request", None)
        scope = getattr(request, "scope", None)
        if isinstance(scope, dict):
            scope.setdefault("state", {})["lianbao.operation"] = name or "anonymous"
            scope["state"]["lianbao.metrics_recorded"] = True


def instrument_pool(engine: AsyncEngine) -> None:
    """Track the pool's checked-out connections through its events (once per engine)."""
    from sqlalchemy import event

    sync_engine = engine.sync_engine
    if id(sync_engine) in _ENGINES_INSTRUMENTED:
        return
    _ENGINES_INSTRUMENTED.add(id(sync_engine))
    size = getattr(sync_engine.pool, "size", None)
    if callable(size):
        DB_POOL_SIZE.inc(size())

    def checkout(*_: Any) -> None:
        DB_POOL_IN_USE.inc()

    def checkin(*_: Any) -> None:
        DB_POOL_IN_USE.dec()

    event.listen(sync_engine, "checkout", checkout)
    event.listen(sync_engine, "checkin", checkin)


@dataclass
class TaskCounts:
    """Open and overdue tasks per agency, as of ``taken_at`` (monotonic seconds)."""

    rows: list[tuple[int, str, str, int, int]]
    taken_at: float


async def task_counts(session: AsyncSession, today: date) -> list[tuple[int, str, str, int, int]]:
    """(agency id, kind, name, open, overdue) for every agency.

    An agency's queue is the live tasks addressed to its kind within its domain (the task's
    ``scope_path`` is the agency's or lies below it), as ``workflow.task`` lists them. Joining
    agencies to tasks on a path prefix cannot use an index (the pattern is a column), so the
    live tasks are counted once, grouped by kind and path (one scan of the queue index), and
    each group is added to every path prefix above it here: rows × depth additions instead of
    agencies × tasks comparisons.
    """
    grouped = await session.execute(
        select(
            Task.agency_kind,
            Task.scope_path,
            func.count(Task.id),
            func.count(Task.id).filter(Task.due_on < today),
        )
        .where(Task.status.in_(LIVE))
        .group_by(Task.agency_kind, Task.scope_path)
    )
    totals: dict[tuple[str, str], list[int]] = {}
    for kind, path, n_open, n_overdue in grouped:
        parts = str(path).split("/")
        for depth in range(1, len(parts) + 1):
            entry = totals.setdefault((str(kind.value), "/".join(parts[:depth])), [0, 0])
            entry[0] += int(n_open)
            entry[1] += int(n_overdue)
    agencies = await session.execute(
        select(Agency.id, Agency.kind, Agency.name, Agency.scope_path).order_by(Agency.id)
    )
    rows = []
    for agency_id, kind, name, scope in agencies:
        n_open, n_overdue = totals.get((str(kind.value), str(scope)), (0, 0))
        rows.append((int(agency_id), str(kind.value), str(name), n_open, n_overdue))
    return rows


class _TaskCollector(Collector):
    def __init__(self, rows: list[tuple[int, str, str, int, int]]) -> None:
        self.rows = rows

    def collect(self) -> Iterator[GaugeMetricFamily]:
        labels = ["agency_id", "agency_kind", "agency"]
        open_ = GaugeMetricFamily(
            "lianbao_tasks_open", "Live (open or claimed) tasks in each agency's queue.",
            labels=labels,
        )
        overdue = GaugeMetricFamily(
            "lianbao_tasks_overdue", "Live tasks past their due date in each agency's queue.",
            labels=labels,
        )
        for agency_id, kind, name, n_open, n_overdue in self.rows:
            values = [str(agency_id), kind, name]
            open_.add_metric(values, n_open)
            overdue.add_metric(values, n_overdue)
        yield open_
        yield overdue


class MetricsEndpoint:
    """``GET /metrics``, for the addresses in ``metrics_allow`` or a bearer ``metrics_token``."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        today: Any,
        allow: tuple[str, ...],
        token: str | None,
        cache_seconds: float,
    ) -> None:
        self.sessions = sessions
        self.today = today  # a callable returning the scrape's date (the app's clock)
        self.networks = [ipaddress.ip_network(a, strict=False) for a in allow]
        self.token = token
        self.cache_seconds = cache_seconds
        self.cached: TaskCounts | None = None

    def allowed(self, request: Request) -> bool:
        if self.token:
            header = request.headers.get("authorization", "")
            scheme, _, given = header.partition(" ")
            if scheme.lower() == "bearer" and secrets.compare_digest(
                given.strip().encode(), self.token.encode()
            ):
                return True
        client = request.client
        if client is None:
            return False
        try:
            address = ipaddress.ip_address(client.host)
        except ValueError:
            return False
        return any(address in net for net in self.networks)

    async def rows(self) -> list[tuple[int, str, str, int, int]]:
        now = time.monotonic()
        if self.cached is not None and now - self.cached.taken_at < self.cache_seconds:
            return self.cached.rows
        async with self.sessions() as session:
            rows = await task_counts(session, self.today())
        self.cached = TaskCounts(rows, now)
        return rows

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = await self.respond(Request(scope, receive))
        await response(scope, receive, send)

    async def respond(self, request: Request) -> Response:
        if not self.allowed(request):
            return JSONResponse(
                {"errors": [{"message": "metrics are not public",
                             "extensions": {"code": "FORBIDDEN"}}]},
                status_code=403,
            )
        try:
            rows = await self.rows()
        except Exception:  # counts unavailable (database down): the process metrics still serve
            rows = []
        scrape = CollectorRegistry()
        scrape.register(_TaskCollector(rows))
        return Response(
            process_metrics() + generate_latest(scrape), media_type=CONTENT_TYPE_LATEST
        )


def process_metrics() -> bytes:
    """This process's metrics, or every worker's when ``PROMETHEUS_MULTIPROC_DIR`` is set."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry)
    return generate_latest(REGISTRY)


def mark_process_dead() -> None:
    """At a worker's shutdown: its live gauges stop counting in the other workers' scrapes."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.mark_process_dead(os.getpid())  # type: ignore[no-untyped-call]
