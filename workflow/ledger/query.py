"""The three ledgers as lists (三个台账): each a keyset page over the data (children, cases),
filtered in SQL by the ledger's policy and the caller's filters, then one statement for the
page's facts (status, school, grade, township), so a page costs the same few statements
whatever its size.

- 适龄儿童台账 (school age): every child of school age and its status (``status.py``);
- 疑似辍学学生台账 (suspected): the children ``status.suspected`` holds, with the reasons
  and the date each was first suspected;
- 辍学学生台账 (dropouts): every case that reached the dropout report, open or closed, with
  its persuasion attempts; a closed entry shows when and why it was closed off (动态销号).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, Select, false, func, select, union, union_all
from sqlalchemy.orm import InstrumentedAttribute

from authz.filters import covers
from models.case import CasePlan, DropoutCase, PersuasionAttempt
from models.child import Child
from models.crosscheck import CrosscheckFinding
from models.enums import (
    CaseStatus,
    DropoutCause,
    JurisdictionLevel,
    RegisterChangeKind,
    RegisterChangeStatus,
    SpecialGroup,
)
from models.reference import Jurisdiction
from models.register import RegisterChange
from models.school import Enrolment, School
from workflow.calendar import local_date
from workflow.child import in_shown_group
from workflow.common import rows_grouped
from workflow.context import ServiceContext
from workflow.errors import InvalidInput, NotFound
from workflow.infra.transaction_flag import plan_each_run
from workflow.ledger import persons
from workflow.ledger import status as st
from workflow.ledger.access import gathered, poverty_household, readable, readable_branches
from workflow.ledger.rules import LedgerKind
from workflow.pagination import (
    Page,
    PageRequest,
    count,
    decode_cursor,
    keyset_ids,
    keyset_page,
)

DOMAINS = (Child.scope_path, Child.residence_path)


@dataclass(frozen=True)
class LedgerFilter:
    """What every ledger filters by; ``since``/``until`` bound the entry's date (the status
    date, the date first suspected, the first absence)."""

    jurisdiction_code: str | None = None
    school_id: int | None = None
    grade: int | None = None
    special_group: SpecialGroup | None = None
    since: date | None = None
    until: date | None = None


@dataclass(frozen=True)
class SchoolAgeFilter(LedgerFilter):
    status: st.LedgerStatus | None = None


@dataclass(frozen=True)
class SuspectedFilter(LedgerFilter):
    reason: st.SuspicionReason | None = None


@dataclass(frozen=True)
class DropoutFilter(LedgerFilter):
    # Open (still a dropout) or closed off (销号); both when absent.
    closed: bool | None = None


@dataclass(frozen=True)
class Placement:
    """Where a child is: its school and grade (if on a register) and home township."""

    school_id: int | None
    school_name: str | None
    grade: int | None
    township_name: str


@dataclass(frozen=True)
class SchoolAgeEntry:
    """A row: a child, or a person on no register (``person``, its finding; ``persons.py``)."""

    child: Child | None
    status: st.LedgerStatus
    since: date | None
    place: Placement
    person: CrosscheckFinding | None = None


@dataclass(frozen=True)
class SuspectedEntry:
    child: Child | None
    reasons: list[st.SuspicionReason]
    since: date | None
    place: Placement
    person: CrosscheckFinding | None = None


@dataclass(frozen=True)
class DropoutEntry:
    case: DropoutCase
    child: Child
    cause: DropoutCause | None
    place: Placement
    persuasions: list[PersuasionAttempt] = field(default_factory=list)

    @property
    def closed_on(self) -> date | None:
        return None if self.case.closed_at is None else local_date(self.case.closed_at)


def _today(ctx: ServiceContext) -> date:
    return local_date(ctx.clock.now())


async def _place(ctx: ServiceContext, code: str | None) -> Jurisdiction | None:
    """The filter's jurisdiction (NOT_FOUND for an unknown code); the session's identity
    map answers a second call."""
    if code is None:
        return None
    place = await ctx.session.get(Jurisdiction, code)
    if place is None:
        raise NotFound("no such jurisdiction", field="jurisdictionCode")
    return place


async def _in_place(ctx: ServiceContext, code: str | None) -> ColumnElement[bool] | None:
    """The children of a district (its domain) or a township (its home children)."""
    place = await _place(ctx, code)
    if place is None:
        return None
    if place.level is JurisdictionLevel.TOWNSHIP:
        return Child.township_code == place.code
    return covers(Child.scope_path, place.path)


def _check_dates(f: LedgerFilter) -> None:
    """BAD_INPUT before any statement runs: an empty range is the client's mistake, not an
    empty ledger."""
    if f.since is not None and f.until is not None and f.since > f.until:
        raise InvalidInput("since is after until", field="since")


async def _child_terms(ctx: ServiceContext, f: LedgerFilter) -> list[ColumnElement[bool]]:
    """The filter's terms on the child itself: its place and its special group."""
    place = await _in_place(ctx, f.jurisdiction_code)
    terms = [] if place is None else [place]
    if f.special_group is not None:
        terms.append(in_shown_group(ctx, f.special_group, Child.id, DOMAINS))
    return terms


