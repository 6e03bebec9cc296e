"""Periodic reports: opened by the deadline engine's job for every reporting unit with a
task and its due date, drafted from the data, submitted by the unit (the figures frozen),
approved or returned by the level above. Every change is audited."""

from __future__ import annotations

import asyncio
import enum
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import cache
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from authz.enforcer import Authorizer
from authz.filters import scope_filter
from authz.principal import SYSTEM
from models.enums import AgencyKind, JurisdictionLevel, ReportStatus, TaskStatus
from models.reference import Agency, Jurisdiction
from models.report import PeriodicReport
from models.school import School
from models.task import Task
from workflow import audit
from workflow.calendar import local_date
from workflow.clock import FixedClock
from workflow.common import check_version, fetch_visible, finish_task, rows_by_ids, where_given
from workflow.context import ServiceContext
from workflow.engine import REMIND_DAYS, TickReport
from workflow.errors import InvalidInput, WrongStage
from workflow.infra.events import TaskEvent
from workflow.pagination import Page, PageRequest, keyset_page
from workflow.report import pdf, xlsx
from workflow.report.drafting import draft, draft_many
from workflow.report.kinds import (
    UNITS,
    ExportFormat,
    ReportKind,
    kind_of,
    kinds_for,
    period_for,
)

RESUBMIT_DAYS = 5  # a returned report's new task is due this many days after the return
NOTE_LIMIT = 2000


class Decision(enum.Enum):
    """The level above's decision on a submitted report."""

    APPROVE = "approve"
    RETURN = "return"


def _obj(unit_kind: AgencyKind) -> str:
    return "report:school" if unit_kind is AgencyKind.SCHOOL else "report:district"


def visible(ctx: ServiceContext) -> ColumnElement[bool]:
    """A school's reports to its school and the bureau above, the district's to the bureau
    and the inspectorate (``report:school`` / ``report:district`` read on the unit)."""
    return or_(*(
        and_(PeriodicReport.unit_kind == kind,
             scope_filter(ctx.authz, ctx.principal, _obj(kind), "read", PeriodicReport.unit_path))
        for kind in UNITS.values()
    ))


@dataclass(frozen=True)
class ReportFilter:
    """The list's optional filters (each absent one matches every report)."""

    status: ReportStatus | None = None
    kind: str | None = None


def reports_query(ctx: ServiceContext, f: ReportFilter) -> Select[PeriodicReport]:
    return where_given(select(PeriodicReport).where(visible(ctx)),
                       (PeriodicReport.status, f.status), (PeriodicReport.kind, f.kind))


async def get_reports(ctx: ServiceContext, ids: Sequence[int]) -> list[PeriodicReport | None]:
    """The reports of ``ids`` the caller may read (``node``, ``nodes``), None elsewhere."""
    return await rows_by_ids(ctx, select(PeriodicReport).where(visible(ctx)), PeriodicReport.id,
                             ids)


async def reports_page(
    ctx: ServiceContext, f: ReportFilter, request: PageRequest
) -> Page[PeriodicReport]:
    """One page of the reports the caller may read, oldest first."""
    stmt = reports_query(ctx, f)
    return await keyset_page(ctx, stmt, PeriodicReport.id, request, prefix="report")


# --- the scheduled job ---------------------------------------------------------------------

@cache
def _no_rules() -> Authorizer:
    # The job checks no policy (it follows the rules' calendar); this authorizer allows nothing.
    return Authorizer(())


async def _units(
    session: AsyncSession, district: Jurisdiction, kind: ReportKind
) -> list[tuple[str, str, int | None]]:
    """The reporting units of a kind in the district: (scope path, name, school id)."""
    if kind.unit is AgencyKind.SCHOOL:
        rows = await session.execute(
            select(Agency.scope_path, School.name, School.id)
            .join(School, School.agency_id == Agency.id)
            .join(Jurisdiction, Jurisdiction.code == School.township_code)
            .where(Jurisdiction.parent_code == district.code).order_by(School.id))
        return [(path, name, school) for path, name, school in rows.all()]
    bureau = (await session.execute(
        select(Agency.name).where(Agency.jurisdiction_code == district.code,
                                  Agency.kind == AgencyKind.EDUCATION).order_by(Agency.id)
    )).scalars().first()
    return [(district.path, bureau or district.name, None)] if bureau else []


