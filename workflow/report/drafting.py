"""Drafting a report's figures from the data: the unit's table (by the kind's dimension) as
of the period's end, school year to date, and the month-by-month trend since 1 September."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from models.enums import AgencyKind
from models.reference import Jurisdiction
from models.report import PeriodicReport
from models.school import School
from workflow import stats
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


async def _place(session: AsyncSession, report: PeriodicReport) -> Jurisdiction:
    code = report.district_code
    if report.unit_kind is AgencyKind.SCHOOL and report.school_id is not None:
        school = await session.get(School, report.school_id)
        assert school is not None
        code = school.township_code
    place = await session.get(Jurisdiction, code)
    assert place is not None
    return place


async def draft(session: AsyncSession, report: PeriodicReport, today: date) -> dict[str, Any]:
    """The figures of the report as the data stands (as of the period's end, or today while
    the period runs): what the unit checks and submits."""
    kind = kind_of(report.district_code, report.kind)
    as_of = min(report.period_end, today)
    start = stats.school_year_start(report.period_end)
    place = await _place(session, report)
    table = await stats.unit_table(session, place, report.unit_path, kind.dimension, as_of, start)
    trend = []
    for day in month_ends(start, as_of):
        month = await stats.unit_table(session, place, report.unit_path, stats.Dimension.TOTAL,
                                       day, start)
        trend.append({"month": day.strftime("%Y-%m"), **month.total.as_json()})
    return {"title": kind.name, "unit": report.unit_name, "as_of": as_of.isoformat(),
            "period_start": report.period_start.isoformat(),
            "period_end": report.period_end.isoformat(), "table": table.as_json(),
            "trend": trend}
