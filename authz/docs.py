"""Renders the policy file as the table in ``docs/authz.md`` (``lianbao authz-docs``)."""

from __future__ import annotations

from collections import defaultdict

from authz.policy import Rule, default_rules
from authz.roles import MEMBER, PUBLIC, ROLE_AGENCY

HEADER = """# Authorization policy

Generated from `authz/policy.csv` by `lianbao authz-docs`; a test fails when this page and the
policy file disagree. Read `authz/model.conf` for the model: RBAC with domains, where a
domain is a jurisdiction path ("370000/370400/370406/…") or a unit below it (a school,
`…/370406101/school:12`); a role granted on a path covers everything under it; explicit deny
overrides allow; "from stage" means the case must have reached that canonical stage.

Every signed-in user also holds `member` in their own agency's scope. Administrators may add
rules scoped to their own domain through the API (`addPolicyRule`); the rules below apply
everywhere (`*`).

| agency | role | object | action | from stage | effect | source rule |
|---|---|---|---|---|---|---|
"""


def render(rules: list[Rule] | None = None) -> str:
    rules = rules if rules is not None else default_rules()
    rows: list[str] = []
    order = {role: i for i, role in enumerate([MEMBER, *ROLE_AGENCY])}
    grouped: dict[str, list[Rule]] = defaultdict(list)
    for r in rules:
        grouped[r.role].append(r)
    for role in sorted(grouped, key=lambda x: order.get(x, 999)):
        kind = ROLE_AGENCY.get(role)
        agency = kind.value if kind else {MEMBER: "every user", PUBLIC: "no account"}.get(
            role, "any"
        )
        for r in grouped[role]:
            scope = "" if r.domain == "*" else f" in {r.domain}"
            stage = "any" if r.stage == "*" else r.stage
            rows.append(
                f"| {agency} | {role} | {r.obj}{scope} | {r.act} | {stage} | {r.effect} "
                f"| {r.source} |"
            )
    return HEADER + "\n".join(rows) + "\n"
