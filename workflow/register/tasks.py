"""The tasks register work creates: addressed to an agency kind in the child's domain, and
linked to the register change or deferral they follow from through their ``evidence`` (a task
has no column for either), which closes them when the awaited act is done."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import ColumnElement

from models.enums import AgencyKind
from models.task import Task
from workflow.calendar import local_date
from workflow.context import ServiceContext
from workflow.task import changed, close_tasks

DUE_DAYS = 7  # a register task's working week


def open_task(
    ctx: ServiceContext, kind: str, title: str, agency: AgencyKind, scope_path: str,
    link: dict[str, int], *, due_on: date | None = None,
) -> Task:
    now = ctx.clock.now()
    task = Task(kind=kind, title=title[:200], agency_kind=agency, scope_path=scope_path,
                due_on=due_on or local_date(now) + timedelta(days=DUE_DAYS), priority=2,
                evidence=dict(link), created_at=now, updated_at=now)
    ctx.session.add(task)
    return task


def linked(key: str, record_id: int) -> ColumnElement[bool]:
    """The tasks linked to record ``record_id`` under ``key`` (``deferral_id``, …)."""
    condition: ColumnElement[bool] = Task.evidence[key].as_integer() == record_id
    return condition


async def publish(ctx: ServiceContext, tasks: list[Task]) -> None:
    """Flush new tasks and queue their events for subscribers after the commit."""
    await ctx.session.flush()
    ctx.events.extend(changed(t, "created") for t in tasks)


async def close(ctx: ServiceContext, key: str, record_id: int, kinds: set[str],
                outcome: str) -> None:
    """Close the open tasks of these kinds linked to the record: the act they awaited is
    done."""
    await close_tasks(ctx, linked(key, record_id), kinds, outcome)
