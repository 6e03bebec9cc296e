"""Statistics (控辍保学统计): counts and rates for a jurisdiction as of a date, broken down by
district, township, school, grade, special group, cause or stage, each drillable to the
children behind the number.

Every figure is one set-based query: a row of facts per child (as of the date), grouped by
the dimension asked for, filtered by the policy in SQL (``stats read`` on the child's
domains). Figures as of a past date come from the register's dated history
(``register_event``): the status a child had on a day is the ``to_status`` of the last
event on or before it, or else the ``from_status`` of the first event after it, or else the
current entry if it already stood then. So a report submitted in March can be recomputed
in June (and its submitted figures are kept besides, ``workflow/report``).

What the figures mean (the cross-checks of the next issue will feed "suspected" from the
comparisons and "deferred or exempt" from the decisions; today they rest on this data):

- school-age: children aged 6 to 15 on the date (compulsory education, grades 1–9);
- enrolled: on the register (enrolled) on the date; deferred or exempt: register status
  deferred or exempt on the date;
- suspected: a case open on the date whose child was not yet marked dropped out;
- confirmed dropouts: register status ``dropout_marked`` on the date (SPT 7 keeps the entry);
- returned: cases closed as returned (复学) within the period;
- the base: pupils on the register (enrolled or suspended) on the period's first day; lost:
  those of the base marked dropped out on the date; retained: those of the base still
  enrolled, suspended or graduated on the date;
- dropout rate = lost / base; retention rate (巩固率) = retained / base.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    String,
    and_,
    case,
    cast,
    exists,
    func,
    literal,
    literal_column,
    or_,
    select,
    type_coerce,
)
from sqlalchemy.ext.asyncio import AsyncSession

from authz.filters import covers, scope_filter
from models.case import CasePlan, DropoutCase
from models.child import Child, ChildGroup
from models.enums import ClosureReason, EnrolmentStatus
from models.reference import Jurisdiction
from models.school import Enrolment, RegisterEvent, School
from models.stats import NO_ENTRY, StatTally
from workflow.calendar import LOCAL, years_before
from workflow.child import GROUP_FIELD
from workflow.context import ServiceContext

OBJ = "stats"
SCHOOL_AGE = (6, 15)  # compulsory education: ages 6 to 15, grades 1–9
ON_REGISTER = (EnrolmentStatus.ENROLLED.value, EnrolmentStatus.SUSPENDED.value)
RETAINED = (*ON_REGISTER, EnrolmentStatus.GRADUATED.value)


class Dimension(enum.Enum):
    """What a table of figures is broken down by."""

    TOTAL = "total"
    DISTRICT = "district"
    TOWNSHIP = "township"
    SCHOOL = "school"
    GRADE = "grade"
    SPECIAL_GROUP = "special_group"
    CAUSE = "cause"
    STAGE = "stage"


class Measure(enum.Enum):
    """A count a figure is made of; a drill-down lists the children counted in one."""

    SCHOOL_AGE = "school_age"
    ENROLLED = "enrolled"
    DEFERRED_OR_EXEMPT = "deferred_or_exempt"
    SUSPECTED = "suspected"
    CONFIRMED_DROPOUT = "confirmed_dropout"
    RETURNED = "returned"
    BASE = "base"
    LOST = "lost"
    RETAINED = "retained"


@dataclass(frozen=True)
class Figures:
    """One row of a table: its key, its label and its counts; the rates follow from them."""

    key: str
    label: str
    counts: dict[Measure, int]

    @property
    def dropout_rate(self) -> float | None:
        base = self.counts[Measure.BASE]
        return round(self.counts[Measure.LOST] / base, 6) if base else None

    @property
    def retention_rate(self) -> float | None:
        base = self.counts[Measure.BASE]
        return round(self.counts[Measure.RETAINED] / base, 6) if base else None

    def as_json(self) -> dict[str, Any]:
        """The figures as a report's snapshot keeps them."""
        return {
            "key": self.key,
            "label": self.label,
            **{m.value: n for m, n in self.counts.items()},
            "dropout_rate": self.dropout_rate,
            "retention_rate": self.retention_rate,
        }


