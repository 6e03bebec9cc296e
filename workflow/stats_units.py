"""The statistics the system computes for itself, for many units at once: the tables of a
page of draft reports (``workflow/report/drafting.py``) and a district's totals for the
accountability scan (``workflow/accountability/rules.py``). No caller and no policy: the
same facts as ``workflow.stats`` (``facts_query``), grouped per unit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Select, func, literal, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession

from authz.enforcer import domain_covers
from workflow.stats import (
    Dimension,
    Figures,
    Measure,
    StatsTable,
    breakdowns,
    facts_query,
    figures_row,
    key_labels,
    total_row,
)


@dataclass(frozen=True)
class UnitAsk:
    """One table the system drafts for a unit (a report): the unit's domain, the
    jurisdiction the table is named after, the breakdown and the dates."""

    path: str
    place_code: str
    dimension: Dimension
    as_of: date
    start: date


def _disjoint(paths: list[str]) -> list[list[str]]:
    """The paths in sets of which none covers another (a school's and its district's apart):
    a child counts for one unit of each set, and so for every unit that covers it. As many
    sets as the units nest deep, whatever their number."""
    sets: list[list[str]] = []
    for path in paths:
        home = next((s for s in sets if not any(domain_covers(path, p) or domain_covers(p, path)
                                                for p in s)), None)
        if home is None:
            sets.append([path])
        else:
            home.append(path)
    return sets


# How many grouped selects go into one UNION ALL (SQLite allows 500 by default).
UNION_LIMIT = 200


async def unit_tables(session: AsyncSession, asks: Sequence[UnitAsk]) -> list[StatsTable]:
    """Many units' tables at once, for the system's own work (a page of draft reports, no
    caller, no policy): the asks sharing a breakdown and dates are one grouped select over
    all their units' children, each child told to its unit by its domain, and all the
    selects are one UNION ALL; then one statement names the keys and the places. So a page
    of drafts costs the same statements whatever its size (no N+1)."""
    groups: dict[tuple[Dimension, date, date], dict[str, None]] = {}
    for ask in asks:
        groups.setdefault((ask.dimension, ask.as_of, ask.start), {})[ask.path] = None
    parts: list[Select[Any]] = []
    tags: list[tuple[tuple[Dimension, date, date], bool]] = []
    for group, paths in groups.items():
        dimension, as_of, start = group
        for each in breakdowns(dimension):
            for disjoint in _disjoint(list(paths)):
                facts = facts_query(None, disjoint, each, as_of, start).subquery()
                parts.append(select(
                    literal(len(tags)).label("tag"), facts.c.unit, facts.c.key,
                    *(func.sum(facts.c[m.value]).label(m.value) for m in Measure),
                ).group_by(facts.c.unit, facts.c.key))
            tags.append((group, each is Dimension.TOTAL))
    found: dict[tuple[int, str], list[Any]] = {}
    for i in range(0, len(parts), UNION_LIMIT):
        chunk = union_all(*parts[i:i + UNION_LIMIT]).subquery()
        result = await session.execute(
            select(chunk).order_by(chunk.c.tag, chunk.c.unit, chunk.c.key))
        for row in result.all():
            found.setdefault((row.tag, row.unit), []).append(row)
    # a unit's rows came from one set, so they stay ordered by key within it
    keys: dict[Dimension, set[str]] = {}
    for (tag, _), rows in found.items():
        (dimension, _, _), is_total = tags[tag]
        if not is_total:
            keys.setdefault(dimension, set()).update(r.key for r in rows)
    labels, places = await key_labels(session, keys, frozenset(a.place_code for a in asks))
    index = {tag: i for i, tag in enumerate(tags)}
    tables = []
    for ask in asks:
        group = (ask.dimension, ask.as_of, ask.start)
        rows = found.get((index[(group, ask.dimension is Dimension.TOTAL)], ask.path), [])
        apart = index.get((group, True)) if ask.dimension is Dimension.SPECIAL_GROUP else None
        place = places[ask.place_code]
        names = labels.get(ask.dimension, {})
        tables.append(StatsTable(
            jurisdiction=place, dimension=ask.dimension, as_of=ask.as_of,
            period_start=ask.start, rows=[figures_row(r, names.get(r.key, r.key)) for r in rows],
            total=total_row(rows, None if apart is None else found.get((apart, ask.path), []),
                         place.name),
        ))
    return tables




async def unit_totals(
    session: AsyncSession, path: str, as_of: date, start: date
) -> tuple[Figures, list[int]]:
    """The total figures of a domain for the system's scans (no caller, no policy), and the
    children counted as lost (the evidence of a loss rate)."""
    facts = facts_query(None, [path], Dimension.TOTAL, as_of, start).subquery()
    row = (
        await session.execute(select(*(func.sum(facts.c[m.value]).label(m.value) for m in Measure)))
    ).one()
    lost = (
        await session.execute(select(facts.c.child_id).where(facts.c[Measure.LOST.value] == 1))
    ).scalars()
    counts = {m: int(getattr(row, m.value) or 0) for m in Measure}
    return Figures("total", path, counts), sorted(lost)
