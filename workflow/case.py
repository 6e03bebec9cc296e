"""Dropout cases (辍学个案): report, persuade, mark, return, close, reopen, plan, read.

Each public function is one operation: it checks the policy for the case's domain and stage,
changes state, and writes the audit row and the timeline in the caller's transaction. Cases
carry an optimistic ``version``: a client sends the version it saw, and a write made by
someone else in between ends in ``CONFLICT`` instead of being overwritten.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, delete, exists, func, insert, or_, select
from sqlalchemy.exc import IntegrityError

from authz.errors import Forbidden
from authz.filters import scope_filter
from models.case import (
    CaseAttachment,
    CaseEvent,
    CasePlan,
    CaseStepDue,
    DropoutCase,
    PersuasionAttempt,
)
from models.child import Child, ChildGroup
from models.enums import (
    AgencyKind,
    CaseStage,
    CaseStatus,
    ClosureReason,
    DropoutCause,
    EnrolmentStatus,
    PersuasionMethod,
    PersuasionOutcome,
    SpecialGroup,
    StepEntry,
    TaskStatus,
)
from models.ladder import Ladder, LadderStep
from models.reference import Jurisdiction
from models.school import Enrolment, RegisterEvent
from models.task import Task
from workflow import audit
from workflow.calendar import local_date
from workflow.child import GROUP_FIELD, child_allowed
from workflow.common import check_version, fetch_visible, in_order, open_task
from workflow.context import ServiceContext
from workflow.engine import Calendars, Entering, advance_due, enter_steps, refresh_next_due
from workflow.errors import Conflict, Duplicate, InvalidInput, NotFound, WrongStage
from workflow.ladder import current_ladder, get_ladder
from workflow.task import changed

OBJ = "case:dropout"

# Follow-up after a return (SPT 4): counselling and a home visit by the school, and an
# assistance referral chosen by the cause on the case plan.
FOLLOW_UP = (
    (AgencyKind.SCHOOL, "counselling", "复学后心理辅导与学业帮扶", 7),
    (AgencyKind.SCHOOL, "follow_up_visit", "复学后两周内家访", 14),
)
ASSISTANCE_BY_CAUSE: dict[DropoutCause, tuple[AgencyKind, str, str]] = {
    DropoutCause.FAMILY_POVERTY: (
        AgencyKind.CIVIL_AFFAIRS,
        "assistance_referral",
        "困难家庭救助转介（民政）",
    ),
    DropoutCause.ILLNESS_OR_DISABILITY: (
        AgencyKind.DISABLED_FEDERATION,
        "assistance_referral",
        "残疾儿童教育安置评估转介（残联）",
    ),
    DropoutCause.FAMILY_NEGLECT: (
        AgencyKind.WOMENS_FEDERATION,
        "care_referral",
        "家庭监护关爱转介（妇联）",
    ),
    DropoutCause.SCHOOL_AVERSION: (
        AgencyKind.YOUTH_LEAGUE,
        "care_referral",
        "厌学学生关爱帮扶（共青团）",
    ),
    DropoutCause.LEARNING_DIFFICULTY: (
        AgencyKind.YOUTH_LEAGUE,
        "care_referral",
        "学习困难学生关爱帮扶（共青团）",
    ),
}
REGISTER_AFTER_CLOSE = {
    ClosureReason.RETURNED: EnrolmentStatus.ENROLLED,
    ClosureReason.STUDYING_ELSEWHERE: EnrolmentStatus.TRANSFERRED,
    ClosureReason.HOME_TEACHING: EnrolmentStatus.ENROLLED,
    ClosureReason.DEFERRAL_GRANTED: EnrolmentStatus.DEFERRED,
    ClosureReason.EXEMPTION_GRANTED: EnrolmentStatus.EXEMPT,
    ClosureReason.MOVED_AWAY: EnrolmentStatus.TRANSFERRED,
}


# --- reading ---------------------------------------------------------------------------


def visible(ctx: ServiceContext) -> ColumnElement[bool]:
    """Cases in either of their domains: the school's, or where the child lives (LS 14)."""
    return or_(
        scope_filter(
            ctx.authz, ctx.principal, OBJ, "read", DropoutCase.scope_path, DropoutCase.stage_rank
        ),
        scope_filter(
            ctx.authz,
            ctx.principal,
            OBJ,
            "read",
            DropoutCase.residence_path,
            DropoutCase.stage_rank,
        ),
    )