@dataclass(frozen=True)
class StatsTable:
    jurisdiction: Jurisdiction
    dimension: Dimension
    as_of: date
    period_start: date
    rows: list[Figures]
    total: Figures

    def as_json(self) -> dict[str, Any]:
        return {
            "jurisdiction": self.jurisdiction.code,
            "dimension": self.dimension.value,
            "as_of": self.as_of.isoformat(),
            "period_start": self.period_start.isoformat(),
            "rows": [r.as_json() for r in self.rows],
            "total": self.total.as_json(),
        }


@dataclass(frozen=True)
class StatsRequest:
    """Which table: the place (the caller's own unit when absent), the breakdown, the date
    the figures stand at (today) and the period's first day (the school year's)."""

    jurisdiction_code: str | None = None
    dimension: Dimension = Dimension.TOTAL
    as_of: date | None = None
    period_start: date | None = None


def day_end(day: date) -> datetime:
    """The first instant after ``day`` in China Standard Time."""
    return datetime.combine(day + timedelta(days=1), time(0), tzinfo=LOCAL)


NO_STATUS = "~"  # an event's status that was NULL, told apart from "no such event"


def _nearest(child_id: Any, column: Any, on: ColumnElement[bool], *order: Any) -> Any:
    """The status ``column`` of the child's event nearest to a day (``on`` and ``order`` say
    which side), ``NO_STATUS`` for a NULL one, NULL when there is no such event: one probe
    of ``ix_register_event_child_day`` per child."""
    return (
        select(func.coalesce(type_coerce(column, String), literal_column(f"'{NO_STATUS}'")))
        .where(RegisterEvent.child_id == child_id, on)
        .order_by(*order).limit(1).scalar_subquery()
    )


def _before(child_id: Any, day: date) -> Any:
    """The ``to_status`` of the child's last event on or before ``day``."""
    return _nearest(child_id, RegisterEvent.to_status, RegisterEvent.on_date <= day,
                    RegisterEvent.on_date.desc(), RegisterEvent.id.desc())


def _status_on(facts: Any, before: Any, day: date) -> ColumnElement[Any]:
    """A child's register status on a day (as text; NULL when on no register then), from the
    register's dated events: the ``to_status`` of its last event on or before the day (looked
    up once, ``before``), else the ``from_status`` of its first event after it (looked up
    only then), else the current entry if it stood already."""
    after = _nearest(facts.c.child_id, RegisterEvent.from_status, RegisterEvent.on_date > day,
                     RegisterEvent.on_date, RegisterEvent.id)
    return case(
        (before.is_not(None), func.nullif(before, NO_STATUS)),
        (after.is_not(None), func.nullif(after, NO_STATUS)),
        (facts.c.status_since <= day, facts.c.status),
        else_=None,
    )


def flag(condition: ColumnElement[bool]) -> ColumnElement[int]:
    return case((condition, 1), else_=0)


def _measures(
    as_of: date, start: date, child_id: Any, birth: Any, now: Any, then: Any
) -> dict[Measure, ColumnElement[int]]:
    end, begin = day_end(as_of), day_end(start - timedelta(days=1))
    youngest, oldest = years_before(as_of, SCHOOL_AGE[0]), years_before(as_of, SCHOOL_AGE[1] + 1)
    case_open = exists(
        select(DropoutCase.id).where(
            DropoutCase.child_id == child_id,
            DropoutCase.day0 <= as_of,
            or_(DropoutCase.closed_at.is_(None), DropoutCase.closed_at >= end),
            DropoutCase.opened_at < end,
        )
    )
    returned = exists(
        select(DropoutCase.id).where(
            DropoutCase.child_id == child_id,
            DropoutCase.closure_reason == ClosureReason.RETURNED,
            DropoutCase.closed_at >= begin,
            DropoutCase.closed_at < end,
        )
    )
    base = then.in_(ON_REGISTER)
    dropped = now == EnrolmentStatus.DROPOUT_MARKED.value
    return {
        Measure.SCHOOL_AGE: flag(and_(birth <= youngest, birth > oldest)),
        Measure.ENROLLED: flag(now == EnrolmentStatus.ENROLLED.value),
        Measure.DEFERRED_OR_EXEMPT: flag(
            now.in_((EnrolmentStatus.DEFERRED.value, EnrolmentStatus.EXEMPT.value))
        ),
        Measure.SUSPECTED: flag(and_(case_open, or_(now.is_(None), ~dropped))),
        Measure.CONFIRMED_DROPOUT: flag(dropped),
        Measure.RETURNED: flag(returned),
        Measure.BASE: flag(base),
        Measure.LOST: flag(and_(base, dropped)),
        Measure.RETAINED: flag(and_(base, now.in_(RETAINED))),
    }


