"""The three ledgers at province scale: a page's time per officer and ledger, and a 100,000-row
export's time and peak memory (issue 15: "page like the case list … export 100,000 rows
without holding them in memory").

    python -m bench.generate --url …/lianbao_bench_ledger --children 2000000 --cases 200000
    python -m bench.ledgers --url …/lianbao_bench_ledger [--clustered]

The synthetic province has no register entries: the first run gives every child one
(set-based, once: 1 % marked dropped out, 2 % deferred, grades 1–9), so the statuses vary.
Pages go through the same service code as the API (policy compiled into SQL, keyset pages);
the export goes through ``POST /exports`` of the real app in this process, and its resident
memory is sampled every 20 ms while the file is written and read back.
"""

from __future__ import annotations

import asyncio
import os
import time
from datetime import UTC, datetime
from typing import Any

import asyncpg
import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from api.app import create_app, freeze_startup_heap
from api.auth import issue_dev_token
from api.settings import Settings
from authz.enforcer import Authorizer
from authz.store import load_policy
from bench.cases_list import officer
from bench.common import parse_args
from bench.generate import add_officers, dsn
from bench.stats import row
from models.enums import AgencyKind
from models.session import create_engine
from workflow import ledger
from workflow.clock import FixedClock
from workflow.context import ServiceContext
from workflow.pagination import PageRequest

SECRET = "bench-secret-" + "b" * 32
NOW = datetime(2026, 11, 2, 2, tzinfo=UTC)

ENROL = """
INSERT INTO enrolment (child_id, school_id, grade, class_no, status, status_since, spring_entrant,
                       updated_at)
SELECT c.id, s.id, 1 + c.id % 9, 1,
       CASE WHEN c.id % 100 = 0 THEN 'dropout_marked' WHEN c.id % 50 = 1 THEN 'deferred'
            ELSE 'enrolled' END,
       date '2025-09-01', false, now()
FROM child c JOIN agency a ON a.scope_path = c.scope_path JOIN school s ON s.agency_id = a.id
-- NOT IN, a hashed subplan: with NOT EXISTS over the empty, unanalysed table the planner
-- chose a nested-loop anti join whose inner scan reads every row this statement has
-- inserted so far (invisible to it, but on the heap): quadratic, not done after 16 minutes.
WHERE c.id NOT IN (SELECT e.child_id FROM enrolment e)
"""


# The children in the order of their schools' domains, as an import of a register extract
# (sorted by school) writes them: bench.generate draws each child's school at random, so a
# district's 20,000 children lie on 16,000 of the table's pages.
CLUSTER = ("CLUSTER child USING ix_child_scope", "VACUUM ANALYZE child")


async def prepare(url: str, clustered: bool = False) -> None:
    conn = await asyncpg.connect(dsn(url))
    try:
        await add_officers(conn)
        if clustered:
            t0 = time.perf_counter()
            for statement in CLUSTER:
                await conn.execute(statement)
            print(f"children ordered by their domain in {time.perf_counter() - t0:.1f} s\n")
        if not await conn.fetchval("SELECT EXISTS (SELECT 1 FROM enrolment)"):
            t0 = time.perf_counter()
            # The rows are consistent by construction (as bench.generate's COPY): the foreign
            # key checks, a trigger per row, would make 2,000,000 rows take half an hour.
            await conn.execute("SET session_replication_role = replica")
            await conn.execute(ENROL)
            await conn.execute("ANALYZE enrolment")
            print(f"register entries made in {time.perf_counter() - t0:.1f} s\n")
    finally:
        await conn.close()


PAGES: list[tuple[str, Any, Any]] = [
    ("school-age", ledger.school_age_page, ledger.SchoolAgeFilter()),
    ("school-age, status DROPOUT", ledger.school_age_page,
     ledger.SchoolAgeFilter(status=ledger.LedgerStatus.DROPOUT)),
    ("suspected", ledger.suspected_page, ledger.SuspectedFilter()),
    ("dropouts", ledger.dropout_page, ledger.DropoutFilter()),
]


