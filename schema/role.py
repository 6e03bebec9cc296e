"""GraphQL types and mutations for role grants: who holds which role in which domain."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import strawberry

from models import user as mu
from schema.context import Info
from schema.ids import node_id
from schema.mutation import UserError, mutate
from schema.reference import JurisdictionNode
from workflow import user


@strawberry.type(name="RoleAssignment", description="A role a user holds in a domain.")
class RoleAssignment:
    grant_id: int
    role: str
    domain: str
    granted_at: datetime

    @classmethod
    def from_model(cls, g: mu.RoleGrant) -> RoleAssignment:
        return cls(grant_id=g.id, role=g.role, domain=g.domain, granted_at=g.granted_at)


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


@strawberry.input
class GrantRoleInput:
    user_id: strawberry.ID
    role: str
    domain: str = strawberry.field(description="Jurisdiction or unit path the role covers.")


@strawberry.type
class RoleGrantPayload:
    grant: RoleAssignment | None
    user_errors: list[UserError]


@strawberry.input
class RevokeRoleInput:
    grant_id: int


@strawberry.type
class RoleMutation:
    @strawberry.mutation
    async def grant_role(self, info: Info, input: GrantRoleInput) -> RoleGrantPayload:
        async def op(ctx: Any) -> mu.RoleGrant:
            return await user.grant_role(
                ctx,
                user_id=node_id(input.user_id, "User", "userId"),
                role=input.role,
                domain=input.domain,
            )

        return await mutate(info, RoleGrantPayload, RoleAssignment.from_model, op)

    @strawberry.mutation
    async def revoke_role(self, info: Info, input: RevokeRoleInput) -> RoleGrantPayload:
        async def op(ctx: Any) -> mu.RoleGrant:
            return await user.revoke_role(ctx, input.grant_id)

        return await mutate(info, RoleGrantPayload, RoleAssignment.from_model, op)
