"""The statistics service's two reads (控辍保学统计): a table of figures (``statistics``) and
the children behind one figure (``children_behind``), for the caller's place, date and
period. Each is answered from the kept facts (``stat_tally``, ``stat_child``; kept on write
by ``workflow/stats_tally.py``) when they stand for the day and period asked for, else by
the live query over the register's history (``workflow/stats.py``).

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
from models.reference import Jurisdiction
from models.stats import StatChild, StatDirty, StatState, StatTally
from workflow.calendar import local_date, school_year_start, years_before
from workflow.context import ServiceContext
from workflow.errors import InvalidInput, NotFound
from workflow.pagination import Page, PageRequest, decode_key, keyset_page
from workflow.stats import (
    KEPT,
    OBJ,
    SCHOOL_AGE,
    TALLIED,
    Dimension,
    Measure,
    StatsRequest,
    StatsTable,
    breakdowns,
    facts_query,
    figures_row,
    flag,
    kept_key,
    key_labels,
    readable,
    total_row,
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


async def _place(ctx: ServiceContext, code: str | None) -> tuple[Jurisdiction, str]:
    """The jurisdiction asked for and the domain its figures cover; without a code, the
    caller's own unit (a school's principal gets the school's figures)."""
    path = None
    if code is None:
        code, path = ctx.principal.jurisdiction_code, ctx.principal.agency_scope
    place = await ctx.session.get(Jurisdiction, code)
    if place is None:
        raise NotFound("no such jurisdiction", field="jurisdictionCode")
    path = path or place.path
    ctx.authz.require(ctx.principal, OBJ, "read", path)
    return place, path


def _dates(ctx: ServiceContext, request: StatsRequest) -> tuple[date, date]:
    as_of = request.as_of or local_date(ctx.clock.now())
    start = request.period_start or school_year_start(as_of)
    if start > as_of:
        raise InvalidInput("the period starts after the date asked for", field="periodStart")
    return as_of, start


async def _table(
    ctx: ServiceContext, place: Jurisdiction, path: str, dimension: Dimension, as_of: date,
    start: date,
) -> StatsTable:
    """A row per key and the total (one grouped statement each where they differ), under
    the caller's policy."""
    session = ctx.session
    tables = []
    kept = await kept_facts_answer(ctx, dimension, as_of, start)
    for each in breakdowns(dimension):
        if kept:
            stmt = summed_table(summed(ctx, path, each, as_of, start))
        else:
            facts = facts_query(ctx, [path], each, as_of, start).subquery()
            stmt = select(
                facts.c.key, *(func.sum(facts.c[m.value]).label(m.value) for m in Measure)
            ).group_by(facts.c.key)
        tables.append((await session.execute(stmt.order_by("key"))).all())
    rows = tables[0]
    labels = (await key_labels(session, {dimension: {r.key for r in rows}}))[0][dimension]
    return StatsTable(
        jurisdiction=place,
        dimension=dimension,
        as_of=as_of,
        period_start=start,
        rows=[figures_row(r, labels.get(r.key, r.key)) for r in rows],
        total=total_row(rows, tables[1] if len(tables) > 1 else None, place.name),
    )


async def statistics(ctx: ServiceContext, request: StatsRequest) -> StatsTable:
    """The table of figures the caller asked for. ``stats read`` over the place is required,
    and only the children the caller may see are counted."""
    place, path = await _place(ctx, request.jurisdiction_code)
    as_of, start = _dates(ctx, request)
    return await _table(ctx, place, path, request.dimension, as_of, start)


async def children_behind(
    ctx: ServiceContext, request: StatsRequest, key: str | None, measure: Measure,
    page: PageRequest,
) -> Page[Child]:
    """The children counted in one figure (``key`` of the table's dimension, or the total),
    a page at a time; shown masked as in every list of children."""
    _, path = await _place(ctx, request.jurisdiction_code)
    as_of, start = _dates(ctx, request)
    keyed = key if key is not None and request.dimension is not Dimension.TOTAL else None
    if await kept_facts_answer(ctx, request.dimension, as_of, start):
        return await children_page(ctx, path, request.dimension, as_of, start,
                                              measure, keyed, page)
    facts = facts_query(ctx, [path], request.dimension, as_of, start).subquery()
    counted = select(facts.c.child_id).where(facts.c[measure.value] == 1)
    if keyed is not None:
        counted = counted.where(facts.c.key == keyed)
    stmt = select(Child).where(Child.id.in_(counted))
    return await keyset_page(ctx, stmt, Child.id, page, prefix="stats-child")