def _task(report: PeriodicReport, title: str, now: datetime, due: date | None = None) -> Task:
    """The unit's task for the report. Made after the pass's reminders and breach marks, it
    carries its own (a report opened late is overdue at once), so the next pass, finding
    nothing new, changes nothing."""
    due_on, today = due or report.due_on, local_date(now)
    return Task(kind="periodic_report", title=title[:200], agency_kind=report.unit_kind,
                scope_path=report.unit_path, due_on=due_on, priority=2,
                status=TaskStatus.OPEN, evidence={"report_id": report.id}, created_at=now,
                updated_at=now,
                reminded_at=now if due_on <= today + timedelta(days=REMIND_DAYS) else None,
                breached_at=now if due_on < today else None)


async def _open(
    session: AsyncSession, district: Jurisdiction, kind: ReportKind, now: datetime
) -> list[PeriodicReport]:
    """The kind's reports of the period open today, one per unit, each new one given its
    task; a report already there (a second pass, another process) is left. Nothing is
    drafted here: until submitted, a report's figures are drafted when read (``figures``),
    so the draft is always the data as it stands and the job stays a few inserts a unit."""
    period = period_for(kind, local_date(now))
    insert_ = (postgresql.insert if session.get_bind().dialect.name == "postgresql"
               else sqlite.insert)
    made = []
    for path, name, school_id in await _units(session, district, kind):
        new_id = (await session.execute(
            insert_(PeriodicReport).values(
                kind=kind.code, district_code=district.code, unit_kind=kind.unit,
                unit_path=path, unit_name=name[:128], school_id=school_id,
                period_start=period.start, period_end=period.end, due_on=period.due_on,
                status=ReportStatus.DRAFT, figures={}, drafted_at=now, review_note="",
                version=1)
            .on_conflict_do_nothing(index_elements=["kind", "unit_path", "period_start"])
            .returning(PeriodicReport.id)
        )).scalar_one_or_none()
        if new_id is None:
            continue
        report = await session.get(PeriodicReport, new_id)
        assert report is not None
        task = _task(report, f"{kind.name}（{name}，{period.label()}）", now)
        session.add(task)
        await session.flush()
        report.task_id = task.id
        made.append(report)
    return made


async def open_reports(session: AsyncSession, now: datetime, report: TickReport) -> None:
    """The engine's job: each district's reports of the periods open today, once."""
    districts = (await session.execute(
        select(Jurisdiction).where(Jurisdiction.level == JurisdictionLevel.DISTRICT,
                                   Jurisdiction.code.in_(select(Agency.jurisdiction_code)
                                                         .where(Agency.kind ==
                                                                AgencyKind.EDUCATION)))
        .order_by(Jurisdiction.code)
    )).scalars().all()
    ctx = ServiceContext(session, SYSTEM, _no_rules(), FixedClock(now), request_id="scheduler")
    for district in districts:
        for kind in kinds_for(district.code):
            made = await _open(session, district, kind, now)
            if not made:
                continue
            await session.flush()
            report.tasks_created += len(made)
            report.events.extend(TaskEvent("created", r.task_id or 0, r.unit_kind.value,
                                           r.unit_path) for r in made)
            audit.record(ctx, "open_periodic_reports", "periodic_report", [r.id for r in made],
                         {"kind": kind.code, "district": district.code})


# --- submitting and reviewing --------------------------------------------------------------

async def _fetch(ctx: ServiceContext, report_id: int, act: str) -> PeriodicReport:
    report = await fetch_visible(ctx, PeriodicReport, report_id, where=visible(ctx), lock=True,
                                 not_found="no such report", field="reportId")
    ctx.authz.require(ctx.principal, _obj(report.unit_kind), act, report.unit_path)
    return report


