"""The task tally (migration 0014) is exactly the tasks per (agency kind, scope path), on
both backends, through inserts, moves and deletes, and stays so when compacted; the queue's
``totalCount`` read from it equals a count of the tasks."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Any, cast

import pytest
from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from models.enums import AgencyKind
from models.task import Task, TaskTally
from tests.helpers import NOW, Api, Database, counting, report
from workflow.engine import TickReport
from workflow.task import compact_tallies

QUEUE = """query($f: TaskFilterInput) { agencyQueue(first: 3, filter: $f) { totalCount
  edges { node { id } } } }"""


async def _tally(session: AsyncSession) -> dict[tuple[Any, str], int]:
    rows = (await session.execute(
        select(TaskTally.agency_kind, TaskTally.scope_path, func.sum(TaskTally.n))
        .group_by(TaskTally.agency_kind, TaskTally.scope_path))).all()
    return {(k, s): int(n) for k, s, n in rows if n}


async def _tasks(session: AsyncSession) -> dict[tuple[Any, str], int]:
    rows = (await session.execute(
        select(Task.agency_kind, Task.scope_path, func.count())
        .group_by(Task.agency_kind, Task.scope_path))).all()
    return {(k, s): int(n) for k, s, n in rows}


async def _add_tasks(session: AsyncSession, n: int) -> list[Task]:
    tasks = [Task(kind="contact_family", title="新任务", agency_kind=AgencyKind.SCHOOL,
                  scope_path=f"370000/370400/370406/t{i % 2}", due_on=date(2026, 11, 20))
             for i in range(n)]
    session.add_all(tasks)
    await session.flush()
    return tasks


async def test_the_tally_follows_inserts_moves_and_deletes(session: AsyncSession) -> None:
    assert await _tally(session) == await _tasks(session)
    some = await _add_tasks(session, 5)
    assert await _tally(session) == await _tasks(session)
    await session.execute(update(Task).where(Task.id == some[1].id)
                          .values(scope_path="370000/370400/370406/elsewhere"))
    await session.execute(update(Task).where(Task.id == some[2].id)
                          .values(title="只改标题"))  # not a move: no delta
    await session.execute(delete(Task).where(Task.id == some[0].id))
    assert await _tally(session) == await _tasks(session)


async def test_compaction_folds_the_deltas_and_can_run_twice(session: AsyncSession) -> None:
    (task,) = await _add_tasks(session, 1)
    for path in ("370000/a", "370000/b", task.scope_path):
        await session.execute(update(Task).where(Task.id == task.id).values(scope_path=path))
    before = await _tally(session)
    rows_before = (await session.execute(select(func.count()).select_from(TaskTally))).scalar()
    report = TickReport()
    await compact_tallies(session, NOW, report)
    await compact_tallies(session, NOW, report)
    assert await _tally(session) == before == await _tasks(session)
    rows_after = (await session.execute(select(func.count()).select_from(TaskTally))).scalar()
    assert rows_after == len(before) < (rows_before or 0)


async def test_the_queue_total_from_the_tally_equals_the_tasks_counted(api: Api) -> None:
    await report(api, NOW.date() - timedelta(days=8))  # a case, with each agency's tasks
    for user in ("head_teacher", "township_officer", "edu_officer"):
        unfiltered = (await api.gql(QUEUE, user=user))["agencyQueue"]["totalCount"]
        # Any filter makes the service count the tasks themselves; a due window wide
        # enough to hold every task counts them all.
        wide = {"dueAfter": str(NOW.date() - timedelta(days=3650)),
                "dueBefore": str(NOW.date() + timedelta(days=3650))}
        counted = (await api.gql(QUEUE, {"f": wide}, user=user))["agencyQueue"]["totalCount"]
        assert unfiltered == counted > 0, user


async def test_the_queue_is_not_counted_when_totalcount_is_not_asked(
    api: Api, database: Database
) -> None:
    await report(api, NOW.date() - timedelta(days=8))
    bare = "{ agencyQueue(first: 3) { edges { node { id } } } }"
    counted = "{ agencyQueue(first: 3) { ...c } } fragment c on TaskConnection { totalCount }"
    await api.gql(bare, user="head_teacher")  # the principal, once
    with counting(database) as without:
        await api.gql(bare, user="head_teacher")
    with counting(database) as with_count:
        data = await api.gql(counted, user="head_teacher")
    assert data["agencyQueue"]["totalCount"] >= 1
    assert not any("task_tally" in s for s in without), without
    assert sum("task_tally" in s for s in with_count) == 1, with_count


class _CommitsAfter:
    """A session whose ``after``-th statement is followed by ``then`` (another transaction
    committing), to place a commit between the compaction's statements."""

    def __init__(self, inner: AsyncSession, after: int, then: Any) -> None:
        self.inner, self.after, self.then, self.calls = inner, after, then, 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    async def execute(self, *args: Any, **kwargs: Any) -> Any:
        result = await self.inner.execute(*args, **kwargs)
        self.calls += 1
        if self.calls == self.after:
            await self.then()
        return result


async def test_a_delta_committed_during_compaction_is_summed(database: Database) -> None:
    """A delta whose id was taken before the compaction's snapshot but committed while it
    runs is either folded or left for the next pass, never deleted unsummed (PostgreSQL:
    one statement deletes exactly the rows it sums). SQLite has one writer: nothing can
    commit while the compaction holds the write lock."""
    if not database.is_postgres:
        pytest.skip("SQLite serialises writers; the interleaving cannot happen")
    path = f"370000/race-{uuid.uuid4().hex[:8]}"
    kind = AgencyKind.SCHOOL
    engine = database.engine
    async with engine.connect() as late, engine.connect() as early:
        late_tx = await late.begin()
        await late.execute(insert(TaskTally).values(agency_kind=kind, scope_path=path, n=1))
        async with early.begin():  # a later id, committed first
            await early.execute(insert(TaskTally).values(agency_kind=kind, scope_path=path, n=1))
        try:
            async with AsyncSession(engine) as s, s.begin():
                hooked = _CommitsAfter(s, 2, late_tx.commit)
                await compact_tallies(cast(AsyncSession, hooked), NOW, TickReport())
            async with AsyncSession(engine) as s:
                total = (await s.execute(select(func.sum(TaskTally.n)).where(
                    TaskTally.scope_path == path))).scalar_one()
            assert total == 2
        finally:
            async with engine.begin() as c:
                await c.execute(delete(TaskTally).where(TaskTally.scope_path == path))
