"""How long one page of cases takes for officers who may see a small part of 200,000.

    python -m bench.generate --children 200000 --cases 200000 --tasks 200000
    python -m bench.cases_list

The page goes through the same service code as the API (``workflow.case.cases_query`` with
the policy compiled into SQL, then keyset pagination); statements are counted per page, so
the table shows the cost does not depend on how many rows the officer may not see.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import event, select
from sqlalchemy.ext.asyncio import AsyncSession

from authz.enforcer import Authorizer
from authz.principal import Grant, Principal
from authz.store import load_policy
from bench.common import parse_args
from bench.stats import row
from models.case import DropoutCase
from models.enums import AgencyKind
from models.session import create_engine
from workflow import case as cases
from workflow.clock import FixedClock
from workflow.context import ServiceContext
from workflow.pagination import PageRequest


def officer(role: str, kind: AgencyKind, domain: str) -> Principal:
    return Principal(
        1,
        f"bench.{role}",
        "bench",
        1,
        kind,
        "bench",
        domain,
        domain[-6:],
        (Grant(role, domain, domain.rsplit("/", 1)[-1]),),
    )


async def run(url: str, iterations: int) -> None:
    engine = create_engine(url)
    statements = 0

    @event.listens_for(engine.sync_engine, "before_cursor_execute")
    def count(*_: Any) -> None:
        nonlocal statements
        statements += 1

    async with AsyncSession(engine) as session:
        rules, version = await load_policy(session)
        total = len((await session.execute(select(DropoutCase.id))).all())
    authz = Authorizer(rules, version)
    people = {
        "district education officer": officer(
            "education_officer", AgencyKind.EDUCATION, "990000/990100/990101"
        ),
        "township officer": officer(
            "township_officer", AgencyKind.TOWNSHIP, "990000/990100/990101/990101100"
        ),
        "judicial officer (stage-bounded)": officer(
            "judicial_officer", AgencyKind.JUDICIAL, "990000/990100/990101"
        ),
        "provincial inspector (sees all)": officer("inspector", AgencyKind.INSPECTORATE, "990000"),
    }
    print(f"{total} cases in the database; {iterations} pages of 50 per officer\n")
    print("| officer | pages | p50 ms | p99 ms | visible cases, statements per page |")
    print("|---|---|---|---|---|")
    for name, principal in people.items():
        samples = []
        async with AsyncSession(engine) as session:
            ctx = ServiceContext(session, principal, authz, FixedClock(datetime.now(UTC)))
            visible = 0
            for _ in range(iterations):
                statements = 0
                t0 = time.perf_counter()
                page = await cases.cases_page(
                    ctx, cases.CaseFilter(), PageRequest(first=50, after=None, cap=100)
                )
                samples.append((time.perf_counter() - t0) * 1000)
                visible = page.total_count
                session.expunge_all()
        print(row(name, samples, f"{visible}, {statements} (count + page)"))
    await engine.dispose()


def main() -> None:
    args = parse_args(__doc__, iterations=200)
    asyncio.run(run(args.url, args.iterations))


if __name__ == "__main__":
    main()