def _latest_case(column: Any, as_of: date) -> ColumnElement[Any]:
    """``column`` of the child's latest case opened by the date (its plan's, for a cause)."""
    return (
        select(type_coerce(column, String))
        .select_from(DropoutCase)
        .outerjoin(CasePlan, CasePlan.case_id == DropoutCase.id)
        .where(DropoutCase.child_id == Child.id, DropoutCase.day0 <= as_of)
        .order_by(DropoutCase.id.desc())
        .limit(1)
        .scalar_subquery()
    )


KEYS: dict[Dimension, Any] = {
    Dimension.TOTAL: lambda as_of: literal_column("'total'"),
    Dimension.DISTRICT: lambda as_of: func.substr(Child.township_code, 1, 6),
    Dimension.TOWNSHIP: lambda as_of: Child.township_code,
    Dimension.SCHOOL: lambda as_of: cast(Enrolment.school_id, String),
    Dimension.GRADE: lambda as_of: cast(Enrolment.grade, String),
    Dimension.SPECIAL_GROUP: lambda as_of: type_coerce(ChildGroup.group, String),
    Dimension.CAUSE: lambda as_of: _latest_case(CasePlan.cause, as_of),
    Dimension.STAGE: lambda as_of: _latest_case(DropoutCase.stage, as_of),
}


def _key(dimension: Dimension, as_of: date) -> ColumnElement[Any]:
    """The SQL expression of a row's key in the table broken down by ``dimension``."""
    key: ColumnElement[Any] = KEYS[dimension](as_of)
    return key


def readable(
    ctx: ServiceContext, scope: Any = Child.scope_path, residence: Any = Child.residence_path
) -> ColumnElement[bool]:
    """The children whose figures the caller may see: ``stats read`` on either domain (the
    child's, or the same paths kept in ``stat_child``: one policy term for both paths)."""
    return or_(
        scope_filter(ctx.authz, ctx.principal, OBJ, "read", scope),
        scope_filter(ctx.authz, ctx.principal, OBJ, "read", residence),
    )


def _group_guard(ctx: ServiceContext) -> ColumnElement[bool]:
    """Groups that reveal poverty or health count only children whose field the caller may
    unmask, as in the children list: a count by group would otherwise tell what a mask hides."""
    terms: list[ColumnElement[bool]] = [ChildGroup.group.notin_(list(GROUP_FIELD))]
    for group, fld in GROUP_FIELD.items():
        terms.append(
            and_(
                ChildGroup.group == group,
                or_(
                    scope_filter(ctx.authz, ctx.principal, fld.obj, "unmask", Child.scope_path),
                    scope_filter(
                        ctx.authz, ctx.principal, fld.obj, "unmask", Child.residence_path
                    ),
                ),
            )
        )
    return or_(*terms)


