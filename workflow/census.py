"""The special-needs census (特殊需要学生情况普查, ST 7): "每学期开学两周内，学校完成在校特殊需要
学生情况普查，校、镇两级更新“特殊学生信息库”，并报区教体局".

At each term's start the scheduled job opens one census per school of the district, with the
school's task due two weeks later (``reference_data/census.json``: the days and the
categories ST 7 counts). The school submits its pupils per category (it may correct its
submission later in the term; every submission is audited); the bureau, the inspectorate and
the township see the counts and which schools have not submitted.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import cache

from sqlalchemy import ColumnElement, delete, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import flag_modified

from authz.filters import scope_filter
from models.enums import EnrolmentStatus
from models.home_visit import CensusEntry, SpecialNeedsCensus
from models.school import Enrolment
from workflow import audit
from workflow.calendar import local_date
from workflow.common import check_version, fetch_visible, matches, rows_by_ids, where_fields
from workflow.context import ServiceContext
from workflow.engine import TickReport
from workflow.errors import InvalidInput, NotFound
from workflow.infra import reference_json
from workflow.pagination import Page, PageRequest, keyset_page
from workflow.term_duties import (
    DutyTask,
    add_tasks,
    close_tasks,
    districts,
    job_context,
    open_once,
    schools_of,
    term_on,
)

OBJ = "census"
TASK_KIND = "special_needs_census"
NOTE_LIMIT = 2000


@dataclass(frozen=True)
class Category:
    """A kind of special-needs pupil ST 7 counts."""

    code: str
    title: str


@dataclass(frozen=True)
class CensusRule:
    due_days: int
    categories: tuple[Category, ...]


@cache
def rule_for(district_code: str) -> CensusRule:
    data = reference_json.load("census.json")
    rule = {**data["default"], **data["districts"].get(district_code, {})}
    return CensusRule(int(rule["due_days"]),
                      tuple(Category(c["code"], c["title"]) for c in rule["categories"]))


def visible(ctx: ServiceContext) -> ColumnElement[bool]:
    return scope_filter(ctx.authz, ctx.principal, OBJ, "read", SpecialNeedsCensus.scope_path)


@dataclass(frozen=True)
class CensusFilter:
    """The list's optional filters (each absent one matches every census)."""

    school_id: int | None = matches(SpecialNeedsCensus.school_id)
    term_start: date | None = matches(SpecialNeedsCensus.term_start)
    submitted: bool | None = None


async def censuses_page(
    ctx: ServiceContext, f: CensusFilter, request: PageRequest
) -> Page[SpecialNeedsCensus]:
    """The censuses the caller may read, oldest first; ``submitted: false`` is who has not."""
    stmt = where_fields(select(SpecialNeedsCensus).where(visible(ctx)), f)
    if f.submitted is not None:
        stmt = stmt.where(SpecialNeedsCensus.submitted_at.is_not(None) if f.submitted
                          else SpecialNeedsCensus.submitted_at.is_(None))
    return await keyset_page(ctx, stmt, SpecialNeedsCensus.id, request, prefix="census")


async def get_censuses(
    ctx: ServiceContext, ids: Sequence[int]
) -> list[SpecialNeedsCensus | None]:
    stmt = select(SpecialNeedsCensus).where(visible(ctx))
    return await rows_by_ids(ctx, stmt, SpecialNeedsCensus.id, ids)


@dataclass(frozen=True)
class CategoryCount:
    """How many pupils a census counted in one category; None before it is submitted."""

    code: str
    title: str
    count: int | None


async def counts_of(ctx: ServiceContext, census_ids: Sequence[int]) -> list[list[CategoryCount]]:
    """Each census's count per category of its district (two statements for the batch).
    Callers pass censuses they were allowed to read."""
    censuses = {c.id: c for c in (await ctx.session.execute(
        select(SpecialNeedsCensus).where(SpecialNeedsCensus.id.in_(census_ids)))).scalars()}
    rows = (await ctx.session.execute(
        select(CensusEntry.census_id, CensusEntry.category, func.count())
        .where(CensusEntry.census_id.in_(census_ids))
        .group_by(CensusEntry.census_id, CensusEntry.category)
    )).all()
    counted = {(census, category): int(n) for census, category, n in rows}
    return [[CategoryCount(cat.code, cat.title,
                           None if c.submitted_at is None else counted.get((c.id, cat.code), 0))
             for cat in rule_for(c.district_code).categories]
            for c in (censuses[i] for i in census_ids)]