async def pages(url: str, iterations: int) -> None:
    engine = create_engine(url, jit=False)  # as the server's (api/app.py)
    async with AsyncSession(engine) as session:
        rules, version = await load_policy(session)
    authz = Authorizer(rules, version)
    # As the server once it is up: without it a full collection (~100 ms, the process's
    # start-up heap) lands in one page of about every ten.
    freeze_startup_heap()
    people = {
        "township": officer("township_officer", AgencyKind.TOWNSHIP,
                            "990000/990100/990101/990101100"),
        "district bureau": officer("education_officer", AgencyKind.EDUCATION,
                                   "990000/990100/990101"),
        "provincial inspector": officer("inspector", AgencyKind.INSPECTORATE, "990000"),
    }
    print(f"Pages of 50, {iterations} each (the first and the tenth page; with and without "
          "totalCount)\n")
    print("| officer / ledger | pages | p50 ms | p99 ms | rows in the ledger |")
    print("|---|---|---|---|---|")
    for who, principal in people.items():
        for name, page_of, f in PAGES:
            # The province's totalCount is a count of 2,000,000 children: not what a page of
            # the whole province asks (its clients page without it), and minutes under load.
            for counted in (True, False) if who != "provincial inspector" else (False,):
                samples: list[float] = []
                total = 0
                async with AsyncSession(engine) as session:
                    ctx = ServiceContext(session, principal, authz, FixedClock(NOW))
                    for i in range(iterations):
                        after = None
                        for _ in range(10 if i % 2 else 1):  # odd runs: walk to page ten
                            t0 = time.perf_counter()
                            page = await page_of(ctx, f, PageRequest(first=50, after=after,
                                                                     cap=100),
                                                 counted=counted)
                            samples.append((time.perf_counter() - t0) * 1000)
                            after = page.cursors[-1] if page.has_next else None
                            total = max(total, page.total_count)
                            if after is None:
                                break
                        session.expunge_all()
                label = f"{who} / {name}" + ("" if counted else " (no totalCount)")
                print(row(label, samples, str(total) if counted else "—"))
    await engine.dispose()


def _rss_mb() -> float:
    with open(f"/proc/{os.getpid()}/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


async def export(url: str, kind: str, fmt: str, code: str, rows: int) -> None:
    settings = Settings(database_url=url, jwt_secret=SECRET, environment="development",
                        rate_limit_user_per_minute=0, rate_limit_address_per_minute=0)
    app = create_app(settings, clock=FixedClock(NOW), check_schema=False)
    token = issue_dev_token(settings, "bench_province")
    peak, stop = _rss_mb(), False
    base = peak

    async def sample() -> None:
        nonlocal peak
        while not stop:
            peak = max(peak, _rss_mb())
            await asyncio.sleep(0.02)

    sampler = asyncio.create_task(sample())
    transport = httpx.ASGITransport(app=app)
    t0 = time.perf_counter()
    lines = size = 0
    body = {"ledger": kind, "format": fmt, "filter": {"jurisdictionCode": code}}
    headers = {"Authorization": f"Bearer {token}"}
    async with (app.router.lifespan_context(app),
                httpx.AsyncClient(transport=transport, base_url="http://bench",
                                  timeout=None) as client,
                client.stream("POST", "/exports", json=body, headers=headers) as response):
        assert response.status_code == 200, await response.aread()
        async for chunk in response.aiter_bytes():
            size += len(chunk)
            lines += chunk.count(b"\n")
            if fmt == "csv" and lines > rows:
                break
    seconds = time.perf_counter() - t0
    stop = True
    await sampler
    counted = f"{min(lines - 1, rows):,} rows" if fmt == "csv" else f"{size / 2**20:.1f} MB"
    print(f"| {kind} {fmt.upper()} of {code} | {counted} | {seconds:.1f} s | "
          f"{base:.0f} MB | {peak:.0f} MB (+{peak - base:.0f} MB) |")


def main() -> None:
    args = parse_args(
        __doc__, iterations=20, rows=100_000, export_code="990100", clustered=False,
        help={"export_code": "the jurisdiction exported (a city: 200,000 children)",
              "clustered": "first order the children's table by domain (CLUSTER), as an "
                           "import by school writes it"},
    )
    asyncio.run(prepare(args.url, args.clustered))
    asyncio.run(pages(args.url, args.iterations))
    print("\n| export | size | time | RSS before | peak RSS |")
    print("|---|---|---|---|---|")
    asyncio.run(export(args.url, "school_age", "csv", args.export_code, args.rows))
    asyncio.run(export(args.url, "school_age", "xlsx", args.export_code, args.rows))


if __name__ == "__main__":
    main()
