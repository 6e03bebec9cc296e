"""Supervision (督导检查, LS 9; GH 三(六); ST 10): the inspectorate inspects a township, a
school or an agency of its district and records what it found; each finding is a
rectification the supervised unit owes by a deadline (限期整改: a task in the unit's queue,
due after the district's days in ``reference_data/supervision.json``); the unit reports it
done, the inspectorate accepts it or returns it (a new task); the supervision closes when
every finding is accepted. The results go to the government (LS 9: "将检查结果向同级人民政府
报告") as a report, XLSX or PDF, through the reports' own outputs (``workflow/report``).

Who sees what: the inspectorate and the bureau read the district's supervisions
(``supervision read``); a supervised unit reads only its own, the ones of its agency, which
it rectifies (``supervision rectify`` on its domain). A finding may rest on an
accountability item of the same unit (``accountability_item_id``): the scan's evidence and
the inspection's finding are then one matter, followed up once.
"""

from __future__ import annotations

import asyncio
import enum
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import cache
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, or_, select

from authz.errors import Forbidden
from authz.filters import covers, scope_filter
from models.enums import (
    AgencyKind,
    JurisdictionLevel,
    RectificationStatus,
    SupervisionStatus,
    TaskStatus,
)
from models.reference import Agency, Jurisdiction
from models.supervision import Supervision, SupervisionFinding
from models.task import Task
from workflow import accountability as accountability_service
from workflow import audit
from workflow.calendar import local_date
from workflow.common import (
    check_version,
    fetch_visible,
    finish_task,
    rows_by_ids,
    rows_grouped,
    where_given,
)
from workflow.context import ServiceContext
from workflow.errors import InvalidInput, NotFound, WrongStage
from workflow.infra import reference_json
from workflow.infra.events import TaskEvent
from workflow.pagination import Page, PageRequest, keyset_page
from workflow.report import XLSX_TYPE, ExportFormat, ReportFile, pdf, xlsx

OBJ = "supervision"
TASK_KIND = "supervision_rectification"
FIELD = "supervisionFindingId"  # the input field naming a finding
BELOW_DISTRICT = (JurisdictionLevel.TOWNSHIP,)
LIMITS = {"title": 200, "inspectors": 300, "summary": 4000, "description": 4000,
          "rectification": 4000, "note": 2000}


@dataclass(frozen=True)
class Rules:
    """A district's supervision data: the days to rectify, the days a returned rectification
    gets, to whom the results go, and the rules cited."""

    rectification_days: int
    resubmit_days: int
    report_to: str
    basis: tuple[dict[str, str], ...]


@cache
def rules_for(district_code: str) -> Rules:
    data = reference_json.load("supervision.json")
    merged = {**data["default"], **data.get(district_code, {})}
    return Rules(merged["rectification_days"], merged["resubmit_days"], merged["report_to"],
                 tuple(merged["basis"]))


class Decision(enum.Enum):
    """The inspectorate's decision on a reported rectification."""

    ACCEPT = "accept"
    RETURN = "return"


@dataclass(frozen=True)
class FindingDraft:
    """A problem found, and the accountability item of the same unit it bears on, if any."""

    description: str
    accountability_item_id: int | None = None


@dataclass(frozen=True)
class SupervisionFilter:
    status: SupervisionStatus | None = None


def visible(ctx: ServiceContext) -> ColumnElement[bool]:
    """The district's supervisions to the inspectorate and the bureau; a unit's own (its
    agency's) to the unit."""
    own = Supervision.subject_agency_id == ctx.principal.agency_id
    return or_(
        scope_filter(ctx.authz, ctx.principal, OBJ, "read", Supervision.subject_path),
        and_(own, scope_filter(ctx.authz, ctx.principal, OBJ, "rectify",
                               Supervision.subject_path)),
    )


def _query(ctx: ServiceContext) -> Select[Supervision]:
    return select(Supervision).where(visible(ctx))


