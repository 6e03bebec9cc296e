"""Deferral and exemption from school (缓学/免学, ST 2, 3).

The guardian applies in writing in early September to the school or the education side
where the child lives (ST 2; the window is data, ``rules.py``); the school or the bureau
records the application with its evidence (illness, disability). A child said to be unable
to learn needs the finding of the disabled children's assessment body first (ST 3: 经区残疾
儿童入学鉴定机构认定): the disabled federation gets a task and records its assessment. The
bureau then grants or refuses (with a reason). A granted deferral keeps the child out of the
cross-checks until its end date (``valid_on``, ``deferred_child_ids``); when it ends, a task
says the child is expected at school again (``scheduler.end_deferrals``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import ColumnElement, and_, exists, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from models.child import Child
from models.enums import (
    AgencyKind,
    DeferralGround,
    DeferralKind,
    DeferralStatus,
    EnrolmentStatus,
    GuardianRelation,
)
from models.reference import Jurisdiction
from models.register import Deferral
from models.school import Enrolment
from workflow import audit
from workflow.calendar import local_date
from workflow.child import readable_records, visible_child
from workflow.common import check_version, fetch_visible
from workflow.context import ServiceContext
from workflow.errors import Duplicate, InvalidInput, WrongStage
from workflow.register import history, tasks
from workflow.register.rules import rules_for

OBJ = "deferral"
LIVE = (DeferralStatus.AWAITING_ASSESSMENT, DeferralStatus.AWAITING_DECISION,
        DeferralStatus.GRANTED)


def valid_on(on: date) -> ColumnElement[bool]:
    """SQL: a deferral or exemption granted and in force on ``on``."""
    return and_(Deferral.status == DeferralStatus.GRANTED, Deferral.starts_on <= on,
                Deferral.ends_on >= on)


def deferred(child_id: ColumnElement[int] | InstrumentedAttribute[int],
             on: date) -> ColumnElement[bool]:
    """SQL: the child of ``child_id`` has a valid deferral or exemption on ``on`` (the
    cross-checks leave such children out)."""
    return exists(select(Deferral.id).where(Deferral.child_id == child_id, valid_on(on)))


async def deferred_child_ids(session: AsyncSession, district_code: str, on: date) -> set[int]:
    """The children of the district with a valid deferral or exemption on ``on``."""
    rows = await session.execute(
        select(Deferral.child_id).where(Deferral.district_code == district_code, valid_on(on))
    )
    return set(rows.scalars())


@dataclass(frozen=True)
class Application:
    """The guardian's written application as the school or bureau records it."""

    kind: DeferralKind
    ground: DeferralGround
    applied_on: date
    applicant_name: str
    applicant_relation: GuardianRelation
    evidence: str
    starts_on: date
    ends_on: date


def _needs_assessment(a: Application) -> bool:
    return a.ground is DeferralGround.UNABLE_TO_LEARN or (
        a.kind is DeferralKind.EXEMPTION and a.ground is DeferralGround.DISABILITY)


