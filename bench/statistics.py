"""How long the statistics take at province scale (issue 16): a district's table and the
province's, the drill-down pages behind a figure, and what keeping the figures costs a write.

    make bench-province BENCH_URL=…/lianbao_bench_stats   # 2,000,000 children, 200,000 cases
    make bench-stats BENCH_URL=…/lianbao_bench_stats      # python -m bench.statistics

The generator writes children, cases and tasks; the register the statistics read is added
here once, set-based (``register``): every child's entry and the event of its first
enrolment a year ago (2,000,000 ``register_event`` rows), a dropout mark in October for
half of the open cases' children, and a return in November for a fifth of those. The
tables go through the same service code as the API (``workflow.stats_query.statistics`` with the
policy compiled into SQL); the pages through ``children_behind`` (keyset, as the case list).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime
from typing import Any

import asyncpg
from sqlalchemy.ext.asyncio import AsyncSession

from authz.enforcer import Authorizer
from authz.store import load_policy
from bench.cases_list import officer
from bench.common import DEFAULT_URL
from bench.generate import dsn
from bench.stats import row
from models.enums import AgencyKind
from models.session import create_engine
from models.stats import StatState
from workflow import stats, stats_query, stats_tally
from workflow.calendar import local_date
from workflow.clock import FixedClock
from workflow.context import ServiceContext
from workflow.pagination import PageRequest

# Today, and not before the data: the generator opens its cases at the time it runs, and a
# case opened after the day asked for keeps its child dirty (computed live) until that day.
NOW = max(datetime(2026, 12, 2, 4, 0, tzinfo=UTC), datetime.now(UTC))
TODAY = local_date(NOW)
PROVINCE, DISTRICT = "990000", "990000/990100/990101"

REGISTER = [
    # every child on a school's register since last September (the school from its domain)
    """INSERT INTO enrolment (child_id, school_id, grade, class_no, status, status_since,
                              spring_entrant, updated_at)
       SELECT c.id, split_part(c.scope_path, 'school:', 2)::int, 1 + c.id % 6, 1, 'enrolled',
              DATE '2025-09-01', false, now()
       FROM child c""",
    """INSERT INTO register_event (child_id, school_id, on_date, from_status, to_status,
                                   reason, kind, detail, recorded_at)
       SELECT e.child_id, e.school_id, DATE '2025-09-01', NULL, 'enrolled', '入学', 'status',
              '{}', now()
       FROM enrolment e""",
    # a dropout mark in October for half of the open cases' children, and a return in
    # November for a fifth of those
    *(f"""WITH moved AS (
           UPDATE enrolment e SET status = '{to}', status_since = DATE '{day}'
           FROM dropout_case d
           WHERE d.child_id = e.child_id AND d.status = 'open' AND d.id % {every} = 0
           RETURNING e.child_id, e.school_id)
       INSERT INTO register_event (child_id, school_id, on_date, from_status, to_status,
                                   reason, kind, detail, recorded_at)
       SELECT child_id, school_id, DATE '{day}', '{was}', '{to}', '{why}', 'status', '{{}}',
              now() FROM moved"""
      for every, day, was, to, why in ((4, "2026-10-15", "enrolled", "dropout_marked", "辍学"),
                                       (20, "2026-11-10", "dropout_marked", "enrolled", "复学"))),
    """UPDATE dropout_case SET status = 'closed', stage = 'closed',
              closure_reason = 'returned', closed_at = TIMESTAMPTZ '2026-11-10 02:00+00'
       WHERE status = 'open' AND id % 20 = 0""",
]


async def register(url: str) -> None:
    """The register the statistics read, added once (a second run finds it)."""
    conn = await asyncpg.connect(dsn(url))
    try:
        if await conn.fetchval("SELECT count(*) FROM enrolment") == 0:
            t0 = time.perf_counter()
            async with conn.transaction():
                for sql in REGISTER:
                    await conn.execute(sql)
            await conn.execute("VACUUM (ANALYZE) enrolment, register_event, dropout_case")
            print(f"register added in {time.perf_counter() - t0:.1f} s")
        # a data set generated before migration 0019 lacks the statistics' lookup index
        await conn.execute("CREATE INDEX IF NOT EXISTS ix_register_event_child_day"
                           " ON register_event (child_id, on_date, id)")
        events = await conn.fetchval("SELECT count(*) FROM register_event")
        print(f"{await conn.fetchval('SELECT count(*) FROM child')} children, "
              f"{await conn.fetchval('SELECT count(*) FROM dropout_case')} cases, "
              f"{events} register events\n")
    finally:
        await conn.close()


async def timed(fn: Callable[[], Awaitable[Any]], iterations: int) -> tuple[list[float], Any]:
    samples, result = [], None
    for _ in range(iterations):
        t0 = time.perf_counter()
        result = await fn()
        samples.append((time.perf_counter() - t0) * 1000)
    return samples, result


async def write_cost(url: str, iterations: int, triggers: bool = True) -> list[float]:
    """A register write as the register work makes it (the entry's status and its dated
    event, one transaction), rolled back: what the figures' upkeep adds shows here. Without
    ``triggers`` the session runs as a replica (triggers off): the write's cost without the
    dirty marks, for comparison on the same data and load."""
    conn = await asyncpg.connect(dsn(url))
    samples = []
    try:
        if not triggers:
            await conn.execute("SET session_replication_role = replica")
        ids = [r[0] for r in await conn.fetch(
            "SELECT child_id FROM enrolment WHERE status = 'enrolled' ORDER BY child_id"
            " LIMIT $1", iterations)]
        for child in ids:
            t0 = time.perf_counter()
            tr = conn.transaction()
            await tr.start()
            await conn.execute("UPDATE enrolment SET status = 'dropout_marked', status_since ="
                               " $2 WHERE child_id = $1", child, TODAY)
            await conn.execute(
                "INSERT INTO register_event (child_id, school_id, on_date, from_status,"
                " to_status, reason, kind, detail, recorded_at) SELECT child_id, school_id, $2,"
                " 'enrolled', 'dropout_marked', '辍学', 'status', '{}', now() FROM enrolment"
                " WHERE child_id = $1", child, TODAY)
            await tr.rollback()
            samples.append((time.perf_counter() - t0) * 1000)
    finally:
        await conn.close()
    return samples


async def tables(engine: Any, authz: Authorizer, asks: list[Any], iterations: int,
                 tag: str) -> None:
    for name, who, request in asks:
        async with AsyncSession(engine) as session:
            ctx = ServiceContext(session, who, authz, FixedClock(NOW))
            # a table of more than a second is run a quarter as often
            first, _ = await timed(lambda ctx=ctx, request=request: stats_query.statistics(
                ctx, request), 1)
            n = iterations if first[0] < 1000 else max(3, iterations // 4)
            samples, table = await timed(
                lambda ctx=ctx, request=request: stats_query.statistics(ctx, request), n)
        total = table.total.counts
        print(row(f"{name} ({tag})", samples, f"{len(table.rows)} rows; school age "
                  f"{total[stats.Measure.SCHOOL_AGE]}, dropouts "
                  f"{total[stats.Measure.CONFIRMED_DROPOUT]}, rate {table.total.dropout_rate}"))


async def drills(engine: Any, authz: Authorizer, who: Any, iterations: int, tag: str) -> None:
    cases = [("district: dropouts, page 1 of 50", stats.Measure.CONFIRMED_DROPOUT),
             ("district: enrolled, page 1 of 50", stats.Measure.ENROLLED)]
    for name, measure in cases:
        async with AsyncSession(engine) as session:
            ctx = ServiceContext(session, who, authz, FixedClock(NOW))

            async def page(measure: stats.Measure = measure, ctx: ServiceContext = ctx,
                           session: AsyncSession = session) -> Any:
                result = await stats_query.children_behind(
                    ctx, stats.StatsRequest(), None, measure,
                    PageRequest(first=50, after=None, cap=100))
                session.expunge_all()
                return result

            samples, result = await timed(page, iterations)
        print(row(f"{name} ({tag})", samples, f"{result.total_count} children behind it"))


async def make_dirty(url: str, n: int) -> None:
    """``n`` children of the district marked dropped out by committed writes (the triggers
    mark them dirty)."""
    conn = await asyncpg.connect(dsn(url))
    try:
        await conn.execute(
            """WITH moved AS (
                 UPDATE enrolment e SET status = 'dropout_marked', status_since = $2
                 WHERE e.child_id IN (SELECT c.id FROM child c JOIN enrolment x
                   ON x.child_id = c.id WHERE c.scope_path LIKE $3 AND x.status = 'enrolled'
                   ORDER BY c.id LIMIT $1)
                 RETURNING e.child_id, e.school_id)
               INSERT INTO register_event (child_id, school_id, on_date, from_status,
                 to_status, reason, kind, detail, recorded_at)
               SELECT child_id, school_id, $2, 'enrolled', 'dropout_marked', '辍学', 'status',
                 '{}', now() FROM moved""", n, TODAY, DISTRICT + "/%")
    finally:
        await conn.close()


async def run(url: str, iterations: int, dirty: int, rebuild: bool) -> None:
    await register(url)
    engine = create_engine(url)
    async with AsyncSession(engine) as session:
        rules, version = await load_policy(session)
    authz = Authorizer(rules, version)
    bureau = officer("education_officer", AgencyKind.EDUCATION, DISTRICT)
    inspector = officer("inspector", AgencyKind.INSPECTORATE, PROVINCE)
    asks = [
        ("district: total", bureau, stats.StatsRequest(dimension=stats.Dimension.TOTAL)),
        ("district: by township", bureau,
         stats.StatsRequest(dimension=stats.Dimension.TOWNSHIP)),
        ("province: by district", inspector,
         stats.StatsRequest(jurisdiction_code=PROVINCE, dimension=stats.Dimension.DISTRICT)),
    ]
    print(f"load average before: {' '.join(f'{x:.1f}' for x in os.getloadavg())}\n")
    async with AsyncSession(engine) as session:
        state = await session.get(StatState, 1)
        if rebuild or state is None:
            t0 = time.perf_counter()
            built = await stats_tally.rebuild(session, TODAY, NOW)
            await session.commit()
            print(f"rebuild: {built} children in {time.perf_counter() - t0:.1f} s")
        else:
            folded = await stats_tally.fold(session, TODAY, NOW)
            await session.commit()
            print(f"kept facts built before; {folded} dirty folded")
    raw = await asyncpg.connect(dsn(url))
    try:
        await raw.execute("VACUUM (ANALYZE) stat_child, stat_dirty, stat_tally")
        print(f"{await raw.fetchval('SELECT count(*) FROM stat_tally')} tally groups, "
              f"{await raw.fetchval('SELECT count(*) FROM stat_dirty')} children dirty")
    finally:
        await raw.close()
    print(f"load average: {' '.join(f'{x:.1f}' for x in os.getloadavg())}\n")
    print("| query | runs | p50 ms | p99 ms | figures |")
    print("|---|---|---|---|---|")
    await tables(engine, authz, asks, iterations, "kept, clean")
    await drills(engine, authz, bureau, iterations, "kept, clean")
    await make_dirty(url, dirty)
    await tables(engine, authz, asks, iterations, f"kept, {dirty} dirty")
    await drills(engine, authz, bureau, iterations, f"kept, {dirty} dirty")
    async with AsyncSession(engine) as session:
        samples, folded = await timed(lambda: stats_tally.fold(session, TODAY, NOW), 1)
        await session.commit()
    print(row("fold of the dirty children", samples, f"{folded} children"))
    async with AsyncSession(engine) as session:
        again, folded = await timed(lambda: stats_tally.fold(session, TODAY, NOW), 1)
        await session.commit()
    print(row("fold again (nothing dirty)", again, f"{folded} children"))
    await tables(engine, authz, asks[:1], iterations, "kept, folded")
    live = [("district: total", bureau,
             stats.StatsRequest(dimension=stats.Dimension.TOTAL, as_of=date(2026, 12, 1)))]
    await tables(engine, authz, live, max(3, iterations // 4), "live, as of 1 December")
    for _ in range(2):  # alternated, so that both see the same load
        print(row("register write (status + event), rolled back",
                  await write_cost(url, iterations), "triggers mark the child dirty"))
        print(row("register write, triggers off (replica)",
                  await write_cost(url, iterations, triggers=False), "what it cost before"))
    print(f"\nload average after: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    await engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--url", default=DEFAULT_URL)
    parser.add_argument("--iterations", type=int, default=20)
    parser.add_argument("--dirty", type=int, default=1000)
    parser.add_argument("--rebuild", action="store_true",
                        help="rebuild the kept facts even when built before (timed)")
    args = parser.parse_args()
    asyncio.run(run(args.url, args.iterations, args.dirty, args.rebuild))


if __name__ == "__main__":
    main()
