"""GraphQL type and query for schools: the units children are enrolled in."""

from __future__ import annotations

from typing import Optional

import strawberry

from schema.enums import SchoolKind
from schema.ids import global_or_raw_id
from schema.operations import Operation, listing, operations
from schema.reference import AgencyNode, JurisdictionNode, agency_at, jurisdiction_at
from schema.shape import MirrorNode, fetched_by
from workflow import school as service


@fetched_by(service.get_schools)
@strawberry.type(name="School", description="A school: reference data every member may read.")
class SchoolNode(MirrorNode):
    name: str
    kind: SchoolKind
    grade_from: int = strawberry.field(description="The first grade taught (1–12).")
    grade_to: int
    address: str
    agency_id: strawberry.Private[int]
    township_code: strawberry.Private[str]

    @strawberry.field(
        deprecation_reason="A raw database key: use id, the School's global id (filters take "
        "it as `school`)."
    )
    def school_id(self) -> int:
        return self.key

    agency: AgencyNode = strawberry.field(resolver=agency_at("agency_id"))

    township: JurisdictionNode = strawberry.field(resolver=jurisdiction_at("township_code"))


def school_key(school: strawberry.ID | None, school_id: int | None, field: str) -> int | None:
    """The school a filter names: its global id, or the deprecated ``schoolId``."""
    return global_or_raw_id(school, school_id, "School", field)


@strawberry.type
class SchoolQuery:
    schools = listing(
        SchoolNode, service.schools_page,
        kind=(Optional[SchoolKind], None), jurisdiction_code=(Optional[str], None),  # noqa: UP045
    )


@strawberry.input
class CreateSchoolInput:
    name: str
    kind: SchoolKind
    township_code: str
    grade_from: int | None = strawberry.field(
        default=None, description="Defaults by kind (primary 1, junior 7, vocational 10 …).")
    grade_to: int | None = None
    parent_school: strawberry.ID | None = strawberry.field(
        default=None, description="A teaching point's central school (required for one).")
    address: str = ""


@strawberry.type
@operations("school", SchoolNode, ids={"school_id": "School", "parent_school": "School"})
class SchoolMutation:
    # Descriptions in schema/descriptions.toml ("Register (issue 14)").
    create_school = Operation(service.create_school, CreateSchoolInput)
    update_school = Operation(service.update_school)