async def apply(ctx: ServiceContext, child_id: int, a: Application) -> Deferral:
    """Record a guardian's application; the assessment or the decision is asked for."""
    child = await visible_child(ctx, child_id, lock=True)
    _require(ctx, child.scope_path, child.residence_path, "apply")
    township = await ctx.session.get(Jurisdiction, child.township_code)
    assert township is not None and township.parent_code is not None
    rules = rules_for(township.parent_code)
    if not rules.in_deferral_window(a.applied_on):
        start, end = rules.deferral_window
        raise InvalidInput(f"applications are taken from {start[0]}-{start[1]:02d} to "
                           f"{end[0]}-{end[1]:02d} (ST 2: 9 月初)", field="appliedOn")
    if a.applied_on > local_date(ctx.clock.now()):
        raise InvalidInput("the application date is in the future", field="appliedOn")
    if a.ends_on <= a.starts_on:
        raise InvalidInput("a deferral ends after it starts", field="endsOn")
    if not a.applicant_name.strip():
        raise InvalidInput("who applied (the guardian)", field="applicantName")
    live = (await ctx.session.execute(select(Deferral.id).where(
        Deferral.child_id == child.id, Deferral.status.in_(LIVE),
        Deferral.ends_on >= a.starts_on))).first()
    if live is not None:
        raise Duplicate("the child has a deferral applied for or in force", field="childId")
    needs = _needs_assessment(a)
    row = Deferral(
        child_id=child.id, kind=a.kind, ground=a.ground,
        status=DeferralStatus.AWAITING_ASSESSMENT if needs else DeferralStatus.AWAITING_DECISION,
        district_code=township.parent_code, scope_path=child.scope_path,
        residence_path=child.residence_path, applicant_name=a.applicant_name.strip()[:64],
        applicant_relation=a.applicant_relation, applied_on=a.applied_on,
        evidence=a.evidence.strip(), starts_on=a.starts_on, ends_on=a.ends_on,
        assessment_needed=needs, applied_by=ctx.principal.user_id,
        created_at=ctx.clock.now(), updated_at=ctx.clock.now(),
    )
    ctx.session.add(row)
    await ctx.session.flush()
    link = {"deferral_id": row.id, "child_id": child.id}
    task = (tasks.open_task(ctx, "assess_deferral", "残疾儿童入学鉴定（缓学/免学申请）",
                            AgencyKind.DISABLED_FEDERATION, child.scope_path, link)
            if needs else
            tasks.open_task(ctx, "decide_deferral", "审批缓学/免学申请", AgencyKind.EDUCATION,
                            child.scope_path, link))
    await tasks.publish(ctx, [task])
    history.record(ctx, child.id, "deferral_applied", "监护人书面申请缓学/免学",
                   on=a.applied_on, detail={"deferral": row.id, "kind": a.kind})
    audit.record(ctx, "apply_deferral", "deferral", [row.id],
                 {"child": child.id, "kind": a.kind, "assessment_needed": needs,
                  "starts_on": a.starts_on, "ends_on": a.ends_on, "task": task.id})
    return row


def deferrals_visible(ctx: ServiceContext) -> ColumnElement[bool]:
    """Deferrals of a child the caller may read."""
    return readable_records(ctx, Deferral.child_id, (Deferral.scope_path, Deferral.residence_path))


async def visible_deferral(ctx: ServiceContext, deferral_id: int) -> Deferral:
    """A deferral of a child the caller may read (NOT_FOUND otherwise), locked."""
    return await fetch_visible(ctx, Deferral, deferral_id, where=deferrals_visible(ctx),
                               lock=True, not_found="no such deferral", field="deferralId")


async def _awaiting(
    ctx: ServiceContext, deferral_id: int, act: str, expected_version: int | None,
    status: DeferralStatus,
) -> Deferral:
    """The deferral, locked, once the caller may ``act`` on it in either of its domains, at
    the version the client read and in ``status`` (in that order: fetch, authorize, judge)."""
    d = await visible_deferral(ctx, deferral_id)
    _require(ctx, d.scope_path, d.residence_path, act)
    check_version(d.version, expected_version, "the deferral")
    if d.status is not status:
        raise WrongStage(f"the deferral is {d.status}, not {status}", field="deferralId")
    return d


def _require(ctx: ServiceContext, scope_path: str, residence_path: str, act: str) -> None:
    """Authorize ``act`` in whichever of the record's two domains the caller's grant covers."""
    domain = next((p for p in (scope_path, residence_path)
                   if p and ctx.authz.allowed(ctx.principal, OBJ, act, p)), scope_path)
    ctx.authz.require(ctx.principal, OBJ, act, domain)


