"""The comparisons' services: starting a run (the bureau), the lists of runs and findings
under the policy, and the verifier's answer (铁脚板摸排) with its effects.

Who sees a finding (filtered in SQL): ``crosscheck`` read over the finding's ``scope_path``
(the township where the child lives: a township its own children, the bureau and the
inspectorate the district's), or ``crosscheck:poverty`` read for the findings of poor and
monitored households only (the poverty office).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, or_, select, update

from authz.filters import scope_filter
from models.child import Child
from models.crosscheck import (
    CrosscheckFinding,
    CrosscheckRun,
    FindingKind,
    FindingStatus,
    VerificationOutcome,
)
from models.enums import AgencyKind, EnrolmentStatus, JurisdictionLevel
from models.imports import BaseRecord
from models.names import name_key
from models.reference import Agency, Jurisdiction
from models.register import Deferral
from models.school import Enrolment, School
from models.task import Task
from workflow import audit
from workflow.calendar import local_date
from workflow.case.progression import open_or_join
from workflow.case.query import OBJ as CASE_OBJ
from workflow.child import child_allowed, visible_child
from workflow.common import (
    bounded_text,
    check_version,
    fetch_visible,
    matches,
    rows_by_ids,
    where_fields,
)
from workflow.context import ServiceContext
from workflow.crosscheck.rules import rules_for
from workflow.crosscheck.run import TASK_KIND, crosscheck_district
from workflow.errors import InvalidInput, NotFound, WrongStage
from workflow.household.corrections import CONFIRM_DEATH
from workflow.pagination import Page, PageRequest, keyset_page
from workflow.register import tasks as register_tasks
from workflow.register import valid_on
from workflow.task import close_tasks

OBJ = "crosscheck"
POVERTY_OBJ = "crosscheck:poverty"
PASSED_TASK = "crosscheck_passed_on"
F = CrosscheckFinding
FIELD = "crosscheckFindingId"
# Outcomes that end the verification; DECEASED waits for the police.
NEEDS = {
    VerificationOutcome.ENROLLED: "childId",
    VerificationOutcome.ELSEWHERE: "districtCode",
    VerificationOutcome.DEFERRED: "deferralId",
}


def visible_findings(ctx: ServiceContext) -> ColumnElement[bool]:
    """The findings the caller may read: by where the child lives, by the school whose
    register holds the child (the school verifies 名在人不在), or the poverty rows."""
    p, authz = ctx.principal, ctx.authz
    schools = (select(School.id).join(Agency, Agency.id == School.agency_id)
               .where(scope_filter(authz, p, OBJ, "read", Agency.scope_path)))
    return or_(
        scope_filter(authz, p, OBJ, "read", F.scope_path),
        F.school_id.in_(schools),
        and_(F.poverty.is_(True), scope_filter(authz, p, POVERTY_OBJ, "read", F.scope_path)),
    )


def _verify_domain(ctx: ServiceContext, finding: CrosscheckFinding, school_path: str | None
                   ) -> None:
    """The verifier acts where the child lives, or at the child's school."""
    if school_path and ctx.authz.allowed(ctx.principal, OBJ, "verify", school_path):
        return
    ctx.authz.require(ctx.principal, OBJ, "verify", finding.scope_path)


def visible_runs(ctx: ServiceContext) -> ColumnElement[bool]:
    return scope_filter(ctx.authz, ctx.principal, OBJ, "read", CrosscheckRun.scope_path)


async def run_crosscheck(ctx: ServiceContext, *, district_code: str, as_of: date
                         ) -> CrosscheckRun:
    """The bureau starts the comparisons of its district (ST 2: by the end of September,
    and the district-wide one by the end of November)."""
    district = await ctx.session.get(Jurisdiction, district_code)
    if district is None or district.level is not JurisdictionLevel.DISTRICT:
        raise NotFound("no such district", field="districtCode")
    ctx.authz.require(ctx.principal, OBJ, "run", district.path)
    if as_of > local_date(ctx.clock.now()):
        raise InvalidInput("the as-of date cannot be in the future", field="asOf")
    return await crosscheck_district(ctx, district_code, as_of, "api")


