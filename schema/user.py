"""GraphQL types, queries and mutations for users: the caller (``me``) and the user directory."""

from __future__ import annotations

import strawberry
from strawberry import relay

from authz.errors import Unauthenticated
from schema.context import Info
from schema.operations import Operation, listing, operations
from schema.reference import AgencyNode, JurisdictionNode, agency_at, jurisdiction_at
from schema.role import RoleGrant
from schema.shape import Mirror, copied, fetched_by
from workflow import user


@strawberry.type
class Me:
    user_id: int = strawberry.field(
        deprecation_reason="A raw database key: use id, the signed-in User's global id."
    )
    username: str
    display_name: str
    agency_id: strawberry.Private[int]
    jurisdiction_code: strawberry.Private[str]
    roles: list[RoleGrant]

    agency: AgencyNode = strawberry.field(resolver=agency_at("agency_id"))

    jurisdiction: JurisdictionNode = strawberry.field(resolver=jurisdiction_at("jurisdiction_code"))

    @strawberry.field(description="The signed-in user's global id (the User node).")
    def id(self) -> strawberry.ID:
        return strawberry.ID(relay.to_base64("User", self.user_id))


@strawberry.type
class UserQuery:
    @strawberry.field(description="The signed-in user, their agency, roles and jurisdiction.")
    def me(self, info: Info) -> Me:
        services = info.context.services
        p = services.principal
        if p.user_id is None or p.agency_id is None:
            raise Unauthenticated("no user is signed in")
        services.authz.require(p, "self", "read", p.agency_scope)
        return copied(Me, p, roles=[RoleGrant.held(g) for g in p.grants])


@fetched_by(user.get_users)
@strawberry.type(name="User")
class UserNode(relay.Node, Mirror):
    user_id: relay.NodeID[int]
    username: str
    display_name: str
    is_active: bool
    agency_id: strawberry.Private[int]


    agency: AgencyNode = strawberry.field(resolver=agency_at("agency_id"))

    @strawberry.field(
        description="The user's role grants; null unless the caller administers the user's "
        "agency (a supervisor sees colleagues to assign work, not their grants)."
    )
    async def roles(self, info: Info) -> list[RoleGrant] | None:
        # Both loads are batched per request: a page costs one statement for the agencies and
        # one for the grants, whatever its size.
        agency = await info.context.loaders.agency.load(self.agency_id)
        if agency is None or not user.may_administer(info.context.services, agency):
            return None
        grants = await info.context.loaders.role_grants.load(self.user_id)
        return [RoleGrant.from_model(g) for g in grants]


@strawberry.type
class UserDirectoryQuery:
    users = listing(UserNode, user.users_page)


@strawberry.input
class CreateUserInput:
    username: str
    display_name: str
    agency_id: strawberry.ID = strawberry.field(description="The agency's global id.")


@strawberry.type
@operations("user", UserNode, ids={"agency_id": "Agency", "user_id": "User"})
class UserMutation:
    create_user = Operation(user.create_user, CreateUserInput)
    set_user_active = Operation(user.set_user_active)