def case_allowed(ctx: ServiceContext, case: DropoutCase, obj: str, act: str) -> bool:
    """``visible`` for one case and any object and act: a grant on either domain."""
    return any(
        ctx.authz.allowed(ctx.principal, obj, act, path, case.stage)
        for path in (case.scope_path, case.residence_path)
        if path
    )


def require_on_case(ctx: ServiceContext, case: DropoutCase, obj: str, act: str) -> None:
    if not case_allowed(ctx, case, obj, act):
        ctx.authz.require(ctx.principal, obj, act, case.scope_path, case.stage)


@dataclass(frozen=True)
class CaseFilter:
    status: CaseStatus | None = None
    stage: CaseStage | None = None
    overdue: bool | None = None
    township_code: str | None = None
    school_id: int | None = None
    special_group: SpecialGroup | None = None


def overdue_clause(today: date) -> ColumnElement[bool]:
    """A case is overdue when one of its open tasks is past its due date."""
    return exists(
        select(Task.id).where(
            Task.case_id == DropoutCase.id,
            open_task(),
            Task.due_on < today,
        )
    )


def cases_query(ctx: ServiceContext, f: CaseFilter) -> Select[DropoutCase]:
    stmt = select(DropoutCase).where(visible(ctx))
    if f.status is not None:
        stmt = stmt.where(DropoutCase.status == f.status)
    if f.stage is not None:
        stmt = stmt.where(DropoutCase.stage == f.stage)
    if f.township_code is not None:
        stmt = stmt.where(DropoutCase.township_code == f.township_code)
    if f.school_id is not None:
        stmt = stmt.where(DropoutCase.school_id == f.school_id)
    if f.overdue is not None:
        clause = overdue_clause(local_date(ctx.clock.now()))
        stmt = stmt.where(clause if f.overdue else ~clause)
    if f.special_group is not None:
        guarded = GROUP_FIELD.get(f.special_group)
        if guarded is not None:
            stmt = stmt.where(
                scope_filter(
                    ctx.authz,
                    ctx.principal,
                    guarded.obj,
                    "unmask",
                    DropoutCase.scope_path,
                    DropoutCase.stage_rank,
                )
            )
        stmt = stmt.where(
            exists(
                select(ChildGroup.child_id).where(
                    ChildGroup.child_id == DropoutCase.child_id, ChildGroup.group == f.special_group
                )
            )
        )
    return stmt


async def get_cases(ctx: ServiceContext, ids: Sequence[int]) -> list[DropoutCase | None]:
    rows = (
        await ctx.session.execute(select(DropoutCase).where(DropoutCase.id.in_(ids), visible(ctx)))
    ).scalars()
    return in_order(rows, ids)


async def _case(ctx: ServiceContext, case_id: int, act: str) -> DropoutCase:
    """The case, locked for change, if the caller may ``act`` on it now; NOT_FOUND when it
    may not even see it."""
    # Every operation that changes a case locks its row first (PostgreSQL; SQLite has one
    # writer anyway): concurrent operations queue here, in one order, instead of taking row
    # locks in different orders (a deadlock), and the later one then sees the new version.
    case = await fetch_visible(
        ctx,
        DropoutCase,
        case_id,
        visible=lambda c: case_allowed(ctx, c, OBJ, "read"),
        lock=True,
        not_found="no such case",
        field="caseId",
    )
    require_on_case(ctx, case, OBJ, act)
    return case


async def lock_case(ctx: ServiceContext, case_id: int) -> DropoutCase:
    """The case, locked, if the caller may read it: for services of other concepts (the
    case's documents) that check their own object in the policy."""
    return await _case(ctx, case_id, "read")


def case_event(
    ctx: ServiceContext, case: DropoutCase, kind: str, reason: str, data: dict[str, Any]
) -> CaseEvent:
    """A timeline entry written by another concept's service (documents, inspections)."""
    return _event(ctx, case, kind, reason, data)


def _check_version(case: DropoutCase, expected: int | None) -> None:
    check_version(case.version, expected, "the case")


def _event(
    ctx: ServiceContext,
    case: DropoutCase,
    kind: str,
    reason: str = "",
    data: dict[str, Any] | None = None,
    *,
    from_stage: CaseStage | None = None,
    to_stage: CaseStage | None = None,
) -> CaseEvent:
    p = ctx.principal
    event = CaseEvent(
        case_id=case.id,
        occurred_at=ctx.clock.now(),
        kind=kind,
        actor_user_id=p.user_id,
        actor_username=p.username,
        actor_agency_kind=p.agency_kind,
        from_stage=from_stage,
        to_stage=to_stage,
        reason=reason,
        data=data or {},
    )
    ctx.session.add(event)
    return event