def _entry_terms(f: LedgerFilter, day: Any) -> list[ColumnElement[bool]]:
    """The filter's terms on the child's register entry and on the entry's date ``day``
    (the date ``since`` / ``until`` bound)."""
    terms = []
    if f.school_id is not None:
        terms.append(Enrolment.school_id == f.school_id)
    if f.grade is not None:
        terms.append(Enrolment.grade == f.grade)
    if day is not None and f.since is not None:
        terms.append(day >= f.since)
    if day is not None and f.until is not None:
        terms.append(day <= f.until)
    return terms


@dataclass(frozen=True)
class _Children:
    """A ledger's children as ``_children`` selects them."""

    stmt: Select[tuple[int]]  # their ids, the register entry outer-joined
    key: ColumnElement[int] | InstrumentedAttribute[int]  # the id the rules and page key on
    gathered: bool  # gathered first (all, before the page), or walked in key order

    def where(self, *terms: ColumnElement[bool]) -> _Children:
        return _Children(self.stmt.where(*terms), self.key, self.gathered)

    async def page(
        self, ctx: ServiceContext, request: PageRequest, prefix: str, counted: bool
    ) -> Page[int]:
        # Gathered, the whole list is at hand before its order: count it in the same pass.
        return await keyset_ids(ctx, self.stmt, self.key, request, prefix=prefix,
                                counted=counted, count_in_page=self.gathered)


async def _children(
    ctx: ServiceContext, kind: LedgerKind, f: LedgerFilter, *terms: ColumnElement[bool]
) -> _Children:
    """The ids of the ledger's children the caller may read, narrowed by ``terms`` and the
    filter's terms on the child. Gathered (``access.gathered``: a district or narrower),
    the ids are a UNION of the domains' index ranges, so that the statement reaches a
    child's row only for the page; otherwise the children walked in key order."""
    _check_dates(f)
    where = [*terms, *await _child_terms(ctx, f)]
    key: ColumnElement[int] | InstrumentedAttribute[int]
    first = gathered(ctx, kind)
    poor = poverty_household(Child.id)
    if first:
        branches = readable_branches(ctx, kind, poor, *DOMAINS) or [false()]
        found = union(*(select(Child.id).where(b, *where) for b in branches)).subquery("found")
        key = found.c.id
        stmt = select(key).select_from(found)
    else:
        key = Child.id
        stmt = select(key).where(readable(ctx, kind, poor, *DOMAINS), *where)
    return _Children(stmt.outerjoin(Enrolment, Enrolment.child_id == key), key, first)


async def _placed(
    ctx: ServiceContext,
    child_ids: Sequence[int],
    *facts: ColumnElement[Any] | InstrumentedAttribute[Any],
) -> dict[int, tuple[Any, ...]]:
    """For each child of ``child_ids``: the child, where it is (``Placement``), then the
    ``facts`` (columns over the child and its register entry); one statement."""
    rows = await ctx.session.execute(
        select(Child, Enrolment.school_id, School.name, Enrolment.grade, Jurisdiction.name,
               *facts)
        .join(Jurisdiction, Jurisdiction.code == Child.township_code)
        .outerjoin(Enrolment, Enrolment.child_id == Child.id)
        .outerjoin(School, School.id == Enrolment.school_id)
        .where(Child.id.in_(child_ids))
    )
    return {r[0].id: (r[0], Placement(r[1], r[2], r[3], r[4]), *r[5:]) for r in rows}


async def _person_terms(ctx: ServiceContext, f: LedgerFilter) -> list[ColumnElement[bool]]:
    return persons.ledger_terms(await _place(ctx, f.jurisdiction_code), f.school_id,
                                f.grade, f.special_group)


def _person_place(township_name: str) -> Placement:
    return Placement(None, None, None, township_name)


