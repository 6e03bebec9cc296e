"""The deadline engine: moves cases up their ladder when a step's deadline passes.

``tick(now)`` is one set-based pass: it selects every case whose next timed step is due, and
enters those steps with a fixed number of statements whatever the number of cases (events,
tasks, case updates and the next due dates are each one bulk statement). It is idempotent —
a step entered is marked ``reached_at`` and never selected again — and safe with several
processes: on PostgreSQL one transaction-level advisory lock admits one tick at a time and
the due cases are taken ``FOR UPDATE SKIP LOCKED``. Manual operations (a school marking a
dropout early) enter steps through the same ``enter_steps``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, and_, bindparam, insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from authz.principal import SYSTEM, Principal
from models.case import CaseEvent, CaseStepDue, DropoutCase
from models.enums import (
    AgencyKind,
    CaseStage,
    CaseStatus,
    EnrolmentStatus,
    StepEntry,
    TaskStatus,
)
from models.ladder import LadderStep
from models.school import Enrolment, RegisterEvent
from models.task import Task
from workflow.calendar import SchoolCalendar, load_calendar, local_date
from workflow.common import open_task
from workflow.infra.events import TaskEvent
from workflow.ladder import ancestors

TICK_LOCK = 8_122_601  # pg advisory lock key: "one tick at a time"
REMIND_DAYS = 2
MAX_ROUNDS = 12  # a case more than this many steps behind catches up over several ticks
# SPT 7: "学校要在学籍系统中做辍学标注，为其保留学籍" — a case that reaches the dropout stage
# (by the engine's deadline or by a school's early decision) is marked in the register, and
# the register entry is kept. Every ladder maps its day-7 step onto this canonical stage.
REGISTER_MARK_FROM = CaseStage.DROPOUT_REPORTED


@dataclass(frozen=True)
class Entering:
    """A case about to enter the step at ``position`` of its ladder."""

    case_id: int
    ladder_id: int
    position: int
    scope_path: str
    residence_path: str
    district_code: str
    day0: date
    from_stage: str | None


@dataclass
class TickReport:
    skipped: bool = False
    steps_entered: int = 0
    tasks_created: int = 0
    reminders: int = 0
    breaches: int = 0
    orders_escalated: int = 0
    cases: set[int] = field(default_factory=set)
    events: list[TaskEvent] = field(default_factory=list)


# A feature's scheduled work, run once per pass after the ladders' timed steps; it adds what
# it did to the pass's report.
ScheduledJob = Callable[[AsyncSession, datetime, TickReport], Awaitable[None]]


class Calendars:
    """Loads each district's calendar once per pass."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self._cache: dict[str, SchoolCalendar] = {}

    async def of(self, district_code: str) -> SchoolCalendar:
        if district_code not in self._cache:
            codes = await ancestors(self.session, district_code)
            self._cache[district_code] = await load_calendar(self.session, codes)
        return self._cache[district_code]


# Agencies that work where the child lives, not where it goes to school: their tasks sit in
# the case's residence domain, so a village committee's queue holds its residents' cases
# (LS 14: villages find and report dropouts and help the families).
BY_RESIDENCE = frozenset({AgencyKind.VILLAGE})


def _task_scope(agency: AgencyKind, item: Entering) -> str:
    if agency in BY_RESIDENCE and item.residence_path:
        return item.residence_path
    return item.scope_path


async def _steps(session: AsyncSession, ladder_ids: set[int]) -> dict[tuple[int, int], LadderStep]:
    rows = (
        (
            await session.execute(
                select(LadderStep)
                .options(selectinload(LadderStep.tasks))
                .where(LadderStep.ladder_id.in_(ladder_ids))
            )
        )
        .scalars()
        .all()
    )
    return {(s.ladder_id, s.position): s for s in rows}