@dataclass(frozen=True)
class FindingFilter:
    district_code: str | None = matches(F.district_code)
    kind: FindingKind | None = matches(F.kind)
    status: FindingStatus | None = matches(F.status)
    priority: bool | None = matches(F.priority)
    township_code: str | None = matches(F.township_code)


async def findings_page(ctx: ServiceContext, f: FindingFilter, request: PageRequest
                        ) -> Page[CrosscheckFinding]:
    stmt = where_fields(select(F).where(visible_findings(ctx)), f)
    return await keyset_page(ctx, stmt, F.id, request, prefix="findings")


async def get_findings(
    ctx: ServiceContext, ids: Sequence[int]
) -> list[CrosscheckFinding | None]:
    return await rows_by_ids(ctx, select(F).where(visible_findings(ctx)), F.id, ids)


@dataclass(frozen=True)
class RunFilter:
    district_code: str | None = matches(CrosscheckRun.district_code)


async def runs_page(ctx: ServiceContext, f: RunFilter, request: PageRequest
                    ) -> Page[CrosscheckRun]:
    stmt = where_fields(select(CrosscheckRun).where(visible_runs(ctx)), f)
    return await keyset_page(ctx, stmt, CrosscheckRun.id, request, prefix="crosscheckRuns",
                             descending=True)


async def get_runs(ctx: ServiceContext, ids: list[int]) -> list[CrosscheckRun | None]:
    return await rows_by_ids(ctx, select(CrosscheckRun).where(visible_runs(ctx)),
                             CrosscheckRun.id, ids)


# --- the verifier's answer ----------------------------------------------------------------


NOTE_LIMIT = 2000  # as the other free-text notes (home visits, the census)


def _is_the_person(finding: CrosscheckFinding, child: Child) -> bool:
    """The verifier found this person on the register: the finding's own child, one of the
    candidates offered, or a child with the list's ID number or name key and birth date."""
    if child.id == finding.child_id or child.id in (finding.candidate_child_ids or []):
        return True
    if finding.national_id is not None and child.national_id == finding.national_id:
        return True
    key = name_key(finding.name)
    return (key is not None and finding.birth_date is not None
            and child.name_key == key and child.birth_date == finding.birth_date)


async def _child_on_register(ctx: ServiceContext, finding: CrosscheckFinding,
                             child_id: int | None) -> tuple[Child, Enrolment | None]:
    """The child the verifier names: one the caller may read (NOT_FOUND otherwise) and this
    finding's person (BAD_INPUT otherwise: no linking a finding to any child)."""
    if child_id is None:
        raise InvalidInput("name the child on the register", field="childId")
    child = await visible_child(ctx, child_id)
    if not _is_the_person(finding, child):
        raise InvalidInput("the child is not the person of this finding", field="childId")
    entry = (await ctx.session.execute(
        select(Enrolment).where(Enrolment.child_id == child.id))).scalars().first()
    return child, entry


