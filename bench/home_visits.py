"""Home-visit coverage (ST 5) and the special-needs census (ST 7) at province scale.

    python -m bench.home_visits --url postgresql+asyncpg://postgres@127.0.0.1:5432/lianbao_bench_prevent

Builds its own data set (``bench.generate``: 100 districts, 2,000 schools) with every child
on a school's register, a fifth of them left-behind (two visits a term), one autumn term for
the province and one visit for about 60 % of the pupils (a second for half the left-behind).
Then times, through the same service code as the API: a district's coverage figures and
its first page of pupils lacking visits (a district education officer; p50/p99 over the
iterations), recording one visit (the write and its check refresh, rolled back), and the
scheduled jobs over the whole province: the first pass of the home-visit check (a row per
school, a task per school short) and of the census (a census and task per school), and the
second pass of each at the same moment, which must create nothing.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace
from datetime import UTC, date, datetime

import asyncpg
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from authz.enforcer import Authorizer
from authz.principal import Grant, Principal
from authz.store import load_policy
from bench.common import parse_args
from bench.generate import dsn, generate
from bench.stats import row
from models.enums import AgencyKind
from models.session import create_engine
from workflow import census, home_visit
from workflow.clock import FixedClock
from workflow.context import ServiceContext
from workflow.engine import TickReport
from workflow.pagination import PageRequest

DEFAULT_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/lianbao_bench_prevent"
DISTRICT = "990000/990100/990101"
NOW = datetime(2026, 11, 2, 1, tzinfo=UTC)  # ten weeks into the term: past the check point

FILL = [
    """INSERT INTO enrolment (child_id, school_id, grade, class_no, status, status_since,
         spring_entrant, updated_at)
       SELECT c.id, s.id, 1 + c.id % 6, 1, 'enrolled', DATE '2026-09-01', false, now()
       FROM child c JOIN agency a ON a.scope_path = c.scope_path JOIN school s
         ON s.agency_id = a.id""",
    """INSERT INTO child_group (child_id, "group")
       SELECT id, 'left_behind' FROM child WHERE id % 5 = 0""",
    """INSERT INTO school_term (jurisdiction_code, name, starts_on, ends_on)
       VALUES ('990000', '2026年秋季学期', DATE '2026-09-01', DATE '2027-01-22')""",
    """INSERT INTO home_visit (child_id, school_id, scope_path, visited_on, visitors, met,
         findings, follow_up_needed, follow_up, recorded_at, updated_at, version)
       SELECT e.child_id, e.school_id, c.scope_path, DATE '2026-09-15' + (e.child_id % 40),
         '班主任', '家长', '家庭支持孩子上学', false, '', now(), now(), 1
       FROM enrolment e JOIN child c ON c.id = e.child_id
       WHERE e.child_id % 10 < 6 OR (e.child_id % 5 = 0 AND e.child_id % 2 = 0)""",
    """INSERT INTO home_visit (child_id, school_id, scope_path, visited_on, visitors, met,
         findings, follow_up_needed, follow_up, recorded_at, updated_at, version)
       SELECT e.child_id, e.school_id, c.scope_path, DATE '2026-10-20', '班主任', '家长',
         '第二次家访', false, '', now(), now(), 1
       FROM enrolment e JOIN child c ON c.id = e.child_id WHERE e.child_id % 10 = 0""",
    "VACUUM (ANALYZE)",
]


def officer(role: str, kind: AgencyKind, domain: str) -> Principal:
    return Principal(1, f"bench.{role}", "bench", 1, kind, "bench", domain,
                     domain.rsplit("/", 1)[-1], (Grant(role, domain, domain.rsplit("/", 1)[-1]),))


async def fill(url: str, children: int) -> None:
    await generate(url, children, 1000, 1000, 990000)
    conn = await asyncpg.connect(dsn(url))
    try:
        for sql in FILL:
            await conn.execute(sql)
    finally:
        await conn.close()


async def run(url: str, children: int, iterations: int, reuse: bool) -> None:
    if not reuse:
        t0 = time.perf_counter()
        await fill(url, children)
        print(f"data set: {children} children on registers, built in "
              f"{time.perf_counter() - t0:.0f} s\n")
    engine = create_engine(url)
    async with AsyncSession(engine) as session:
        rules, version = await load_policy(session)
    authz = Authorizer(rules, version)
    edu = officer("education_officer", AgencyKind.EDUCATION, DISTRICT)
    request = home_visit.CoverageRequest(jurisdiction_code="990101")
    print("| query (district education officer) | runs | p50 ms | p99 ms | result |")
    print("|---|---|---|---|---|")
    for name in ("coverage", "gaps page of 50"):
        samples, result = [], ""
        for _ in range(iterations):
            async with AsyncSession(engine) as session:
                ctx = ServiceContext(session, edu, authz, FixedClock(NOW))
                start = time.perf_counter()
                if name == "coverage":
                    cov = await home_visit.coverage(ctx, request)
                    result = (f"{len(cov.schools)} schools, "
                              f"{sum(s.pupils for s in cov.schools)} pupils, "
                              f"{sum(s.covered for s in cov.schools)} covered")
                else:
                    page = await home_visit.gaps_page(ctx, request, PageRequest(50, None, 100))
                    result = f"{page.total_count} pupils short"
                samples.append((time.perf_counter() - start) * 1000)
        print(row(name, samples, result))
    # No user row behind the bench's principals: the visit is recorded by nobody in particular.
    teacher = replace(officer("school_staff", AgencyKind.SCHOOL,
                              f"{DISTRICT}/990101100/school:100003"), user_id=None,
                      agency_id=100003)
    samples = []
    for i in range(iterations):
        async with AsyncSession(engine) as session:
            child = (await session.execute(
                text(
                    "SELECT c.id FROM child c JOIN enrolment e ON e.child_id = c.id "
                    "WHERE c.scope_path = :p ORDER BY c.id OFFSET :i LIMIT 1"),
                {"p": teacher.agency_scope, "i": i})).scalar_one()
            ctx = ServiceContext(session, teacher, authz, FixedClock(NOW))
            start = time.perf_counter()
            await home_visit.record_visit(ctx, child_id=child, visited_on=date(2026, 11, 1),
                                          visitors="班主任", met="祖母", findings="基准",
                                          follow_up_needed=False)
            samples.append((time.perf_counter() - start) * 1000)
            await session.rollback()
    print(row("recordHomeVisit (rolled back)", samples, "one visit, its check refreshed"))
    print("\n| job over the province | seconds | tasks created |")
    print("|---|---|---|")
    for name, job in (("home-visit check", home_visit.check_home_visits),
                      ("census", census.open_census)):
        for label in ("first pass", "second pass, same moment"):
            async with AsyncSession(engine) as session:
                report = TickReport()
                start = time.perf_counter()
                await job(session, NOW, report)
                await session.commit()
                took = time.perf_counter() - start
            print(f"| {name}: {label} | {took:.2f} | {report.tasks_created} |")
    await engine.dispose()


def main() -> None:
    args = parse_args(
        __doc__, DEFAULT_URL, children=2_000_000, iterations=20, reuse=False,
        help={"reuse": "time the existing data set (the jobs' rows of a former run stay)"},
    )
    asyncio.run(run(args.url, args.children, args.iterations, args.reuse))


if __name__ == "__main__":
    main()