async def record_assessment(
    ctx: ServiceContext, *, deferral_id: int, expected_version: int | None, confirmed: bool,
    assessed_on: date, note: str = "",
) -> Deferral:
    """The disabled federation's finding (ST 3): whether the child is unable to learn."""
    d = await _awaiting(ctx, deferral_id, "assess", expected_version,
                        DeferralStatus.AWAITING_ASSESSMENT)
    d.status, d.assessed_on, d.assessment_confirmed = (
        DeferralStatus.AWAITING_DECISION, assessed_on, confirmed)
    d.assessment_note, d.updated_at = note.strip(), ctx.clock.now()
    await tasks.close(ctx, "deferral_id", d.id, {"assess_deferral"}, "已鉴定")
    task = tasks.open_task(ctx, "decide_deferral", "审批缓学/免学申请（已鉴定）",
                           AgencyKind.EDUCATION, d.scope_path,
                           {"deferral_id": d.id, "child_id": d.child_id})
    await tasks.publish(ctx, [task])
    history.record(ctx, d.child_id, "deferral_assessed", "残疾儿童入学鉴定", on=assessed_on,
                   detail={"deferral": d.id})
    audit.record(ctx, "assess_deferral", "deferral", [d.id],
                 {"confirmed": confirmed, "assessed_on": assessed_on})
    return d


async def decide(
    ctx: ServiceContext, *, deferral_id: int, expected_version: int | None, grant: bool,
    reason: str = "", ends_on: date | None,
) -> Deferral:
    """The bureau grants (the child is expected again after ``ends_on``) or refuses."""
    d = await _awaiting(ctx, deferral_id, "decide", expected_version,
                        DeferralStatus.AWAITING_DECISION)
    if not grant and not reason.strip():
        raise InvalidInput("a refusal gives its reason", field="reason")
    if grant and d.assessment_needed and not d.assessment_confirmed:
        raise WrongStage("the assessment did not find the child unable to learn (ST 3)",
                         field="deferralId")
    if ends_on is not None:
        if ends_on <= d.starts_on:
            raise InvalidInput("a deferral ends after it starts", field="endsOn")
        d.ends_on = ends_on
    today = local_date(ctx.clock.now())
    d.status = DeferralStatus.GRANTED if grant else DeferralStatus.REFUSED
    d.decided_on, d.decided_by = today, ctx.principal.user_id
    d.decision_reason, d.updated_at = reason.strip(), ctx.clock.now()
    await tasks.close(ctx, "deferral_id", d.id, {"decide_deferral"}, "已审批")
    if grant:
        await _mark_register(ctx, d, today)
    history.record(ctx, d.child_id, "deferral_granted" if grant else "deferral_refused",
                   d.decision_reason or ("准予" + ("缓学" if d.kind is DeferralKind.DEFERRAL
                                                   else "免学")),
                   detail={"deferral": d.id, "ends_on": d.ends_on})
    await ctx.session.flush()
    audit.record(ctx, "decide_deferral", "deferral", [d.id],
                 {"grant": grant, "reason": d.decision_reason, "ends_on": d.ends_on})
    return d


async def _mark_register(ctx: ServiceContext, d: Deferral, today: date) -> None:
    """An enrolled pupil granted a deferral or exemption: its register entry says so."""
    entry = (await ctx.session.execute(
        select(Enrolment).where(Enrolment.child_id == d.child_id).with_for_update()
    )).scalar_one_or_none()
    if entry is None or entry.status is not EnrolmentStatus.ENROLLED:
        return
    status = (EnrolmentStatus.DEFERRED if d.kind is DeferralKind.DEFERRAL
              else EnrolmentStatus.EXEMPT)
    before = entry.status
    entry.status, entry.status_since, entry.updated_at = status, today, ctx.clock.now()
    history.record(ctx, d.child_id, "status", "缓学/免学", school_id=entry.school_id,
                   from_status=before, to_status=status, detail={"deferral": d.id})


async def deferrals_of(ctx: ServiceContext, child: Child) -> list[Deferral]:
    """A child's deferrals, newest first (the caller read the child)."""
    rows = await ctx.session.execute(
        select(Deferral).where(Deferral.child_id == child.id).order_by(Deferral.id.desc()))
    return list(rows.scalars())