async def _pass_on(ctx: ServiceContext, finding: CrosscheckFinding, district_code: str,
                   outcome: VerificationOutcome) -> int | None:
    """The child is in another district this database holds: a finding there for its
    bureau to confirm (ST 2: 由户籍所在地学区确认去向); the id of that finding."""
    target = await ctx.session.get(Jurisdiction, district_code)
    if target is None or target.level is not JurisdictionLevel.DISTRICT:
        return None
    if target.code == finding.district_code:
        raise InvalidInput("name another district", field="districtCode")
    now = ctx.clock.now()
    there = (await ctx.session.execute(select(F).where(
        F.district_code == target.code, F.kind == finding.kind,
        F.person_key == finding.person_key))).scalar_one_or_none()
    if there is None:
        there = F(district_code=target.code, scope_path=target.path, kind=finding.kind,
                  person_key=finding.person_key, child_id=finding.child_id,
                  name=finding.name, national_id=finding.national_id,
                  birth_date=finding.birth_date, household_no=finding.household_no,
                  poverty=finding.poverty, priority=finding.priority, groups=finding.groups,
                  candidate_child_ids=[], first_run_id=finding.first_run_id,
                  last_run_id=finding.last_run_id, first_seen_on=finding.first_seen_on,
                  last_seen_on=finding.last_seen_on, fingerprint=finding.fingerprint,
                  status=FindingStatus.OPEN,
                  outcome_detail={"passed_from": finding.district_code,
                                  "finding_id": finding.id, "outcome": outcome.value},
                  created_at=now, updated_at=now)
        await audit.insert(ctx, "pass_finding", there, {"from": finding.id})
    elif there.status is not FindingStatus.OPEN:
        audit.record_row(ctx, "reopen_finding", there, {
            "from": finding.id, "status": there.status.value,
            "outcome": there.outcome.value if there.outcome is not None else None})
        there.status, there.outcome, there.task_id, there.updated_at = (
            FindingStatus.OPEN, None, None, now)
    if there.task_id is None:
        due = local_date(now) + timedelta(days=rules_for(target.code).due_days)
        task = register_tasks.open_task(
            ctx, PASSED_TASK, "外区转来：核实适龄儿童就学去向", AgencyKind.EDUCATION,
            target.path, {"finding_id": there.id}, due_on=due)
        await register_tasks.publish(ctx, [task])
        there.task_id = task.id
    return there.id


async def _effects(
    ctx: ServiceContext, finding: CrosscheckFinding, outcome: VerificationOutcome, *,
    child_id: int | None, district_code: str | None, deferral_id: int | None,
    first_absence: date | None, note: str,
) -> tuple[dict[str, Any], bool]:
    """What the outcome does (the table in docs/crosscheck.md): what it links, and whether
    it resolves the finding (DECEASED waits for the police)."""
    now = ctx.clock.now()
    detail: dict[str, Any] = {"note": note} if note else {}
    resolved = True
    if outcome is VerificationOutcome.ENROLLED:
        child, entry = await _child_on_register(ctx, finding, child_id)
        if entry is None or entry.status is not EnrolmentStatus.ENROLLED:
            raise InvalidInput("the child is not enrolled at a school", field="childId")
        detail.update(child_id=child.id, school_id=entry.school_id)
        finding.child_id = child.id
        if finding.base_record_id is not None:
            # The verifier confirmed who the person is: the record is that child now.
            await ctx.session.execute(update(BaseRecord).where(
                BaseRecord.id == finding.base_record_id).values(child_id=child.id))
    elif outcome in (VerificationOutcome.ELSEWHERE, VerificationOutcome.MOVED_AWAY):
        if district_code is not None:
            if not (district_code.isdigit() and len(district_code) == 6):
                raise InvalidInput("a district code has 6 digits (GB/T 2260)",
                                   field="districtCode")
            detail["district_code"] = district_code
            passed = await _pass_on(ctx, finding, district_code, outcome)
            if passed is not None:
                detail["passed_to_finding"] = passed
    elif outcome is VerificationOutcome.DEFERRED:
        deferral = (await ctx.session.execute(select(Deferral).where(
            Deferral.id == deferral_id, valid_on(local_date(now))))).scalar_one_or_none()
        person: int | None
        if child_id is not None:
            person = (await _child_on_register(ctx, finding, child_id))[0].id
        elif finding.child_id is not None:
            person = finding.child_id
        elif finding.national_id is not None:
            person = (await ctx.session.execute(select(Child.id).where(
                Child.national_id == finding.national_id))).scalar_one_or_none()
        else:
            # No ID number to find the child by (IS NULL would match every child without).
            raise InvalidInput("name the child the deferral is for", field="childId")
        if deferral is None or person is None or deferral.child_id != person:
            raise NotFound("no deferral or exemption in force for this child",
                           field="deferralId")
        detail["deferral_id"] = deferral.id
    elif outcome is VerificationOutcome.DECEASED:
        resolved = False  # open until the police confirm (their household correction)
        # The police's confirmation task (their household correction closes it, ST 8).
        link = {"finding_id": finding.id}
        if finding.child_id is not None:
            link["child_id"] = finding.child_id
        if finding.base_record_id is not None:
            link["base_record_id"] = finding.base_record_id
        task = register_tasks.open_task(
            ctx, CONFIRM_DEATH, "核实报告死亡的适龄儿童并更正户籍（ST 8）", AgencyKind.POLICE,
            finding.scope_path, link)
        await register_tasks.publish(ctx, [task])
        detail["police_task_id"] = task.id
    elif outcome is VerificationOutcome.DROPOUT_CONFIRMED:
        child, _ = await _child_on_register(ctx, finding, child_id or finding.child_id)
        if not child_allowed(ctx, child, CASE_OBJ, "report_absence"):
            # As reportAbsence: the right to open a case on this child.
            ctx.authz.require(ctx.principal, CASE_OBJ, "report_absence", child.scope_path)
        day0 = first_absence or finding.first_seen_on
        if day0 > local_date(now):
            raise InvalidInput("the first absence cannot be in the future",
                               field="firstAbsence")
        case, _opened = await open_or_join(
            ctx, child, day0, note, source={"crosscheck_finding": finding.id})
        finding.case_id = case.id
        detail.update(child_id=child.id, case_id=case.id)
    return detail, resolved