@dataclass(frozen=True)
class _Persons:
    """The page's persons on no register after its children: each with its township's
    name, their cursors, whether more follow, and how many the ledger holds."""

    rows: list[tuple[CrosscheckFinding, str]]
    cursors: list[str]
    has_next: bool
    total_count: int

    def __iter__(self) -> Iterator[tuple[CrosscheckFinding, str]]:
        return iter(self.rows)


async def _with_persons(
    ctx: ServiceContext, children: _Children, people: Select[Any],
    request: PageRequest, prefix: str, counted: bool,
) -> tuple[Page[int], _Persons]:
    """A page of the ledger's children, then, once they are all listed, of its persons on no
    register (keyed by their finding's id, under a cursor prefix of their own): the ids of
    the page's children, and its persons. A cursor among the persons skips the children."""
    mark = prefix + "-person"
    if request.after is not None and _is_cursor(mark, request.after):
        total = await count(ctx, children.stmt) if counted else 0
        page: Page[int] = Page([], [], False, True, total)
        asked = request
    else:
        page = await children.page(ctx, request, prefix, counted)
        asked = PageRequest(first=request.limit - len(page.items), after=None, cap=request.cap)
    if page.has_next:  # no room for persons on this page: only their count
        total = await count(ctx, people) if counted else 0
        return page, _Persons([], [], False, total)
    # Few (a district's unregistered children): the page and its count in one pass.
    found = await keyset_ids(ctx, people, persons.P.id, asked, prefix=mark, counted=counted,
                             count_in_page=True)
    placed = await persons.placed(ctx, found.items) if found.items else {}
    return page, _Persons([placed[i] for i in found.items], found.cursors, found.has_next,
                          found.total_count)


def _is_cursor(prefix: str, cursor: str) -> bool:
    try:
        decode_cursor(prefix, cursor)
    except InvalidInput:
        return False
    return True


# --- 适龄儿童台账 -------------------------------------------------------------------------


async def school_age_page(
    ctx: ServiceContext, f: SchoolAgeFilter, request: PageRequest, *, counted: bool = True
) -> Page[SchoolAgeEntry]:
    await plan_each_run(ctx.session)  # its filters are skewed: plans for their values
    today = _today(ctx)
    children = await _children(ctx, LedgerKind.SCHOOL_AGE, f, st.school_age(today))
    children = children.where(*_entry_terms(f, Enrolment.status_since))
    if f.status is not None:
        children = children.where(st.is_status(f.status, today, children.key))
    # Persons on no register are suspected (适龄未入学), with no register entry's date.
    person_terms = [st.school_age(today, persons.P.birth_date), *await _person_terms(ctx, f)]
    if f.since is not None or f.until is not None or f.status not in (
            None, st.LedgerStatus.SUSPECTED):
        person_terms.append(false())
    page, people = await _with_persons(
        ctx, children, persons.persons(ctx, LedgerKind.SCHOOL_AGE, *person_terms), request,
        "ledger-school-age", counted)
    placed = await _placed(ctx, page.items, st.status(today, Child.id),
                           Enrolment.status_since) if page.items else {}
    items = [SchoolAgeEntry(child, st.LedgerStatus(status), since, place)
             for child, place, status, since in (placed[i] for i in page.items)]
    items += [SchoolAgeEntry(None, st.LedgerStatus.SUSPECTED, None, _person_place(name), p)
              for p, name in people]
    return Page(items, [*page.cursors, *people.cursors], people.has_next or page.has_next,
                request.after is not None, page.total_count + people.total_count)


# --- 疑似辍学学生台账 ---------------------------------------------------------------------


def _sources() -> list[tuple[st.SuspicionReason, Any]]:
    """Each reason's (child, date first suspected) rows: the day 0 of an open case, the day a
    transfer out was sent, the day a comparison first found the child. A child marked
    dropped out is no longer suspected (辍学)."""
    return [
        (st.SuspicionReason.LONG_ABSENCE,
         select(DropoutCase.child_id.label("child_id"), DropoutCase.day0.label("since"))
         .where(DropoutCase.status == CaseStatus.OPEN)),
        (st.SuspicionReason.TRANSFER_NOT_RECEIVED,
         select(RegisterChange.child_id.label("child_id"),
                RegisterChange.decided_on.label("since"))
         .where(RegisterChange.kind == RegisterChangeKind.TRANSFER,
                RegisterChange.status == RegisterChangeStatus.SENT,
                RegisterChange.flagged_at.is_not(None))),
        *((reason,
           select(CrosscheckFinding.child_id.label("child_id"),
                  CrosscheckFinding.first_seen_on.label("since"))
           .where(CrosscheckFinding.kind == kind, CrosscheckFinding.child_id.is_not(None),
                  *st.finding_open()))
          for kind, reason in st.FINDING_REASONS.items()),
    ]


