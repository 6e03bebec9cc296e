"""Teachers' home visits (家访, ST 5): "义务教育学校教师家访每学期至少1次，特殊群体学生要增加家访
次数". A school records its visits to pupils' families outside any case; its coverage in a
term is how many of its pupils had the visits they need (per pupil, the district's minimum
for the special groups the pupil is in, else the minimum for everyone:
``reference_data/home_visits.json``). At a configured point of each term the scheduled job
gives each school below its minimums a task saying how many pupils lack visits; the task is
done as soon as coverage is reached, and past the term's last day the deadline engine marks
it breached like any other task.

Coverage is counted in SQL for all schools of a place at once (pupils on the register now,
their visits in the term, their groups' minimums), never a pupil at a time.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import cache
from typing import Any

from sqlalchemy import ColumnElement, Select, bindparam, case, func, literal, select
from sqlalchemy.ext.asyncio import AsyncSession

from authz.filters import covers, scope_filter
from models.child import Child, ChildGroup
from models.enums import EnrolmentStatus, JurisdictionLevel, SpecialGroup
from models.home_visit import HomeVisit, HomeVisitCheck
from models.reference import Agency, Jurisdiction
from models.school import Enrolment, School
from workflow import audit
from workflow.calendar import local_date
from workflow.child import visible as child_visible
from workflow.common import check_version, fetch_visible, matches, rows_by_ids, where_fields
from workflow.context import ServiceContext
from workflow.engine import TickReport
from workflow.errors import InvalidInput, NotFound
from workflow.infra import reference_json
from workflow.infra.events import TaskEvent
from workflow.pagination import Page, PageRequest, keyset_page
from workflow.term_duties import (
    DutyTask,
    Term,
    add_tasks,
    close_tasks,
    districts,
    job_context,
    open_once,
    schools_of,
    term_on,
)

OBJ = "home_visit"
TASK_KIND = "home_visit_coverage"
TEXT_LIMITS = {"visitors": 200, "met": 200, "findings": 2000, "follow_up": 2000}


# --- the rule ------------------------------------------------------------------------------

@dataclass(frozen=True)
class VisitRule:
    """A district's home-visit minimums (ST 5)."""

    per_term: int
    groups: dict[SpecialGroup, int]
    check_after_days: int


@cache
def rule_for(district_code: str) -> VisitRule:
    data = reference_json.load("home_visits.json")
    rule = {**data["default"], **data["districts"].get(district_code, {})}
    return VisitRule(int(rule["per_term"]),
                     {SpecialGroup(g): int(n) for g, n in rule["groups"].items()},
                     int(rule["check_after_days"]))


# --- coverage ------------------------------------------------------------------------------

@dataclass(frozen=True)
class SchoolCoverage:
    """One school's coverage in a term: its pupils, those with the visits they need, and the
    visits recorded."""

    school_id: int
    school_name: str
    pupils: int
    covered: int
    visits: int

    @property
    def short(self) -> int:
        return self.pupils - self.covered

    @property
    def rate(self) -> float | None:
        return None if self.pupils == 0 else self.covered / self.pupils


@dataclass(frozen=True)
class Coverage:
    """Coverage of a place's schools in the term of a day."""

    district_code: str
    term: Term
    schools: Sequence[SchoolCoverage]


def _facts(school_ids: Any, term: Term, rule: VisitRule) -> Any:
    """Per pupil on the schools' registers: its school, its visits in the term and the
    visits it needs (the largest minimum of its groups, else the minimum for everyone)."""
    pupils = (select(Enrolment.child_id, Enrolment.school_id)
              .where(Enrolment.status == EnrolmentStatus.ENROLLED,
                     Enrolment.school_id.in_(school_ids))
              .subquery("pupils"))
    visits = (select(HomeVisit.child_id, func.count().label("n"))
              .join(pupils, pupils.c.child_id == HomeVisit.child_id)
              .where(HomeVisit.visited_on >= term.starts_on,
                     HomeVisit.visited_on <= term.ends_on)
              .group_by(HomeVisit.child_id).subquery("visits"))
    base: ColumnElement[int] = literal(rule.per_term)
    need = (case(*((ChildGroup.group == g, n) for g, n in rule.groups.items()), else_=base)
            if rule.groups else base)
    needs = (select(ChildGroup.child_id, func.max(need).label("needed"))
             .join(pupils, pupils.c.child_id == ChildGroup.child_id)
             .group_by(ChildGroup.child_id).subquery("needs"))
    return (select(pupils.c.child_id, pupils.c.school_id,
                   func.coalesce(visits.c.n, 0).label("visits"),
                   func.coalesce(needs.c.needed, rule.per_term).label("needed"))
            .outerjoin(visits, visits.c.child_id == pupils.c.child_id)
            .outerjoin(needs, needs.c.child_id == pupils.c.child_id)
            .subquery("facts"))


