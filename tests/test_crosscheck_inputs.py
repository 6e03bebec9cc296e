"""A rerun of the comparisons with no input changed is one query (workflow/crosscheck/
inputs.py): the skipped run counts exactly what a recomputing run counts and creates nothing;
any committed write to an input, a write in progress during the run, or a write later in the
run's own transaction makes the next run compute again. PostgreSQL only (a database of its
own: the transactions must really commit); SQLite always computes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from authz.enforcer import Authorizer
from authz.principal import SYSTEM
from models.crosscheck import CrosscheckFinding, CrosscheckRun
from models.imports import BaseRecord, ImportJob, ImportSource
from models.names import name_key
from models.reference import Jurisdiction
from models.task import Task
from tests.helpers import scratch_postgres
from workflow.clock import FixedClock
from workflow.context import ServiceContext
from workflow.crosscheck import TASK_KIND, crosscheck_district

DISTRICT = "370406"  # the demo county's district
AS_OF = date(2026, 9, 30)


async def _unregistered(session: AsyncSession, name: str) -> None:
    """A school-age person on the police list and on no register (one finding, one task)."""
    township = (await session.execute(select(Jurisdiction.code).where(
        Jurisdiction.parent_code == DISTRICT).order_by(Jurisdiction.code).limit(1))).scalar_one()
    job = ImportJob(source=ImportSource.POLICE_HOUSEHOLD, district_code=DISTRICT,
                    scope_path=f"370000/370400/{DISTRICT}", period="2026-09",
                    filename="police.csv", content_sha256=name_key(name).ljust(64, "0")[:64],
                    status="applied")
    session.add(job)
    await session.flush()
    birth = date(2016, 5, 1)
    session.add(BaseRecord(source=ImportSource.POLICE_HOUSEHOLD, district_code=DISTRICT,
                           person_key=f"{name_key(name)}|{birth}|", name=name,
                           name_key=name_key(name), birth_date=birth, township_code=township,
                           period="2026-09", job_id=job.id))
    await session.commit()


def _same(counts: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in counts.items() if k != "unchanged_since"}


async def _tasks(session: AsyncSession) -> int:
    return int((await session.execute(select(func.count()).select_from(Task).where(
        Task.kind == TASK_KIND))).scalar_one())


class Runs:
    def __init__(self, engine: AsyncEngine, authorizer: Authorizer, clock: FixedClock) -> None:
        self.sessions = async_sessionmaker(engine, expire_on_commit=False)
        self.authorizer, self.clock = authorizer, clock

    async def run(self, as_of: date = AS_OF) -> CrosscheckRun:
        async with self.sessions() as session:
            run = await crosscheck_district(ServiceContext(session, SYSTEM, self.authorizer,
                                                           self.clock), DISTRICT, as_of, "cli")
            await session.commit()
            return run


@pytest_asyncio.fixture
async def runs(database: Any, tmp_path: Path, authorizer: Authorizer,
               clock: FixedClock) -> AsyncIterator[Runs]:
    """The runs on a scratch PostgreSQL database of their own (they commit); the tests ask
    for the PostgreSQL ``database`` only (the skip is PostgreSQL's)."""
    async with scratch_postgres(tmp_path, 40) as engine:
        yield Runs(engine, authorizer, clock)


@pytest.mark.parametrize("database", ["postgresql"], indirect=True)
async def test_rerun_unchanged_is_skipped_and_counts_the_same(runs: Runs) -> None:
    async with runs.sessions() as session:
        await _unregistered(session, "未入学甲")
    first = await runs.run()
    assert "unchanged_since" not in first.counts and first.counts["tasks_created"] >= 1
    async with runs.sessions() as session:
        tasks = await _tasks(session)
        findings = (await session.execute(
            select(func.count()).select_from(CrosscheckFinding))).scalar_one()
    skipped = await runs.run()
    assert skipped.counts["unchanged_since"] == first.id
    assert skipped.counts["tasks_created"] == 0
    # a write to an input (even one that changes nothing) makes the next run compute,
    # and what it counts is what the skipped run counted
    async with runs.sessions() as session:
        await session.execute(text("UPDATE child SET version = version WHERE false"))
        await session.commit()
    computed = await runs.run()
    assert "unchanged_since" not in computed.counts
    assert _same(skipped.counts) == computed.counts
    again = await runs.run()
    assert again.counts["unchanged_since"] == computed.id
    async with runs.sessions() as session:
        assert await _tasks(session) == tasks
        assert (await session.execute(
            select(func.count()).select_from(CrosscheckFinding))).scalar_one() == findings
        # the log keeps only what the latest run may not have seen (a transaction open
        # anywhere in the cluster holds the snapshots' horizon back)
        assert (await session.execute(text(
            "SELECT count(*) FROM crosscheck_input_change WHERE xid < "
            "txid_snapshot_xmin(split_part(:stamp, '|', 2)::txid_snapshot)"),
            {"stamp": computed.input_stamp})).scalar_one() == 0
    # another as-of date is another comparison
    other = await runs.run(date(2026, 9, 29))
    assert "unchanged_since" not in other.counts


@pytest.mark.parametrize("database", ["postgresql"], indirect=True)
async def test_changes_during_and_after_a_run_are_not_missed(runs: Runs) -> None:
    await runs.run()
    # a new person committed by another transaction: found by the next run
    async with runs.sessions() as session:
        await _unregistered(session, "未入学乙")
    found = await runs.run()
    assert "unchanged_since" not in found.counts and found.counts["tasks_created"] == 1
    # a write in progress while the run reads, committed after it
    async with runs.sessions() as writer:
        await _unregistered_uncommitted(writer, "未入学丙")
        during = await runs.run()
        assert during.counts["tasks_created"] == 0
        await writer.commit()
    after = await runs.run()
    assert "unchanged_since" not in after.counts and after.counts["tasks_created"] == 1
    # a write later in the run's own transaction (the deadline engine's tick goes on)
    async with runs.sessions() as session:
        ctx = ServiceContext(session, SYSTEM, runs.authorizer, runs.clock)
        await crosscheck_district(ctx, DISTRICT, AS_OF, "cli")
        await _unregistered(session, "未入学丁")  # commits the run and the person
    last = await runs.run()
    assert "unchanged_since" not in last.counts and last.counts["tasks_created"] == 1


async def _unregistered_uncommitted(session: AsyncSession, name: str) -> None:
    original = session.commit
    session.commit = session.flush  # type: ignore[method-assign]
    try:
        await _unregistered(session, name)
    finally:
        session.commit = original  # type: ignore[method-assign]