def facts_query(
    ctx: ServiceContext | None, paths: Sequence[str], dimension: Dimension, as_of: date,
    start: date, only: ColumnElement[bool] | None = None,
) -> Select[Any]:
    """One row per child (per group membership for SPECIAL_GROUP): the unit's domain it
    counts in (one of ``paths``), its key and its flags; filtered by the caller's policy, or
    by none for the system's own scans (``ctx`` None).

    Three layers, each fenced (``OFFSET 0``) so that the planner does not fold one into the
    next and run a lookup once per use: the children in scope with one lookup of their last
    event on each date, then their status on each date, then the flags. Every lookup is one
    probe of an index per child, so a district's table reads its own children's events only
    (docs/statistics.md, "How the figures are kept")."""
    day_before = start - timedelta(days=1)
    within = [covers(Child.scope_path, path) for path in paths]
    children = (
        select(
            Child.id.label("child_id"),
            Child.birth_date.label("birth_date"),
            case(*((w, literal(path, String)) for w, path in zip(within, paths, strict=True)),
                 else_=None).label("unit"),
            func.coalesce(_key(dimension, as_of), literal_column("'none'")).label("key"),
            type_coerce(Enrolment.status, String).label("status"),
            Enrolment.status_since.label("status_since"),
            _before(Child.id, as_of).label("before_now"),
            _before(Child.id, day_before).label("before_then"),
        )
        .select_from(Child).outerjoin(Enrolment, Enrolment.child_id == Child.id)
        .where(or_(*within))
    )
    if ctx is not None:
        children = children.where(readable(ctx))
    if only is not None:
        children = children.where(only)
    if dimension is Dimension.SPECIAL_GROUP:
        children = children.join(ChildGroup, ChildGroup.child_id == Child.id)
        if ctx is not None:
            children = children.where(_group_guard(ctx))
    first = children.offset(0).subquery("children")
    statuses = select(
        first.c.child_id, first.c.birth_date, first.c.unit, first.c.key,
        _status_on(first, first.c.before_now, as_of).label("now"),
        _status_on(first, first.c.before_then, day_before).label("then"),
    ).offset(0).subquery("statuses")
    measures = _measures(as_of, start, statuses.c.child_id, statuses.c.birth_date,
                         statuses.c.now, statuses.c.then)
    return select(
        statuses.c.child_id, statuses.c.unit, statuses.c.key,
        *(expr.label(m.value) for m, expr in measures.items()),
    )


# --- the facts kept on write (docs/statistics.md, "How the figures are kept") -------------

# The breakdowns the kept facts answer, by the column of the key; the others stay live (a
# child counts in several special-group rows, and the case breakdowns are asked for in
# reports, not on every page).
TALLIED: dict[Dimension, Any] = {
    Dimension.TOTAL: lambda t: literal_column("'total'"),
    Dimension.DISTRICT: lambda t: func.substr(t.c.township_code, 1, 6),
    Dimension.TOWNSHIP: lambda t: t.c.township_code,
    Dimension.SCHOOL: lambda t: cast(_entry(t, t.c.school_id), String),
    Dimension.GRADE: lambda t: cast(_entry(t, t.c.grade), String),
}


def _entry(table: Any, column: Any) -> Any:
    """A register entry's school or grade as ``stat_child`` has it (NULL without an entry):
    ``stat_tally`` keeps ``NO_ENTRY`` instead, its key columns being its primary key."""
    return func.nullif(column, NO_ENTRY) if table is StatTally.__table__ else column


def kept_key(dimension: Dimension, table: Any) -> ColumnElement[Any]:
    """The key of a kept row (``stat_child``'s or ``stat_tally``'s) in the table by
    ``dimension``, as the live query words it."""
    key: ColumnElement[Any] = func.coalesce(TALLIED[dimension](table),
                                            literal_column("'none'"))
    return key


KEPT = tuple(m for m in Measure if m is not Measure.SCHOOL_AGE)
CARRIED = ("scope_path", "residence_path", "township_code", "school_id", "grade",
           "birth_date")


def fact_rows(as_of: date, start: date, only: ColumnElement[bool] | None) -> Select[Any]:
    """``stat_child``'s rows as of a day for the period from ``start``: the same layers and
    flags as the live figures (``_facts``), for every child (or ``only`` those), without a
    policy (the system's own upkeep; the policy is applied when the rows are read)."""
    day_before = start - timedelta(days=1)
    children = (
        select(
            Child.id.label("child_id"), Child.scope_path, Child.residence_path,
            Child.township_code, Enrolment.school_id, Enrolment.grade, Child.birth_date,
            type_coerce(Enrolment.status, String).label("status"),
            Enrolment.status_since.label("status_since"),
            _before(Child.id, as_of).label("before_now"),
            _before(Child.id, day_before).label("before_then"),
        )
        .select_from(Child).outerjoin(Enrolment, Enrolment.child_id == Child.id)
    )
    if only is not None:
        children = children.where(only)
    first = children.offset(0).subquery("children")
    statuses = select(
        first.c.child_id, *(first.c[c] for c in CARRIED),
        _status_on(first, first.c.before_now, as_of).label("now"),
        _status_on(first, first.c.before_then, day_before).label("then"),
    ).offset(0).subquery("statuses")
    measures = _measures(as_of, start, statuses.c.child_id, statuses.c.birth_date,
                         statuses.c.now, statuses.c.then)
    return select(statuses.c.child_id, *(statuses.c[c] for c in CARRIED),
                  *(measures[m].label(m.value) for m in KEPT))