async def timeline(ctx: ServiceContext, case_ids: Sequence[int]) -> list[list[CaseEvent]]:
    """Events per case, in order. Callers pass cases they were already allowed to read."""
    rows = (
        await ctx.session.execute(
            select(CaseEvent).where(CaseEvent.case_id.in_(case_ids)).order_by(CaseEvent.id)
        )
    ).scalars()
    by_case: dict[int, list[CaseEvent]] = {}
    for e in rows:
        by_case.setdefault(e.case_id, []).append(e)
    return [by_case.get(i, []) for i in case_ids]


# --- opening ---------------------------------------------------------------------------


async def report_absence(
    ctx: ServiceContext, *, child_id: int, first_absence: date, note: str = ""
) -> DropoutCase:
    """A school (or village, police…) reports an unexplained absence: day 0 of the ladder.

    One open case per child: a second report adds to the open case instead of opening one.
    """
    # The record first, then the caller's right on it, then the input: an answer about the
    # input would otherwise tell a caller without rights something about the record.
    child = await ctx.session.get(Child, child_id)
    if child is None or not child_allowed(ctx, child, "child", "read"):
        raise NotFound("no such child", field="childId")
    if not child_allowed(ctx, child, OBJ, "report_absence"):
        ctx.authz.require(ctx.principal, OBJ, "report_absence", child.scope_path)
    today = local_date(ctx.clock.now())
    if first_absence > today:
        raise InvalidInput("the first absence cannot be in the future", field="firstAbsence")
    if first_absence < today - timedelta(days=365):
        raise InvalidInput("the first absence is more than a year ago", field="firstAbsence")
    case, _ = await open_or_join(ctx, child, first_absence, note)
    return case


async def open_or_join(
    ctx: ServiceContext,
    child: Child,
    first_absence: date,
    note: str = "",
    source: dict[str, Any] | None = None,
) -> tuple[DropoutCase, bool]:
    """The child's open case, joined (a timeline entry), or a new one opened at day 0; and
    whether it was opened. The caller has authorized the act that leads here: a report of
    absence, or a child-labour finding (``source`` names it on the timeline)."""
    extra = source or {}
    existing = (
        await ctx.session.execute(
            select(DropoutCase).where(
                DropoutCase.child_id == child.id, DropoutCase.status == CaseStatus.OPEN
            )
        )
    ).scalar_one_or_none()
    if existing is not None:
        _event(
            ctx,
            existing,
            "absence_reported",
            note,
            {"first_absence": first_absence.isoformat(), "repeat": True, **extra},
        )
        audit.record(
            ctx,
            "report_absence",
            "dropout_case",
            [existing.id],
            {"child_id": child.id, "first_absence": first_absence, "repeat": True, **extra},
        )
        return existing, False

    township = await ctx.session.get(Jurisdiction, child.township_code)
    assert township is not None and township.parent_code is not None
    ladder = await current_ladder(ctx.session, township.parent_code)
    enrolment = (
        await ctx.session.execute(select(Enrolment).where(Enrolment.child_id == child.id))
    ).scalar_one_or_none()
    first = ladder.steps[0]
    case = DropoutCase(
        child_id=child.id,
        school_id=enrolment.school_id if enrolment else None,
        scope_path=child.scope_path,
        residence_path=child.residence_path,
        township_code=child.township_code,
        district_code=township.parent_code,
        ladder_id=ladder.id,
        status=CaseStatus.OPEN,
        stage=first.stage,
        stage_rank=first.stage.ordinal,
        step_position=0,
        day0=first_absence,
        opened_at=ctx.clock.now(),
        opened_by=ctx.principal.user_id,
        updated_at=ctx.clock.now(),
    )
    ctx.session.add(case)
    try:
        async with ctx.session.begin_nested():
            await ctx.session.flush()
    except IntegrityError as exc:
        # Another agency opened the child's case at the same moment.
        raise Conflict(
            "a case for this child was opened concurrently; reload it", field="childId"
        ) from exc
    _event(
        ctx,
        case,
        "opened",
        note,
        {
            "first_absence": first_absence.isoformat(),
            "ladder": f"{ladder.code} v{ladder.version}",
            **extra,
        },
        to_stage=first.stage,
    )
    await _schedule_from_day0(ctx, case, ladder)
    await ctx.session.flush()
    _, created = await enter_steps(
        ctx.session,
        [_entering(case, 1)],
        now=ctx.clock.now(),
        actor=ctx.principal,
        reason="absence reported",
    )
    ctx.events.extend(created)
    # A report made days after the first absence catches up with the steps already due.
    caught_up = await advance_due(ctx.session, ctx.clock.now(), case_ids=[case.id])
    ctx.events.extend(caught_up.events)
    await ctx.session.refresh(case)
    audit.record(
        ctx,
        "report_absence",
        "dropout_case",
        [case.id],
        {"child_id": child.id, "first_absence": first_absence, "ladder_id": ladder.id, **extra},
    )
    return case, True