def _step_event(
    item: Entering, step: LadderStep, now: datetime, actor: Principal, reason: str
) -> dict[str, Any]:
    """The timeline row for entering ``step``."""
    # A step that keeps the case's stage (the first step, entered as the case opens at that
    # stage) is not a stage change: "REPORTED→REPORTED" would misstate the history.
    moves = item.from_stage != step.stage
    return {
        "case_id": item.case_id,
        "occurred_at": now,
        "kind": "stage_change" if moves else "step_entered",
        "actor_user_id": actor.user_id,
        "actor_username": actor.username,
        "actor_agency_kind": actor.agency_kind,
        "from_stage": item.from_stage if moves else None,
        "to_stage": step.stage if moves else None,
        "reason": reason,
        "data": {
            "step": step.code,
            "position": step.position,
            "basis": f"{step.basis_key} {step.basis_article}",
        },
    }


def _step_tasks(
    item: Entering, step: LadderStep, calendar: SchoolCalendar, today: date, now: datetime
) -> list[dict[str, Any]]:
    """The task rows the step hands out, each due by the district's calendar."""
    return [
        {
            "kind": t.kind,
            "title": t.title,
            "case_id": item.case_id,
            "step_position": step.position,
            "agency_kind": t.agency_kind,
            "scope_path": _task_scope(t.agency_kind, item),
            "due_on": calendar.add(today, t.due_days, step.day_kind),
            "priority": 1 if step.stage.ordinal >= 4 else 2,
            "status": TaskStatus.OPEN,
            "evidence": {},
            "created_at": now,
            "updated_at": now,
            "version": 1,
        }
        for t in step.tasks
    ]


def _next_due(
    item: Entering, steps: dict[tuple[int, int], LadderStep], calendar: SchoolCalendar, today: date
) -> dict[str, Any] | None:
    """The due row of the following step when it is timed from this one (a ``day0`` step
    was scheduled when the case opened)."""
    following = steps.get((item.ladder_id, item.position + 1))
    if following is None or following.entry is not StepEntry.DEADLINE:
        return None
    if following.anchor != "previous":
        return None
    return {
        "case_id": item.case_id,
        "position": following.position,
        "due_on": calendar.add(today, following.offset_days, following.day_kind),
    }


async def _move_cases(session: AsyncSession, updates: list[dict[str, Any]], now: datetime) -> None:
    """Set each case's stage and step, and mark every timed step at or before it reached."""
    # Core statements (executemany): the ORM's bulk UPDATE allows no WHERE of our own.
    cases = cast(Table, DropoutCase.__table__)
    dues_table = cast(Table, CaseStepDue.__table__)
    conn = await session.connection()
    await conn.execute(
        update(cases)
        .where(cases.c.id == bindparam("b_case_id"))
        .values(
            stage=bindparam("b_stage"),
            stage_rank=bindparam("b_stage_rank"),
            step_position=bindparam("b_step_position"),
            updated_at=bindparam("b_updated_at"),
            version=cases.c.version + 1,
        ),
        [{f"b_{k}": v for k, v in u.items()} for u in updates],
    )
    # Every timed step at or before the one entered is now behind the case.
    await conn.execute(
        update(dues_table)
        .where(
            dues_table.c.case_id == bindparam("b_case_id"),
            dues_table.c.position <= bindparam("b_step_position"),
            dues_table.c.reached_at.is_(None),
        )
        .values(reached_at=now),
        [{"b_case_id": u["case_id"], "b_step_position": u["step_position"]} for u in updates],
    )


async def enter_steps(
    session: AsyncSession,
    items: Sequence[Entering],
    *,
    now: datetime,
    actor: Principal,
    reason: str,
    calendars: Calendars | None = None,
) -> tuple[int, list[TaskEvent]]:
    """Enter each item's step: stage, tasks, timeline, next due date. Returns the number of
    steps entered and an event for each task created (to publish after commit)."""
    if not items:
        return 0, []
    calendars = calendars or Calendars(session)
    steps = await _steps(session, {i.ladder_id for i in items})
    today = local_date(now)
    events: list[TaskEvent] = []
    timeline, tasks, updates, dues = [], [], [], []
    for item in items:
        step = steps[(item.ladder_id, item.position)]
        calendar = await calendars.of(item.district_code)
        timeline.append(_step_event(item, step, now, actor, reason))
        tasks.extend(_step_tasks(item, step, calendar, today, now))
        updates.append(
            {
                "case_id": item.case_id,
                "stage": step.stage,
                "stage_rank": step.stage.ordinal,
                "step_position": step.position,
                "updated_at": now,
            }
        )
        due = _next_due(item, steps, calendar, today)
        if due is not None:
            dues.append(due)
    await session.execute(insert(CaseEvent), timeline)
    if tasks:
        created = (
            await session.execute(
                insert(Task).returning(Task.id, Task.agency_kind, Task.scope_path), tasks
            )
        ).all()
        events = [TaskEvent("created", r.id, r.agency_kind.value, r.scope_path) for r in created]
    await _move_cases(session, updates, now)
    if dues:
        await session.execute(insert(CaseStepDue), dues)
    marked = [
        item.case_id
        for item in items
        if steps[(item.ladder_id, item.position)].stage.ordinal >= REGISTER_MARK_FROM.ordinal
    ]
    await mark_register(session, marked, now=now, actor=actor, reason=reason)
    await refresh_next_due(session, [i.case_id for i in items])
    return len(items), events