async def supervisions_page(
    ctx: ServiceContext, f: SupervisionFilter, request: PageRequest
) -> Page[Supervision]:
    """One page of the supervisions the caller may see, oldest first."""
    stmt = where_given(_query(ctx), (Supervision.status, f.status))
    return await keyset_page(ctx, stmt, Supervision.id, request, prefix="supervision")


async def get_supervisions(ctx: ServiceContext, ids: Sequence[int]) -> list[Supervision | None]:
    return await rows_by_ids(ctx, _query(ctx), Supervision.id, ids)


def _findings(ctx: ServiceContext) -> Select[SupervisionFinding]:
    return (select(SupervisionFinding)
            .join(Supervision, Supervision.id == SupervisionFinding.supervision_id)
            .where(visible(ctx)))


async def get_findings(
    ctx: ServiceContext, ids: Sequence[int]
) -> list[SupervisionFinding | None]:
    return await rows_by_ids(ctx, _findings(ctx), SupervisionFinding.id, ids)


async def findings_of(
    ctx: ServiceContext, supervision_ids: Sequence[int]
) -> list[list[SupervisionFinding]]:
    """Each supervision's findings in the order recorded (callers pass supervisions they
    were allowed to read)."""
    stmt = select(SupervisionFinding).order_by(SupervisionFinding.id)
    return await rows_grouped(ctx, stmt, SupervisionFinding.supervision_id, supervision_ids)


def _text(value: str, field: str, required: bool = True) -> str:
    text = value.strip()
    if required and not text:
        raise InvalidInput(f"{field} is required", field=field)
    if len(text) > LIMITS[field]:
        raise InvalidInput(f"{field} is at most {LIMITS[field]} characters", field=field)
    return text


async def _district(ctx: ServiceContext, code: str, field: str) -> Jurisdiction:
    """The county-level district of a jurisdiction (itself, or its township's)."""
    place = await ctx.session.get(Jurisdiction, code)
    while place is not None and place.level in BELOW_DISTRICT and place.parent_code:
        place = await ctx.session.get(Jurisdiction, place.parent_code)
    if place is None or place.level is not JurisdictionLevel.DISTRICT:
        raise InvalidInput("supervision is of a district's townships, schools and agencies",
                           field=field)
    return place


def _task(finding: SupervisionFinding, supervision: Supervision, title: str,
          now: datetime) -> Task:
    """The supervised unit's task to rectify a finding by its deadline, in its queue."""
    return Task(kind=TASK_KIND, title=title[:200], agency_kind=supervision.subject_kind,
                scope_path=supervision.subject_path, due_on=finding.due_on, priority=2,
                status=TaskStatus.OPEN, created_at=now, updated_at=now,
                evidence={"supervision_id": supervision.id, "finding_id": finding.id})


async def _give_task(ctx: ServiceContext, finding: SupervisionFinding,
                     supervision: Supervision, title: str) -> None:
    task = _task(finding, supervision, title, ctx.clock.now())
    ctx.session.add(task)
    await ctx.session.flush()
    finding.task_id = task.id
    ctx.events.append(TaskEvent("created", task.id, task.agency_kind.value, task.scope_path))


async def _linked_items(
    ctx: ServiceContext, subject_path: str, drafts: Sequence[FindingDraft]
) -> None:
    """The accountability items the findings name: each one the caller may read (else
    NOT_FOUND) and about the same unit (else BAD_INPUT)."""
    ids = [d.accountability_item_id for d in drafts if d.accountability_item_id is not None]
    if not ids:
        return
    items = {i.id: i for i in await accountability_service.get_items(ctx, ids) if i is not None}
    for item_id in ids:
        item = items.get(item_id)
        if item is None:
            raise NotFound("no such accountability item", field="accountabilityItemId")
        if item.subject_path != subject_path:
            raise InvalidInput("the accountability item concerns another unit",
                               field="accountabilityItemId")


