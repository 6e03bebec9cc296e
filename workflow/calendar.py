"""School calendars: counting calendar days or school days from a date.

Whether a ladder's "day 7" means calendar or school days is a setting per step (the rules do
not say). A school day is a weekday inside one of the district's terms and outside its
holidays; a district with no terms on record counts every weekday.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from models.enums import DayKind
from models.ladder import SchoolHoliday, SchoolTerm

LOCAL = ZoneInfo("Asia/Shanghai")
MAX_SCAN_DAYS = 800  # a school-day count never needs to look further than two school years


def local_date(moment: datetime) -> date:
    """Deadlines are dates in China Standard Time, whatever the server's time zone."""
    return moment.astimezone(LOCAL).date()


@dataclass(frozen=True)
class SchoolCalendar:
    terms: Sequence[tuple[date, date]] = field(default_factory=tuple)
    holidays: Sequence[tuple[date, date]] = field(default_factory=tuple)

    def is_school_day(self, day: date) -> bool:
        if day.weekday() >= 5:
            return False
        if self.terms and not any(start <= day <= end for start, end in self.terms):
            return False
        return not any(start <= day <= end for start, end in self.holidays)

    def add(self, start: date, days: int, kind: DayKind) -> date:
        """``start`` plus ``days`` calendar days, or the ``days``-th school day after it."""
        if kind is DayKind.CALENDAR or days == 0:
            return start + timedelta(days=days)
        day, counted = start, 0
        for _ in range(MAX_SCAN_DAYS):
            day += timedelta(days=1)
            if self.is_school_day(day):
                counted += 1
                if counted == days:
                    return day
        raise ValueError(f"no {days} school days within {MAX_SCAN_DAYS} days of {start}")


async def load_calendar(session: AsyncSession, jurisdiction_codes: Sequence[str]) -> SchoolCalendar:
    """The calendar of the nearest jurisdiction (district first, then its city…) that has one."""
    terms = (
        (
            await session.execute(
                select(SchoolTerm).where(SchoolTerm.jurisdiction_code.in_(jurisdiction_codes))
            )
        )
        .scalars()
        .all()
    )
    holidays = (
        (
            await session.execute(
                select(SchoolHoliday).where(SchoolHoliday.jurisdiction_code.in_(jurisdiction_codes))
            )
        )
        .scalars()
        .all()
    )
    for code in jurisdiction_codes:
        own_terms = [(t.starts_on, t.ends_on) for t in terms if t.jurisdiction_code == code]
        own_holidays = [(h.starts_on, h.ends_on) for h in holidays if h.jurisdiction_code == code]
        if own_terms or own_holidays:
            return SchoolCalendar(tuple(own_terms), tuple(own_holidays))
    return SchoolCalendar()
