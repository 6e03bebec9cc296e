"""Dropout case operations a user performs: report an absence, record persuasion and
return, close, reopen, set the plan.

Each public function is one operation: it checks the policy for the case's domain and stage,
changes state, and writes the audit row and the timeline in the caller's transaction. Cases
carry an optimistic ``version``: a client sends the version it saw, and a write made by
someone else in between ends in ``CONFLICT`` instead of being overwritten.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select

from models.case import (
    CasePlan,
    DropoutCase,
    PersuasionAttempt,
)
from models.child import Child
from models.enums import (
    AgencyKind,
    CaseStage,
    CaseStatus,
    ClosureReason,
    DropoutCause,
    EnrolmentStatus,
    PersuasionMethod,
    PersuasionOutcome,
    TaskStatus,
)
from models.reference import Jurisdiction
from models.task import Task
from workflow import audit
from workflow.calendar import local_date
from workflow.case.progression import open_or_join, set_register
from workflow.case.query import OBJ, lock_case
from workflow.case.timeline import case_event
from workflow.child import child_allowed
from workflow.common import check_version, open_task
from workflow.context import ServiceContext
from workflow.errors import Conflict, Duplicate, InvalidInput, NotFound, WrongStage
from workflow.task import changed

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
    case = await lock_case(ctx, case_id, "persuade")
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
    case_event(
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
    audit.record_row(ctx, "record_persuasion", case,
                     {"attempt_id": attempt.id, "method": method, "outcome": outcome})
    return attempt


async def record_return(
    ctx: ServiceContext, *, case_id: int, expected_version: int | None, returned_on: date,
    note: str = "",
) -> DropoutCase:
    """复学: the pupil is back. Closes the case and creates the follow-up tasks."""
    case = await lock_case(ctx, case_id, "record_return")
    check_version(case.version, expected_version, "the case")
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
    case = await lock_case(ctx, case_id, "close")
    if reason is ClosureReason.RETURNED:
        raise InvalidInput("use recordReturn for a pupil back at school", field="reason")
    check_version(case.version, expected_version, "the case")
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
        await set_register(ctx, case, register, f"case closed: {reason.value}")
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
    case_event(
        ctx,
        case,
        "closed",
        note,
        {"reason": reason.value, **_plain(details), "tasks_cancelled": len(cancelled)},
        from_stage=before,
        to_stage=CaseStage.CLOSED,
    )
    audit.record_row(
        ctx, "close_case", case, {"reason": reason, "stage": [before, CaseStage.CLOSED], **details}
    )
    await ctx.session.flush()


def _plain(values: dict[str, Any]) -> dict[str, Any]:
    return {k: v.isoformat() if isinstance(v, date) else v for k, v in values.items()}


async def reopen_case(
    ctx: ServiceContext, *, case_id: int, expected_version: int | None, reason: str
) -> DropoutCase:
    case = await lock_case(ctx, case_id, "reopen")
    if not reason.strip():
        raise InvalidInput("say why the case is reopened", field="reason")
    check_version(case.version, expected_version, "the case")
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
    case_event(ctx, case, "reopened", reason, from_stage=CaseStage.CLOSED, to_stage=restored)
    audit.record_row(
        ctx, "reopen_case", case, {"reason": reason, "stage": [CaseStage.CLOSED, restored]}
    )
    await ctx.session.flush()
    return case


async def set_plan(
    ctx: ServiceContext, *, case_id: int, cause: DropoutCause, measures: str,
    responsible_person: str, responsible_agency: AgencyKind, expected_version: int | None,
) -> CasePlan:
    """一生一案: write or revise the child's plan."""
    case = await lock_case(ctx, case_id, "plan")
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
    case_event(
        ctx,
        case,
        "plan",
        measures.strip()[:200],
        {"cause": cause.value, "responsible": responsible_person},
    )
    audit.record_row(
        ctx, "set_case_plan", case, {"cause": cause, "responsible_agency": responsible_agency}
    )
    return plan
