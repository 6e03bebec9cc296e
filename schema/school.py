"""GraphQL type and query for schools: the units children are enrolled in."""

from __future__ import annotations

import strawberry
from strawberry import relay

from models import school as m
from schema.context import Info
from schema.enums import SchoolKind
from schema.ids import global_or_raw_id
from schema.pagination import Connection, page_request, to_connection
from schema.reference import AgencyNode, JurisdictionNode, agency_at, jurisdiction_at
from schema.shape import copied, fetched_by
from workflow import school as service


@fetched_by(service.get_schools)
@strawberry.type(name="School", description="A school: reference data every member may read.")
class SchoolNode(relay.Node):
    key: relay.NodeID[int]
    name: str
    kind: SchoolKind
    agency_id: strawberry.Private[int]
    township_code: strawberry.Private[str]

    @classmethod
    def from_model(cls, s: m.School) -> SchoolNode:
        return copied(cls, s, key=s.id)

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
    @strawberry.field(
        description="Schools, optionally of one kind and within a jurisdiction (a township, "
        "or a district and its townships)."
    )
    async def schools(
        self,
        info: Info,
        kind: SchoolKind | None = None,
        jurisdiction_code: str | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[SchoolNode]:
        services = info.context.services
        page = await service.schools_page(
            services,
            page_request(info, first, after),
            kind=kind,
            jurisdiction_code=jurisdiction_code,
        )
        return to_connection(page, SchoolNode.from_model)
