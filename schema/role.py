"""GraphQL type and mutations for role grants: who holds which role in which domain."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry import relay

from authz.principal import Grant
from models import user as mu
from schema.operations import Operation, operations
from schema.reference import JurisdictionNode, jurisdiction_at
from workflow import user
from workflow.context import ServiceContext
from workflow.errors import InvalidInput

GRANT_ID_DEPRECATION = "A raw database key: use id, the grant's global id."


@strawberry.type(
    name="RoleGrant",
    description="A role a user holds in a domain: a grant (with its id and date), or the "
    "membership every user holds in their own agency (no id: there is no grant to revoke).",
)
class RoleGrant:
    key: strawberry.Private[int | None]
    role: str
    domain: str = strawberry.field(description="The path the role covers (jurisdiction or unit).")
    granted_at: datetime | None
    jurisdiction_code: strawberry.Private[str]

    @classmethod
    def from_model(cls, g: mu.RoleGrant) -> RoleGrant:
        return cls(key=g.id, role=g.role, domain=g.domain, granted_at=g.granted_at,
                   jurisdiction_code=g.jurisdiction_code)

    @classmethod
    def held(cls, g: Grant) -> RoleGrant:
        """A grant as the signed-in principal holds it (``me``), membership included."""
        return cls(key=None, role=g.role, domain=g.domain, granted_at=None,
                   jurisdiction_code=g.jurisdiction_code)

    @strawberry.field(description="The grant's global id, which revokeRole takes; null for the "
                      "membership of one's own agency. Loaded as part of a user, not by node.")
    def id(self) -> strawberry.ID | None:
        return None if self.key is None else strawberry.ID(relay.to_base64("RoleGrant", self.key))

    @strawberry.field(deprecation_reason=GRANT_ID_DEPRECATION)
    def grant_id(self) -> int | None:
        return self.key

    jurisdiction: JurisdictionNode = strawberry.field(resolver=jurisdiction_at("jurisdiction_code"))


@strawberry.input
class GrantRoleInput:
    user_id: strawberry.ID
    role: str
    domain: str = strawberry.field(description="Jurisdiction or unit path the role covers.")


@strawberry.input
class RevokeRoleInput:
    grant: strawberry.ID | None = strawberry.field(
        default=None, description="The grant's global id (RoleGrant.id); required."
    )
    grant_id: int | None = strawberry.field(default=None, deprecation_reason=GRANT_ID_DEPRECATION)


async def _revoke(ctx: ServiceContext, *, grant_id: int | None) -> mu.RoleGrant:
    if grant_id is None:
        raise InvalidInput("name the grant to revoke", field="grant")
    return await user.revoke_role(ctx, grant_id)


@strawberry.type
@operations("grant", RoleGrant, ids={"user_id": "User", "grant": "RoleGrant"})
class RoleMutation:
    grant_role = Operation(user.grant_role, GrantRoleInput)
    revoke_role = Operation(_revoke, RevokeRoleInput, raw={"grant": "grant_id"})