async def record(
    ctx: ServiceContext, *, subject_agency_id: int, title: str, visited_on: date,
    inspectors: str, summary: str, findings: Sequence[FindingDraft],
) -> Supervision:
    """The inspectorate records a supervision of a unit with its findings; each finding gets
    its rectification deadline (the district's days from today, ST 10 限期整改) and a task in
    the unit's queue. With nothing found the supervision is closed at once."""
    agency = await ctx.session.get(Agency, subject_agency_id)
    if agency is None:
        raise NotFound("no such agency", field="subjectAgencyId")
    ctx.authz.require(ctx.principal, OBJ, "write", agency.scope_path)
    if agency.kind is AgencyKind.INSPECTORATE:
        raise InvalidInput("the inspectorate does not supervise itself", field="subjectAgencyId")
    today, now = local_date(ctx.clock.now()), ctx.clock.now()
    if visited_on > today:
        raise InvalidInput("the visit is in the future", field="visitedOn")
    district = (await _district(ctx, agency.jurisdiction_code, "subjectAgencyId")).code
    drafts = [FindingDraft(_text(d.description, "description"), d.accountability_item_id)
              for d in findings]
    await _linked_items(ctx, agency.scope_path, drafts)
    supervision = Supervision(
        district_code=district, subject_agency_id=agency.id, subject_kind=agency.kind,
        subject_path=agency.scope_path, subject_name=agency.name[:128],
        title=_text(title, "title"), visited_on=visited_on,
        inspectors=_text(inspectors, "inspectors"), summary=_text(summary, "summary", False),
        status=SupervisionStatus.RECTIFYING if drafts else SupervisionStatus.CLOSED,
        recorded_at=now, recorded_by=ctx.principal.user_id,
        closed_at=None if drafts else now,
    )
    ctx.session.add(supervision)
    await ctx.session.flush()
    due = today + timedelta(days=rules_for(district).rectification_days)
    rows = [SupervisionFinding(supervision_id=supervision.id, description=d.description,
                               due_on=due, accountability_item_id=d.accountability_item_id,
                               review_note="", rectification="")
            for d in drafts]
    ctx.session.add_all(rows)
    await ctx.session.flush()
    for n, finding in enumerate(rows, start=1):
        await _give_task(ctx, finding, supervision,
                         f"督导整改（{supervision.subject_name}，问题{n}）：{finding.description}")
    await ctx.session.flush()
    audit.record(ctx, "record_supervision", "supervision", [supervision.id],
                 {"subject": agency.id, "visited_on": visited_on.isoformat(),
                  "findings": [f.id for f in rows], "due_on": due.isoformat()})
    return supervision


async def _finding(
    ctx: ServiceContext, finding_id: int
) -> tuple[SupervisionFinding, Supervision]:
    finding = await fetch_visible(ctx, SupervisionFinding, finding_id, lock=True,
                                  where=SupervisionFinding.supervision_id.in_(
                                      _query(ctx).with_only_columns(Supervision.id)),
                                  not_found="no such supervision finding", field=FIELD)
    supervision = await ctx.session.get(Supervision, finding.supervision_id)
    assert supervision is not None
    return finding, supervision


async def report_rectification(
    ctx: ServiceContext, *, supervision_finding_id: int, rectification: str,
    expected_version: int | None,
) -> SupervisionFinding:
    """The supervised unit reports what it did to rectify a finding; its task is done and
    the inspectorate has the rectification to check."""
    finding, supervision = await _finding(ctx, supervision_finding_id)
    ctx.authz.require(ctx.principal, OBJ, "rectify", supervision.subject_path)
    if ctx.principal.agency_id != supervision.subject_agency_id:
        raise Forbidden("not allowed to rectify supervision")
    check_version(finding.version, expected_version, "the finding")
    if finding.status not in (RectificationStatus.OPEN, RectificationStatus.RETURNED):
        raise WrongStage(f"the rectification is {finding.status.value}", field=FIELD)
    before = finding.status
    finding.rectification = _text(rectification, "rectification")
    finding.status = RectificationStatus.REPORTED
    finding.reported_at, finding.reported_by = ctx.clock.now(), ctx.principal.user_id
    await finish_task(ctx, finding.task_id, "已报告整改情况")
    await ctx.session.flush()
    audit.record(ctx, "report_rectification", "supervision_finding", [finding.id],
                 {"status": [before.value, finding.status.value],
                  "supervision": supervision.id})
    return finding


