"""Agency work queues: list, claim, assign, complete (each audited).

A task belongs to an agency kind within a domain. A principal sees the tasks of its own
agency kind whose domain its ``task``/``read`` grants cover, filtered in SQL; members claim,
supervisors assign and reassign within the agency, anyone with the grant completes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from functools import cache
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, delete, exists, func, insert, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from authz.enforcer import domain_covers
from authz.errors import Forbidden
from authz.filters import scope_filter
from models.base import MAX_INT_KEY
from models.case import DropoutCase
from models.enums import CaseStage, SpecialGroup, TaskStatus
from models.reference import Agency
from models.task import Task, TaskTally
from models.user import User
from workflow import audit
from workflow.batch import in_order
from workflow.calendar import local_date
from workflow.child import GROUP_FIELD, in_group
from workflow.common import (
    OPEN_TASK_STATUSES,
    check_version,
    fetch_visible,
    matches,
    open_task,
    rows_by_ids,
    where_fields,
)
from workflow.context import ServiceContext
from workflow.engine import TickReport
from workflow.errors import InvalidInput, WrongStage
from workflow.infra import reference_json
from workflow.infra.events import TaskEvent
from workflow.pagination import Page, PageRequest, decode_cursor, encode_cursor, int_key
from workflow.pagination import count as count_rows


class TaskOrder(StrEnum):
    DUE = "due"
    PRIORITY = "priority"
    UPDATED = "updated"


@dataclass(frozen=True)
class TaskFilter:
    status: TaskStatus | None = matches(Task.status)
    overdue: bool | None = None
    due_before: date | None = None
    due_after: date | None = None
    case_kind: str | None = None
    stage: CaseStage | None = None
    township_code: str | None = None
    school_id: int | None = None
    special_group: SpecialGroup | None = None
    mine: bool = False


def visible(ctx: ServiceContext) -> ColumnElement[bool]:
    """Own agency kind's tasks, in the domains the principal's task grants cover."""
    kind = ctx.principal.agency_kind
    if kind is None:
        return Task.id.is_(None)
    return and_(Task.agency_kind == kind,
                scope_filter(ctx.authz, ctx.principal, "task", "read", Task.scope_path))


def queue_query(ctx: ServiceContext, f: TaskFilter) -> Select[Task]:
    stmt = select(Task).where(visible(ctx))
    today = local_date(ctx.clock.now())
    if f.mine:
        stmt = stmt.where(Task.assignee_id == ctx.principal.user_id)
    stmt = where_fields(stmt, f)
    if f.overdue is not None:
        late = and_(open_task(), Task.due_on < today)
        stmt = stmt.where(late if f.overdue else ~late)
    if f.due_before is not None:
        stmt = stmt.where(Task.due_on <= f.due_before)
    if f.due_after is not None:
        stmt = stmt.where(Task.due_on >= f.due_after)
    case_terms: list[ColumnElement[bool]] = []
    if f.case_kind is not None:
        case_terms.append(DropoutCase.kind == f.case_kind)
    if f.stage is not None:
        case_terms.append(DropoutCase.stage == f.stage)
    if f.township_code is not None:
        case_terms.append(DropoutCase.township_code == f.township_code)
    if f.school_id is not None:
        case_terms.append(DropoutCase.school_id == f.school_id)
    if f.special_group is not None:
        guarded = GROUP_FIELD.get(f.special_group)
        if guarded is not None:
            case_terms.append(scope_filter(ctx.authz, ctx.principal, guarded.obj, "unmask",
                                           DropoutCase.scope_path, DropoutCase.stage_rank))
        case_terms.append(in_group(DropoutCase.child_id, f.special_group))
    if case_terms:
        stmt = stmt.where(exists(select(DropoutCase.id).where(
            DropoutCase.id == Task.case_id, *case_terms)))
    return stmt


# --- keyset pagination on (sort value, id) -------------------------------------------------

QUEUE = "task"

_SORT: dict[TaskOrder, tuple[Any, Callable[[Any], Any]]] = {
    TaskOrder.DUE: (Task.due_on, date.fromisoformat),
    TaskOrder.PRIORITY: (Task.priority, int),
    TaskOrder.UPDATED: (Task.updated_at, datetime.fromisoformat),
}


def sort_value(task: Task, order: TaskOrder) -> Any:
    return {TaskOrder.DUE: task.due_on, TaskOrder.PRIORITY: task.priority,
            TaskOrder.UPDATED: task.updated_at}[order]


def task_cursor(task: Task, order: TaskOrder) -> str:
    """The queue's cursor after ``task``: in the one cursor format (``workflow/pagination``),
    the order, the id and the sort value (last: a timestamp holds colons)."""
    value = sort_value(task, order)
    text = value.isoformat() if hasattr(value, "isoformat") else value
    return encode_cursor(QUEUE, order.value, task.id, text)


def _decode(cursor: str, order: TaskOrder) -> tuple[Any, int]:
    kind, key, value = decode_cursor(QUEUE, cursor, parts=3)
    row_key = int_key(key)
    try:
        if kind != order.value:
            raise ValueError(kind)
        sort_key = _SORT[order][1](value)
        # Values the columns cannot hold or compare (an overflowing integer, a time without
        # its offset) would fail in the driver: they are a bad cursor, not a fault.
        if isinstance(sort_key, int) and not -MAX_INT_KEY <= sort_key <= MAX_INT_KEY:
            raise ValueError(value)
        if isinstance(sort_key, datetime) and sort_key.tzinfo is None:
            raise ValueError(value)
        return sort_key, row_key
    except (ValueError, TypeError) as exc:
        raise InvalidInput("the cursor is not valid for this list and order",
                           field="after") from exc


async def page(
    ctx: ServiceContext, f: TaskFilter, order: TaskOrder, request: PageRequest,
    *, count: bool = True,
) -> Page[Task]:
    """Ordered by (sort value, id) ascending — priority 1 first, soonest due first; the id
    makes the order total, so a page never repeats or skips a task when others are added.

    One statement for the rows: the page's ids are chosen from the index alone (an
    index-only scan of the queue's indexes, sorted there), then only those rows are read
    and built, instead of reading every visible task's row to sort them (docs/scale.md).
    ``count=False`` (the client did not ask for ``totalCount``) skips the count."""
    first = request.limit
    stmt = queue_query(ctx, f)
    column = _SORT[order][0]
    total = await queue_total(ctx, f, stmt) if count else 0
    if request.after is not None:
        value, key = _decode(request.after, order)
        stmt = stmt.where(or_(column > value, and_(column == value, Task.id > key)))
    chosen = (stmt.with_only_columns(Task.id).order_by(column, Task.id).limit(first + 1)
              .subquery("chosen"))
    rows = list((await ctx.session.execute(
        select(Task).join(chosen, chosen.c.id == Task.id).order_by(column, Task.id)
    )).scalars().all())
    has_next = len(rows) > first
    rows = rows[:first]
    return Page(rows, [task_cursor(t, order) for t in rows], has_next,
                request.after is not None, total)


async def queue_total(ctx: ServiceContext, f: TaskFilter, stmt: Select[Task]) -> int:
    """The queue's exact size. Unfiltered, it is the sum of the task tally over the scopes
    the same policy filter admits (a queue's visibility depends on its kind and scope path
    alone): a few thousand index entries for a province instead of 167,000 tasks. Filtered
    (status, due dates, the case's fields, mine), the tasks are counted."""
    if f != TaskFilter() or ctx.principal.agency_kind is None:
        return await count_rows(ctx, stmt)
    return int((await ctx.session.execute(tally_total(ctx))).scalar_one())


def tally_total(ctx: ServiceContext) -> Select[int]:
    """The unfiltered queue's size from the task tally (the principal has an agency kind):
    the count of the normal page and of the persisted one (``workflow/task_page.py``)."""
    return select(func.coalesce(func.sum(TaskTally.n), 0)).where(
        TaskTally.agency_kind == ctx.principal.agency_kind,
        scope_filter(ctx.authz, ctx.principal, "task", "read", TaskTally.scope_path))


async def compact_tallies(session: AsyncSession, now: datetime, report: TickReport) -> None:
    """Fold the task tally's deltas into one row per (agency kind, scope path). A scheduled
    job of the deadline engine (``workflow/jobs.py``), under its lock; safe to run twice.

    On PostgreSQL the rows are deleted and their sums inserted by one statement (a
    ``DELETE … RETURNING`` feeding the ``INSERT``), so what is deleted is exactly what is
    summed: a delta whose id is below the top but whose transaction commits while the
    compaction runs is either in that statement's snapshot (deleted and summed) or not
    (left for the next pass). Two statements would each take their own snapshot under READ
    COMMITTED, and the second could delete a delta the first never summed. SQLite has one
    writer, which this transaction is from its first write on."""
    top = (await session.execute(select(func.max(TaskTally.id)))).scalar_one()
    if top is None:
        return
    older = TaskTally.id <= top
    cols = ["agency_kind", "scope_path", "n"]
    if session.get_bind().dialect.name == "postgresql":
        gone = (delete(TaskTally).where(older)
                .returning(TaskTally.agency_kind, TaskTally.scope_path, TaskTally.n)
                .cte("gone"))
        await session.execute(insert(TaskTally).from_select(
            cols, select(gone.c.agency_kind, gone.c.scope_path, func.sum(gone.c.n))
            .group_by(gone.c.agency_kind, gone.c.scope_path)
            .having(func.sum(gone.c.n) != 0)))
        return
    await session.execute(insert(TaskTally).from_select(
        cols,
        select(TaskTally.agency_kind, TaskTally.scope_path, func.sum(TaskTally.n))
        .where(older).group_by(TaskTally.agency_kind, TaskTally.scope_path)
        .having(func.sum(TaskTally.n) != 0)))
    await session.execute(delete(TaskTally).where(older))


async def get_tasks(ctx: ServiceContext, ids: Sequence[int]) -> list[Task | None]:
    return await rows_by_ids(ctx, select(Task).where(visible(ctx)), Task.id, ids)


# --- changing tasks -----------------------------------------------------------------------


async def _task(ctx: ServiceContext, task_id: int, act: str, expected: int | None) -> Task:
    task = await fetch_visible(ctx, Task, task_id, where=visible(ctx), lock=True,
                               not_found="no such task", field="taskId")
    ctx.authz.require(ctx.principal, "task", act, task.scope_path)
    check_version(task.version, expected, "the task")
    return task


async def claim(ctx: ServiceContext, *, task_id: int, expected_version: int | None) -> Task:
    task = await _task(ctx, task_id, "claim", expected_version)
    if task.status is not TaskStatus.OPEN:
        raise WrongStage(f"only an open task can be claimed (it is {task.status})",
                         field="taskId")
    task.status = TaskStatus.CLAIMED
    task.assignee_id = ctx.principal.user_id
    task.updated_at = ctx.clock.now()
    await ctx.session.flush()
    audit.record(ctx, "claim_task", "task", [task.id], {"assignee": ctx.principal.username})
    ctx.events.append(changed(task))
    return task


async def assign(
    ctx: ServiceContext, *, task_id: int, user_id: int, expected_version: int | None
) -> Task:
    """A supervisor (re)assigns a live task to a member of the agency that holds it."""
    task = await _task(ctx, task_id, "assign", expected_version)
    if task.status not in OPEN_TASK_STATUSES:
        raise WrongStage(f"a {task.status} task cannot be assigned", field="taskId")
    member = (await ctx.session.execute(
        select(User, Agency).join(Agency, Agency.id == User.agency_id)
        .where(User.id == user_id, User.is_active.is_(True)))).first()
    if member is None or member[1].kind != task.agency_kind or not (
        domain_covers(task.scope_path, member[1].scope_path)
    ):
        raise InvalidInput("the assignee must be an active member of the agency that holds "
                           "the task", field="userId")
    before = task.assignee_id
    task.assignee_id = user_id
    task.status = TaskStatus.CLAIMED
    task.updated_at = ctx.clock.now()
    await ctx.session.flush()
    audit.record(ctx, "assign_task", "task", [task.id], {"assignee": [before, user_id]})
    ctx.events.append(changed(task))
    return task


# Task kind → the mutation that closes it. These tasks are closed by the act they await,
# which does the work (applies a correction, resolves a finding, submits a report) and
# closes the task in the same transaction; completing one by hand would mark it done with
# the work undone. The kind strings are the ones the features insert (their ``TASK_KIND``
# and literals); the remaining kinds — the case ladder's, the follow-ups, the monthly list
# reminders (a list may be sent outside Lianbao) — are completed with ``completeTask``.
CLOSED_BY: dict[str, str] = {
    "household_correction": "applyHouseholdCorrection",
    "confirm_death": "recordHouseholdCorrection (kind DECEASED)",
    "crosscheck_verification": "resolveVerification",
    "crosscheck_passed_on": "resolveVerification",
    "supervision_rectification": "reportRectification",
    "special_needs_census": "submitSpecialNeedsCensus",
    "home_visit_coverage": "recordHomeVisit (the task closes once the visits cover it)",
    "periodic_report": "submitReport",
    "transfer_not_received": "receiveTransfer",
    "suspension_ended": "resumeSchooling",
    "assess_deferral": "recordDeferralAssessment",
    "decide_deferral": "decideDeferral",
}


async def complete(
    ctx: ServiceContext, *, task_id: int, expected_version: int | None, outcome: str,
    evidence: dict[str, Any],
) -> Task:
    """Complete a generic task by hand. A task a feature's own mutation closes is refused
    (``CLOSED_BY``); the caller's evidence is merged into what the task already holds (the
    links its feature put there, e.g. ``household_correction_id``), never replacing it."""
    task = await _task(ctx, task_id, "complete", expected_version)
    if task.kind in CLOSED_BY:
        kind, closer = task.kind, CLOSED_BY[task.kind]
        raise WrongStage(f"a {kind} task is closed by {closer}, "
                         "which does its work, not by completeTask", field="taskId")
    if not outcome.strip():
        raise InvalidInput("say what was done", field="outcome")
    if task.status not in OPEN_TASK_STATUSES:
        raise WrongStage(f"a {task.status} task cannot be completed", field="taskId")
    if task.status is TaskStatus.CLAIMED and task.assignee_id not in (
        None, ctx.principal.user_id
    ) and not ctx.authz.allowed(ctx.principal, "task", "assign", task.scope_path):
        raise Forbidden("the task is claimed by a colleague; a supervisor may reassign it")
    now = ctx.clock.now()
    task.status = TaskStatus.DONE
    task.outcome = outcome.strip()
    task.evidence = {**(task.evidence or {}), **evidence}
    task.completed_at = now
    task.updated_at = now
    if task.assignee_id is None:
        task.assignee_id = ctx.principal.user_id
    await ctx.session.flush()
    audit.record(ctx, "complete_task", "task", [task.id],
                 {"outcome": outcome.strip(), "evidence": evidence})
    ctx.events.append(changed(task))
    return task


# --- tasks answered by an act ---------------------------------------------------------


@cache
def answers() -> dict[str, frozenset[str]]:
    """Act (``document_issued:<kind>``, ``document_served:<kind>``) → the task kinds it
    answers, from ``reference_data/task_answers.json`` (each pair cites its legal basis)."""
    raw = reference_json.load("task_answers.json")
    by_act: dict[str, set[str]] = {}
    for row in raw["answers"]:
        by_act.setdefault(row["act"], set()).add(row["task_kind"])
    return {act: frozenset(kinds) for act, kinds in by_act.items()}


async def close_tasks(
    ctx: ServiceContext,
    where: ColumnElement[bool],
    kinds: set[str] | frozenset[str],
    outcome: str,
    status: TaskStatus = TaskStatus.DONE,
) -> list[Task]:
    """Close the live tasks of these kinds that ``where`` selects (a case's, a finding's):
    the act answered them (done) or withdrew their reason (cancelled). Locked, then changed
    in the caller's transaction; a task event for each, for subscribers after commit."""
    if not kinds:
        return []
    now = ctx.clock.now()
    rows = (
        (
            await ctx.session.execute(
                select(Task)
                .where(where, Task.kind.in_(sorted(kinds)), open_task())
                .order_by(Task.id)
                .with_for_update()
            )
        )
        .scalars()
        .all()
    )
    for t in rows:
        t.status, t.outcome, t.updated_at = status, outcome, now
        if status is TaskStatus.DONE:
            t.completed_at = now
    await ctx.session.flush()
    ctx.events.extend(changed(t) for t in rows)
    return list(rows)


async def answer(
    ctx: ServiceContext, case_id: int, act: str, outcome: str, evidence: dict[str, Any]
) -> list[int]:
    """The act answers the case's open tasks of the kinds the data names for it: they are
    done now, by whoever did the act, so the engine records no breach for work that was
    done, and the accountability figures count it as done. Audited with the act."""
    kinds = answers().get(act, frozenset())
    closed = await close_tasks(ctx, Task.case_id == case_id, kinds, outcome)
    for t in closed:
        t.evidence = {**(t.evidence or {}), "answered_by": act, **evidence}
        if t.assignee_id is None:
            t.assignee_id = ctx.principal.user_id
    if closed:
        await ctx.session.flush()
        audit.record(
            ctx,
            "answer_tasks",
            "task",
            [t.id for t in closed],
            {"act": act, "case_id": case_id, "kinds": sorted({t.kind for t in closed}),
             **evidence},
        )
    return [t.id for t in closed]


def changed(task: Task, kind: str = "changed") -> TaskEvent:
    return TaskEvent(kind, task.id, task.agency_kind.value, task.scope_path)


@dataclass(frozen=True)
class TaskSubject:
    """What a task is about, as far as its agency needs to know it: the case's row, whose
    child (and school) the holder sees even where it may not read the case itself."""

    case: DropoutCase

    @property
    def child_id(self) -> int:
        return self.case.child_id

    @property
    def stage(self) -> CaseStage:
        return self.case.stage

    @property
    def school_id(self) -> int | None:
        return self.case.school_id


async def subjects_of(ctx: ServiceContext, case_ids: Sequence[int]) -> list[TaskSubject | None]:
    """The case behind each task, read once for all of a page's fields (the case, if the
    caller may read it; its child; its school). A task is the agency's need-to-know: its
    holder sees the child even where it may not read the case (``TaskType.case`` asks the
    policy); fields stay masked by the holder's own unmask grants."""
    rows = (await ctx.session.execute(
        select(DropoutCase).where(DropoutCase.id.in_(case_ids)))).scalars()
    return [None if r is None else TaskSubject(r)
            for r in in_order(rows, case_ids, key=lambda r: r.id)]


async def users_by_id(ctx: ServiceContext, ids: Sequence[int]) -> list[User | None]:
    return await rows_by_ids(ctx, select(User), User.id, ids)