def _entering(case: DropoutCase, position: int) -> Entering:
    return Entering(
        case.id,
        case.ladder_id,
        position,
        case.scope_path,
        case.residence_path,
        case.district_code,
        case.day0,
        case.stage.value if case.stage else None,
    )


async def _schedule_from_day0(ctx: ServiceContext, case: DropoutCase, ladder: Ladder) -> None:
    calendar = await Calendars(ctx.session).of(case.district_code)
    rows = [
        {
            "case_id": case.id,
            "position": s.position,
            "due_on": calendar.add(case.day0, s.offset_days, s.day_kind),
        }
        for s in ladder.steps
        if s.position > 1 and s.entry is StepEntry.DEADLINE and s.anchor == "day0"
    ]
    if rows:
        await ctx.session.execute(insert(CaseStepDue), rows)


# --- acting on a case ------------------------------------------------------------------


async def record_persuasion(
    ctx: ServiceContext,
    *,
    case_id: int,
    method: PersuasionMethod,
    outcome: PersuasionOutcome,
    attempted_at: datetime,
    participants: str = "",
    note: str = "",
) -> PersuasionAttempt:
    case = await _case(ctx, case_id, "persuade")
    if case.status is not CaseStatus.OPEN:
        raise WrongStage("the case is closed; reopen it first", field="caseId")
    if attempted_at > ctx.clock.now():
        raise InvalidInput("the attempt cannot be in the future", field="attemptedAt")
    if local_date(attempted_at) < case.day0:
        raise InvalidInput("the attempt is before the first absence", field="attemptedAt")
    attempt = PersuasionAttempt(
        case_id=case.id,
        attempted_at=attempted_at,
        method=method,
        outcome=outcome,
        user_id=ctx.principal.user_id,
        agency_kind=ctx.principal.agency_kind,
        participants=participants[:200],
        note=note,
    )
    ctx.session.add(attempt)
    await ctx.session.flush()
    _event(
        ctx,
        case,
        "persuasion",
        note,
        {
            "method": method.value,
            "outcome": outcome.value,
            "attempted_at": attempted_at.isoformat(),
            "participants": attempt.participants,
            "attempt_id": attempt.id,
        },
    )
    audit.record(
        ctx,
        "record_persuasion",
        "dropout_case",
        [case.id],
        {"attempt_id": attempt.id, "method": method, "outcome": outcome},
    )
    return attempt


async def mark_dropout(
    ctx: ServiceContext, *, case_id: int, expected_version: int | None, reason: str = ""
) -> DropoutCase:
    """Day 7 (or earlier by decision): marked as dropped out, register entry kept (SPT 7)."""
    case = await _case(ctx, case_id, "mark_dropout")
    _check_version(case, expected_version)
    if case.status is not CaseStatus.OPEN:
        raise WrongStage("the case is closed", field="caseId")
    ladder = await get_ladder(ctx.session, case.ladder_id)
    target = next((s for s in ladder.steps if s.stage is CaseStage.DROPOUT_REPORTED), None)
    if target is None or case.step_position >= target.position:
        raise WrongStage(
            f"a case at stage {case.stage} cannot be marked as dropped out", field="caseId"
        )
    # Entering the dropout step marks the register (workflow/engine.py: mark_register), as it
    # does when the engine enters it on day 7: one mechanism, whoever moves the case.
    await _enter_now(ctx, case, target.position, reason or "dropout marked by decision")
    audit.record(
        ctx,
        "mark_dropout",
        "dropout_case",
        [case.id],
        {"stage": [case.stage, target.stage], "reason": reason},
    )
    await ctx.session.refresh(case)
    return case


async def _enter_now(ctx: ServiceContext, case: DropoutCase, position: int, reason: str) -> None:
    await ctx.session.flush()
    _, created = await enter_steps(
        ctx.session,
        [_entering(case, position)],
        now=ctx.clock.now(),
        actor=ctx.principal,
        reason=reason,
    )
    ctx.events.extend(created)


