"""How a case moves along its ladder: opening (or joining an open case), entering steps,
marking the register, escalation, and the document anchors that start a step's clock.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import delete, insert, select
from sqlalchemy.exc import IntegrityError

from authz.errors import Forbidden
from models.case import (
    CaseStepDue,
    DropoutCase,
)
from models.child import Child
from models.enums import (
    CaseStage,
    CaseStatus,
    EnrolmentStatus,
    StepEntry,
)
from models.ladder import Ladder, LadderStep
from models.reference import Jurisdiction
from models.school import Enrolment, RegisterEvent
from workflow import audit
from workflow.calendar import local_date
from workflow.case.query import OBJ, lock_case
from workflow.case.timeline import case_event
from workflow.common import check_version
from workflow.context import ServiceContext
from workflow.engine import Calendars, Entering, advance_due, enter_steps, refresh_next_due
from workflow.errors import Conflict, InvalidInput, WrongStage
from workflow.ladder import current_ladder, get_ladder


def _join(
    ctx: ServiceContext,
    case: DropoutCase,
    child: Child,
    first_absence: date,
    note: str,
    extra: dict[str, Any],
) -> None:
    """A repeated report of the child's open case: on its timeline and in the audit."""
    case_event(
        ctx,
        case,
        "absence_reported",
        note,
        {"first_absence": first_absence.isoformat(), "repeat": True, **extra},
    )
    audit.record_row(
        ctx,
        "report_absence",
        case,
        {"child_id": child.id, "first_absence": first_absence, "repeat": True, **extra},
    )


async def _new_case(
    ctx: ServiceContext, child: Child, first_absence: date
) -> tuple[DropoutCase, Ladder]:
    """An unsaved case at day 0 on the district's current ladder, at its first step's stage."""
    township = await ctx.session.get(Jurisdiction, child.township_code)
    assert township is not None and township.parent_code is not None
    ladder = await current_ladder(ctx.session, township.parent_code)
    enrolment = (
        await ctx.session.execute(select(Enrolment).where(Enrolment.child_id == child.id))
    ).scalar_one_or_none()
    first = ladder.steps[0]
    case = DropoutCase(
        # Where the case belongs: the child's school and places (both domains, LS 14).
        child_id=child.id, school_id=enrolment.school_id if enrolment else None,
        scope_path=child.scope_path, residence_path=child.residence_path,
        township_code=child.township_code, district_code=township.parent_code,
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
    return case, ladder


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
        _join(ctx, existing, child, first_absence, note, extra)
        return existing, False

    case, ladder = await _new_case(ctx, child, first_absence)
    ctx.session.add(case)
    try:
        async with ctx.session.begin_nested():
            await ctx.session.flush()
    except IntegrityError as exc:
        # Another agency opened the child's case at the same moment.
        raise Conflict(
            "a case for this child was opened concurrently; reload it", field="childId"
        ) from exc
    case_event(
        ctx,
        case,
        "opened",
        note,
        {
            "first_absence": first_absence.isoformat(),
            "ladder": f"{ladder.code} v{ladder.version}",
            **extra,
        },
        to_stage=ladder.steps[0].stage,
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
    audit.record_row(
        ctx,
        "report_absence",
        case,
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


async def mark_dropout(
    ctx: ServiceContext, *, case_id: int, expected_version: int | None, reason: str = ""
) -> DropoutCase:
    """Day 7 (or earlier by decision): marked as dropped out, register entry kept (SPT 7)."""
    case = await lock_case(ctx, case_id, "mark_dropout")
    check_version(case.version, expected_version, "the case")
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
    await enter_step(ctx, case, target.position, reason or "dropout marked by decision")
    audit.record_row(
        ctx, "mark_dropout", case, {"stage": [case.stage, target.stage], "reason": reason}
    )
    await ctx.session.refresh(case)
    return case


async def enter_step(ctx: ServiceContext, case: DropoutCase, position: int, reason: str) -> None:
    await ctx.session.flush()
    _, created = await enter_steps(
        ctx.session,
        [_entering(case, position)],
        now=ctx.clock.now(),
        actor=ctx.principal,
        reason=reason,
    )
    ctx.events.extend(created)


async def set_register(
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
    case = await lock_case(ctx, case_id, "read")
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
    check_version(case.version, expected_version, "the case")
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
        # issuing that document (workflow/document/operations.py: issue), never without it: the
        # legal chain must not run ahead of the paper the next agency and the parents receive.
        raise WrongStage(
            f"{step.code} is entered by issuing its {step.document_kind} document "
            "(draftDocument, issueDocument)",
            field="stepCode",
        )
    if not reason.strip():
        raise InvalidInput("say why the case is escalated", field="reason")
    await enter_step(ctx, case, step.position, reason.strip())
    audit.record_row(
        ctx,
        "escalate_case",
        case,
        {"step": step_code, "stage": [case.stage, step.stage], "reason": reason},
    )
    await ctx.session.refresh(case)
    return case
