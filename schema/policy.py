"""GraphQL types, query and mutations for the authorization policy's rules."""

from __future__ import annotations

import strawberry

from authz.policy import Rule
from models import policy as mp
from schema.context import Info
from schema.mutation import UserError, mutate
from workflow import policy
from workflow.context import ServiceContext


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


@strawberry.type
class PolicyQuery:
    @strawberry.field(description="The authorization policy in force, with its version.")
    async def policy(self, info: Info) -> PolicyView:
        services = info.context.services
        rows = await policy.list_rules(services)
        return PolicyView(
            version=await policy.policy_version(services),
            rules=[PolicyRule.from_model(r) for r in rows],
        )


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
class PolicyMutation:
    @strawberry.mutation
    async def add_policy_rule(self, info: Info, input: AddPolicyRuleInput) -> PolicyRulePayload:
        rule = Rule(
            input.role, input.domain, input.obj, input.act, input.stage, input.effect, input.source
        )

        async def op(ctx: ServiceContext) -> mp.AuthzRule:
            return await policy.add_rule(ctx, rule)

        return await mutate(info, PolicyRulePayload, PolicyRule.from_model, op)

    @strawberry.mutation
    async def remove_policy_rule(
        self, info: Info, input: RemovePolicyRuleInput
    ) -> PolicyRulePayload:
        async def op(ctx: ServiceContext) -> mp.AuthzRule:
            return await policy.remove_rule(ctx, input.rule_id)

        return await mutate(info, PolicyRulePayload, PolicyRule.from_model, op)