def dated_after(child_id: Any, day: date) -> ColumnElement[bool]:
    """Whether the child has a row the figures read dated after ``day`` (an entry's status
    from a later day, a later event, a case opened or closed later): its kept facts would
    change when that day comes without any write, so it stays dirty until then."""
    end = day_end(day)
    return or_(
        exists(select(Enrolment.id).where(Enrolment.child_id == child_id,
                                          Enrolment.status_since > day)),
        exists(select(RegisterEvent.id).where(RegisterEvent.child_id == child_id,
                                              RegisterEvent.on_date > day)),
        exists(select(DropoutCase.id).where(
            DropoutCase.child_id == child_id,
            or_(DropoutCase.day0 > day, DropoutCase.opened_at >= end,
                DropoutCase.closed_at >= end))),
    )


async def key_labels(
    session: AsyncSession, keys: dict[Dimension, set[str]], places: frozenset[str] = frozenset()
) -> tuple[dict[Dimension, dict[str, str]], dict[str, Jurisdiction]]:
    """Names for the keys of each breakdown (jurisdictions and schools by name, grades as
    such, the rest by their code) and the jurisdictions of ``places``: one statement for all
    the jurisdictions, one for the schools when a breakdown is by school."""
    codes = set(places).union(*(keys.get(d, set()) for d in (Dimension.DISTRICT,
                                                               Dimension.TOWNSHIP)))
    found: dict[str, Jurisdiction] = {}
    if codes:
        rows = await session.execute(select(Jurisdiction).where(Jurisdiction.code.in_(codes)))
        found = {j.code: j for j in rows.scalars()}
    schools: dict[str, str] = {}
    if keys.get(Dimension.SCHOOL):
        ids = [int(k) for k in keys[Dimension.SCHOOL] if k.isdigit()]
        rows2 = await session.execute(select(School.id, School.name).where(School.id.in_(ids)))
        schools = {str(i): name for i, name in rows2.all()}
    labels: dict[Dimension, dict[str, str]] = {}
    for dimension, asked in keys.items():
        if dimension in (Dimension.DISTRICT, Dimension.TOWNSHIP):
            labels[dimension] = {k: found[k].name for k in asked if k in found}
        elif dimension is Dimension.SCHOOL:
            labels[dimension] = {k: schools[k] for k in asked if k in schools}
        elif dimension is Dimension.GRADE:
            labels[dimension] = {k: f"{k}年级" for k in asked}
        else:
            labels[dimension] = {k: k for k in asked}
    return labels, found


def figures_row(row: Any, label: str) -> Figures:
    return Figures(
        key=row.key, label=label, counts={m: int(getattr(row, m.value) or 0) for m in Measure}
    )


def breakdowns(dimension: Dimension) -> tuple[Dimension, ...]:
    """The grouped selects a table needs: its breakdown, and the total apart only where a
    child may count in several rows (its special groups); elsewhere each child is in one
    row and the total is their sum."""
    return (dimension, Dimension.TOTAL) if dimension is Dimension.SPECIAL_GROUP else (
        dimension,)


def total_row(rows: Sequence[Any], totals: Sequence[Any] | None, label: str) -> Figures:
    """The total row: the separate total's when there is one, else the rows' sum."""
    if totals is not None:
        return figures_row(totals[0], label) if totals else Figures(
            "total", label, dict.fromkeys(Measure, 0))
    return Figures("total", label, {m: sum(int(getattr(r, m.value) or 0) for r in rows)
                                    for m in Measure})
