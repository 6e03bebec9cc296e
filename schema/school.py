"""GraphQL type for schools: the units children are enrolled in."""

from __future__ import annotations

import strawberry

from schema.context import Info
from schema.enums import SchoolKind
from schema.reference import AgencyNode, JurisdictionNode


@strawberry.type(name="School")
class SchoolType:
    school_id: int
    name: str
    kind: SchoolKind
    agency_id: strawberry.Private[int]
    township_code: strawberry.Private[str]

    @strawberry.field
    async def agency(self, info: Info) -> AgencyNode:
        a = await info.context.loaders.agency.load(self.agency_id)
        assert a is not None
        return AgencyNode.from_model(a)

    @strawberry.field
    async def township(self, info: Info) -> JurisdictionNode:
        j = await info.context.loaders.jurisdiction.load(self.township_code)
        assert j is not None
        return JurisdictionNode.from_model(j)
