"""GraphQL for statistics (统计): a table of figures for a jurisdiction as of a date, and
the children behind any one figure (masked as in every list of children)."""

from __future__ import annotations

import dataclasses
from datetime import date
from typing import Any

import strawberry

from schema.child import ChildNode
from schema.context import Info
from schema.enums import StatsDimension, StatsMeasure
from schema.pagination import Connection, page_request, to_connection
from schema.shape import row_field
from workflow import stats as service
from workflow import stats_query

M = service.Measure
DESCRIPTIONS = {
    M.SCHOOL_AGE: "Children aged 6–15 on the date.",
    M.ENROLLED: "On a school register (enrolled) on the date.",
    M.DEFERRED_OR_EXEMPT: "缓学/免学 on the date.",
    M.SUSPECTED: "疑似辍学: a case open on the date, not yet marked dropped out.",
    M.CONFIRMED_DROPOUT: "辍学: marked dropped out in the register on the date (SPT 7).",
    M.RETURNED: "复学: cases closed as returned in the period.",
    M.BASE: "On the register on the period's first day.",
    M.LOST: "Of the base, marked dropped out on the date.",
    M.RETAINED: "Of the base, still enrolled, suspended or graduated on the date.",
}


def _count(measure: service.Measure) -> Any:
    """A field answering one count of the row."""

    def resolve(root: StatsFiguresType) -> int:
        return root.row.counts[measure]

    return strawberry.field(resolver=resolve, description=DESCRIPTIONS[measure])


@strawberry.type(name="StatsFigures", description="The counts and rates of one row of a table.")
class StatsFiguresType:
    row: strawberry.Private[service.Figures]

    key = row_field(
        "key", str,
        description="The row's key: a jurisdiction code, a school's number, a grade, a group, "
        "cause or stage code; 'none' for children without one; 'total' for the total.",
    )
    label = row_field("label", str)

    school_age, enrolled, deferred_or_exempt = _count(M.SCHOOL_AGE), _count(M.ENROLLED), _count(
        M.DEFERRED_OR_EXEMPT)
    suspected, confirmed_dropouts = _count(M.SUSPECTED), _count(M.CONFIRMED_DROPOUT)
    returned, base, lost, retained = (_count(M.RETURNED), _count(M.BASE), _count(M.LOST),
                                      _count(M.RETAINED))

    dropout_rate = row_field(
        "dropout_rate", float | None, description="lost / base; null without a base."
    )
    retention_rate = row_field(
        "retention_rate", float | None, description="巩固率: retained / base; null without a base."
    )


@strawberry.type(name="StatsTable")
class StatsTableType:
    table: strawberry.Private[service.StatsTable]

    @strawberry.field
    def jurisdiction_code(self) -> str:
        return self.table.jurisdiction.code

    @strawberry.field
    def jurisdiction_name(self) -> str:
        return self.table.jurisdiction.name

    @strawberry.field
    def dimension(self) -> StatsDimension:
        return self.table.dimension

    @strawberry.field
    def as_of(self) -> date:
        return self.table.as_of

    @strawberry.field
    def period_start(self) -> date:
        return self.table.period_start

    @strawberry.field(description="A row per key of the dimension, in key order.")
    def rows(self) -> list[StatsFiguresType]:
        return [StatsFiguresType(row=r) for r in self.table.rows]

    @strawberry.field
    def total(self) -> StatsFiguresType:
        return StatsFiguresType(row=self.table.total)


@strawberry.input
class StatsInput:
    jurisdiction_code: str | None = strawberry.field(
        default=None, description="A district or township; the caller's own when absent."
    )
    dimension: StatsDimension = StatsDimension.TOTAL
    as_of: date | None = strawberry.field(
        default=None, description="The figures as they stood at the end of this day (today)."
    )
    period_start: date | None = strawberry.field(
        default=None, description="First day of the period (1 September of the school year)."
    )

    def request(self) -> service.StatsRequest:
        names = [f.name for f in dataclasses.fields(service.StatsRequest)]
        return service.StatsRequest(**{name: getattr(self, name) for name in names})


@strawberry.type
class StatsQuery:
    @strawberry.field(description="Figures for a jurisdiction as of a date, by a dimension.")
    async def statistics(self, info: Info, input: StatsInput | None = None) -> StatsTableType:
        request = (input or StatsInput()).request()
        table = await stats_query.statistics(info.context.services, request)
        return StatsTableType(table=table)

    @strawberry.field(description="The children counted in one figure of a table (masked).")
    async def statistics_children(
        self, info: Info, measure: StatsMeasure, input: StatsInput | None = None,
        key: str | None = None, first: int | None = None, after: str | None = None,
    ) -> Connection[ChildNode]:
        request = (input or StatsInput()).request()
        paging = page_request(info, first, after)
        page = await stats_query.children_behind(
            info.context.services, request, key, measure, paging)
        return to_connection(page, ChildNode.from_model)