async def resolve_verification(
    ctx: ServiceContext,
    *,
    crosscheck_finding_id: int,
    outcome: VerificationOutcome,
    expected_version: int | None = None,
    child_id: int | None = None,
    district_code: str | None = None,
    deferral_id: int | None = None,
    first_absence: date | None = None,
    note: str = "",
) -> CrosscheckFinding:
    """What the door-to-door check found, and what follows from it (docs/crosscheck.md)."""
    finding = await fetch_visible(ctx, F, crosscheck_finding_id, where=visible_findings(ctx),
                                  lock=True, not_found="no such finding", field=FIELD)
    school_path = None
    if finding.school_id is not None:
        school_path = (await ctx.session.execute(
            select(Agency.scope_path).join(School, School.agency_id == Agency.id)
            .where(School.id == finding.school_id))).scalar_one_or_none()
    _verify_domain(ctx, finding, school_path)
    check_version(finding.version, expected_version, "the finding")
    if finding.status is not FindingStatus.OPEN:
        raise WrongStage(f"the finding is {finding.status.value}", field=FIELD)
    if finding.outcome is VerificationOutcome.DECEASED:
        raise WrongStage("the finding awaits the police's confirmation", field=FIELD)
    if outcome in NEEDS and {"childId": child_id, "districtCode": district_code,
                             "deferralId": deferral_id}[NEEDS[outcome]] is None:
        raise InvalidInput(f"{outcome.value} needs {NEEDS[outcome]}", field=NEEDS[outcome])
    note = bounded_text(note, "note", NOTE_LIMIT, required=False)
    now = ctx.clock.now()
    detail, resolved = await _effects(ctx, finding, outcome, child_id=child_id,
                                      district_code=district_code, deferral_id=deferral_id,
                                      first_absence=first_absence, note=note)
    finding.outcome = outcome
    finding.outcome_detail = detail
    finding.updated_at = now
    if resolved:
        finding.status = FindingStatus.RESOLVED
        finding.resolved_at, finding.resolved_by = now, ctx.principal.user_id
    if finding.task_id is not None:
        await close_tasks(ctx, Task.id == finding.task_id, {TASK_KIND, PASSED_TASK},
                          f"摸排结果：{outcome.value}")
    audit.record_row(ctx, "resolve_verification", finding,
                     {"outcome": outcome.value, **detail})
    await ctx.session.flush()
    return finding
