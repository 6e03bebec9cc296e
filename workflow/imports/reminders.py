"""Reminders to send the lists (ST 1: the police, poverty office, disabled federation and
civil affairs give their lists of school-age children to the education bureau by the end of
March and September). A scheduled job of the deadline engine (``workflow/jobs.py``): from the
district's notify day of those months on, each such agency of each district gets a task due
on the month's last day, closed when its list for that month is applied.

Safe to run twice, and in several processes: a reminder is one task per agency kind,
district and month, and the engine's pass holds its lock on PostgreSQL.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from models.enums import AgencyKind, JurisdictionLevel, TaskStatus
from models.imports import ImportJob, ImportSource
from models.reference import Agency, Jurisdiction
from models.task import Task
from workflow.calendar import local_date
from workflow.common import open_task
from workflow.engine import TickReport
from workflow.imports.reading import mapping
from workflow.infra.events import TaskEvent
from workflow.infra.reference_json import load


@dataclass(frozen=True)
class ReminderRule:
    months: tuple[int, ...]
    notify_day: int
    agencies: dict[AgencyKind, ImportSource]


@cache
def rule_for(district_code: str) -> ReminderRule:
    """The district's reminder rule (reference_data/list_reminders.json)."""
    data = load("list_reminders.json")
    merged: dict[str, Any] = {**data["default"], **data.get("districts", {}).get(district_code, {})}
    return ReminderRule(
        months=tuple(merged["months"]),
        notify_day=int(merged["notify_day"]),
        agencies={AgencyKind(k): ImportSource(v) for k, v in merged["agencies"].items()},
    )


def task_kind(source: ImportSource, period: str) -> str:
    return f"send_list:{source.value}:{period}"


def due(today: date, rule: ReminderRule) -> date | None:
    """The month's last day when today is in a reminder window, else None."""
    if today.month not in rule.months or today.day < rule.notify_day:
        return None
    return today.replace(day=calendar.monthrange(today.year, today.month)[1])


async def remind_lists(session: AsyncSession, now: datetime, report: TickReport) -> None:
    today = local_date(now)
    districts = (await session.execute(
        select(Jurisdiction.code, Jurisdiction.path, Agency.kind)
        .join(Agency, Agency.jurisdiction_code == Jurisdiction.code)
        .where(Jurisdiction.level == JurisdictionLevel.DISTRICT)
        .distinct()
    )).all()
    period = f"{today:%Y-%m}"
    for code, path, kind in districts:
        rule = rule_for(code)
        due_on = due(today, rule)
        if due_on is None or kind not in rule.agencies:
            continue
        source = rule.agencies[kind]
        name = task_kind(source, period)
        exists = (await session.execute(
            select(Task.id).where(Task.kind == name, Task.scope_path == path,
                                  Task.agency_kind == kind).limit(1)
        )).first()
        if exists is not None:
            continue
        title = mapping(source, code).title
        task = Task(kind=name, title=f"报送{title}（{due_on:%Y年%m月%d日}前，ST 1）",
                    agency_kind=kind, scope_path=path, due_on=due_on, priority=2,
                    status=TaskStatus.OPEN, created_at=now, updated_at=now, evidence={})
        session.add(task)
        await session.flush()
        report.tasks_created += 1
        report.events.append(TaskEvent("created", task.id, kind.value, path))


async def close_reminders(session: AsyncSession, job: ImportJob, now: datetime) -> int:
    """A list applied answers its agencies' reminder for that month."""
    done = await session.execute(
        update(Task)
        .where(Task.kind == task_kind(job.source, job.period), Task.scope_path == job.scope_path,
               open_task())
        .values(status=TaskStatus.DONE, outcome=f"已导入（导入批次 {job.id}）",
                completed_at=now, updated_at=now, version=Task.version + 1)
        .execution_options(synchronize_session=False)
    )
    return int(done.rowcount)  # type: ignore[attr-defined]