async def _set_register(
    ctx: ServiceContext, case: DropoutCase, status: EnrolmentStatus, reason: str
) -> None:
    enrolment = (
        await ctx.session.execute(select(Enrolment).where(Enrolment.child_id == case.child_id))
    ).scalar_one_or_none()
    if enrolment is None or enrolment.status is status:
        return
    today = local_date(ctx.clock.now())
    ctx.session.add(
        RegisterEvent(
            child_id=case.child_id,
            school_id=enrolment.school_id,
            on_date=today,
            from_status=enrolment.status,
            to_status=status,
            reason=reason[:200],
            recorded_at=ctx.clock.now(),
            recorded_by=ctx.principal.user_id,
        )
    )
    enrolment.status = status
    enrolment.status_since = today


async def record_return(
    ctx: ServiceContext,
    *,
    case_id: int,
    expected_version: int | None,
    returned_on: date,
    note: str = "",
) -> DropoutCase:
    """复学: the pupil is back. Closes the case and creates the follow-up tasks."""
    case = await _case(ctx, case_id, "record_return")
    _check_version(case, expected_version)
    if returned_on > local_date(ctx.clock.now()):
        raise InvalidInput("the return cannot be in the future", field="returnedOn")
    if returned_on < case.day0:
        raise InvalidInput("the return is before the first absence", field="returnedOn")
    await _close(ctx, case, ClosureReason.RETURNED, note, {"returned_on": returned_on})
    plan = (
        await ctx.session.execute(select(CasePlan).where(CasePlan.case_id == case.id))
    ).scalar_one_or_none()
    follow_up: list[tuple[AgencyKind, str, str, int]] = list(FOLLOW_UP)
    if plan is not None and plan.cause in ASSISTANCE_BY_CAUSE:
        helper, task_kind, task_title = ASSISTANCE_BY_CAUSE[plan.cause]
        follow_up.append((helper, task_kind, task_title, 14))
    now = ctx.clock.now()
    follow_tasks = [
        Task(
            kind=kind,
            title=title,
            case_id=case.id,
            agency_kind=agency,
            scope_path=case.scope_path,
            due_on=returned_on + timedelta(days=days),
            priority=2,
            status=TaskStatus.OPEN,
            created_at=now,
            updated_at=now,
        )
        for agency, kind, title, days in follow_up
    ]
    ctx.session.add_all(follow_tasks)
    await ctx.session.flush()
    ctx.events.extend(changed(t, "created") for t in follow_tasks)
    return case


async def close_case(
    ctx: ServiceContext,
    *,
    case_id: int,
    expected_version: int | None,
    reason: ClosureReason,
    note: str = "",
    destination_code: str | None = None,
    police_reference: str | None = None,
) -> DropoutCase:
    # Authorized before the reason is judged: "use recordReturn" told a caller who may not
    # touch the case that it exists.
    case = await _case(ctx, case_id, "close")
    if reason is ClosureReason.RETURNED:
        raise InvalidInput("use recordReturn for a pupil back at school", field="reason")
    _check_version(case, expected_version)
    details: dict[str, Any] = {}
    destination: Jurisdiction | None = None
    if reason is ClosureReason.DECEASED:
        if not police_reference or not police_reference.strip():
            raise InvalidInput(
                "a death is closed only on the police's confirmation", field="policeReference"
            )
        details["police_reference"] = police_reference.strip()
    if reason is ClosureReason.MOVED_AWAY:
        destination = (
            await ctx.session.get(Jurisdiction, destination_code) if destination_code else None
        )
        if destination is None:
            raise InvalidInput("name the county the family moved to", field="destinationCode")
        details["destination"] = destination.code
    await _close(ctx, case, reason, note, details)
    if destination is not None:
        now = ctx.clock.now()
        # The file passes to the home county's education bureau (after closing, which
        # cancels the case's open tasks).
        handover = Task(
            kind="receive_transferred_case",
            title="接收迁入学生控辍档案并核查入学",
            case_id=case.id,
            agency_kind=AgencyKind.EDUCATION,
            scope_path=destination.path,
            due_on=local_date(now) + timedelta(days=15),
            priority=1,
            status=TaskStatus.OPEN,
            created_at=now,
            updated_at=now,
        )
        ctx.session.add(handover)
        await ctx.session.flush()
        ctx.events.append(changed(handover, "created"))
    return case


