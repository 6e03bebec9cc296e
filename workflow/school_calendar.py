"""Reading and replacing a district's school calendar (education-bureau administrators).

A district's calendar is its terms, its holiday periods, and its own dated days (a local
holiday, an extra school day), laid over the national holiday schedule with its make-up
working days (``national_calendar_day``, seeded from the ``chinese-calendar`` package)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, TypeVar

from sqlalchemy import delete, select
from sqlalchemy.orm import InstrumentedAttribute

from models.enums import CalendarDayKind, DayKind
from models.ladder import NationalCalendarDay, SchoolCalendarDay, SchoolHoliday, SchoolTerm
from models.reference import Jurisdiction
from workflow import audit
from workflow.calendar import SchoolCalendar, load_calendar
from workflow.context import ServiceContext
from workflow.errors import InvalidInput, NotFound
from workflow.ladder import ancestors

Period = tuple[str, date, date]
Day = tuple[date, CalendarDayKind, str]
MAX_COUNT = 200  # school days asked for at once: more than a school year


@dataclass(frozen=True)
class CalendarView:
    terms: Sequence[SchoolTerm]
    holidays: Sequence[SchoolHoliday]
    days: Sequence[SchoolCalendarDay]


CalendarRow = TypeVar("CalendarRow", SchoolTerm, SchoolHoliday, SchoolCalendarDay)


async def _of_district(
    ctx: ServiceContext, model: type[CalendarRow], code: str, order: InstrumentedAttribute[Any]
) -> Sequence[CalendarRow]:
    """One part of a district's calendar (terms, holidays or dated days), in ``order``."""
    stmt = select(model).where(model.jurisdiction_code == code).order_by(order)
    return (await ctx.session.execute(stmt)).scalars().all()


async def read(ctx: ServiceContext, jurisdiction_code: str) -> CalendarView:
    ctx.authz.require(ctx.principal, "ladder", "read", ctx.principal.agency_scope)
    terms = await _of_district(ctx, SchoolTerm, jurisdiction_code, SchoolTerm.starts_on)
    holidays = await _of_district(ctx, SchoolHoliday, jurisdiction_code, SchoolHoliday.starts_on)
    days = await _of_district(ctx, SchoolCalendarDay, jurisdiction_code, SchoolCalendarDay.on_date)
    return CalendarView(terms, holidays, days)


async def national_days(
    ctx: ServiceContext, year: int
) -> Sequence[NationalCalendarDay]:
    """The national schedule's days of one year (holidays and make-up working days)."""
    ctx.authz.require(ctx.principal, "ladder", "read", ctx.principal.agency_scope)
    return (
        (
            await ctx.session.execute(
                select(NationalCalendarDay)
                .where(
                    NationalCalendarDay.on_date >= date(year, 1, 1),
                    NationalCalendarDay.on_date <= date(year, 12, 31),
                )
                .order_by(NationalCalendarDay.on_date)
            )
        )
        .scalars()
        .all()
    )


async def effective(ctx: ServiceContext, jurisdiction_code: str) -> SchoolCalendar:
    """The calendar the engine counts with for this jurisdiction."""
    ctx.authz.require(ctx.principal, "ladder", "read", ctx.principal.agency_scope)
    if await ctx.session.get(Jurisdiction, jurisdiction_code) is None:
        raise NotFound("no such jurisdiction", field="jurisdictionCode")
    return await load_calendar(ctx.session, await ancestors(ctx.session, jurisdiction_code))


async def add_school_days(
    ctx: ServiceContext, jurisdiction_code: str, start: date, count: int
) -> date:
    """The ``count``-th school day after ``start``: what a ladder's school-day offset gives."""
    if not 0 <= count <= MAX_COUNT:
        raise InvalidInput(f"ask for 0 to {MAX_COUNT} school days", field="days")
    calendar = await effective(ctx, jurisdiction_code)
    try:
        return calendar.add(start, count, DayKind.SCHOOL)
    except ValueError as exc:
        raise InvalidInput(str(exc), field="days") from exc


async def replace(
    ctx: ServiceContext,
    jurisdiction_code: str,
    terms: Sequence[Period],
    holidays: Sequence[Period],
    days: Sequence[Day] | None = None,
) -> None:
    """Replace the district's terms and holiday periods, and its own days when given
    (``None`` keeps them)."""
    j = await ctx.session.get(Jurisdiction, jurisdiction_code)
    if j is None:
        raise NotFound("no such jurisdiction", field="jurisdictionCode")
    ctx.authz.require(ctx.principal, "calendar", "manage", j.path)
    for field, periods in (("terms", terms), ("holidays", holidays)):
        for name, start, end in periods:
            if end < start or not name.strip():
                raise InvalidInput(
                    f"{name or 'a period'} ends before it starts or has no name", field=field
                )
    if days is not None:
        seen: set[date] = set()
        for on, _, name in days:
            if not name.strip() or len(name) > 64:
                raise InvalidInput(f"the day {on} needs a name (at most 64 characters)",
                                   field="days")
            if on in seen:
                raise InvalidInput(f"the day {on} is given twice", field="days")
            seen.add(on)
        await ctx.session.execute(
            delete(SchoolCalendarDay).where(SchoolCalendarDay.jurisdiction_code == j.code)
        )
        ctx.session.add_all(
            [
                SchoolCalendarDay(jurisdiction_code=j.code, on_date=on, kind=kind,
                                  name=name.strip())
                for on, kind, name in days
            ]
        )
    await ctx.session.execute(delete(SchoolTerm).where(SchoolTerm.jurisdiction_code == j.code))
    await ctx.session.execute(
        delete(SchoolHoliday).where(SchoolHoliday.jurisdiction_code == j.code)
    )
    ctx.session.add_all(
        [SchoolTerm(jurisdiction_code=j.code, name=n, starts_on=s, ends_on=e) for n, s, e in terms]
    )
    ctx.session.add_all(
        [
            SchoolHoliday(jurisdiction_code=j.code, name=n, starts_on=s, ends_on=e)
            for n, s, e in holidays
        ]
    )
    await ctx.session.flush()
    audit.record(
        ctx,
        "set_school_calendar",
        "jurisdiction",
        [j.code],
        {
            "terms": [[n, s, e] for n, s, e in terms],
            "holidays": [[n, s, e] for n, s, e in holidays],
            "days": None if days is None else [[on, kind, n] for on, kind, n in days],
        },
    )