async def _figures(
    session: AsyncSession, schools: Select[int, str], term: Term, rule: VisitRule
) -> list[SchoolCoverage]:
    """Coverage of each school ``schools`` selects (id, name), one statement; a school
    without pupils counts as covered."""
    chosen = schools.subquery("chosen")
    facts = _facts(select(chosen.c.id), term, rule)
    per_school = (select(facts.c.school_id, func.count().label("pupils"),
                         func.sum(case((facts.c.visits >= facts.c.needed, 1), else_=0))
                         .label("covered"),
                         func.sum(facts.c.visits).label("visits"))
                  .group_by(facts.c.school_id).subquery("per_school"))
    rows = await session.execute(
        select(chosen.c.id, chosen.c.name, per_school.c.pupils, per_school.c.covered,
               per_school.c.visits)
        .outerjoin(per_school, per_school.c.school_id == chosen.c.id).order_by(chosen.c.id))
    return [SchoolCoverage(i, name, int(p or 0), int(c or 0), int(v or 0))
            for i, name, p, c, v in rows.all()]


@dataclass(frozen=True)
class CoverageRequest:
    """Whose coverage, when: a district or township (the caller's own unit when absent),
    optionally one school, on a day of the term (today)."""

    jurisdiction_code: str | None = None
    school_id: int | None = None
    on: date | None = None


async def _place(ctx: ServiceContext, request: CoverageRequest) -> tuple[str, str, Term]:
    """The district, the domain covered and the term asked for."""
    code, path = request.jurisdiction_code, None
    if code is None:
        code, path = ctx.principal.jurisdiction_code, ctx.principal.agency_scope
    place = await ctx.session.get(Jurisdiction, code)
    if place is None:
        raise NotFound("no such jurisdiction", field="jurisdictionCode")
    if place.level is JurisdictionLevel.DISTRICT:
        district = place.code
    elif place.level is JurisdictionLevel.TOWNSHIP and place.parent_code is not None:
        district = place.parent_code
    else:
        raise InvalidInput("ask for a district or a township", field="jurisdictionCode")
    path = path or place.path
    ctx.authz.require(ctx.principal, OBJ, "read", path)
    day = request.on or local_date(ctx.clock.now())
    term = await term_on(ctx.session, district, day)
    if term is None:
        raise InvalidInput(f"{day} is in no school term of the district", field="on")
    return district, path, term


def _schools(ctx: ServiceContext, path: str, school_id: int | None) -> Select[int, str]:
    stmt = (select(School.id, School.name).join(Agency, Agency.id == School.agency_id)
            .where(covers(Agency.scope_path, path),
                   scope_filter(ctx.authz, ctx.principal, OBJ, "read", Agency.scope_path)))
    return stmt if school_id is None else stmt.where(School.id == school_id)


async def coverage(ctx: ServiceContext, request: CoverageRequest) -> Coverage:
    """Each school's coverage in the term: the figures a bureau follows ST 5 by."""
    district, path, term = await _place(ctx, request)
    schools = _schools(ctx, path, request.school_id)
    figures = await _figures(ctx.session, schools, term, rule_for(district))
    return Coverage(district, term, figures)


async def gaps_page(
    ctx: ServiceContext, request: CoverageRequest, page: PageRequest
) -> Page[Child]:
    """The pupils of the schools asked for who lack visits this term (shown masked, as in
    every list of children): what a school's task asks it to do."""
    district, path, term = await _place(ctx, request)
    chosen = _schools(ctx, path, request.school_id).subquery("chosen")
    facts = _facts(select(chosen.c.id), term, rule_for(district))
    short = select(facts.c.child_id).where(facts.c.visits < facts.c.needed)
    stmt = select(Child).where(Child.id.in_(short), child_visible(ctx))
    return await keyset_page(ctx, stmt, Child.id, page, prefix="home-visit-gap")


# --- the visits ----------------------------------------------------------------------------

def visible(ctx: ServiceContext) -> ColumnElement[bool]:
    return scope_filter(ctx.authz, ctx.principal, OBJ, "read", HomeVisit.scope_path)


@dataclass(frozen=True)
class VisitFilter:
    """The list's optional filters (each absent one matches every visit)."""

    child_id: int | None = matches(HomeVisit.child_id)
    school_id: int | None = matches(HomeVisit.school_id)
    follow_up_needed: bool | None = matches(HomeVisit.follow_up_needed)
    visited_from: date | None = None
    visited_to: date | None = None