async def _close(
    ctx: ServiceContext,
    case: DropoutCase,
    reason: ClosureReason,
    note: str,
    details: dict[str, Any],
) -> None:
    if case.status is not CaseStatus.OPEN:
        raise WrongStage("the case is already closed", field="caseId")
    now = ctx.clock.now()
    before = case.stage
    case.status = CaseStatus.CLOSED
    case.stage_before_close = before
    case.stage = CaseStage.CLOSED
    case.stage_rank = CaseStage.CLOSED.ordinal
    case.closed_at = now
    case.closure_reason = reason
    case.next_due_on = None
    case.updated_at = now
    register = REGISTER_AFTER_CLOSE.get(reason)
    if register is not None:
        await _set_register(ctx, case, register, f"case closed: {reason.value}")
    cancelled = (
        (
            await ctx.session.execute(
                select(Task).where(
                    Task.case_id == case.id, open_task()
                )
            )
        )
        .scalars()
        .all()
    )
    for task in cancelled:
        task.status = TaskStatus.CANCELLED
        task.updated_at = now
        ctx.events.append(changed(task))
    _event(
        ctx,
        case,
        "closed",
        note,
        {"reason": reason.value, **_plain(details), "tasks_cancelled": len(cancelled)},
        from_stage=before,
        to_stage=CaseStage.CLOSED,
    )
    audit.record(
        ctx,
        "close_case",
        "dropout_case",
        [case.id],
        {"reason": reason, "stage": [before, CaseStage.CLOSED], **details},
    )
    await ctx.session.flush()


def _plain(values: dict[str, Any]) -> dict[str, Any]:
    return {k: v.isoformat() if isinstance(v, date) else v for k, v in values.items()}


async def reopen_case(
    ctx: ServiceContext, *, case_id: int, expected_version: int | None, reason: str
) -> DropoutCase:
    case = await _case(ctx, case_id, "reopen")
    if not reason.strip():
        raise InvalidInput("say why the case is reopened", field="reason")
    _check_version(case, expected_version)
    if case.status is not CaseStatus.CLOSED:
        raise WrongStage("only a closed case can be reopened", field="caseId")
    other = (
        await ctx.session.execute(
            select(DropoutCase.id).where(
                DropoutCase.child_id == case.child_id, DropoutCase.status == CaseStatus.OPEN
            )
        )
    ).first()
    if other is not None:
        raise Duplicate("the child has another open case", field="caseId")
    restored = case.stage_before_close or CaseStage.REPORTED
    case.status = CaseStatus.OPEN
    case.stage = restored
    case.stage_rank = restored.ordinal
    case.closed_at = None
    case.closure_reason = None
    case.updated_at = ctx.clock.now()
    _event(ctx, case, "reopened", reason, from_stage=CaseStage.CLOSED, to_stage=restored)
    audit.record(
        ctx,
        "reopen_case",
        "dropout_case",
        [case.id],
        {"reason": reason, "stage": [CaseStage.CLOSED, restored]},
    )
    await ctx.session.flush()
    return case


async def anchor_served(
    ctx: ServiceContext, case: DropoutCase, document_kind: str, served_on: date
) -> int:
    """Give the pending steps anchored on a served ``document_kind`` their deadline (served
    date + the step's offset, in the step's kind of days); returns how many there were."""
    ladder = await get_ladder(ctx.session, case.ladder_id)
    anchored = [
        s
        for s in ladder.steps
        if s.anchor == f"served:{document_kind}" and s.position > case.step_position
    ]
    if not anchored:
        return 0
    calendar = await Calendars(ctx.session).of(case.district_code)
    for step in anchored:
        due = calendar.add(served_on, step.offset_days, step.day_kind)
        existing = await ctx.session.get(CaseStepDue, (case.id, step.position))
        if existing is None:
            ctx.session.add(CaseStepDue(case_id=case.id, position=step.position, due_on=due))
        elif existing.reached_at is None:
            existing.due_on = due  # served again (e.g. after a reissue): the later date counts
    await ctx.session.flush()
    await refresh_next_due(ctx.session, [case.id])
    return len(anchored)


