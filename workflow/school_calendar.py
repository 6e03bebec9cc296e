"""Reading and replacing a district's school calendar (education-bureau administrators)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from sqlalchemy import delete, select

from models.ladder import SchoolHoliday, SchoolTerm
from models.reference import Jurisdiction
from workflow import audit
from workflow.context import ServiceContext
from workflow.errors import InvalidInput, NotFound

Period = tuple[str, date, date]


async def read(
    ctx: ServiceContext, jurisdiction_code: str
) -> tuple[Sequence[SchoolTerm], Sequence[SchoolHoliday]]:
    ctx.authz.require(ctx.principal, "ladder", "read", ctx.principal.agency_scope)
    terms = (
        (
            await ctx.session.execute(
                select(SchoolTerm)
                .where(SchoolTerm.jurisdiction_code == jurisdiction_code)
                .order_by(SchoolTerm.starts_on)
            )
        )
        .scalars()
        .all()
    )
    holidays = (
        (
            await ctx.session.execute(
                select(SchoolHoliday)
                .where(SchoolHoliday.jurisdiction_code == jurisdiction_code)
                .order_by(SchoolHoliday.starts_on)
            )
        )
        .scalars()
        .all()
    )
    return terms, holidays


async def replace(
    ctx: ServiceContext,
    jurisdiction_code: str,
    terms: Sequence[Period],
    holidays: Sequence[Period],
) -> None:
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
        },
    )
