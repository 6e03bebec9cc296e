"""Changing the authorization policy through the API (administrators only, audited).

Administrators add rules scoped to a domain they administer (typically a deny, or a grant
for a local arrangement); the shipped rules (domain ``*``) change only with a new release of
``authz/policy.csv``, so no district can widen another district's access.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from authz.policy import PolicyError, Rule
from authz.store import bump_version, current_version, load_policy
from models.policy import AuthzRule
from workflow import audit
from workflow.context import ServiceContext
from workflow.errors import Duplicate, InvalidInput, NotFound


async def list_rules(ctx: ServiceContext) -> Sequence[AuthzRule]:
    ctx.authz.require(ctx.principal, "policy", "read", ctx.principal.agency_scope)
    return (await ctx.session.execute(select(AuthzRule).order_by(AuthzRule.id))).scalars().all()


async def policy_version(ctx: ServiceContext) -> int:
    """The version of the policy in force (bumped with every change; the policy view shows
    it beside the rules)."""
    ctx.authz.require(ctx.principal, "policy", "read", ctx.principal.agency_scope)
    return await current_version(ctx.session)


async def authorization_changed(ctx: ServiceContext) -> int:
    """Bump the authorization version in the caller's transaction and reload this process's
    authorizer after the commit (the others follow the NOTIFY or their poll). Rules, role
    grants and users' activity all go through here: every process's cached principals
    (``api/auth.PrincipalCache``) are loaded under a version, so a revoked grant or a
    deactivated user is not served from a cache once the change is known. Returns the new
    version."""
    version = await bump_version(ctx.session)

    async def reload() -> None:
        rules, loaded = await load_policy(ctx.session)
        ctx.authz.reload(rules, loaded)

    ctx.after_commit.append(reload)
    return version


async def add_rule(ctx: ServiceContext, rule: Rule) -> AuthzRule:
    # The right over the rule's domain first: a caller who may not manage it learns nothing
    # from the rule's validation.
    ctx.authz.require(ctx.principal, "policy", "manage", rule.domain)
    try:
        rule.validate()
    except PolicyError as exc:
        raise InvalidInput(str(exc), field="rule") from exc
    if rule.domain == "*":
        raise InvalidInput("rules added through the API must name a domain", field="domain")
    # The rule's fields are the row's columns; the source note is cut to the column's size.
    fields = {**asdict(rule), "source": rule.source[:200]}
    row = AuthzRule(**fields, created_by=ctx.principal.user_id)
    ctx.session.add(row)
    try:
        async with ctx.session.begin_nested():
            await ctx.session.flush()
    except IntegrityError as exc:
        raise Duplicate("this rule exists already", field="rule") from exc
    version = await authorization_changed(ctx)
    audit.record_row(
        ctx,
        "add_policy_rule",
        row,
        {"rule": rule.as_casbin(), "source": rule.source, "version": version},
    )
    return row


async def remove_rule(ctx: ServiceContext, rule_id: int) -> AuthzRule:
    row = await ctx.session.get(AuthzRule, rule_id)
    if row is None or not ctx.authz.allowed(ctx.principal, "policy", "manage", row.domain):
        # Same answer for "not yours" and "not there".
        raise NotFound("no such rule", field="ruleId")
    if row.domain == "*":
        raise InvalidInput("shipped rules change with a release of the policy file", field="ruleId")
    await ctx.session.delete(row)
    version = await authorization_changed(ctx)
    audit.record(
        ctx,
        "remove_policy_rule",
        "authz_rule",
        [rule_id],
        {
            "rule": [row.role, row.domain, row.obj, row.act, row.stage, row.effect],
            "version": version,
        },
    )
    return row
