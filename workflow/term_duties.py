"""What the per-school, per-term duties of prevention share (home-visit checks, ST 5; the
special-needs census, ST 7): the term a district is in on a day, the district's schools,
and opening a row per school and term once, with the school's task.

Both duties are opened by the deadline engine's jobs (``workflow/jobs.py``). Each row is
unique per (school, term start) and inserted ``ON CONFLICT DO NOTHING … RETURNING``, so only
the pass that created a row gives it a task: a second pass, or another process that got past
the engine's lock, finds the rows there and makes nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import cache
from typing import Any

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from authz.enforcer import Authorizer
from authz.principal import SYSTEM
from models.base import Base
from models.enums import AgencyKind, JurisdictionLevel, TaskStatus
from models.ladder import SchoolTerm
from models.reference import Agency, Jurisdiction
from models.school import School
from models.task import Task
from workflow.calendar import local_date
from workflow.clock import FixedClock
from workflow.common import open_task
from workflow.context import ServiceContext
from workflow.engine import REMIND_DAYS, TickReport
from workflow.infra.events import TaskEvent
from workflow.ladder import ancestors


@dataclass(frozen=True)
class Term:
    """A term of a district's school calendar (学期), first and last day included."""

    name: str
    starts_on: date
    ends_on: date


async def term_on(session: AsyncSession, district_code: str, day: date) -> Term | None:
    """The term ``day`` falls in, from the calendar the district counts with (its own terms,
    else its nearest ancestor's, as ``workflow/calendar.load_calendar`` takes them); None in
    a holiday between terms or without any terms on record."""
    codes = await ancestors(session, district_code)
    terms = (await session.execute(
        select(SchoolTerm).where(SchoolTerm.jurisdiction_code.in_(codes))
        .order_by(SchoolTerm.starts_on)
    )).scalars().all()
    for code in codes:
        own = [t for t in terms if t.jurisdiction_code == code]
        if own:
            return next((Term(t.name, t.starts_on, t.ends_on) for t in own
                         if t.starts_on <= day <= t.ends_on), None)
    return None


async def districts(session: AsyncSession) -> Sequence[str]:
    """The districts that have an education bureau (where the duties are followed up)."""
    return (await session.execute(
        select(Jurisdiction.code).where(
            Jurisdiction.level == JurisdictionLevel.DISTRICT,
            Jurisdiction.code.in_(select(Agency.jurisdiction_code)
                                  .where(Agency.kind == AgencyKind.EDUCATION)))
        .order_by(Jurisdiction.code)
    )).scalars().all()


async def schools_of(session: AsyncSession, district_code: str) -> dict[int, tuple[str, str]]:
    """The district's schools: id → (the school's scope path, its name)."""
    rows = await session.execute(
        select(School.id, Agency.scope_path, School.name)
        .join(Agency, Agency.id == School.agency_id)
        .join(Jurisdiction, Jurisdiction.code == School.township_code)
        .where(Jurisdiction.parent_code == district_code).order_by(School.id))
    return {school: (path, name) for school, path, name in rows.all()}


@cache
def _no_rules() -> Authorizer:
    # The jobs check no policy (they follow the rules' calendar); this authorizer allows nothing.
    return Authorizer(())


def job_context(session: AsyncSession, now: datetime) -> ServiceContext:
    """The context a job audits under: the scheduler, no grants, the pass's time."""
    return ServiceContext(session, SYSTEM, _no_rules(), FixedClock(now), request_id="scheduler")


async def open_once(
    session: AsyncSession, model: type[Base], rows: Sequence[dict[str, Any]]
) -> dict[int, int]:
    """Insert the per-school, per-term ``rows`` that are not there yet, in one statement:
    school id → new row id for those this call created."""
    if not rows:
        return {}
    insert_ = (postgresql.insert if session.get_bind().dialect.name == "postgresql"
               else sqlite.insert)
    table: Any = model.__table__
    made = await session.execute(
        insert_(table).values(list(rows))
        .on_conflict_do_nothing(index_elements=["school_id", "term_start"])
        .returning(table.c.school_id, table.c.id))
    return {school: row for school, row in made.all()}


@dataclass(frozen=True)
class DutyTask:
    """A school's task for one duty row (``model`` row ``row_id``)."""

    row_id: int
    scope_path: str
    title: str
    due_on: date
    evidence: dict[str, Any]


async def add_tasks(
    session: AsyncSession, model: type[Base], kind: str, tasks: Sequence[DutyTask],
    now: datetime, report: TickReport,
) -> None:
    """The schools' tasks for newly opened rows, in one insert, each linked back to its row.
    Made after the pass's reminders and breach marks, a task carries its own (one opened
    late is overdue at once), so the next pass, finding nothing new, changes nothing."""
    if not tasks:
        return
    today = local_date(now)
    ids = (await session.execute(
        insert(Task).returning(Task.id, sort_by_parameter_order=True),
        [{"kind": kind, "title": t.title[:200], "agency_kind": AgencyKind.SCHOOL,
          "scope_path": t.scope_path, "due_on": t.due_on, "priority": 2,
          "status": TaskStatus.OPEN, "evidence": t.evidence, "created_at": now,
          "updated_at": now, "version": 1,
          "reminded_at": now if t.due_on <= today + timedelta(days=REMIND_DAYS) else None,
          "breached_at": now if t.due_on < today else None} for t in tasks],
    )).scalars().all()
    table: Any = model.__table__
    await session.execute(
        table.update().where(table.c.id == bindparam("row")).values(task_id=bindparam("task")),
        [{"row": t.row_id, "task": i} for t, i in zip(tasks, ids, strict=True)])
    report.tasks_created += len(ids)
    report.events.extend(TaskEvent("created", i, AgencyKind.SCHOOL.value, t.scope_path)
                         for t, i in zip(tasks, ids, strict=True))


async def close_tasks(
    session: AsyncSession, task_ids: Sequence[int], outcome: str, now: datetime,
    events: list[TaskEvent],
) -> None:
    """Mark the duty's open tasks done (its school did what the task asked), one statement."""
    if not task_ids:
        return
    done = await session.execute(
        update(Task).where(Task.id.in_(task_ids), open_task())
        .values(status=TaskStatus.DONE, outcome=outcome, completed_at=now, updated_at=now,
                version=Task.version + 1)
        .returning(Task.id, Task.scope_path)
        .execution_options(synchronize_session=False))
    events.extend(TaskEvent("changed", i, AgencyKind.SCHOOL.value, path) for i, path in done.all())