async def mark_register(
    session: AsyncSession,
    case_ids: Sequence[int],
    *,
    now: datetime,
    actor: Principal,
    reason: str,
) -> int:
    """Mark the register entry of each case's child as dropped out, keeping the entry (SPT 7),
    with a dated register event; a child whose entry is not ``enrolled`` (already marked,
    transferred, deferred…) is left as it is. Two statements however many cases: it runs
    inside every step entry, the engine's bulk pass included."""
    if not case_ids:
        return 0
    today = local_date(now)
    rows = (
        await session.execute(
            select(Enrolment.id, Enrolment.child_id, Enrolment.school_id)
            .join(DropoutCase, DropoutCase.child_id == Enrolment.child_id)
            .where(
                DropoutCase.id.in_(case_ids), Enrolment.status == EnrolmentStatus.ENROLLED
            )
        )
    ).all()
    if not rows:
        return 0
    await session.execute(
        insert(RegisterEvent),
        [
            {
                "child_id": r.child_id,
                "school_id": r.school_id,
                "on_date": today,
                "from_status": EnrolmentStatus.ENROLLED,
                "to_status": EnrolmentStatus.DROPOUT_MARKED,
                "reason": f"辍学标注（保留学籍，SPT 7）: {reason}"[:200],
                "recorded_at": now,
                "recorded_by": actor.user_id,
            }
            for r in rows
        ],
    )
    await session.execute(
        update(Enrolment)
        .where(
            Enrolment.id.in_([r.id for r in rows]), Enrolment.status == EnrolmentStatus.ENROLLED
        )
        .values(status=EnrolmentStatus.DROPOUT_MARKED, status_since=today, updated_at=now)
        .execution_options(synchronize_session="fetch")
    )
    return len(rows)


async def refresh_next_due(session: AsyncSession, case_ids: Sequence[int]) -> None:
    """``dropout_case.next_due_on``: the earliest pending timed step, for lists and sorting."""
    pending = (
        select(CaseStepDue.due_on)
        .where(CaseStepDue.case_id == DropoutCase.id, CaseStepDue.reached_at.is_(None))
        .order_by(CaseStepDue.due_on)
        .limit(1)
        .scalar_subquery()
    )
    await session.execute(
        update(DropoutCase)
        .where(DropoutCase.id.in_(case_ids))
        .values(next_due_on=pending)
        .execution_options(synchronize_session=False)
    )


