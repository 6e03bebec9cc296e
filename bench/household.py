"""The police clean-up benchmark: a district's clean-up list recorded in one call on
PostgreSQL, with every person on the police list and a third on the poverty office's, then
the list of corrections paged and one agency task applied; prints the table for the README.

    python -m bench.household --children 20000 --rows 5000

The service path of ``recordHouseholdCorrections`` (``workflow.household.corrections.
record_many``), without HTTP. The machine is shared: the load average is printed with the
figures.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
from datetime import UTC, date, datetime

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from authz.enforcer import Authorizer
from authz.policy import default_rules
from bench.generate import fresh_database
from models.enums import AgencyKind
from models.household import HouseholdCorrectionKind
from models.imports import BaseRecord, ImportJob, ImportSource
from models.session import create_engine
from models.task import Task
from workflow.clock import SystemClock
from workflow.context import ServiceContext
from workflow.demo.seed import seed_demo
from workflow.household import corrections, query
from workflow.pagination import PageRequest
from workflow.user import load_principal

DEFAULT_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/lianbao_bench_police"
DISTRICT = "370406"


async def _lists(session: AsyncSession) -> None:
    """The police list holds every child of the district with an ID number; the poverty
    office's every third (two statements each: the job, then INSERT … SELECT)."""
    for source, every in ((ImportSource.POLICE_HOUSEHOLD, 1), (ImportSource.POVERTY_HOUSEHOLD, 3)):
        job = ImportJob(source=source, district_code=DISTRICT, scope_path=DISTRICT,
                        period="2026-09", filename="bench.csv", content_sha256=source.value,
                        status="applied")
        session.add(job)
        await session.flush()
        await session.execute(text(
            "INSERT INTO base_record (source, district_code, person_key, national_id, name, "
            "birth_date, township_code, child_id, period, job_id) "
            "SELECT :source, :district, national_id, national_id, name, birth_date, "
            "township_code, id, '2026-09', :job FROM child "
            "WHERE national_id IS NOT NULL AND township_code LIKE :prefix AND id % :every = 0"),
            {"source": source.value, "district": DISTRICT, "job": job.id,
             "prefix": f"{DISTRICT}%", "every": every})


async def run(url: str, children: int, rows: int) -> None:
    started = time.perf_counter()

    async def prepare(session: AsyncSession) -> None:
        await seed_demo(session, children=children)
        await _lists(session)

    await fresh_database(url, prepare)
    print(f"database prepared in {time.perf_counter() - started:.0f} s")
    engine = create_engine(url, pool=False)
    authz = Authorizer(default_rules())
    figures: list[tuple[str, int, float]] = []
    try:
        async with AsyncSession(engine, expire_on_commit=False) as session:
            records = list((await session.execute(
                select(BaseRecord.id).where(BaseRecord.source == ImportSource.POLICE_HOUSEHOLD)
                .order_by(BaseRecord.id).limit(rows))).scalars())
            principal = await load_principal(session, "police_officer")
            ctx = ServiceContext(session, principal, authz, SystemClock(), request_id="bench")
            today = datetime.now(UTC).date()
            batch = [corrections.CorrectionRow(
                HouseholdCorrectionKind.MOVED_AWAY if i % 2 else HouseholdCorrectionKind.DECEASED,
                today, base_record_id=r) for i, r in enumerate(records)]
            t0 = time.perf_counter()
            done = await corrections.record_many(ctx, batch, district_code=DISTRICT)
            await session.commit()
            figures.append(("record the clean-up list (one transaction)", len(done.ids),
                            time.perf_counter() - t0))
            tasks = done.tasks_opened
        async with AsyncSession(engine, expire_on_commit=False) as session:
            principal = await load_principal(session, "edu_officer")
            ctx = ServiceContext(session, principal, authz, SystemClock(), request_id="bench")
            t0 = time.perf_counter()
            wanted = query.CorrectionFilter(district_code=DISTRICT, effective_by=date.today())
            page = await query.corrections_page(ctx, wanted,
                                                PageRequest(first=50, after=None, cap=100))
            figures.append(("first page of 50 (with totalCount)", len(page.items),
                            time.perf_counter() - t0))
            task_id = (await session.execute(select(func.min(Task.id)).where(
                Task.kind == corrections.TASK_KIND,
                Task.agency_kind == AgencyKind.EDUCATION))).scalar_one()
            t0 = time.perf_counter()
            await corrections.apply(ctx, task_id=task_id, expected_version=None)
            await session.commit()
            figures.append(("apply one education task (register event)", 1,
                            time.perf_counter() - t0))
    finally:
        await engine.dispose()
    load = os.getloadavg()
    print(f"\n{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, load average "
          f"{load[0]:.1f} {load[1]:.1f} {load[2]:.1f}; {children:,} children, "
          f"{tasks:,} agency tasks opened")
    print("| step | rows | seconds |")
    print("|---|---|---|")
    for step, n, seconds in figures:
        print(f"| {step} | {n:,} | {seconds:.3f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", default=DEFAULT_URL)
    parser.add_argument("--children", type=int, default=20000)
    parser.add_argument("--rows", type=int, default=5000)
    args = parser.parse_args()
    asyncio.run(run(args.url, args.children, args.rows))


if __name__ == "__main__":
    main()
