"""The caller: ``me``."""

from __future__ import annotations

import strawberry

from authz.errors import Unauthenticated
from schema.context import Info
from schema.reference import AgencyNode, JurisdictionNode


@strawberry.type
class RoleGrant:
    role: str
    domain: str = strawberry.field(description="The path the role covers (jurisdiction or unit).")
    jurisdiction_code: strawberry.Private[str]

    @strawberry.field
    async def jurisdiction(self, info: Info) -> JurisdictionNode:
        j = await info.context.loaders.jurisdiction.load(self.jurisdiction_code)
        assert j is not None
        return JurisdictionNode.from_model(j)


@strawberry.type
class Me:
    user_id: int
    username: str
    display_name: str
    agency_id: strawberry.Private[int]
    jurisdiction_code: strawberry.Private[str]
    roles: list[RoleGrant]

    @strawberry.field
    async def agency(self, info: Info) -> AgencyNode:
        a = await info.context.loaders.agency.load(self.agency_id)
        assert a is not None
        return AgencyNode.from_model(a)

    @strawberry.field
    async def jurisdiction(self, info: Info) -> JurisdictionNode:
        j = await info.context.loaders.jurisdiction.load(self.jurisdiction_code)
        assert j is not None
        return JurisdictionNode.from_model(j)


@strawberry.type
class UserQuery:
    @strawberry.field(description="The signed-in user, their agency, roles and jurisdiction.")
    def me(self, info: Info) -> Me:
        services = info.context.services
        p = services.principal
        if p.user_id is None or p.agency_id is None:
            raise Unauthenticated("no user is signed in")
        services.authz.require(p, "self", "read", p.agency_scope)
        return Me(
            user_id=p.user_id,
            username=p.username,
            display_name=p.display_name,
            agency_id=p.agency_id,
            jurisdiction_code=p.jurisdiction_code,
            roles=[
                RoleGrant(role=g.role, domain=g.domain, jurisdiction_code=g.jurisdiction_code)
                for g in p.grants
            ],
        )
