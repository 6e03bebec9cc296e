"""Administration over GraphQL: users, role grants, policy rules, the audit and access logs."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

import strawberry
from strawberry import relay
from strawberry.scalars import JSON

from authz.policy import Rule
from authz.store import current_version
from models import access_log as ma
from models import policy as mp
from models import user as mu
from schema.context import Info
from schema.enums import AgencyKind
from schema.ids import node_id
from schema.mutation import UserError, run
from schema.pagination import Connection, keyset_page, to_connection
from schema.reference import AgencyNode
from workflow import access_log, audit, policy, user


@strawberry.type(name="RoleAssignment", description="A role a user holds in a domain.")
class RoleAssignment:
    grant_id: int
    role: str
    domain: str
    granted_at: datetime

    @classmethod
    def from_model(cls, g: mu.RoleGrant) -> RoleAssignment:
        return cls(grant_id=g.id, role=g.role, domain=g.domain, granted_at=g.granted_at)


@strawberry.type(name="User")
class UserNode(relay.Node):
    user_id: relay.NodeID[int]
    username: str
    display_name: str
    is_active: bool
    agency_id: strawberry.Private[int]

    @classmethod
    def from_model(cls, u: mu.User) -> UserNode:
        return cls(
            user_id=u.id,
            username=u.username,
            display_name=u.display_name,
            is_active=u.is_active,
            agency_id=u.agency_id,
        )

    @strawberry.field
    async def agency(self, info: Info) -> AgencyNode:
        a = await info.context.loaders.agency.load(self.agency_id)
        assert a is not None
        return AgencyNode.from_model(a)

    @strawberry.field(
        description="The user's role grants; null unless the caller administers the user's "
        "agency (a supervisor sees colleagues to assign work, not their grants)."
    )
    async def roles(self, info: Info) -> list[RoleAssignment] | None:
        # Both loads are batched per request: a page costs one statement for the agencies and
        # one for the grants, whatever its size.
        agency = await info.context.loaders.agency.load(self.agency_id)
        if agency is None or not user.may_administer(info.context.services, agency):
            return None
        grants = await info.context.loaders.role_grants.load(self.user_id)
        return [RoleAssignment.from_model(g) for g in grants]

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: Info, node_ids: Iterable[str], required: bool = False
    ) -> list[UserNode | None]:
        services = info.context.services
        ids = [int(i) for i in node_ids]
        stmt = user.users_query(services).where(mu.User.id.in_(ids))
        found = {u.id: u for u in (await services.session.execute(stmt)).scalars()}
        return [cls.from_model(found[i]) if i in found else None for i in ids]


@strawberry.type(name="PolicyRule", description="One policy line: role may act on obj.")
class PolicyRule:
    rule_id: int
    role: str
    domain: str
    obj: str
    act: str
    stage: str
    effect: str
    source: str

    @classmethod
    def from_model(cls, r: mp.AuthzRule) -> PolicyRule:
        return cls(
            rule_id=r.id,
            role=r.role,
            domain=r.domain,
            obj=r.obj,
            act=r.act,
            stage=r.stage,
            effect=r.effect,
            source=r.source,
        )


@strawberry.type(name="Policy")
class PolicyView:
    version: int
    rules: list[PolicyRule]


@strawberry.type(name="AccessLogEntry", description="An unmasked read of a sensitive field.")
class AccessLogEntry:
    occurred_at: datetime
    username: str
    agency_kind: AgencyKind | None
    record_type: str
    record_id: int
    field: str
    request_id: str | None

    @classmethod
    def from_model(cls, a: ma.SensitiveAccess) -> AccessLogEntry:
        return cls(
            occurred_at=a.occurred_at,
            username=a.username,
            agency_kind=a.agency_kind,
            record_type=a.record_type,
            record_id=a.record_id,
            field=a.field,
            request_id=a.request_id,
        )


@strawberry.type(name="AuditEvent")
class AuditEventType:
    occurred_at: datetime
    actor_username: str
    actor_agency_kind: AgencyKind | None
    actor_roles: str
    operation: str
    record_type: str
    record_ids: Any = strawberry.field(graphql_type=JSON)
    change: Any = strawberry.field(graphql_type=JSON)
    request_id: str | None


@strawberry.type
class AdminQuery:
    @strawberry.field(
        description="Users in the agencies the caller administers, and a task supervisor's "
        "own agency's members (to assign work to)."
    )
    async def users(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> Connection[UserNode]:
        services = info.context.services
        page = await keyset_page(
            services.session,
            user.users_query(services),
            mu.User.id,
            lambda u: u.id,
            prefix="user",
            first=first,
            after=after,
            cap=info.context.extra.get("max_page_size", 100),
        )
        return to_connection(page, UserNode.from_model)

    @strawberry.field(description="The authorization policy in force, with its version.")
    async def policy(self, info: Info) -> PolicyView:
        services = info.context.services
        rows = await policy.list_rules(services)
        return PolicyView(
            version=await current_version(services.session),
            rules=[PolicyRule.from_model(r) for r in rows],
        )

    @strawberry.field(description="Unmasked reads of sensitive data the caller may review.")
    async def access_log(
        self,
        info: Info,
        record_type: str | None = None,
        record_id: int | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[AccessLogEntry]:
        services = info.context.services
        stmt = access_log.access_log_query(services, record_type=record_type, record_id=record_id)
        page = await keyset_page(
            services.session,
            stmt,
            ma.SensitiveAccess.id,
            lambda a: a.id,
            prefix="access",
            first=first,
            after=after,
            cap=info.context.extra.get("max_page_size", 100),
        )
        return to_connection(page, AccessLogEntry.from_model)

    @strawberry.field(description="The newest audit events (administrators and inspectors).")
    async def audit_events(
        self, info: Info, operation: str | None = None, last: int = 50
    ) -> list[AuditEventType]:
        rows = await audit.latest(info.context.services, operation=operation, last=last)
        return [
            AuditEventType(
                occurred_at=e.occurred_at,
                actor_username=e.actor_username,
                actor_agency_kind=e.actor_agency_kind,
                actor_roles=e.actor_roles,
                operation=e.operation,
                record_type=e.record_type,
                record_ids=e.record_ids,
                change=e.change,
                request_id=e.request_id,
            )
            for e in rows
        ]


@strawberry.input
class CreateUserInput:
    username: str
    display_name: str
    agency_id: strawberry.ID = strawberry.field(description="The agency's global id.")


@strawberry.type
class UserPayload:
    user: UserNode | None
    user_errors: list[UserError]


@strawberry.input
class SetUserActiveInput:
    user_id: strawberry.ID
    active: bool


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


@strawberry.input
class AddPolicyRuleInput:
    role: str
    domain: str
    obj: str
    act: str
    stage: str = "*"
    effect: str = "allow"
    source: str = strawberry.field(description="The rule it comes from (seed key, article).")


@strawberry.input
class RemovePolicyRuleInput:
    rule_id: int


@strawberry.type
class PolicyRulePayload:
    rule: PolicyRule | None
    user_errors: list[UserError]


@strawberry.type
class AdminMutation:
    @strawberry.mutation
    async def create_user(self, info: Info, input: CreateUserInput) -> UserPayload:
        async def op(ctx: Any) -> mu.User:
            return await user.create_user(
                ctx,
                username=input.username,
                display_name=input.display_name,
                agency_id=node_id(input.agency_id, "Agency", "agencyId"),
            )

        row, errors = await run(info, op)
        return UserPayload(user=UserNode.from_model(row) if row else None, user_errors=errors)

    @strawberry.mutation
    async def set_user_active(self, info: Info, input: SetUserActiveInput) -> UserPayload:
        async def op(ctx: Any) -> mu.User:
            user_id = node_id(input.user_id, "User", "userId")
            return await user.set_user_active(ctx, user_id, input.active)

        row, errors = await run(info, op)
        return UserPayload(user=UserNode.from_model(row) if row else None, user_errors=errors)

    @strawberry.mutation
    async def grant_role(self, info: Info, input: GrantRoleInput) -> RoleGrantPayload:
        async def op(ctx: Any) -> mu.RoleGrant:
            return await user.grant_role(
                ctx,
                user_id=node_id(input.user_id, "User", "userId"),
                role=input.role,
                domain=input.domain,
            )

        row, errors = await run(info, op)
        return RoleGrantPayload(
            grant=RoleAssignment.from_model(row) if row else None, user_errors=errors
        )

    @strawberry.mutation
    async def revoke_role(self, info: Info, input: RevokeRoleInput) -> RoleGrantPayload:
        async def op(ctx: Any) -> mu.RoleGrant:
            return await user.revoke_role(ctx, input.grant_id)

        row, errors = await run(info, op)
        return RoleGrantPayload(
            grant=RoleAssignment.from_model(row) if row else None, user_errors=errors
        )

    @strawberry.mutation
    async def add_policy_rule(self, info: Info, input: AddPolicyRuleInput) -> PolicyRulePayload:
        rule = Rule(
            input.role, input.domain, input.obj, input.act, input.stage, input.effect, input.source
        )

        async def op(ctx: Any) -> mp.AuthzRule:
            return await policy.add_rule(ctx, rule)

        row, errors = await run(info, op)
        return PolicyRulePayload(
            rule=PolicyRule.from_model(row) if row else None, user_errors=errors
        )

    @strawberry.mutation
    async def remove_policy_rule(
        self, info: Info, input: RemovePolicyRuleInput
    ) -> PolicyRulePayload:
        async def op(ctx: Any) -> mp.AuthzRule:
            return await policy.remove_rule(ctx, input.rule_id)

        row, errors = await run(info, op)
        return PolicyRulePayload(
            rule=PolicyRule.from_model(row) if row else None, user_errors=errors
        )