async def review_rectification(
    ctx: ServiceContext, *, supervision_finding_id: int, decision: Decision, note: str = "",
    expected_version: int | None,
) -> SupervisionFinding:
    """The inspectorate accepts a reported rectification, or returns it with the reason (a
    new task, due after the district's days for a returned one). The supervision closes
    when every finding is accepted."""
    finding, supervision = await _finding(ctx, supervision_finding_id)
    ctx.authz.require(ctx.principal, OBJ, "review", supervision.subject_path)
    check_version(finding.version, expected_version, "the finding")
    if finding.status is not RectificationStatus.REPORTED:
        raise WrongStage(f"the rectification is {finding.status.value}", field=FIELD)
    text = _text(note, "note", required=decision is Decision.RETURN)
    now = ctx.clock.now()
    finding.reviewed_at, finding.reviewed_by, finding.review_note = (
        now, ctx.principal.user_id, text)
    if decision is Decision.ACCEPT:
        finding.status = RectificationStatus.ACCEPTED
        others = (await ctx.session.execute(
            select(SupervisionFinding.status).where(
                SupervisionFinding.supervision_id == supervision.id,
                SupervisionFinding.id != finding.id))).scalars()
        if all(s is RectificationStatus.ACCEPTED for s in others):
            supervision.status, supervision.closed_at = SupervisionStatus.CLOSED, now
    else:
        finding.status = RectificationStatus.RETURNED
        days = rules_for(supervision.district_code).resubmit_days
        finding.due_on = local_date(now) + timedelta(days=days)
        await _give_task(ctx, finding, supervision,
                         f"督导整改退回（{supervision.subject_name}）：{text}")
    await ctx.session.flush()
    audit.record(ctx, f"{decision.value}_rectification", "supervision_finding", [finding.id],
                 {"status": [RectificationStatus.REPORTED.value, finding.status.value],
                  "note": text, "supervision": supervision.id})
    return finding


# --- the results report to the government (LS 9) -----------------------------------------

STATE_NAMES = {
    RectificationStatus.OPEN: "整改中",
    RectificationStatus.REPORTED: "待验收",
    RectificationStatus.ACCEPTED: "已验收",
    RectificationStatus.RETURNED: "退回整改",
}
OVERDUE = "逾期未整改"


