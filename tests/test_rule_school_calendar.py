"""School-day calendars, without a database (workflow/calendar.py ``SchoolCalendar``).

A school day is inside a term, outside the district's holiday periods, and a working day of
the State Council's schedule: a weekday that is not a public holiday, or a weekend day that is
a make-up working day (调休补班). A district's own dated days override the national schedule.
The national schedule here is the one ``lianbao migrate`` seeds (``national_days()``, from the
``chinese-calendar`` package); the dates asserted are those of the State Council General
Office's notices on the 2025 and 2026 public-holiday schedules.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from models.enums import CalendarDayKind, DayKind
from workflow.calendar import LOCAL, SchoolCalendar, local_date, national_days

NATIONAL = {r["on_date"]: r["kind"] for r in national_days()}
AUTUMN_2025 = (date(2025, 9, 1), date(2026, 1, 16))
SPRING_2025 = (date(2025, 2, 10), date(2025, 7, 4))
AUTUMN_2026 = (date(2026, 9, 1), date(2027, 1, 22))


def test_school_days_skip_weekends_and_holidays() -> None:
    cal = SchoolCalendar(terms=[(date(2026, 9, 1), date(2027, 1, 22))],
                         holidays=[(date(2026, 10, 1), date(2026, 10, 8))])
    friday = date(2026, 9, 25)
    assert cal.add(friday, 1, DayKind.SCHOOL) == date(2026, 9, 28)  # Monday
    assert cal.add(friday, 3, DayKind.CALENDAR) == date(2026, 9, 28)
    # Tuesday 29 Sep + 3 school days: 30 Sep, then the National Day week, then 9 and 12 Oct
    assert cal.add(date(2026, 9, 29), 3, DayKind.SCHOOL) == date(2026, 10, 12)
    # after the term ends nothing counts until the next term (none on record: error)
    with pytest.raises(ValueError):
        cal.add(date(2027, 1, 20), 10, DayKind.SCHOOL)
    assert SchoolCalendar().add(friday, 1, DayKind.SCHOOL) == date(2026, 9, 28)


def test_the_national_schedule_has_make_up_working_days() -> None:
    """Seeded from chinese-calendar: 国庆 2026 is 1–7 Oct, with Sun 20 Sep and Sat 10 Oct
    worked; 7 school days from Mon 28 Sep end on Tue 13 Oct (the old demo calendar, with
    its own 1–8 Oct holiday and no make-up days, said 15 Oct)."""
    national = NATIONAL
    assert all(national[date(2026, 10, d)] is CalendarDayKind.HOLIDAY for d in range(1, 8))
    assert national[date(2026, 9, 20)] is CalendarDayKind.SCHOOL_DAY
    assert national[date(2026, 10, 10)] is CalendarDayKind.SCHOOL_DAY
    cal = SchoolCalendar(terms=[(date(2026, 9, 1), date(2027, 1, 22))], national=national)
    assert cal.add(date(2026, 9, 28), 7, DayKind.SCHOOL) == date(2026, 10, 13)
    assert cal.is_school_day(date(2026, 10, 10)), "a make-up Saturday is a school day"
    assert cal.is_school_day(date(2026, 9, 20)), "so is a make-up Sunday"
    assert cal.is_school_day(date(2026, 10, 8)) and not cal.is_school_day(date(2026, 10, 7))
    assert not cal.is_school_day(date(2026, 10, 11)), "an ordinary Sunday is not"
    # …but not outside the terms: a make-up day in the summer break is no school day
    summer = SchoolCalendar(terms=[(date(2026, 9, 1), date(2027, 1, 22))],
                            national={date(2026, 8, 8): CalendarDayKind.SCHOOL_DAY})
    assert not summer.is_school_day(date(2026, 8, 8))


def test_national_day_2025_with_its_make_up_sunday_and_saturday() -> None:
    """国庆·中秋 2025: 1–8 Oct off; Sun 28 Sep and Sat 11 Oct worked."""
    assert all(NATIONAL[date(2025, 10, d)] is CalendarDayKind.HOLIDAY for d in range(1, 9))
    cal = SchoolCalendar(terms=[AUTUMN_2025], national=NATIONAL)
    assert cal.is_school_day(date(2025, 9, 28)) and cal.is_school_day(date(2025, 10, 11))
    # Fri 26 Sep + 1 school day: the make-up Sunday 28 Sep (Sat 27 Sep is an ordinary weekend)
    assert cal.add(date(2025, 9, 26), 1, DayKind.SCHOOL) == date(2025, 9, 28)
    # Tue 30 Sep + 1: the holiday week is skipped, Thu 9 Oct
    assert cal.add(date(2025, 9, 30), 1, DayKind.SCHOOL) == date(2025, 10, 9)
    # Tue 30 Sep + 3: Thu 9, Fri 10, then the make-up Saturday 11 Oct
    assert cal.add(date(2025, 9, 30), 3, DayKind.SCHOOL) == date(2025, 10, 11)
    assert cal.add(date(2025, 9, 30), 4, DayKind.SCHOOL) == date(2025, 10, 13)


def test_spring_festival_and_labour_day_2025() -> None:
    """春节 2025: 28 Jan–4 Feb off, Sun 26 Jan and Sat 8 Feb worked (in the winter break, so
    no school day); 劳动节: 1–5 May off, Sun 27 Apr worked (in the spring term: a school day)."""
    cal = SchoolCalendar(terms=[AUTUMN_2025, SPRING_2025], national=NATIONAL)
    assert NATIONAL[date(2025, 1, 26)] is CalendarDayKind.SCHOOL_DAY
    assert not cal.is_school_day(date(2025, 1, 26)), "a make-up day outside a term"
    assert cal.is_school_day(date(2025, 4, 27))
    assert not any(cal.is_school_day(date(2025, 5, d)) for d in range(1, 6))
    # Wed 30 Apr + 1 school day: Tue 6 May
    assert cal.add(date(2025, 4, 30), 1, DayKind.SCHOOL) == date(2025, 5, 6)
    # Fri 25 Apr + 1: the make-up Sunday 27 Apr
    assert cal.add(date(2025, 4, 25), 1, DayKind.SCHOOL) == date(2025, 4, 27)


def test_district_own_days_override_the_national_schedule_and_its_holidays() -> None:
    """A district's dated days win: a local holiday on a national working day, an extra
    school day on a weekend, even a school day inside its own holiday period."""
    own = {
        date(2026, 9, 30): CalendarDayKind.HOLIDAY,  # a local holiday on a Wednesday
        date(2026, 10, 11): CalendarDayKind.SCHOOL_DAY,  # an extra Sunday
        date(2026, 10, 8): CalendarDayKind.HOLIDAY,  # the district keeps the 8th off
        date(2026, 11, 5): CalendarDayKind.SCHOOL_DAY,  # inside its own holiday period
    }
    base = SchoolCalendar(terms=[AUTUMN_2026], holidays=[(date(2026, 11, 2), date(2026, 11, 6))],
                          national=NATIONAL)
    cal = SchoolCalendar(terms=base.terms, holidays=base.holidays, national=NATIONAL, own=own)
    assert base.is_school_day(date(2026, 9, 30)) and not cal.is_school_day(date(2026, 9, 30))
    assert not base.is_school_day(date(2026, 10, 11)) and cal.is_school_day(date(2026, 10, 11))
    assert base.is_school_day(date(2026, 10, 8)) and not cal.is_school_day(date(2026, 10, 8))
    assert not base.is_school_day(date(2026, 11, 5)) and cal.is_school_day(date(2026, 11, 5))
    # Tue 29 Sep + 2: base 30 Sep, 8 Oct; the district's: 8 Oct is off too, so Fri 9, Sat 10
    assert base.add(date(2026, 9, 29), 2, DayKind.SCHOOL) == date(2026, 10, 8)
    assert cal.add(date(2026, 9, 29), 2, DayKind.SCHOOL) == date(2026, 10, 10)
    # …but no own day opens a school day outside the terms
    summer = SchoolCalendar(terms=[AUTUMN_2026],
                            own={date(2026, 8, 20): CalendarDayKind.SCHOOL_DAY})
    assert not summer.is_school_day(date(2026, 8, 20))


def test_calendar_days_and_day_zero() -> None:
    cal = SchoolCalendar(terms=[AUTUMN_2026], national=NATIONAL)
    assert cal.add(date(2026, 9, 30), 7, DayKind.CALENDAR) == date(2026, 10, 7)
    assert cal.add(date(2026, 10, 3), 0, DayKind.SCHOOL) == date(2026, 10, 3), "day 0 is the day"


def test_deadlines_are_dates_in_china() -> None:
    from datetime import UTC, datetime

    assert LOCAL.key == "Asia/Shanghai"
    assert local_date(datetime(2026, 11, 1, 16, 0, tzinfo=UTC)) == date(2026, 11, 2)
    assert local_date(datetime(2026, 11, 1, 15, 59, tzinfo=UTC)) == date(2026, 11, 1)


@given(start=st.dates(min_value=date(2025, 1, 1), max_value=date(2026, 12, 1)),
       first=st.integers(min_value=0, max_value=40), second=st.integers(min_value=0, max_value=40))
def test_adding_school_days_composes(start: date, first: int, second: int) -> None:
    """n school days then m more is n+m school days; the result is a school day after the
    start, and exactly n school days lie in (start, result]."""
    cal = SchoolCalendar(national=NATIONAL)
    end = cal.add(start, first + second, DayKind.SCHOOL)
    assert cal.add(cal.add(start, first, DayKind.SCHOOL), second, DayKind.SCHOOL) == end
    if first + second:
        assert end > start and cal.is_school_day(end)
        span = (end - start).days
        counted = sum(cal.is_school_day(start + timedelta(days=i)) for i in range(1, span + 1))
        assert counted == first + second