async def visits_page(
    ctx: ServiceContext, f: VisitFilter, request: PageRequest
) -> Page[HomeVisit]:
    """The visits the caller may read, newest first."""
    stmt = where_fields(select(HomeVisit).where(visible(ctx)), f)
    if f.visited_from is not None:
        stmt = stmt.where(HomeVisit.visited_on >= f.visited_from)
    if f.visited_to is not None:
        stmt = stmt.where(HomeVisit.visited_on <= f.visited_to)
    return await keyset_page(ctx, stmt, HomeVisit.id, request, prefix="home-visit",
                             descending=True)


async def get_visits(ctx: ServiceContext, ids: Sequence[int]) -> list[HomeVisit | None]:
    return await rows_by_ids(ctx, select(HomeVisit).where(visible(ctx)), HomeVisit.id, ids)


def _text(value: str, field: str, *, required: bool = True) -> str:
    text = value.strip()
    if required and not text:
        raise InvalidInput(f"{field} is required", field=field)
    if len(text) > TEXT_LIMITS[field]:
        raise InvalidInput(f"{field} is at most {TEXT_LIMITS[field]} characters", field=field)
    return text


def _visit_date(ctx: ServiceContext, visited_on: date) -> date:
    today = local_date(ctx.clock.now())
    if visited_on > today:
        raise InvalidInput("a visit cannot be recorded before it happened", field="visitedOn")
    if visited_on < today - timedelta(days=366):
        raise InvalidInput("a visit more than a year ago is not recorded", field="visitedOn")
    return visited_on


def _follow_up(needed: bool, text: str) -> str:
    follow_up = _text(text, "follow_up", required=False)
    if needed and not follow_up:
        raise InvalidInput("say what follow-up is needed", field="followUp")
    return follow_up


async def record_visit(
    ctx: ServiceContext, *, child_id: int, visited_on: date, visitors: str, met: str,
    findings: str, follow_up_needed: bool, follow_up: str = "",
) -> HomeVisit:
    """A teacher records a visit to a pupil of the school: who visited, who was met, what
    was found, whether follow-up is needed. A school task about coverage is closed when the
    visit completes it."""
    child = await fetch_visible(ctx, Child, child_id, where=child_visible(ctx),
                                not_found="no such child", field="childId")
    at = (await ctx.session.execute(
        select(Enrolment.school_id, Agency.scope_path)
        .join(School, School.id == Enrolment.school_id).join(Agency, Agency.id == School.agency_id)
        .where(Enrolment.child_id == child.id, Enrolment.status == EnrolmentStatus.ENROLLED)
    )).first()
    if at is None:
        raise InvalidInput("the child is on no school's register", field="childId")
    school_id, path = at
    ctx.authz.require(ctx.principal, OBJ, "write", path)
    now = ctx.clock.now()
    visit = HomeVisit(
        child_id=child.id, school_id=school_id, scope_path=path,
        visited_on=_visit_date(ctx, visited_on), visitors=_text(visitors, "visitors"),
        met=_text(met, "met"), findings=_text(findings, "findings"),
        follow_up_needed=follow_up_needed, follow_up=_follow_up(follow_up_needed, follow_up),
        recorded_at=now, recorded_by=ctx.principal.user_id, updated_at=now,
    )
    ctx.session.add(visit)
    await ctx.session.flush()
    audit.record_row(ctx, "record_home_visit", visit,
                     {"child": child.id, "school": school_id, "visited_on": visit.visited_on,
                      "follow_up_needed": follow_up_needed})
    await _refresh_school(ctx, school_id, visit.visited_on)
    return visit


async def amend_visit(
    ctx: ServiceContext, *, visit_id: int, expected_version: int | None,
    visited_on: date | None = None, visitors: str | None = None, met: str | None = None,
    findings: str | None = None, follow_up_needed: bool | None = None,
    follow_up: str | None = None,
) -> HomeVisit:
    """Correct a recorded visit (the fields given); the audit row keeps what it said."""
    visit = await fetch_visible(ctx, HomeVisit, visit_id, where=visible(ctx), lock=True,
                                not_found="no such visit", field="visitId")
    ctx.authz.require(ctx.principal, OBJ, "write", visit.scope_path)
    check_version(visit.version, expected_version, "the visit")
    before: dict[str, Any] = {}
    given: dict[str, Any] = {
        "visited_on": None if visited_on is None else _visit_date(ctx, visited_on),
        "visitors": None if visitors is None else _text(visitors, "visitors"),
        "met": None if met is None else _text(met, "met"),
        "findings": None if findings is None else _text(findings, "findings"),
        "follow_up_needed": follow_up_needed,
        "follow_up": None if follow_up is None else _text(follow_up, "follow_up", required=False),
    }
    for name, value in given.items():
        if value is not None and value != getattr(visit, name):
            before[name] = [getattr(visit, name), value]
            setattr(visit, name, value)
    visit.follow_up = _follow_up(visit.follow_up_needed, visit.follow_up)
    if not before:
        return visit
    visit.updated_at = ctx.clock.now()
    await ctx.session.flush()
    audit.record_row(ctx, "amend_home_visit", visit, before)
    await _refresh_school(ctx, visit.school_id, visit.visited_on)
    return visit


