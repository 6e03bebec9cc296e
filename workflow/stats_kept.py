"""Today's statistics from the kept facts (``stat_tally``, ``stat_child``; kept on write by
``workflow/stats_tally.py``): the tables and drill-downs ``workflow/stats.py`` answers from
them instead of the live query when they stand for the day and period asked for.

The facts, the breakdowns' keys and the policy term are ``workflow/stats.py``'s, so a kept
figure is the live one by construction (``tests/test_stats_tally.py`` checks them equal).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Integer,
    Select,
    and_,
    case,
    func,
    literal_column,
    or_,
    select,
    union_all,
)

from authz.filters import covers
from models.child import Child
from models.stats import StatChild, StatDirty, StatState, StatTally
from workflow.calendar import local_date, school_year_start, years_before
from workflow.context import ServiceContext
from workflow.pagination import Page, PageRequest, decode_key, keyset_page
from workflow.stats import (
    KEPT,
    SCHOOL_AGE,
    TALLIED,
    Dimension,
    Measure,
    facts_query,
    flag,
    kept_key,
    readable,
)


async def kept_facts_answer(ctx: ServiceContext, dimension: Dimension, as_of: date,
                            start: date) -> bool:
    """Whether ``stat_child`` answers this table: a breakdown it keys, for today and the
    current school year, with rows built for that year (one small statement). Any other day
    or period is computed live from the register's history, so it stays reproducible."""
    today = local_date(ctx.clock.now())
    if dimension not in TALLIED or as_of != today or start != school_year_start(today):
        return False
    state = (await ctx.session.execute(
        select(StatState.period_start, StatState.as_of).where(StatState.id == 1))).first()
    return state is not None and state.period_start == start and state.as_of <= today


def _school_age(birth: Any, as_of: date) -> ColumnElement[int]:
    youngest, oldest = years_before(as_of, SCHOOL_AGE[0]), years_before(as_of, SCHOOL_AGE[1] + 1)
    return flag(and_(birth <= youngest, birth > oldest))


