"""Drafting a report's figures from the data: the unit's table (by the kind's dimension) as
of the period's end, school year to date, and the month-by-month trend since 1 September."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from models.enums import AgencyKind
from models.report import PeriodicReport
from models.school import School
from workflow import stats, stats_units
from workflow.calendar import school_year_start
from workflow.report.kinds import kind_of

# What each count is called in the reports' tables (and the two rates after them).
MEASURE_NAMES = {
    stats.Measure.SCHOOL_AGE: "适龄儿童",
    stats.Measure.ENROLLED: "在籍在校",
    stats.Measure.DEFERRED_OR_EXEMPT: "缓学免学",
    stats.Measure.SUSPECTED: "疑似辍学",
    stats.Measure.CONFIRMED_DROPOUT: "辍学",
    stats.Measure.RETURNED: "复学",
    stats.Measure.BASE: "学年初在籍",
    stats.Measure.LOST: "流失",
    stats.Measure.RETAINED: "巩固",
}
RATE_NAMES = {"dropout_rate": "辍学率", "retention_rate": "巩固率"}


def month_ends(start: date, end: date) -> list[date]:
    """The last day of each month from ``start``'s to ``end`` (``end`` itself last)."""
    days, day = [], start
    while day <= end:
        nxt = (day.replace(day=28) + timedelta(days=4)).replace(day=1)
        days.append(min(nxt - timedelta(days=1), end))
        day = nxt
    return days


async def _places(session: AsyncSession, reports: Sequence[PeriodicReport]) -> dict[int, str]:
    """The jurisdiction each report's table is named after: a school's township, else the
    district (one statement for the schools of the page)."""
    ids = {r.school_id for r in reports if r.unit_kind is AgencyKind.SCHOOL and r.school_id}
    townships: dict[int, str] = {}
    if ids:
        rows = await session.execute(select(School.id, School.township_code)
                                     .where(School.id.in_(ids)))
        townships = {i: code for i, code in rows.all()}
    return {r.id: townships.get(r.school_id or 0, r.district_code)
            if r.unit_kind is AgencyKind.SCHOOL else r.district_code for r in reports}


async def draft_many(
    session: AsyncSession, reports: Sequence[PeriodicReport], today: date
) -> list[dict[str, Any]]:
    """The figures of each report as the data stands (as of the period's end, or today
    while the period runs): what the unit checks and submits. A page of drafts is drafted
    together (``stats_units.unit_tables``: a few statements whatever the page's size)."""
    places = await _places(session, reports)
    asks: list[stats_units.UnitAsk] = []
    shapes = []
    for report in reports:
        kind = kind_of(report.district_code, report.kind)
        as_of = min(report.period_end, today)
        start = school_year_start(report.period_end)
        months = month_ends(start, as_of)
        shapes.append((kind, as_of, months))
        asks.append(stats_units.UnitAsk(report.unit_path, places[report.id], kind.dimension, as_of,
                                  start))
        asks.extend(stats_units.UnitAsk(report.unit_path, places[report.id], stats.Dimension.TOTAL,
                                  day, start) for day in months)
    tables = iter(await stats_units.unit_tables(session, asks))
    drafted = []
    for report, (kind, as_of, months) in zip(reports, shapes, strict=True):
        table = next(tables)
        trend = [{"month": day.strftime("%Y-%m"), **next(tables).total.as_json()}
                 for day in months]
        drafted.append({"title": kind.name, "unit": report.unit_name,
                        "as_of": as_of.isoformat(),
                        "period_start": report.period_start.isoformat(),
                        "period_end": report.period_end.isoformat(), "table": table.as_json(),
                        "trend": trend})
    return drafted


async def draft(session: AsyncSession, report: PeriodicReport, today: date) -> dict[str, Any]:
    """One report's figures as the data stands (``draft_many``)."""
    return (await draft_many(session, [report], today))[0]