async def unanchor_served(ctx: ServiceContext, case: DropoutCase, document_kind: str) -> int:
    """The served document was voided: the deadlines it started, not yet reached, are gone
    until a reissued document is served."""
    ladder = await get_ladder(ctx.session, case.ladder_id)
    positions = [
        s.position
        for s in ladder.steps
        if s.anchor == f"served:{document_kind}" and s.position > case.step_position
    ]
    if not positions:
        return 0
    result = await ctx.session.execute(
        delete(CaseStepDue).where(
            CaseStepDue.case_id == case.id,
            CaseStepDue.position.in_(positions),
            CaseStepDue.reached_at.is_(None),
        )
    )
    await refresh_next_due(ctx.session, [case.id])
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def check_action_gate(ctx: ServiceContext, case: DropoutCase, step: LadderStep) -> None:
    """An action step is entered only as the case's next step, and only once the deadline it
    waits for (a served document's) has passed."""
    if step.entry is not StepEntry.ACTION or step.position != case.step_position + 1:
        raise WrongStage(f"{step.code} is not the case's next action step", field="stepCode")
    if step.anchor.startswith("served:"):
        gate = await ctx.session.get(CaseStepDue, (case.id, step.position))
        today = local_date(ctx.clock.now())
        if gate is None:
            raise WrongStage(f"the {step.anchor[7:]} has not been served", field="stepCode")
        if gate.due_on > today:
            raise WrongStage(f"the deadline runs until {gate.due_on}", field="stepCode")


async def enter_action_step(
    ctx: ServiceContext, case: DropoutCase, step: LadderStep, reason: str
) -> None:
    await _enter_now(ctx, case, step.position, reason)


async def escalate(
    ctx: ServiceContext,
    *,
    case_id: int,
    expected_version: int | None,
    step_code: str,
    reason: str,
) -> DropoutCase:
    """Enter an action step (a referral to the judicial bureau, a judicial document, legal
    action): allowed to the agency whose duty it is, only as the case's next step, and only
    once the deadline it waits for has passed."""
    case = await _case(ctx, case_id, "read")
    ladder = await get_ladder(ctx.session, case.ladder_id)

    def may_enter(s: LadderStep) -> bool:
        if s.document_kind:
            return ctx.authz.allowed(
                ctx.principal, f"document:{s.document_kind}", "issue", case.scope_path, case.stage
            )
        return ctx.authz.allowed(ctx.principal, OBJ, "escalate", case.scope_path, case.stage)

    # A reader who may enter none of the ladder's steps is refused before the version, the
    # status or the step named are judged (each would tell it about the case).
    if not any(may_enter(s) for s in ladder.steps):
        raise Forbidden()
    _check_version(case, expected_version)
    if case.status is not CaseStatus.OPEN:
        raise WrongStage("the case is closed", field="caseId")
    step = next((s for s in ladder.steps if s.code == step_code), None)
    if step is None:
        raise InvalidInput(f"the case's ladder has no step {step_code!r}", field="stepCode")
    if step.document_kind:
        ctx.authz.require(
            ctx.principal, f"document:{step.document_kind}", "issue", case.scope_path, case.stage
        )
    else:
        ctx.authz.require(ctx.principal, OBJ, "escalate", case.scope_path, case.stage)
    await check_action_gate(ctx, case, step)
    if step.document_kind:
        # A step that rests on a document (the referral, the judicial document) is entered by
        # issuing that document (workflow/document.py: issue), never without it: the legal
        # chain must not run ahead of the paper the next agency and the parents receive.
        raise WrongStage(
            f"{step.code} is entered by issuing its {step.document_kind} document "
            "(draftDocument, issueDocument)",
            field="stepCode",
        )
    if not reason.strip():
        raise InvalidInput("say why the case is escalated", field="reason")
    await _enter_now(ctx, case, step.position, reason.strip())
    audit.record(
        ctx,
        "escalate_case",
        "dropout_case",
        [case.id],
        {"step": step_code, "stage": [case.stage, step.stage], "reason": reason},
    )
    await ctx.session.refresh(case)
    return case


async def add_attachment(
    ctx: ServiceContext,
    *,
    case_id: int,
    filename: str,
    content_type: str,
    size_bytes: int,
    sha256: str,
) -> CaseAttachment:
    """Record an attachment's metadata (a scanned report, a photo of a served notice); the
    bytes live in the document store, addressed by their hash."""
    case = await _case(ctx, case_id, "note")
    if not filename.strip() or "/" in filename or len(filename) > 200:
        raise InvalidInput("a plain file name of at most 200 characters", field="filename")
    if size_bytes <= 0 or size_bytes > 50 * 1024 * 1024:
        raise InvalidInput("attachments are 1 byte to 50 MiB", field="sizeBytes")
    if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
        raise InvalidInput("sha256 is 64 lowercase hex digits", field="sha256")
    attachment = CaseAttachment(
        case_id=case.id,
        filename=filename.strip(),
        content_type=content_type[:100],
        size_bytes=size_bytes,
        sha256=sha256,
        uploaded_at=ctx.clock.now(),
        uploaded_by=ctx.principal.user_id,
    )
    ctx.session.add(attachment)
    await ctx.session.flush()
    _event(
        ctx,
        case,
        "attachment",
        filename.strip(),
        {"attachment_id": attachment.id, "sha256": sha256, "size_bytes": size_bytes},
    )
    audit.record(
        ctx,
        "add_case_attachment",
        "dropout_case",
        [case.id],
        {"attachment_id": attachment.id, "filename": filename, "sha256": sha256},
    )
    return attachment