async def advance_due(
    session: AsyncSession,
    now: datetime,
    *,
    case_ids: Sequence[int] | None = None,
    report: TickReport | None = None,
    batch: int = 5000,
) -> TickReport:
    """Enter every timed step that has fallen due (for some cases, or all)."""
    report = report or TickReport()
    today = local_date(now)
    calendars = Calendars(session)
    postgres = session.bind is not None and session.bind.dialect.name == "postgresql"
    for _ in range(MAX_ROUNDS):
        stmt = (
            select(
                CaseStepDue.case_id,
                CaseStepDue.position,
                DropoutCase.ladder_id,
                DropoutCase.scope_path,
                DropoutCase.residence_path,
                DropoutCase.district_code,
                DropoutCase.day0,
                DropoutCase.stage,
            )
            .join(DropoutCase, DropoutCase.id == CaseStepDue.case_id)
            .join(
                LadderStep,
                and_(
                    LadderStep.ladder_id == DropoutCase.ladder_id,
                    LadderStep.position == CaseStepDue.position,
                ),
            )
            .where(
                # An action step's due row only says from when the action is allowed.
                LadderStep.entry == StepEntry.DEADLINE,
                CaseStepDue.reached_at.is_(None),
                CaseStepDue.due_on <= today,
                DropoutCase.status == CaseStatus.OPEN,
                CaseStepDue.position == DropoutCase.step_position + 1,
            )
            .order_by(CaseStepDue.case_id)
            .limit(batch)
        )
        if case_ids is not None:
            stmt = stmt.where(CaseStepDue.case_id.in_(case_ids))
        if postgres:
            # Lock order everywhere is case, then its rows: a case being edited right now
            # is skipped (SKIP LOCKED) and caught up by the next tick.
            stmt = stmt.with_for_update(skip_locked=True, of=DropoutCase)
        rows = (await session.execute(stmt)).all()
        if not rows:
            break
        items = [
            Entering(
                r.case_id,
                r.ladder_id,
                r.position,
                r.scope_path,
                r.residence_path,
                r.district_code,
                r.day0,
                r.stage,
            )
            for r in rows
        ]
        steps, created = await enter_steps(
            session, items, now=now, actor=SYSTEM, reason="deadline passed", calendars=calendars
        )
        report.steps_entered += steps
        report.tasks_created += len(created)
        report.events.extend(created)
        report.cases.update(i.case_id for i in items)
    return report


async def _task_marks(session: AsyncSession, now: datetime, report: TickReport) -> None:
    """Reminders before a task's due date and breach records after it, each once."""
    today = local_date(now)
    live = open_task()
    for kind, condition, column in (
        (
            "reminder",
            and_(
                Task.reminded_at.is_(None),
                Task.due_on >= today,
                Task.due_on <= today + timedelta(days=REMIND_DAYS),
            ),
            "reminded_at",
        ),
        ("breach", and_(Task.breached_at.is_(None), Task.due_on < today), "breached_at"),
    ):
        # One UPDATE … RETURNING, however many tasks: a concurrent tick blocks on the same
        # rows, then finds them marked already and skips them.
        rows = (
            await session.execute(
                update(Task)
                .where(live, condition)
                .values({column: now})
                .returning(Task.id, Task.case_id, Task.kind, Task.agency_kind, Task.due_on,
                           Task.scope_path)
                .execution_options(synchronize_session=False)
            )
        ).all()
        if not rows:
            continue
        events = [
            {
                "case_id": r.case_id,
                "occurred_at": now,
                "kind": kind,
                "actor_user_id": None,
                "actor_username": SYSTEM.username,
                "actor_agency_kind": None,
                "from_stage": None,
                "to_stage": None,
                "reason": f"task {r.kind} for {r.agency_kind} due {r.due_on}",
                "data": {"task_id": r.id},
            }
            for r in rows
            if r.case_id is not None
        ]
        if events:
            await session.execute(insert(CaseEvent), events)
        report.events.extend(
            TaskEvent("reminder" if kind == "reminder" else "overdue", r.id,
                      r.agency_kind.value, r.scope_path)
            for r in rows
        )
        if kind == "reminder":
            report.reminders += len(rows)
        else:
            report.breaches += len(rows)


async def tick(
    session: AsyncSession, now: datetime, jobs: Sequence[ScheduledJob]
) -> TickReport:
    """One pass of the deadline engine. The caller commits (and so releases the lock).

    ``jobs`` are the features' own scheduled work (``workflow/jobs.py: SCHEDULED_JOBS``),
    handed in by whoever starts the engine: the engine sits below the features that build on
    it and must not import them."""
    if session.bind is not None and session.bind.dialect.name == "postgresql":
        got = (
            await session.execute(text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": TICK_LOCK})
        ).scalar_one()
        if not got:
            return TickReport(skipped=True)
    report = await advance_due(session, now)
    await _task_marks(session, now, report)
    for job in jobs:
        await job(session, now, report)
    return report
