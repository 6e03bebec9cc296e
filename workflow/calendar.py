"""School calendars: counting calendar days or school days from a date.

Whether a ladder's "day 7" means calendar or school days is a setting per step (the rules do
not say). A school day is a day inside one of the district's terms (a district with no terms
on record: any day) that is not on one of its holiday periods, and that is a working day:
a weekday that is not a national public holiday, or a weekend day that is a national make-up
working day (调休补班). The national schedule is the State Council's, seeded from the
``chinese-calendar`` package (``load_national_schedule``); a district's own dated days (a
local holiday, an extra school day) override it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import chinese_calendar
from sqlalchemy import delete, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from models.enums import CalendarDayKind, DayKind
from models.ladder import NationalCalendarDay, SchoolCalendarDay, SchoolHoliday, SchoolTerm

LOCAL = ZoneInfo("Asia/Shanghai")
MAX_SCAN_DAYS = 800  # a school-day count never needs to look further than two school years


def local_date(moment: datetime) -> date:
    """Deadlines are dates in China Standard Time, whatever the server's time zone."""
    return moment.astimezone(LOCAL).date()


@dataclass(frozen=True)
class SchoolCalendar:
    terms: Sequence[tuple[date, date]] = field(default_factory=tuple)
    holidays: Sequence[tuple[date, date]] = field(default_factory=tuple)
    # Dated exceptions to the week: the national schedule's, then the district's own, which
    # win over the national ones for the same date.
    national: Mapping[date, CalendarDayKind] = field(default_factory=dict)
    own: Mapping[date, CalendarDayKind] = field(default_factory=dict)

    def is_school_day(self, day: date) -> bool:
        if self.terms and not any(start <= day <= end for start, end in self.terms):
            return False
        own = self.own.get(day)
        if own is not None:
            return own is CalendarDayKind.SCHOOL_DAY
        if any(start <= day <= end for start, end in self.holidays):
            return False
        national = self.national.get(day)
        if national is not None:
            return national is CalendarDayKind.SCHOOL_DAY
        return day.weekday() < 5

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
    """The national schedule; the terms and holiday periods of the nearest jurisdiction
    (district first, then its city…) that has any; and the dated own days of all of them,
    the nearer one's winning for the same date."""
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
    own_days = (
        await session.execute(
            select(
                SchoolCalendarDay.jurisdiction_code,
                SchoolCalendarDay.on_date,
                SchoolCalendarDay.kind,
            ).where(SchoolCalendarDay.jurisdiction_code.in_(jurisdiction_codes))
        )
    ).all()
    own: dict[date, CalendarDayKind] = {}
    for code in reversed(jurisdiction_codes):  # farthest first: the nearer overwrites
        own.update({r.on_date: r.kind for r in own_days if r.jurisdiction_code == code})
    national = await national_schedule(session)
    for code in jurisdiction_codes:
        own_terms = [(t.starts_on, t.ends_on) for t in terms if t.jurisdiction_code == code]
        own_holidays = [(h.starts_on, h.ends_on) for h in holidays if h.jurisdiction_code == code]
        if own_terms or own_holidays:
            return SchoolCalendar(tuple(own_terms), tuple(own_holidays), national, own)
    return SchoolCalendar(national=national, own=own)


async def national_schedule(session: AsyncSession) -> dict[date, CalendarDayKind]:
    rows = (
        await session.execute(select(NationalCalendarDay.on_date, NationalCalendarDay.kind))
    ).all()
    return {r.on_date: r.kind for r in rows}


# The package names holidays in English; the calendar shows the official Chinese names.
HOLIDAY_ZH = {
    "New Year's Day": "元旦",
    "Spring Festival": "春节",
    "Tomb-sweeping Day": "清明节",
    "Labour Day": "劳动节",
    "Dragon Boat Festival": "端午节",
    "National Day": "国庆节",
    "Mid-autumn Festival": "中秋节",
    "Anti-Fascist 70th Day": "中国人民抗日战争暨世界反法西斯战争胜利70周年纪念日",
}


def national_days() -> list[dict[str, object]]:
    """The State Council's schedule as the package ships it: each public-holiday day off
    (weekend days inside a holiday included) and each make-up working day (调休补班)."""
    source = f"chinese-calendar {_package_version()}"
    rows: list[dict[str, object]] = []
    for kind, days in (
        (CalendarDayKind.HOLIDAY, chinese_calendar.constants.holidays),
        (CalendarDayKind.SCHOOL_DAY, chinese_calendar.constants.workdays),
    ):
        for day, name in sorted(days.items()):
            zh = HOLIDAY_ZH.get(str(name), str(name))
            rows.append({
                "on_date": day,
                "kind": kind,
                "name": (zh if kind is CalendarDayKind.HOLIDAY else f"{zh}调休上班")[:64],
                "source": source,
            })
    return rows


def _package_version() -> str:
    from importlib.metadata import version

    return version("chinese-calendar")


async def load_national_schedule(session: AsyncSession) -> int:
    """Replace the national schedule with the package's (run by ``lianbao migrate``): the
    package is the maintained source, updated each year when the State Council publishes."""
    rows = national_days()
    current = {
        (r.on_date, r.kind, r.name, r.source)
        for r in (await session.execute(select(NationalCalendarDay))).scalars()
    }
    if current == {(r["on_date"], r["kind"], r["name"], r["source"]) for r in rows}:
        return 0  # idempotent: an unchanged package writes nothing
    await session.execute(delete(NationalCalendarDay))
    if rows:
        await session.execute(insert(NationalCalendarDay), rows)
    return len(rows)


def school_year_start(day: date) -> date:
    """1 September of the school year ``day`` falls in."""
    return date(day.year if day.month >= 9 else day.year - 1, 9, 1)


def years_before(day: date, years: int) -> date:
    """The same day ``years`` earlier (28 February for a 29th in a common year)."""
    try:
        return day.replace(year=day.year - years)
    except ValueError:
        return day.replace(year=day.year - years, day=28)