def _next_month(day: date) -> date:
    return date(day.year + day.month // 12, day.month % 12 + 1, 1)


def _cut_months(as_of: date) -> tuple[date, date]:
    """The first days of the two months in which the school-age cut falls on ``as_of`` (the
    oldest's birthday, the youngest's): of the months between them every child is of school
    age, of the months outside none, so ``stat_tally`` answers those by month."""
    youngest, oldest = years_before(as_of, SCHOOL_AGE[0]), years_before(as_of, SCHOOL_AGE[1] + 1)
    return oldest.replace(day=1), youngest.replace(day=1)


def _zero() -> ColumnElement[int]:
    return literal_column("0", Integer)


def summed(ctx: ServiceContext, path: str, dimension: Dimension, as_of: date,
            start: date) -> Any:
    """Today's figures in ``path`` under the caller's policy as rows to sum by ``key``, with
    ``n`` the children each row stands for (a key whose children sum to none is no row of
    the table); four parts in one ``UNION ALL``, each filtered by the same ``scope_filter``
    terms on the same two paths as the live query:

    - ``stat_tally``'s groups: their summed flags, and school age for the months of birth
      wholly within the age range;
    - the children born in the two months the age cut falls in (``ix_stat_child_birth``;
      on a real register the over- and under-age only): their school age;
    - the dirty children's kept rows, taken out again (the tally holds them as last folded);
    - the dirty children's facts computed live (a few index probes each), so a figure is
      exact the moment a write commits, before any fold."""
    tally, kept = StatTally.__table__, StatChild.__table__
    first, last = _cut_months(as_of)
    months = tally.c.birth_month
    parts: list[Select[Any]] = [
        select(
            kept_key(dimension, tally).label("key"), tally.c.n.label("n"),
            *(tally.c[m.value].label(m.value) for m in KEPT),
            case((and_(months > first, months < last), tally.c.n),
                 else_=_zero()).label(Measure.SCHOOL_AGE.value),
        ).where(covers(tally.c.scope_path, path),
                readable(ctx, tally.c.scope_path, tally.c.residence_path)),
        select(
            kept_key(dimension, kept).label("key"), _zero().label("n"),
            *(_zero().label(m.value) for m in KEPT),
            _school_age(kept.c.birth_date, as_of).label(Measure.SCHOOL_AGE.value),
        ).where(
            or_(and_(kept.c.birth_date >= first, kept.c.birth_date < _next_month(first)),
                and_(kept.c.birth_date >= last, kept.c.birth_date < _next_month(last))),
            covers(kept.c.scope_path, path),
            readable(ctx, kept.c.scope_path, kept.c.residence_path)),
        select(
            kept_key(dimension, kept).label("key"), literal_column("-1", Integer).label("n"),
            *((-kept.c[m.value]).label(m.value) for m in KEPT),
            (-_school_age(kept.c.birth_date, as_of)).label(Measure.SCHOOL_AGE.value),
        ).where(kept.c.child_id.in_(select(StatDirty.child_id)),
                covers(kept.c.scope_path, path),
                readable(ctx, kept.c.scope_path, kept.c.residence_path)),
    ]
    live = _dirty_live(ctx, path, dimension, as_of, start)
    parts.append(select(live.c.key, literal_column("1", Integer).label("n"),
                        *(live.c[m.value] for m in KEPT), live.c[Measure.SCHOOL_AGE.value]))
    return union_all(*parts).subquery("facts")


def _dirty_live(ctx: ServiceContext, path: str, dimension: Dimension, as_of: date,
                start: date) -> Any:
    return facts_query(ctx, [path], dimension, as_of, start,
                       only=Child.id.in_(select(StatDirty.child_id))).subquery("dirty")


def summed_table(facts: Any) -> Select[Any]:
    """The table's rows from ``summed``: a row per key that counts a child."""
    return select(
        facts.c.key, *(func.sum(facts.c[m.value]).label(m.value) for m in Measure)
    ).group_by(facts.c.key).having(func.sum(facts.c.n) > 0)


def kept_children(ctx: ServiceContext, path: str, dimension: Dimension, as_of: date,
                   start: date, measure: Measure, key: str | None,
                   after: int | None, limit: int) -> Any:
    """The first ``limit`` children (by id, after ``after``) counted in one figure for today:
    the clean children's kept rows (a partial index per rarely set flag, in path order) and
    the dirty children computed live."""
    kept = StatChild.__table__
    flagged = (_school_age(kept.c.birth_date, as_of) == 1 if measure is Measure.SCHOOL_AGE
               # inlined, so that PostgreSQL matches the flag's partial index
               else kept.c[measure.value] == literal_column("1", Integer))
    clean = select(kept.c.child_id).where(
        flagged, covers(kept.c.scope_path, path),
        readable(ctx, kept.c.scope_path, kept.c.residence_path),
        kept.c.child_id.notin_(select(StatDirty.child_id)))
    live = _dirty_live(ctx, path, dimension, as_of, start)
    dirty = select(live.c.child_id).where(live.c[measure.value] == 1)
    if key is not None:
        clean = clean.where(kept_key(dimension, kept) == key)
        dirty = dirty.where(live.c.key == key)
    if after is not None:
        clean, dirty = clean.where(kept.c.child_id > after), dirty.where(live.c.child_id > after)
    first = clean.order_by(kept.c.child_id).limit(limit).subquery("clean")
    return union_all(select(first.c.child_id), dirty)


async def children_page(
    ctx: ServiceContext, path: str, dimension: Dimension, as_of: date, start: date,
    measure: Measure, key: str | None, page: PageRequest,
) -> Page[Child]:
    """The children counted in one figure for today: the count is the figure itself, summed
    from the tally; the page reads its children's kept rows by the flag's index."""
    facts = summed(ctx, path, dimension, as_of, start)
    total = select(func.coalesce(func.sum(facts.c[measure.value]), 0))
    if key is not None:
        total = total.where(facts.c.key == key)
    after = None if page.after is None else decode_key("stats-child", page.after)
    ids = kept_children(ctx, path, dimension, as_of, start, measure, key, after,
                        page.limit + 1).subquery("ids")
    found = await keyset_page(ctx, select(Child).where(Child.id.in_(select(ids.c.child_id))),
                              Child.id, page, prefix="stats-child", counted=False)
    found.total_count = int((await ctx.session.execute(total)).scalar_one())
    return found
