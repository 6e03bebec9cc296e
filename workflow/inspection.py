"""Child-labour inspections (劳动保障监察): campaigns, planning, visits, completion, roll-up.

Human resources plans and leads them (SPT 6(8), GH 二(六)); police, market supervision, civil
affairs and the township take part (ST 8). An inspection's domain is the lead's district, or
one township's path when it stays in that township; the agencies with ``inspection, read``
there see it. The roll-up counts each agency's tasks that followed from its findings.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import ColumnElement, Select, case, func, select

from authz.errors import Forbidden
from authz.filters import scope_filter
from models.employer import Employer
from models.enums import AgencyKind, InspectionKind, InspectionStatus, JurisdictionLevel, TaskStatus
from models.finding import LabourFinding
from models.inspection import Campaign, Inspection, InspectionParticipant, InspectionVisit
from models.reference import Agency, Jurisdiction
from models.task import Task
from workflow import audit
from workflow.calendar import local_date
from workflow.common import (
    check_version,
    fetch_readable,
    matches,
    open_task,
    rows_by_ids,
    rows_grouped,
    where_fields,
)
from workflow.context import ServiceContext
from workflow.employer import get_employers, visible_employer
from workflow.errors import InvalidInput, NotFound, WrongStage
from workflow.pagination import Page, PageRequest, keyset_page

OBJ = "inspection"


def visible(ctx: ServiceContext) -> ColumnElement[bool]:
    return scope_filter(ctx.authz, ctx.principal, OBJ, "read", Inspection.scope_path)


@dataclass(frozen=True)
class InspectionFilter:
    status: InspectionStatus | None = matches(Inspection.status)
    campaign_id: int | None = matches(Inspection.campaign_id)
    employer_id: int | None = None
    planned_from: date | None = None
    planned_to: date | None = None


def inspections_query(ctx: ServiceContext, f: InspectionFilter) -> Select[Inspection]:
    stmt = where_fields(select(Inspection).where(visible(ctx)), f)
    if f.employer_id is not None:
        stmt = stmt.where(
            Inspection.id.in_(
                select(InspectionVisit.inspection_id).where(
                    InspectionVisit.employer_id == f.employer_id
                )
            )
        )
    if f.planned_from is not None:
        stmt = stmt.where(Inspection.planned_on >= f.planned_from)
    if f.planned_to is not None:
        stmt = stmt.where(Inspection.planned_on <= f.planned_to)
    return stmt


async def inspections_page(
    ctx: ServiceContext, f: InspectionFilter, request: PageRequest
) -> Page[Inspection]:
    """One page of the inspections the caller may see, newest first
    (``inspections_query``)."""
    return await keyset_page(
        ctx, inspections_query(ctx, f), Inspection.id, request, prefix="inspection", descending=True
    )


async def get_inspections(ctx: ServiceContext, ids: Sequence[int]) -> list[Inspection | None]:
    return await rows_by_ids(ctx, select(Inspection).where(visible(ctx)), Inspection.id, ids)


async def visible_inspection(
    ctx: ServiceContext, inspection_id: int, *, lock: bool = False
) -> Inspection:
    return await fetch_readable(ctx, Inspection, inspection_id, OBJ, lock=lock,
                                not_found="no such inspection", field="inspectionId")


async def _changing(
    ctx: ServiceContext,
    inspection_id: int,
    expected_version: int | None,
    in_status: InspectionStatus | None = None,
    wrong: str = "the inspection is {status}",
) -> Inspection:
    """The inspection, locked, for a change the caller may write; WRONG_STAGE (``wrong``,
    with the inspection's ``{status}``) unless it is ``in_status`` when one is given."""
    inspection = await visible_inspection(ctx, inspection_id, lock=True)
    ctx.authz.require(ctx.principal, OBJ, "write", inspection.scope_path)
    check_version(inspection.version, expected_version, "the inspection")
    if in_status is not None and inspection.status is not in_status:
        raise WrongStage(wrong.format(status=inspection.status.value), field="inspectionId")
    return inspection


async def campaigns_of(ctx: ServiceContext, ids: Sequence[int]) -> list[Campaign | None]:
    """Campaigns the caller may see: the inspection policy over the campaign's district."""
    visible_campaign = scope_filter(ctx.authz, ctx.principal, OBJ, "read", Campaign.scope_path)
    return await rows_by_ids(ctx, select(Campaign).where(visible_campaign), Campaign.id, ids)


async def participants_of(
    ctx: ServiceContext, ids: Sequence[int]
) -> list[list[InspectionParticipant]]:
    stmt = select(InspectionParticipant).order_by(InspectionParticipant.id)
    return await rows_grouped(ctx, stmt, InspectionParticipant.inspection_id, ids)


async def visits_of(ctx: ServiceContext, ids: Sequence[int]) -> list[list[InspectionVisit]]:
    stmt = select(InspectionVisit).order_by(InspectionVisit.id)
    return await rows_grouped(ctx, stmt, InspectionVisit.inspection_id, ids)


async def visits_of_employers(
    ctx: ServiceContext, employer_ids: Sequence[int]
) -> list[list[InspectionVisit]]:
    """An employer's inspection history, as far as the caller may see the inspections."""
    stmt = (
        select(InspectionVisit)
        .join(Inspection, Inspection.id == InspectionVisit.inspection_id)
        .where(visible(ctx))
        .order_by(Inspection.planned_on.desc(), InspectionVisit.id)
    )
    return await rows_grouped(ctx, stmt, InspectionVisit.employer_id, employer_ids)


@dataclass
class AgencyPart:
    """One agency's share of the work that followed from an inspection's findings."""

    agency_kind: AgencyKind
    open: int = 0
    done: int = 0
    cancelled: int = 0
    overdue: int = 0
    next_due_on: date | None = None


async def progress_of(ctx: ServiceContext, ids: Sequence[int]) -> list[list[AgencyPart]]:
    """Per inspection, per agency: tasks open, done, overdue, and the nearest due date. One
    grouped statement for all inspections; counts reveal no child to any reader."""
    today = local_date(ctx.clock.now())
    is_open = open_task()
    rows = (
        await ctx.session.execute(
            select(
                LabourFinding.inspection_id,
                Task.agency_kind,
                func.sum(case((is_open, 1), else_=0)),
                func.sum(case((Task.status == TaskStatus.DONE, 1), else_=0)),
                func.sum(case((Task.status == TaskStatus.CANCELLED, 1), else_=0)),
                func.sum(case((is_open & (Task.due_on < today), 1), else_=0)),
                func.min(case((is_open, Task.due_on), else_=None)),
            )
            .join(LabourFinding, LabourFinding.id == Task.finding_id)
            .where(LabourFinding.inspection_id.in_(ids))
            .group_by(LabourFinding.inspection_id, Task.agency_kind)
            .order_by(LabourFinding.inspection_id, Task.agency_kind)
        )
    ).all()
    by: dict[int, list[AgencyPart]] = {i: [] for i in ids}
    for inspection_id, kind, n_open, n_done, n_cancelled, n_overdue, next_due in rows:
        by[inspection_id].append(
            AgencyPart(
                agency_kind=kind,
                open=int(n_open or 0),
                done=int(n_done or 0),
                cancelled=int(n_cancelled or 0),
                overdue=int(n_overdue or 0),
                next_due_on=next_due,
            )
        )
    return [by[i] for i in ids]


# --- changing --------------------------------------------------------------------------


def _lead(ctx: ServiceContext) -> tuple[int, str]:
    if ctx.principal.agency_id is None:
        raise Forbidden("inspections are led by an agency")
    return ctx.principal.agency_id, ctx.principal.jurisdiction_code


async def _district(ctx: ServiceContext, code: str) -> Jurisdiction:
    j = await ctx.session.get(Jurisdiction, code)
    if j is None:
        raise InvalidInput("unknown jurisdiction", field="jurisdictionCode")
    if j.level is JurisdictionLevel.TOWNSHIP:
        assert j.parent_code is not None
        parent = await ctx.session.get(Jurisdiction, j.parent_code)
        assert parent is not None
        return parent
    return j


async def create_campaign(
    ctx: ServiceContext, *, name: str, starts_on: date, ends_on: date
) -> Campaign:
    """专项检查: the lead agency's district-wide drive over a period."""
    agency_id, jurisdiction = _lead(ctx)
    district = await _district(ctx, jurisdiction)
    ctx.authz.require(ctx.principal, OBJ, "write", district.path)
    if not name.strip() or len(name.strip()) > 200:
        raise InvalidInput("a campaign has a name of 1 to 200 characters", field="name")
    if ends_on < starts_on:
        raise InvalidInput("a campaign ends on or after the day it starts", field="endsOn")
    if (ends_on - starts_on).days > 366:
        raise InvalidInput("a campaign lasts at most a year", field="endsOn")
    campaign = Campaign(
        name=name.strip(),
        district_code=district.code,
        scope_path=district.path,
        starts_on=starts_on,
        ends_on=ends_on,
        lead_agency_id=agency_id,
        created_at=ctx.clock.now(),
        created_by=ctx.principal.user_id,
    )
    await audit.insert(
        ctx,
        "create_campaign",
        campaign,
        {"name": campaign.name, "starts_on": starts_on, "ends_on": ends_on},
    )
    return campaign


@dataclass(frozen=True)
class ParticipantIn:
    agency_id: int
    officer_name: str = ""


async def _plan_scope(
    ctx: ServiceContext, district: Jurisdiction, township_code: str | None
) -> str:
    """The inspection's area: the district, or a township of it the caller may write in."""
    if township_code is None:
        return district.path
    township = await ctx.session.get(Jurisdiction, township_code)
    if township is None or township.parent_code != district.code:
        raise InvalidInput("not a township of the lead's district", field="townshipCode")
    ctx.authz.require(ctx.principal, OBJ, "write", township.path)
    return township.path


async def _check_campaign(
    ctx: ServiceContext, campaign_id: int | None, district: Jurisdiction, planned_on: date
) -> None:
    """A campaign named must be the district's, and the date within its period."""
    if campaign_id is None:
        return
    campaign = await ctx.session.get(Campaign, campaign_id)
    if campaign is None or campaign.district_code != district.code:
        raise NotFound("no such campaign", field="campaignId")
    if not campaign.starts_on <= planned_on <= campaign.ends_on:
        raise InvalidInput("the date is outside the campaign's period", field="plannedOn")


async def _employers_in(
    ctx: ServiceContext, employer_ids: Sequence[int], scope: str
) -> list[Employer]:
    """The employers to visit: each listed once, visible, and inside the area."""
    if len(set(employer_ids)) != len(employer_ids):
        raise InvalidInput("an employer is listed twice", field="employerIds")
    if len(employer_ids) > 200:
        raise InvalidInput("at most 200 employers per inspection", field="employerIds")
    found = await get_employers(ctx, employer_ids)
    if any(e is None for e in found):
        raise NotFound("no such employer", field="employerIds")
    employers = [e for e in found if e is not None]
    for e in employers:
        if not (e.scope_path == scope or e.scope_path.startswith(scope + "/")):
            raise InvalidInput(f"{e.name} is outside the inspection's area", field="employerIds")
    return employers


async def _participants(
    ctx: ServiceContext,
    inspection: Inspection,
    agency_id: int,
    district: Jurisdiction,
    participants: Sequence[ParticipantIn],
) -> list[InspectionParticipant]:
    """The lead's officer, then each agency of the district joining, each listed once."""
    seen: set[tuple[int, str]] = set()
    rows = [
        InspectionParticipant(
            inspection_id=inspection.id,
            agency_id=agency_id,
            agency_kind=ctx.principal.agency_kind or AgencyKind.HUMAN_RESOURCES,
            officer_name=ctx.principal.display_name,
        )
    ]
    seen.add((agency_id, ctx.principal.display_name))
    for p in participants:
        agency = await ctx.session.get(Agency, p.agency_id)
        if agency is None or not (
            agency.scope_path == district.path or agency.scope_path.startswith(district.path + "/")
        ):
            raise InvalidInput(
                "a participant is not an agency of the district", field="participants"
            )
        key = (agency.id, p.officer_name.strip())
        if key in seen:
            raise InvalidInput("a participant is listed twice", field="participants")
        seen.add(key)
        rows.append(
            InspectionParticipant(
                inspection_id=inspection.id,
                agency_id=agency.id,
                agency_kind=agency.kind,
                officer_name=p.officer_name.strip()[:64],
            )
        )
    return rows


async def plan(
    ctx: ServiceContext,
    *,
    kind: InspectionKind,
    title: str,
    planned_on: date,
    employer_ids: Sequence[int],
    participants: Sequence[ParticipantIn] = (),
    campaign_id: int | None = None,
    township_code: str | None = None,
) -> Inspection:
    """Plan an inspection: its employers and the agencies joining the lead."""
    agency_id, jurisdiction = _lead(ctx)
    district = await _district(ctx, jurisdiction)
    # The right over the district first, then the township named in the input.
    ctx.authz.require(ctx.principal, OBJ, "write", district.path)
    scope = await _plan_scope(ctx, district, township_code)
    if not title.strip() or len(title.strip()) > 200:
        raise InvalidInput("an inspection has a title of 1 to 200 characters", field="title")
    today = local_date(ctx.clock.now())
    if planned_on < today - timedelta(days=30):
        raise InvalidInput("an inspection is planned at most 30 days back", field="plannedOn")
    await _check_campaign(ctx, campaign_id, district, planned_on)
    employers = await _employers_in(ctx, employer_ids, scope)
    inspection = Inspection(
        campaign_id=campaign_id,
        kind=kind,
        status=InspectionStatus.PLANNED,
        title=title.strip(),
        lead_agency_id=agency_id,
        district_code=district.code,
        scope_path=scope,
        planned_on=planned_on,
        created_at=ctx.clock.now(),
        created_by=ctx.principal.user_id,
        updated_at=ctx.clock.now(),
    )
    ctx.session.add(inspection)
    await ctx.session.flush()
    rows = await _participants(ctx, inspection, agency_id, district, participants)
    ctx.session.add_all(rows)
    ctx.session.add_all(
        InspectionVisit(inspection_id=inspection.id, employer_id=e.id) for e in employers
    )
    await ctx.session.flush()
    audit.record_row(ctx, "plan_inspection", inspection, {
        "kind": kind.value,
        "planned_on": planned_on,
        "employers": [e.id for e in employers],
        "participants": [r.agency_id for r in rows],
        "campaign_id": campaign_id,
    })
    return inspection


async def start(
    ctx: ServiceContext, *, inspection_id: int, expected_version: int | None
) -> Inspection:
    inspection = await _changing(ctx, inspection_id, expected_version, InspectionStatus.PLANNED)
    inspection.status = InspectionStatus.IN_PROGRESS
    inspection.started_at = inspection.updated_at = ctx.clock.now()
    await ctx.session.flush()
    audit.record_row(ctx, "start_inspection", inspection, {"status": "in_progress"})
    return inspection


async def ensure_visit(
    ctx: ServiceContext,
    inspection: Inspection,
    employer: Employer,
    visited_on: date,
    note: str = "",
) -> InspectionVisit:
    """The employer's visit on this inspection, added if the team went somewhere unplanned."""
    if inspection.status in (InspectionStatus.COMPLETED, InspectionStatus.CANCELLED):
        raise WrongStage(f"the inspection is {inspection.status.value}", field="inspectionId")
    if not (
        employer.scope_path == inspection.scope_path
        or employer.scope_path.startswith(inspection.scope_path + "/")
    ):
        raise InvalidInput("the employer is outside the inspection's area", field="employerId")
    if visited_on < inspection.planned_on:
        raise InvalidInput("a visit is on or after the planned date", field="visitedOn")
    if visited_on > local_date(ctx.clock.now()):
        raise InvalidInput("a visit cannot be in the future", field="visitedOn")
    visit = (
        await ctx.session.execute(
            select(InspectionVisit).where(
                InspectionVisit.inspection_id == inspection.id,
                InspectionVisit.employer_id == employer.id,
            )
        )
    ).scalar_one_or_none()
    if visit is None:
        visit = InspectionVisit(inspection_id=inspection.id, employer_id=employer.id)
        ctx.session.add(visit)
    if visit.visited_on is None:
        visit.visited_on = visited_on
    if note.strip():
        visit.note = (visit.note + "\n" if visit.note else "") + note.strip()[:2000]
    if inspection.status is InspectionStatus.PLANNED:
        inspection.status = InspectionStatus.IN_PROGRESS
        inspection.started_at = ctx.clock.now()
    inspection.updated_at = ctx.clock.now()
    await ctx.session.flush()
    return visit


async def record_visit(
    ctx: ServiceContext, *, inspection_id: int, employer_id: int, visited_on: date, note: str = ""
) -> Inspection:
    inspection = await _changing(ctx, inspection_id, None)
    employer = await visible_employer(ctx, employer_id)
    visit = await ensure_visit(ctx, inspection, employer, visited_on, note)
    audit.record_row(
        ctx,
        "record_visit",
        inspection,
        {"employer_id": employer.id, "visited_on": visit.visited_on},
    )
    return inspection


async def complete(
    ctx: ServiceContext, *, inspection_id: int, summary: str, expected_version: int | None
) -> Inspection:
    inspection = await _changing(
        ctx,
        inspection_id,
        expected_version,
        InspectionStatus.IN_PROGRESS,
        "the inspection is {status}; only one under way completes",
    )
    if len(summary) > 4000:
        raise InvalidInput("a summary is at most 4,000 characters", field="summary")
    inspection.status = InspectionStatus.COMPLETED
    inspection.summary = summary.strip()
    inspection.completed_at = inspection.updated_at = ctx.clock.now()
    await ctx.session.flush()
    audit.record_row(ctx, "complete_inspection", inspection, {"status": "completed"})
    return inspection


async def cancel(
    ctx: ServiceContext, *, inspection_id: int, reason: str, expected_version: int | None
) -> Inspection:
    planned, wrong = InspectionStatus.PLANNED, "only a planned inspection is cancelled"
    inspection = await _changing(ctx, inspection_id, expected_version, planned, wrong)
    if not reason.strip():
        raise InvalidInput("say why the inspection is cancelled", field="reason")
    inspection.status = InspectionStatus.CANCELLED
    inspection.summary = reason.strip()[:4000]
    inspection.updated_at = ctx.clock.now()
    await ctx.session.flush()
    audit.record_row(ctx, "cancel_inspection", inspection, {"reason": reason})
    return inspection
