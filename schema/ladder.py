"""GraphQL for ladders (read by everyone, changed by education-bureau administrators) and
the school calendar their school-day offsets count on."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import strawberry
from strawberry import relay

from models import ladder as m
from schema.context import Info
from schema.enums import AgencyKind, CalendarDayKind, CaseStage, DayKind, StepEntry
from schema.operations import Operation, operations
from schema.shape import copied
from workflow import ladder as service
from workflow import school_calendar
from workflow.context import ServiceContext


@strawberry.type(name="LadderTask")
class LadderTaskType:
    agency: AgencyKind
    kind: str
    title: str
    due_days: int


@strawberry.type(name="LegalBasis", description="The rule a step rests on.")
class LegalBasis:
    source_key: str
    article: str
    quote: str

    @strawberry.field
    def citation(self) -> str:
        return f"{self.source_key} {self.article}"


@strawberry.type(name="LadderStep")
class LadderStepType:
    position: int
    code: str
    stage: CaseStage
    entry: StepEntry
    anchor: str = strawberry.field(description="day0, previous, or served:<document kind>")
    offset_days: int
    day_kind: DayKind
    document_kind: str | None
    legal_basis: LegalBasis
    tasks: list[LadderTaskType]


@strawberry.type(name="Ladder", description="A district's escalation ladder, one version.")
class LadderType:
    ladder_id: int = strawberry.field(
        deprecation_reason="A raw database key: use id, the ladder version's global id."
    )
    jurisdiction_code: str
    version: int
    code: str
    name: str
    description: str
    based_on: str | None
    created_at: datetime
    steps: list[LadderStepType]

    @strawberry.field(description="The ladder version's global id (loaded by jurisdiction, "
                      "not by node).")
    def id(self) -> strawberry.ID:
        return strawberry.ID(relay.to_base64("Ladder", self.ladder_id))

    @classmethod
    def from_model(cls, lad: m.Ladder) -> LadderType:
        return copied(cls, lad, ladder_id=lad.id, steps=[_step(s) for s in lad.steps])


def _step(s: m.LadderStep) -> LadderStepType:
    basis = LegalBasis(source_key=s.basis_key, article=s.basis_article, quote=s.basis_quote)
    tasks = [copied(LadderTaskType, t, agency=t.agency_kind) for t in s.tasks]
    return copied(LadderStepType, s, legal_basis=basis, tasks=tasks)


@strawberry.type(name="LadderTemplate", description="A shipped variant of one seed rule.")
class LadderTemplate:
    code: str
    name: str
    description: str
    jurisdiction_code: str


@strawberry.type(name="SchoolPeriod")
class SchoolPeriod:
    name: str
    starts_on: date
    ends_on: date


@strawberry.type(name="CalendarDay", description="A dated exception to the week: a day off "
                 "(HOLIDAY) or a school day on a weekend (SCHOOL_DAY, e.g. 调休补班).")
class CalendarDay:
    day: date
    kind: CalendarDayKind
    name: str


@strawberry.type(name="SchoolCalendar")
class SchoolCalendarType:
    jurisdiction_code: str
    terms: list[SchoolPeriod]
    holidays: list[SchoolPeriod]
    days: list[CalendarDay] = strawberry.field(
        description="The district's own days (a local holiday, an extra school day); they "
        "override the national schedule on their dates."
    )

    @classmethod
    def of(cls, jurisdiction_code: str, view: school_calendar.CalendarView) -> SchoolCalendarType:
        return cls(
            jurisdiction_code=jurisdiction_code,
            terms=[SchoolPeriod(name=t.name, starts_on=t.starts_on, ends_on=t.ends_on)
                   for t in view.terms],
            holidays=[SchoolPeriod(name=h.name, starts_on=h.starts_on, ends_on=h.ends_on)
                      for h in view.holidays],
            days=[CalendarDay(day=d.on_date, kind=d.kind, name=d.name) for d in view.days],
        )

    @strawberry.field(
        description="The national holiday schedule of a year (State Council, from the "
        "chinese-calendar package): public-holiday days off and make-up working days."
    )
    async def national_days(self, info: Info, year: int) -> list[CalendarDay]:
        rows = await school_calendar.national_days(info.context.services, year)
        return [CalendarDay(day=r.on_date, kind=r.kind, name=r.name) for r in rows]

    @strawberry.field(
        description="The date that is the given number of school days after a date, as a "
        "ladder's school-day offset counts them here (national schedule, terms, holidays "
        "and the district's own days)."
    )
    async def add_school_days(self, info: Info, start: date, days: int) -> date:
        return await school_calendar.add_school_days(
            info.context.services, self.jurisdiction_code, start, days
        )


@strawberry.type
class LadderQuery:
    @strawberry.field(
        description="The ladder in force for a jurisdiction (or its nearest ancestor with one)."
    )
    async def ladder(self, info: Info, jurisdiction_code: str) -> LadderType:
        return LadderType.from_model(
            await service.read_current(info.context.services, jurisdiction_code)
        )

    @strawberry.field(description="The shipped variants a district may adopt.")
    async def ladder_templates(self, info: Info) -> list[LadderTemplate]:
        services = info.context.services
        services.authz.require(
            services.principal, "ladder", "read", services.principal.agency_scope
        )
        return [
            LadderTemplate(
                code=code,
                name=t["name"],
                description=t.get("description", ""),
                jurisdiction_code=t["jurisdiction"],
            )
            for code, t in service.templates().items()
        ]

    @strawberry.field
    async def school_calendar(self, info: Info, jurisdiction_code: str) -> SchoolCalendarType:
        view = await school_calendar.read(info.context.services, jurisdiction_code)
        return SchoolCalendarType.of(jurisdiction_code, view)


@strawberry.input
class AdoptLadderInput:
    jurisdiction_code: str
    template: str = strawberry.field(description="SPT, YQ, ST, LS or GH.")


@strawberry.input
class DefineLadderInput:
    jurisdiction_code: str
    name: str
    steps: Any = strawberry.field(
        graphql_type=strawberry.scalars.JSON,
        description="Steps as in reference_data/ladders.json: code, stage, enter, anchor, "
        "offset_days, day_kind, tasks [{agency, kind, title, due_days}], document, "
        "legal_basis {source_key, article, quote}.",
    )


@strawberry.input
class SchoolPeriodInput:
    name: str
    starts_on: date
    ends_on: date


@strawberry.input
class CalendarDayInput:
    day: date
    kind: CalendarDayKind
    name: str


@strawberry.input
class SetSchoolCalendarInput:
    jurisdiction_code: str
    terms: list[SchoolPeriodInput]
    holidays: list[SchoolPeriodInput]
    days: list[CalendarDayInput] | None = strawberry.field(
        default=None,
        description="The district's own days, replacing those on record; omitted: kept.",
    )


async def _define(ctx: ServiceContext, *, steps: Any, **given: Any) -> m.Ladder:
    return await service.define_ladder(ctx, steps=steps if isinstance(steps, list) else [],
                                       **given)


async def _set_calendar(
    ctx: ServiceContext, *, jurisdiction_code: str, terms: list[SchoolPeriodInput],
    holidays: list[SchoolPeriodInput], days: list[CalendarDayInput] | None,
) -> SchoolCalendarType:
    await school_calendar.replace(
        ctx,
        jurisdiction_code,
        [(p.name, p.starts_on, p.ends_on) for p in terms],
        [(p.name, p.starts_on, p.ends_on) for p in holidays],
        None if days is None else [(d.day, d.kind, d.name) for d in days],
    )
    return SchoolCalendarType.of(
        jurisdiction_code, await school_calendar.read(ctx, jurisdiction_code)
    )


@strawberry.type
@operations("ladder", LadderType)
class LadderMutation:
    adopt_ladder = Operation(service.adopt_template, AdoptLadderInput)
    define_ladder = Operation(_define, DefineLadderInput)
    set_school_calendar = Operation(
        _set_calendar, SetSchoolCalendarInput, subject="calendar", node=SchoolCalendarType,
        shape=lambda calendar: calendar,
    )