async def attachments_of(
    ctx: ServiceContext, case_ids: Sequence[int]
) -> list[list[CaseAttachment]]:
    rows = (
        await ctx.session.execute(
            select(CaseAttachment)
            .where(CaseAttachment.case_id.in_(case_ids))
            .order_by(CaseAttachment.id)
        )
    ).scalars()
    by_case: dict[int, list[CaseAttachment]] = {}
    for a in rows:
        by_case.setdefault(a.case_id, []).append(a)
    return [by_case.get(i, []) for i in case_ids]


async def add_note(ctx: ServiceContext, *, case_id: int, text: str) -> CaseEvent:
    case = await _case(ctx, case_id, "note")
    if not text.strip():
        raise InvalidInput("the note is empty", field="text")
    event = _event(ctx, case, "note", text.strip())
    await ctx.session.flush()
    audit.record(ctx, "add_case_note", "dropout_case", [case.id], {"event_id": event.id})
    return event


async def set_plan(
    ctx: ServiceContext,
    *,
    case_id: int,
    cause: DropoutCause,
    measures: str,
    responsible_person: str,
    responsible_agency: AgencyKind,
    expected_version: int | None,
) -> CasePlan:
    """一生一案: write or revise the child's plan."""
    case = await _case(ctx, case_id, "plan")
    if not measures.strip() or not responsible_person.strip():
        raise InvalidInput("a plan names its measures and the person responsible", field="measures")
    plan = (
        await ctx.session.execute(select(CasePlan).where(CasePlan.case_id == case.id))
    ).scalar_one_or_none()
    now = ctx.clock.now()
    if plan is None:
        plan = CasePlan(
            case_id=case.id,
            cause=cause,
            measures=measures.strip(),
            responsible_person=responsible_person.strip(),
            responsible_agency_kind=responsible_agency,
            updated_at=now,
        )
        ctx.session.add(plan)
    else:
        if expected_version is not None and plan.version != expected_version:
            raise Conflict("the plan changed since you read it", field="expectedVersion")
        plan.cause = cause
        plan.measures = measures.strip()
        plan.responsible_person = responsible_person.strip()
        plan.responsible_agency_kind = responsible_agency
        plan.updated_at = now
    await ctx.session.flush()
    _event(
        ctx,
        case,
        "plan",
        measures.strip()[:200],
        {"cause": cause.value, "responsible": responsible_person},
    )
    audit.record(
        ctx,
        "set_case_plan",
        "dropout_case",
        [case.id],
        {"cause": cause, "responsible_agency": responsible_agency},
    )
    return plan


async def children_of(ctx: ServiceContext, child_ids: Sequence[int]) -> list[Child]:
    """Children of cases the caller was already allowed to read (the case grants the view;
    field masking still applies)."""
    rows = (await ctx.session.execute(select(Child).where(Child.id.in_(child_ids)))).scalars()
    found = {c.id: c for c in rows}
    return [found[i] for i in child_ids]


async def tasks_of(ctx: ServiceContext, case_ids: Sequence[int]) -> list[list[Task]]:
    rows = (
        await ctx.session.execute(select(Task).where(Task.case_id.in_(case_ids)).order_by(Task.id))
    ).scalars()
    by_case: dict[int, list[Task]] = {}
    for t in rows:
        if t.case_id is not None:
            by_case.setdefault(t.case_id, []).append(t)
    return [by_case.get(i, []) for i in case_ids]


async def plans_of(ctx: ServiceContext, case_ids: Sequence[int]) -> list[CasePlan | None]:
    rows = (
        await ctx.session.execute(select(CasePlan).where(CasePlan.case_id.in_(case_ids)))
    ).scalars()
    return in_order(rows, case_ids, key=lambda p: p.case_id)


async def count_open(ctx: ServiceContext) -> int:
    stmt = (
        select(func.count())
        .select_from(DropoutCase)
        .where(visible(ctx), DropoutCase.status == CaseStatus.OPEN)
    )
    return int((await ctx.session.execute(stmt)).scalar_one())
