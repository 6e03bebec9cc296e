"""Keeping the statistics' facts (``stat_child``) up to date: a fold of the children the
triggers marked dirty, and a rebuild from scratch (docs/statistics.md, "How the figures are
kept"). The figures never wait for either: a table for today reads the clean rows and
computes the dirty children live, so folding only keeps the live part small.

Both are plain functions on a session, each one transaction (the caller commits), safe to
run twice and in two processes: they take the ``stat_state`` row's lock first (PostgreSQL;
SQLite has one writer), and a dirty mark is cleared only if its touch count is still the one
read, so a write committing meanwhile leaves its child dirty for the next fold.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Date,
    and_,
    case,
    delete,
    func,
    insert,
    select,
    tuple_,
    union,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from models.case import DropoutCase
from models.child import Child
from models.school import Enrolment, RegisterEvent
from models.stats import FLAGS, NO_ENTRY, StatChild, StatDirty, StatState, StatTally
from workflow.calendar import local_date, school_year_start, years_before
from workflow.engine import TickReport
from workflow.stats import CARRIED, KEPT, SCHOOL_AGE, dated_after, day_end, fact_rows

COLUMNS = ["child_id", *CARRIED, *(m.value for m in KEPT)]
# Dirty children folded per statement (an IN list SQLite and asyncpg both take).
CHUNK = 500
TALLY_KEY = ("scope_path", "residence_path", "township_code", "school_id", "grade",
             "birth_month")
TALLY_SUMS = ("n", *FLAGS)


class month_of(FunctionElement[date]):
    """The first day of a date's month, as a date (PostgreSQL and SQLite)."""

    type = Date()
    inherit_cache = True


@compiles(month_of, "postgresql")
def _month_of_postgresql(element: month_of, compiler: SQLCompiler, **kw: Any) -> str:
    return f"CAST(date_trunc('month', {compiler.process(element.clauses, **kw)}) AS DATE)"


@compiles(month_of)
def _month_of_sqlite(element: month_of, compiler: SQLCompiler, **kw: Any) -> str:
    return f"date({compiler.process(element.clauses, **kw)}, 'start of month')"


def birth_bucket(birth: Any, start: date) -> ColumnElement[date]:
    """``stat_tally``'s month of birth for the school year from ``start`` (1 September):
    the first day of the birth month, except where no day of the year moves a child across
    the school-age cut. Those born from ``start`` less 15 years to the day before ``start``
    less 6 years are of school age on every day of the year, and none is born in a month
    the cut falls in on any day of it: one bucket, dated ``start`` less 15 years (after
    every cut month of the older end, before every one of the younger). Those born before
    ``start`` less 16 years, or from ``start`` less 5 years, are of school age on no day of
    it: one bucket each, dated before, or on and after, every cut month. So a school's grade
    is a row or two, not one per month of birth, and a table sums the buckets as months
    (``workflow/stats_query.summed``): the kept facts answer only the year they were built for."""
    older, younger = SCHOOL_AGE[1], SCHOOL_AGE[0]
    too_old, always = years_before(start, older + 1), years_before(start, older)
    too_young = years_before(start, younger - 1)
    return case(
        (birth < too_old, (too_old - timedelta(days=1)).replace(day=1)),
        (and_(birth >= always, birth < years_before(start, younger)), always),
        (birth >= too_young, too_young),
        else_=month_of(birth),
    )


def _tally_rows(only: ColumnElement[bool] | None, sign: int, start: date) -> Any:
    """``stat_child``'s rows (``only`` those; all in the key's order, so that a district's
    rows share pages) summed by the tally's key for the school year from ``start``, each
    sum times ``sign`` (-1: the contributions to take out)."""
    kept = select(
        StatChild.scope_path, StatChild.residence_path, StatChild.township_code,
        func.coalesce(StatChild.school_id, NO_ENTRY).label("school_id"),
        func.coalesce(StatChild.grade, NO_ENTRY).label("grade"),
        birth_bucket(StatChild.birth_date, start).label("birth_month"),
        *(StatChild.__table__.c[f] for f in FLAGS))
    if only is not None:
        kept = kept.where(only)
    rows = kept.subquery("kept")
    key = [rows.c[c] for c in TALLY_KEY]
    stmt = select(*key, sign * func.count(), *(sign * func.sum(rows.c[f]) for f in FLAGS))
    return stmt.group_by(*key) if only is not None else stmt.group_by(*key).order_by(*key)


async def _add_to_tally(session: AsyncSession, only: ColumnElement[bool], sign: int,
                        start: date) -> None:
    """Add (``sign`` 1) or take out (-1) the contributions of ``only``'s rows of
    ``stat_child``: one upsert, set-based. A fold runs under the state row's lock, so no
    other upkeep writes the tally meanwhile (writers never do)."""
    dialect = session.get_bind().dialect.name
    build: Any = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = build(StatTally).from_select([*TALLY_KEY, *TALLY_SUMS], _tally_rows(only, sign, start))
    table = StatTally.__table__
    await session.execute(stmt.on_conflict_do_update(
        index_elements=list(TALLY_KEY),
        set_={c: table.c[c] + stmt.excluded[c] for c in TALLY_SUMS}))