async def suspected_page(
    ctx: ServiceContext, f: SuspectedFilter, request: PageRequest, *, counted: bool = True
) -> Page[SuspectedEntry]:
    await plan_each_run(ctx.session)  # its filters are skewed: plans for their values
    children = await _children(ctx, LedgerKind.SUSPECTED, f)
    key = children.key
    children = children.where(st.suspected(key))
    if f.reason is not None:
        children = children.where(st.suspected_for(f.reason, key))
    first = None
    if f.since is not None or f.until is not None:
        found = union_all(*(q for _, q in _sources())).subquery()
        first = (select(func.min(found.c.since)).where(found.c.child_id == key)
                 .scalar_subquery())
    children = children.where(*_entry_terms(f, first))
    person_terms = await _person_terms(ctx, f)
    if f.reason not in (None, st.SuspicionReason.UNREGISTERED):
        person_terms.append(false())
    day = persons.P.first_seen_on
    person_terms += [day >= f.since] if f.since is not None else []
    person_terms += [day <= f.until] if f.until is not None else []
    page, people = await _with_persons(
        ctx, children, persons.persons(ctx, LedgerKind.SUSPECTED, *person_terms), request,
        "ledger-suspected", counted)
    ids = page.items
    reasons: dict[int, list[st.SuspicionReason]] = {i: [] for i in ids}
    since: dict[int, date] = {}
    for reason, q in _sources() if ids else ():
        for child_id, day in await ctx.session.execute(
                q.where(q.selected_columns.child_id.in_(ids))):
            if reason not in reasons[child_id]:
                reasons[child_id].append(reason)
            if day is not None and (child_id not in since or day < since[child_id]):
                since[child_id] = day
    placed = await _placed(ctx, ids) if ids else {}
    items = [SuspectedEntry(placed[i][0], reasons[i], since.get(i), placed[i][1]) for i in ids]
    items += [SuspectedEntry(None, [st.SuspicionReason.UNREGISTERED], p.first_seen_on,
                             _person_place(name), p) for p, name in people]
    return Page(items, [*page.cursors, *people.cursors], people.has_next or page.has_next,
                request.after is not None, page.total_count + people.total_count)


# --- 辍学学生台账 -------------------------------------------------------------------------


def _open_or_closed(f: DropoutFilter) -> list[ColumnElement[bool]]:
    return [] if f.closed is None else [
        DropoutCase.status == (CaseStatus.CLOSED if f.closed else CaseStatus.OPEN)]


async def dropout_page(
    ctx: ServiceContext, f: DropoutFilter, request: PageRequest, *, counted: bool = True
) -> Page[DropoutEntry]:
    await plan_each_run(ctx.session)  # its filters are skewed: plans for their values
    stmt = (
        select(DropoutCase)
        .join(Child, Child.id == DropoutCase.child_id)
        .outerjoin(Enrolment, Enrolment.child_id == Child.id)
        .where(
            st.confirmed_case(),
            readable(ctx, LedgerKind.DROPOUT, poverty_household(Child.id),
                     DropoutCase.scope_path,
                     DropoutCase.residence_path),
            *_open_or_closed(f),
        )
    )
    _check_dates(f)
    stmt = stmt.where(*await _child_terms(ctx, f), *_entry_terms(f, DropoutCase.day0))
    page = await keyset_page(ctx, stmt, DropoutCase.id, request, prefix="ledger-dropout",
                              counted=counted)
    cases: Sequence[DropoutCase] = page.items
    placed = await _placed(ctx, [c.child_id for c in cases])
    causes = {case_id: cause for case_id, cause in (await ctx.session.execute(
        select(CasePlan.case_id, CasePlan.cause)
        .where(CasePlan.case_id.in_([c.id for c in cases])))).all()}
    attempts = await rows_grouped(
        ctx, select(PersuasionAttempt).order_by(PersuasionAttempt.attempted_at,
                                                PersuasionAttempt.id),
        PersuasionAttempt.case_id, [c.id for c in cases])
    items = [DropoutEntry(c, placed[c.child_id][0], causes.get(c.id), placed[c.child_id][1], a)
             for c, a in zip(cases, attempts, strict=True)]
    return Page(items, page.cursors, page.has_next, page.has_previous, page.total_count)