async def submit_census(
    ctx: ServiceContext, *, census_id: int, expected_version: int | None,
    entries: Sequence[tuple[str, Sequence[int]]], note: str = "",
) -> SpecialNeedsCensus:
    """The school submits its census: the pupils of each category (a category left out has
    none). A resubmission in the term replaces the lists; the first one does the task."""
    census = await fetch_visible(ctx, SpecialNeedsCensus, census_id, where=visible(ctx),
                                 lock=True, not_found="no such census", field="censusId")
    ctx.authz.require(ctx.principal, OBJ, "submit", census.scope_path)
    check_version(census.version, expected_version, "the census")
    categories = {c.code for c in rule_for(census.district_code).categories}
    given: dict[str, set[int]] = {}
    for category, child_ids in entries:
        if category not in categories:
            raise InvalidInput(f"{category!r} is not a census category", field="category")
        if category in given:
            raise InvalidInput(f"{category!r} is given twice", field="category")
        given[category] = set(child_ids)
    text = note.strip()
    if len(text) > NOTE_LIMIT:
        raise InvalidInput(f"the note is at most {NOTE_LIMIT} characters", field="note")
    named = set().union(*given.values()) if given else set()
    pupils = set((await ctx.session.execute(
        select(Enrolment.child_id).where(Enrolment.child_id.in_(named),
                                         Enrolment.school_id == census.school_id,
                                         Enrolment.status == EnrolmentStatus.ENROLLED)
    )).scalars())
    if named - pupils:
        # Whether another school's child exists is not told: it is not one of the pupils.
        raise NotFound("not a pupil of the school", field="childIds")
    now = ctx.clock.now()
    first = census.submitted_at is None
    await ctx.session.execute(delete(CensusEntry).where(CensusEntry.census_id == census.id))
    rows = [{"census_id": census.id, "category": category, "child_id": child}
            for category, children in sorted(given.items()) for child in sorted(children)]
    if rows:
        await ctx.session.execute(insert(CensusEntry), rows)
    census.submitted_at, census.submitted_by, census.note = now, ctx.principal.user_id, text
    # The lists live in their own rows: the census row changes (a new version) even when a
    # correction leaves its own columns as they were.
    flag_modified(census, "note")
    await ctx.session.flush()
    if first and census.task_id is not None:
        await close_tasks(ctx.session, [census.task_id], "已完成普查", now, ctx.events)
    audit.record_row(ctx, "submit_special_needs_census", census,
                     {"first": first, "counts": {k: len(v) for k, v in sorted(given.items())}})
    return census


async def open_census(session: AsyncSession, now: datetime, report: TickReport) -> None:
    """The engine's job: in each district's term, one census per school, with the school's
    task due ``due_days`` after the term's first day (ST 7), once per term."""
    today = local_date(now)
    for district in await districts(session):
        term = await term_on(session, district, today)
        if term is None:
            continue
        schools = await schools_of(session, district)
        due_on = term.starts_on + timedelta(days=rule_for(district).due_days)
        made = await open_once(session, SpecialNeedsCensus, [
            {"school_id": school, "district_code": district, "scope_path": path,
             "term_name": term.name, "term_start": term.starts_on, "due_on": due_on,
             "opened_at": now, "note": "", "version": 1}
            for school, (path, _) in schools.items()])
        tasks = [DutyTask(made[school], schools[school][0],
                          f"特殊需要学生情况普查（{term.name}，{due_on:%m月%d日}前，ST 7）",
                          due_on, {"special_needs_census_id": made[school]})
                 for school in sorted(made)]
        await add_tasks(session, SpecialNeedsCensus, TASK_KIND, tasks, now, report)
        if tasks:
            audit.record(job_context(session, now), "open_special_needs_census",
                         "special_needs_census", [t.row_id for t in tasks],
                         {"district": district, "term": term.name, "due_on": due_on})
