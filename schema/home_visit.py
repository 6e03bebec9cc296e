"""GraphQL for teachers' home visits (家访, ST 5): the visits, each school's coverage in a
term, and the pupils still lacking visits (masked as in every list of children)."""

from __future__ import annotations

from datetime import date, datetime

import strawberry

from models import home_visit as m
from schema.child import ChildNode
from schema.context import Info
from schema.operations import Operation, arguments, listing, operations
from schema.pagination import Connection, page_request, to_connection
from schema.school import SchoolNode
from schema.shape import RowNode, attr_field, fetched_by, related, row_field
from workflow import home_visit as service

VISIT = ("A teacher's home visit (家访) to a pupil's family, recorded by the school outside any "
         "case (ST 5: every pupil at least once a semester, special groups more often).")


@fetched_by(service.get_visits)
@strawberry.type(name="HomeVisit", description=VISIT)
class HomeVisitNode(RowNode):
    visited_on = row_field("visited_on", date)
    visitors = row_field("visitors", str, description="Who visited (teachers' names, roles).")
    met = row_field("met", str, description="Whom the visitors met (the guardians, the child).")
    findings = row_field("findings", str, description="What was found (free text, bounded).")
    follow_up_needed = row_field("follow_up_needed", bool)
    follow_up = row_field("follow_up", str, description="What follow-up is needed; '' if none.")
    recorded_at, updated_at = row_field("recorded_at", datetime), row_field("updated_at", datetime)
    version = row_field("version", int, description="Send it back when amending the visit.")
    child = related("registered_child", "row.child_id", ChildNode,
                    description="The pupil visited (null where the caller may not see it).")
    school = related("school", "row.school_id", SchoolNode,
                     description="The school whose teachers visited.")
    row: strawberry.Private[m.HomeVisit]


@strawberry.input
class HomeVisitCoverageInput:
    jurisdiction_code: str | None = strawberry.field(
        default=None, description="A district or township; the caller's own unit when absent."
    )
    school_id: strawberry.ID | None = strawberry.field(
        default=None, description="One school of the place only."
    )
    on: date | None = strawberry.field(
        default=None, description="A day of the term asked for (today)."
    )

    def request(self) -> service.CoverageRequest:
        return service.CoverageRequest(**arguments(self, {"school_id": "School"}))


@strawberry.type(name="SchoolHomeVisitCoverage",
                 description="One school's home-visit coverage in a term.")
class SchoolCoverageType:
    figures: strawberry.Private[service.SchoolCoverage]

    @strawberry.field(description="The School's global id.")
    def school_id(self) -> strawberry.ID:
        return strawberry.ID(strawberry.relay.to_base64("School", self.figures.school_id))

    school_name = attr_field("figures.school_name", str)
    pupils = attr_field("figures.pupils", int, description="Pupils on the school's register now.")
    covered = attr_field("figures.covered", int,
                         description="Pupils with at least the visits they need this term.")
    short = attr_field("figures.short", int,
                       description="Pupils still lacking visits (homeVisitGaps lists them).")
    visits = attr_field("figures.visits", int,
                        description="Visits recorded in the term to the school's pupils.")
    rate = attr_field("figures.rate", float | None,
                      description="covered / pupils; null without pupils.")


@strawberry.type(name="HomeVisitCoverage",
                 description="Home-visit coverage of a place's schools in one term (ST 5).")
class CoverageType:
    coverage: strawberry.Private[service.Coverage]

    term_name = attr_field("coverage.term.name", str)
    term_starts_on = attr_field("coverage.term.starts_on", date)
    term_ends_on = attr_field("coverage.term.ends_on", date)

    @strawberry.field(description="A row per school the caller may read, in school order.")
    def schools(self) -> list[SchoolCoverageType]:
        return [SchoolCoverageType(figures=f) for f in self.coverage.schools]

    @strawberry.field(description="Pupils of all the schools.")
    def pupils(self) -> int:
        return sum(f.pupils for f in self.coverage.schools)

    @strawberry.field(description="Pupils of all the schools with the visits they need.")
    def covered(self) -> int:
        return sum(f.covered for f in self.coverage.schools)


@strawberry.type
class HomeVisitQuery:
    home_visits = listing(
        HomeVisitNode, service.visits_page,
        filter=service.VisitFilter, filter_name="HomeVisitFilterInput",
        ids={"child_id": "Child", "school_id": "School"},
        description="The home visits of the caller's schools, newest first.",
    )

    @strawberry.field(description="Each school's home-visit coverage in a term (ST 5).")
    async def home_visit_coverage(
        self, info: Info, input: HomeVisitCoverageInput | None = None
    ) -> CoverageType:
        request = (input or HomeVisitCoverageInput()).request()
        return CoverageType(coverage=await service.coverage(info.context.services, request))

    @strawberry.field(description="The pupils who lack home visits this term (masked).")
    async def home_visit_gaps(
        self, info: Info, input: HomeVisitCoverageInput | None = None,
        first: int | None = None, after: str | None = None,
    ) -> Connection[ChildNode]:
        request = (input or HomeVisitCoverageInput()).request()
        page = await service.gaps_page(info.context.services, request,
                                       page_request(info, first, after))
        return to_connection(page, ChildNode.from_model)


@strawberry.input
class RecordHomeVisitInput:
    child_id: strawberry.ID
    visited_on: date
    visitors: str = strawberry.field(description="Who visited (at most 200 characters).")
    met: str = strawberry.field(description="Whom they met (at most 200 characters).")
    findings: str = strawberry.field(description="What was found (at most 2,000 characters).")
    follow_up_needed: bool = False
    follow_up: str = strawberry.field(
        default="", description="What follow-up is needed: required when followUpNeeded."
    )


@strawberry.type
@operations("visit", HomeVisitNode, ids={"child_id": "Child", "visit_id": "HomeVisit"})
class HomeVisitMutation:
    record_home_visit = Operation(service.record_visit, RecordHomeVisitInput,
                                  description="Record a home visit to a pupil of the school.")
    amend_home_visit = Operation(service.amend_visit,
                                 description="Correct a recorded home visit (the fields given).")