async def results(
    ctx: ServiceContext, *, jurisdiction_code: str | None, period_start: date, period_end: date
) -> dict[str, Any]:
    """The supervisions of a district visited in the period and where their findings stand
    (as of today): a row per supervision, the month-by-month count of findings, the rules
    cited and to whom it goes. ``supervision read`` over the district is required."""
    code = jurisdiction_code or ctx.principal.jurisdiction_code
    if await ctx.session.get(Jurisdiction, code) is None:
        raise NotFound("no such jurisdiction", field="jurisdictionCode")
    place = await _district(ctx, code, "jurisdictionCode")
    ctx.authz.require(ctx.principal, OBJ, "read", place.path)
    if period_start > period_end:
        raise InvalidInput("the period ends before it starts", field="periodStart")
    today = local_date(ctx.clock.now())
    rows = (await ctx.session.execute(
        select(Supervision, SupervisionFinding)
        .outerjoin(SupervisionFinding, SupervisionFinding.supervision_id == Supervision.id)
        .where(Supervision.district_code == place.code, covers(Supervision.subject_path,
                                                               place.path),
               Supervision.visited_on >= period_start, Supervision.visited_on <= period_end)
        .order_by(Supervision.visited_on, Supervision.id, SupervisionFinding.id))).all()
    table: dict[int, dict[str, Any]] = {}
    months: Counter[str] = Counter()
    for supervision, finding in rows:
        line = table.setdefault(supervision.id, {
            "unit": supervision.subject_name, "visited_on": supervision.visited_on.isoformat(),
            "title": supervision.title, "findings": 0, **dict.fromkeys(STATE_NAMES.values(), 0),
            OVERDUE: 0, "closed": supervision.status is SupervisionStatus.CLOSED})
        if finding is None:
            continue
        line["findings"] += 1
        line[STATE_NAMES[finding.status]] += 1
        if finding.status is not RectificationStatus.ACCEPTED and finding.due_on < today:
            line[OVERDUE] += 1
        months[supervision.visited_on.strftime("%Y-%m")] += 1
    rules = rules_for(place.code)
    return {"district": place.name, "report_to": rules.report_to, "basis": list(rules.basis),
            "period_start": period_start.isoformat(), "period_end": period_end.isoformat(),
            "as_of": today.isoformat(), "rows": list(table.values()),
            "by_month": [{"month": m, "findings": n} for m, n in sorted(months.items())]}


HEADERS = ["被督导单位", "督导日期", "发现问题", *STATE_NAMES.values(), OVERDUE]
STATES = ["findings", *STATE_NAMES.values(), OVERDUE]


async def results_report(
    ctx: ServiceContext, *, jurisdiction_code: str | None, period_start: date,
    period_end: date, format: ExportFormat,
) -> ReportFile:
    """The results report (督导检查结果报告) to the government, as XLSX (native charts) or a
    printable PDF, in Chinese, through the reports' own outputs."""
    found = await results(ctx, jurisdiction_code=jurisdiction_code, period_start=period_start,
                          period_end=period_end)
    title = "控辍保学督导检查结果报告"
    rows = [[r["unit"], r["visited_on"], *(r[k] for k in STATES)] for r in found["rows"]]
    name = f"supervision-{found['district']}-{period_start.isoformat()}-{period_end.isoformat()}"
    if format is ExportFormat.XLSX:
        content = xlsx.tables(title, found["district"], [
            xlsx.Sheet("督导结果", HEADERS, rows, "column", "各单位问题整改情况",
                       ((2, "发现问题"), (5, "已验收"), (7, OVERDUE))),
            xlsx.Sheet("逐月问题", ["月份", "发现问题"],
                       [[m["month"], m["findings"]] for m in found["by_month"]], "line",
                       "逐月发现问题数", ((1, "发现问题"),)),
        ])
        return ReportFile(f"{name}.xlsx", XLSX_TYPE, content)
    basis = "；".join(f"{b['source_key']} {b['article']}：“{b['quote']}”" for b in found["basis"])
    shown = {
        "title": title,
        "subtitle": f"{found['district']}　督导期间 {found['period_start']} 至 "
                    f"{found['period_end']}　报送：{found['report_to']}",
        "headers": HEADERS,
        "rows": [[str(c) for c in r] for r in rows] or [["（本期无督导）", *[""] * 7]],
        "by_unit_title": "各单位发现问题数",
        "by_unit": [{"label": r["unit"], "value": r["findings"]} for r in found["rows"]],
        "by_month_title": "逐月发现问题数",
        "by_month": [{"label": m["month"], "value": m["findings"]} for m in found["by_month"]],
        "note": f"依据：{basis}。整改情况统计截至 {found['as_of']}。",
        "unit": ctx.principal.agency_name, "as_of": found["as_of"],
    }
    return ReportFile(f"{name}.pdf", "application/pdf",
                      await asyncio.to_thread(pdf.render_document, shown))