async def submit(
    ctx: ServiceContext, *, report_id: int, expected_version: int | None
) -> PeriodicReport:
    """The unit submits its report: the figures are drafted once more from the data and
    frozen (what is reproduced later), and its task is done."""
    report = await _fetch(ctx, report_id, "submit")
    check_version(report.version, expected_version, "the report")
    if report.status not in (ReportStatus.DRAFT, ReportStatus.RETURNED):
        raise WrongStage(f"the report is {report.status.value}", field="reportId")
    report.figures = await draft(ctx.session, report, local_date(ctx.clock.now()))
    before, report.status = report.status, ReportStatus.SUBMITTED
    report.submitted_at, report.submitted_by = ctx.clock.now(), ctx.principal.user_id
    await finish_task(ctx, report.task_id, "已报送")
    await ctx.session.flush()
    audit.record(ctx, "submit_periodic_report", "periodic_report", [report.id],
                 {"status": [before.value, "submitted"], "total": report.figures["table"]["total"]})
    return report


async def review(
    ctx: ServiceContext, *, report_id: int, decision: Decision, note: str = "",
    expected_version: int | None,
) -> PeriodicReport:
    """The level above approves a submitted report or returns it with the reason; a
    returned report gets a new task for its unit."""
    report = await _fetch(ctx, report_id, "review")
    check_version(report.version, expected_version, "the report")
    if report.status is not ReportStatus.SUBMITTED:
        raise WrongStage(f"the report is {report.status.value}", field="reportId")
    text = note.strip()
    if decision is Decision.RETURN and not text:
        raise InvalidInput("a returned report needs the reason", field="note")
    if len(text) > NOTE_LIMIT:
        raise InvalidInput(f"the note is at most {NOTE_LIMIT} characters", field="note")
    now = ctx.clock.now()
    report.status = ReportStatus.APPROVED if decision is Decision.APPROVE else (
        ReportStatus.RETURNED)
    report.reviewed_at, report.reviewed_by, report.review_note = now, ctx.principal.user_id, text
    if decision is Decision.RETURN:
        kind = kind_of(report.district_code, report.kind)
        task = _task(report, f"退回修改：{kind.name}（{report.unit_name}）", now,
                     local_date(now) + timedelta(days=RESUBMIT_DAYS))
        ctx.session.add(task)
        await ctx.session.flush()
        report.task_id = task.id
        ctx.events.append(TaskEvent("created", task.id, task.agency_kind.value, task.scope_path))
    await ctx.session.flush()
    audit.record(ctx, f"{decision.value}_periodic_report", "periodic_report", [report.id],
                 {"status": ["submitted", report.status.value], "note": text})
    return report


@dataclass(frozen=True)
class ReportFile:
    filename: str
    content_type: str
    content: bytes

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.content).hexdigest()


XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FROZEN = (ReportStatus.SUBMITTED, ReportStatus.APPROVED)


async def figures(ctx: ServiceContext, report: PeriodicReport) -> dict[str, Any]:
    """What the report says: as submitted (frozen) once submitted, else the draft from the
    data as it stands. The caller passes a report it was allowed to read."""
    return (await figures_of(ctx, [report]))[0]


async def figures_of(
    ctx: ServiceContext, reports: Sequence[PeriodicReport]
) -> list[dict[str, Any]]:
    """``figures`` of many reports (a page: the loader ``report_figures``): the frozen ones
    as submitted, the drafts drafted together in a few statements whatever their number."""
    drafts = [r for r in reports if r.status not in FROZEN]
    drafted = dict(zip((r.id for r in drafts),
                       await draft_many(ctx.session, drafts, local_date(ctx.clock.now()))
                       if drafts else [], strict=True))
    return [drafted.get(r.id, r.figures) for r in reports]


async def export(ctx: ServiceContext, report: PeriodicReport, fmt: ExportFormat) -> ReportFile:
    """The report's figures (``figures``) as XLSX or PDF."""
    name = f"{report.kind}-{report.unit_name}-{report.period_end.isoformat()}"
    shown = await figures(ctx, report)
    if fmt is ExportFormat.XLSX:
        return ReportFile(f"{name}.xlsx", XLSX_TYPE, xlsx.workbook(shown))
    return ReportFile(f"{name}.pdf", "application/pdf", await asyncio.to_thread(pdf.render, shown))