# --- the checks and their tasks ------------------------------------------------------------

async def _apply(
    session: AsyncSession, figures: Sequence[SchoolCoverage],
    checks: Sequence[tuple[int, int, int | None]], now: datetime, events: list[TaskEvent],
) -> None:
    """Bring open checks ``(check id, school id, task id)`` up to ``figures``: the count of
    pupils short, and the task done where none is short any more."""
    by_school = {f.school_id: f for f in figures}
    rows = [(check, task, by_school[school]) for check, school, task in checks
            if school in by_school]
    if not rows:
        return
    table: Any = HomeVisitCheck.__table__
    await session.execute(
        table.update().where(table.c.id == bindparam("check"))
        .values(pupils=bindparam("pupils"), short=bindparam("short"),
                covered_at=bindparam("covered")),
        [{"check": check, "pupils": f.pupils, "short": f.short,
          "covered": now if f.short == 0 else None} for check, _, f in rows])
    covered = [task for _, task, f in rows if f.short == 0 and task is not None]
    await close_tasks(session, covered, "家访已覆盖", now, events)


async def _refresh_school(ctx: ServiceContext, school_id: int, day: date) -> None:
    """After a visit: the school's open check of that day's term, brought up to date."""
    check = (await ctx.session.execute(
        select(HomeVisitCheck).where(
            HomeVisitCheck.school_id == school_id, HomeVisitCheck.covered_at.is_(None),
            HomeVisitCheck.term_start <= day, HomeVisitCheck.term_end >= day)
    )).scalar_one_or_none()
    if check is None:
        return
    term = Term(check.term_name, check.term_start, check.term_end)
    figures = await _figures(ctx.session, select(School.id, School.name)
                             .where(School.id == school_id), term, rule_for(check.district_code))
    await _apply(ctx.session, figures, [(check.id, school_id, check.task_id)], ctx.clock.now(),
                 ctx.events)
    await ctx.session.refresh(check)


async def check_home_visits(session: AsyncSession, now: datetime, report: TickReport) -> None:
    """The engine's job: from the check point of each district's term (its first day plus
    ``check_after_days``) to its last day, each school below its minimums has one check and
    one task for the term; open checks follow the visits (and pupils) as they change."""
    today = local_date(now)
    for district in await districts(session):
        rule = rule_for(district)
        term = await term_on(session, district, today)
        if term is None or today < term.starts_on + timedelta(days=rule.check_after_days):
            continue
        schools = await schools_of(session, district)
        if not schools:
            continue
        figures = await _figures(session, select(School.id, School.name)
                                 .where(School.id.in_(list(schools))), term, rule)
        known = (await session.execute(
            select(HomeVisitCheck.id, HomeVisitCheck.school_id, HomeVisitCheck.task_id,
                   HomeVisitCheck.covered_at)
            .where(HomeVisitCheck.district_code == district,
                   HomeVisitCheck.term_start == term.starts_on))).all()
        await _apply(session, figures, [(c, s, t) for c, s, t, done in known if done is None],
                     now, report.events)
        seen = {s for _, s, _, _ in known}
        short = [f for f in figures if f.short > 0 and f.school_id not in seen]
        made = await open_once(session, HomeVisitCheck, [
            {"school_id": f.school_id, "district_code": district,
             "scope_path": schools[f.school_id][0], "term_name": term.name,
             "term_start": term.starts_on, "term_end": term.ends_on, "pupils": f.pupils,
             "short": f.short, "checked_at": now} for f in short])
        tasks = [DutyTask(made[f.school_id], schools[f.school_id][0],
                          f"家访未覆盖：{f.short} 名学生本学期家访次数不足（{term.name}，ST 5）",
                          term.ends_on, {"home_visit_check_id": made[f.school_id],
                                         "pupils": f.pupils, "short": f.short})
                 for f in short if f.school_id in made]
        await add_tasks(session, HomeVisitCheck, TASK_KIND, tasks, now, report)
        if tasks:
            audit.record(job_context(session, now), "check_home_visits", "home_visit_check",
                         [t.row_id for t in tasks],
                         {"district": district, "term": term.name,
                          "short": {str(f.school_id): f.short for f in short}})
