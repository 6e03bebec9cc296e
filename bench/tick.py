"""How long the deadline engine takes over 100,000 open cases on PostgreSQL.

    python -m bench.generate --children 200000 --cases 200000 --tasks 200000
    python -m bench.tick

Each open case has its next timed step due within ±10 days, so about half are due. The
first run is rolled back (the data set stays reusable); then one committed run and a second
run at the same moment, which must find nothing to do.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bench.common import DEFAULT_URL
from models.case import DropoutCase
from models.enums import CaseStatus
from models.session import create_engine
from workflow import engine as deadline
from workflow.jobs import SCHEDULED_JOBS


async def run(url: str) -> None:
    engine = create_engine(url)
    now = datetime.now(UTC)
    async with AsyncSession(engine) as session:
        open_cases = (await session.execute(
            select(func.count()).select_from(DropoutCase)
            .where(DropoutCase.status == CaseStatus.OPEN))).scalar_one()
    print(f"{open_cases} open cases\n")
    print("| run | seconds | steps entered | tasks created | reminders | breaches |")
    print("|---|---|---|---|---|---|")
    for label, commit in (("first (rolled back)", False), ("first (committed)", True),
                          ("second, same moment", True)):
        async with AsyncSession(engine) as session:
            t0 = time.perf_counter()
            report = await deadline.tick(session, now, SCHEDULED_JOBS)
            if commit:
                await session.commit()
            else:
                await session.rollback()
            took = time.perf_counter() - t0
        print(f"| {label} | {took:.2f} | {report.steps_entered} | {report.tasks_created} | "
              f"{report.reminders} | {report.breaches} |")
    await engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", default=DEFAULT_URL)
    args = parser.parse_args()
    asyncio.run(run(args.url))


if __name__ == "__main__":
    main()