async def _lock(session: AsyncSession) -> StatState | None:
    """The state row, locked until the transaction ends: two folds (or a fold and a
    rebuild) in two processes take turns instead of interleaving."""
    return (await session.execute(
        select(StatState).where(StatState.id == 1).with_for_update())).scalar_one_or_none()


async def rebuild(session: AsyncSession, today: date, now: datetime) -> int:
    """Every child's facts as of ``today`` for its school year, set-based (one INSERT …
    SELECT); the dirty marks read first are cleared, except for children with rows dated
    after today, which are marked dirty. Returns the rows built."""
    state = await _lock(session)
    start = school_year_start(today)
    seen = (await session.execute(select(StatDirty.child_id, StatDirty.n))).all()
    await session.execute(delete(StatChild))
    # in path order, so that a district's rows share pages: read in jurisdiction order they
    # were one heap page per row (14,644 pages for a district's 20,282 rows, mostly uncached)
    rows = fact_rows(today, start, None).subquery()
    await session.execute(insert(StatChild).from_select(
        COLUMNS, select(*(rows.c[c] for c in COLUMNS)).order_by(rows.c.scope_path,
                                                                 rows.c.child_id)))
    await session.execute(delete(StatTally))
    await session.execute(insert(StatTally).from_select(
        [*TALLY_KEY, *TALLY_SUMS], _tally_rows(None, 1, start)))
    await _clear(session, seen)
    end = day_end(today)
    later = union(
        select(Enrolment.child_id).where(Enrolment.status_since > today),
        select(RegisterEvent.child_id).where(RegisterEvent.on_date > today),
        select(DropoutCase.child_id).where(
            (DropoutCase.day0 > today) | (DropoutCase.opened_at >= end)
            | (DropoutCase.closed_at >= end)),
    ).subquery()
    await session.execute(insert(StatDirty).from_select(
        ["child_id", "n"], select(later.c.child_id, 1).where(
            later.c.child_id.notin_(select(StatDirty.child_id)))))
    if state is None:
        session.add(StatState(id=1, period_start=start, as_of=today, built_at=now))
    else:
        state.period_start, state.as_of, state.built_at = start, today, now
    await session.flush()
    built: int = (await session.execute(select(func.count()).select_from(StatChild))).scalar_one()
    return built


async def _clear(session: AsyncSession, seen: Sequence[tuple[int, int]],
                 keep_later: date | None = None) -> None:
    """Clear the dirty marks read (child, touch count) that are unchanged since; with
    ``keep_later``, not those of children with rows dated after that day."""
    for i in range(0, len(seen), CHUNK):
        pairs = [(c, n) for c, n in seen[i:i + CHUNK]]
        stmt = delete(StatDirty).where(tuple_(StatDirty.child_id, StatDirty.n).in_(pairs))
        if keep_later is not None:
            stmt = stmt.where(~dated_after(StatDirty.child_id, keep_later))
        await session.execute(stmt)


async def fold(session: AsyncSession, today: date, now: datetime, *, limit: int | None = None,
               new_year: bool = True) -> int:
    """Bring the dirty children's rows up to ``today`` and clear their marks (at most
    ``limit`` children, the lowest ids first; the rest wait for the next fold, the figures
    being exact meanwhile). A new school year (1 September) rebuilds, unless ``new_year`` is
    false: then nothing is done and the figures stay live until ``lianbao stats-rebuild``.
    Nothing before the first rebuild (the figures are live). Returns the children folded."""
    state = await _lock(session)
    if state is None:
        return 0
    if state.period_start != school_year_start(today) or state.as_of > today:
        return await rebuild(session, today, now) if new_year else 0
    seen = [(c, n) for c, n in (await session.execute(
        select(StatDirty.child_id, StatDirty.n).order_by(StatDirty.child_id).limit(limit)
    )).all()]
    for i in range(0, len(seen), CHUNK):
        ids = [c for c, _ in seen[i:i + CHUNK]]
        # the tally follows the rows: their old contributions out, the new ones in
        await _add_to_tally(session, StatChild.child_id.in_(ids), -1, state.period_start)
        await session.execute(delete(StatChild).where(StatChild.child_id.in_(ids)))
        await session.execute(insert(StatChild).from_select(
            COLUMNS, fact_rows(today, state.period_start, Child.id.in_(ids))))
        await _add_to_tally(session, StatChild.child_id.in_(ids), 1, state.period_start)
    if seen:
        await session.execute(delete(StatTally).where(StatTally.n == 0))
    await _clear(session, seen, keep_later=today)
    state.as_of, state.built_at = today, now
    await session.flush()
    return len(seen)


# Children the engine's pass folds at most: a set-based import may dirty a whole province,
# and the pass is one transaction under the server's statement timeout.
PASS_LIMIT = 20_000


async def fold_statistics(session: AsyncSession, now: datetime, report: TickReport) -> None:
    """The deadline engine's scheduled pass (``workflow/jobs.py``): fold the dirty children,
    a bounded number per pass. The new school year's rebuild (minutes at province scale,
    beyond the server's statement timeout and in the pass's one transaction) is left to
    ``lianbao stats-rebuild`` (run it on 1 September); until then the figures are live."""
    await fold(session, local_date(now), now, limit=PASS_LIMIT, new_year=False)
