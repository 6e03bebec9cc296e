"""GraphQL for the special-needs census (特殊需要学生情况普查, ST 7): each school's census of a
term, its counts per category, who has not submitted, and the school's submission."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import strawberry

from models import home_visit as m
from schema.context import Info
from schema.ids import node_id
from schema.operations import Operation, listing, operations
from schema.school import SchoolNode
from schema.shape import RowNode, fetched_by, related, row_field
from workflow import census as service
from workflow.context import ServiceContext

CENSUS = ("A school's census of its special-needs pupils for one term (ST 7: within two weeks "
          "of the term's start), opened with a task by the scheduler, submitted by the school.")


@strawberry.type(name="CensusCategoryCount",
                 description="How many pupils a census counted in one category of ST 7.")
class CategoryCountType:
    code: str = strawberry.field(description="The category's code in census.json.")
    label: str
    count: int | None = strawberry.field(description="Null until the census is submitted.")


@fetched_by(service.get_censuses)
@strawberry.type(name="SpecialNeedsCensus", description=CENSUS)
class CensusNode(RowNode):
    term_name = row_field("term_name", str)
    term_start, due_on = row_field("term_start", date), row_field("due_on", date)
    submitted_at = row_field("submitted_at", datetime | None,
                             description="Null while the school has not submitted.")
    note = row_field("note", str)
    version = row_field("version", int, description="Send it back when submitting.")
    school = related("school", "row.school_id", SchoolNode)
    row: strawberry.Private[m.SpecialNeedsCensus]

    @strawberry.field(description="The count of each category of the district's census.")
    async def categories(self, info: Info) -> list[CategoryCountType]:
        counts = await info.context.loaders.census_counts.load(self.row.id)
        return [CategoryCountType(code=c.code, label=c.title, count=c.count) for c in counts]


@strawberry.input
class CensusFilterInput:
    school_id: strawberry.ID | None = None
    term_start: date | None = None
    submitted: bool | None = strawberry.field(
        default=None, description="false: the schools that have not submitted."
    )


@strawberry.type
class CensusQuery:
    special_needs_censuses = listing(
        CensusNode, service.censuses_page, filter=(CensusFilterInput, service.CensusFilter),
        ids={"school_id": "School"},
        description="The special-needs censuses of the caller's schools, oldest first.",
    )


@strawberry.input
class CensusCategoryInput:
    category: str = strawberry.field(description="A category code (CensusCategoryCount.code).")
    child_ids: list[strawberry.ID] = strawberry.field(
        description="The Child ids of the school's pupils in the category."
    )


@strawberry.input
class SubmitSpecialNeedsCensusInput:
    census_id: strawberry.ID
    categories: list[CensusCategoryInput] = strawberry.field(
        description="The pupils per category; a category left out counts none."
    )
    note: str = ""
    expected_version: int | None = None


async def _submit(
    ctx: ServiceContext, *, census_id: int, expected_version: int | None,
    categories: list[CensusCategoryInput], note: str,
) -> Any:
    """The nested inputs' child ids decoded (``arguments`` decodes top-level fields only)."""
    entries = [(c.category, [node_id(i, "Child", "childIds") for i in c.child_ids])
               for c in categories]
    return await service.submit_census(ctx, census_id=census_id,
                                       expected_version=expected_version, entries=entries,
                                       note=note)


@strawberry.type
@operations("census", CensusNode, ids={"census_id": "SpecialNeedsCensus"})
class CensusMutation:
    submit_special_needs_census = Operation(
        _submit, SubmitSpecialNeedsCensusInput,
        "Submit (or correct) the school's census of the term; the first does the task.",
    )
