"""GraphQL types, query and mutations for the authorization policy's rules."""

from __future__ import annotations

import strawberry

from authz.policy import Rule
from models import policy as mp
from schema.context import Info
from schema.operations import Operation, operations
from schema.shape import Mirror
from workflow import policy
from workflow.context import ServiceContext


@strawberry.type(name="PolicyRule", description="One policy line: role may act on obj.")
class PolicyRule(Mirror):
    sources = (("rule_id", "id"),)
    rule_id: int
    role: str
    domain: str
    obj: str
    act: str
    stage: str
    effect: str
    source: str


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


async def _add(ctx: ServiceContext, **given: str) -> mp.AuthzRule:
    return await policy.add_rule(ctx, Rule(**given))


@strawberry.type
@operations("rule", PolicyRule)
class PolicyMutation:
    add_policy_rule = Operation(_add, AddPolicyRuleInput)
    remove_policy_rule = Operation(policy.remove_rule)
