"""Every agency (its demo user) × every operation in the schema: allowed or denied as the
policy says. A new operation without a row here fails ``test_every_operation_is_covered``."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from schema.root import build_schema
from tests.conftest import Api
from workflow.demo import DEMO_USERS

USERS = [u.username for u in DEMO_USERS]
EVERYONE = set(USERS)
CHILD_READERS = {"edu_officer", "edu_admin", "principal", "head_teacher", "township_officer",
                 "police_officer", "civil_affairs", "poverty_office", "disabled_fed"}
ACCESS_LOG_READERS = {"edu_officer", "edu_admin", "principal", "inspector"}
ADMINS = {"admin"}
AUDIT_READERS = {"admin", "inspector"}

Probe = Callable[[Api, str], Awaitable[bool]]


async def _ok(api: Api, user: str, query: str, variables: dict[str, Any] | None = None,
              path: tuple[str, ...] = ()) -> bool:
    """True when the operation ran (and, for lists, returned something); False on denial."""
    body = (await api.post(query, variables, user=user)).json()
    if body.get("errors"):
        codes = {e["extensions"]["code"] for e in body["errors"]}
        assert codes <= {"FORBIDDEN"}, body["errors"]
        return False
    value: Any = body["data"]
    for key in path:
        value = value[key]
    if isinstance(value, list):
        return bool(value)
    if isinstance(value, int):
        return value > 0
    if isinstance(value, dict) and "userErrors" in value:
        errors = value["userErrors"]
        assert all(e["code"] in {"NOT_FOUND"} for e in errors), errors
        return not errors
    return value is not None


async def _agency_gid(api: Api) -> str:
    data = await api.gql('{ agencies(kind: POLICE, first: 1) { edges { node { id } } } }')
    gid: str = data["agencies"]["edges"][0]["node"]["id"]
    return gid


async def _user_gid(api: Api, username: str) -> str:
    data = await api.gql("{ users(first: 100) { edges { node { id username } } } }",
                         user="admin")
    return next(e["node"]["id"] for e in data["users"]["edges"]
                if e["node"]["username"] == username)


async def probe_create_user(api: Api, user: str) -> bool:
    gid = await _agency_gid(api)
    return await _ok(api, user, """mutation($a: ID!) { createUser(input: {username: "new.one",
        displayName: "新用户", agencyId: $a}) { user { id } userErrors { code } } }""",
                     {"a": gid}, ("createUser",))


async def probe_set_user_active(api: Api, user: str) -> bool:
    gid = await _user_gid(api, "youth_league")
    return await _ok(api, user, """mutation($u: ID!) { setUserActive(input: {userId: $u,
        active: false}) { user { isActive } userErrors { code } } }""", {"u": gid},
                     ("setUserActive",))


async def probe_grant_role(api: Api, user: str) -> bool:
    gid = await _user_gid(api, "police_officer")
    return await _ok(api, user, """mutation($u: ID!) { grantRole(input: {userId: $u,
        role: "task_supervisor", domain: "370000/370400/370406"}) { grant { role }
        userErrors { code } } }""", {"u": gid}, ("grantRole",))


async def probe_revoke_role(api: Api, user: str) -> bool:
    # The same grant for every user of one test: once the admin revoked it, it is gone.
    if "grant" not in api.scratch:
        data = await api.gql(
            "{ users(first: 100) { edges { node { username roles { grantId } } } } }",
            user="admin",
        )
        api.scratch["grant"] = next(e["node"]["roles"][0]["grantId"] for e in data["users"]["edges"]
                                if e["node"]["username"] == "youth_league")
    grant = api.scratch["grant"]
    return await _ok(api, user, """mutation($g: Int!) { revokeRole(input: {grantId: $g})
        { grant { role } userErrors { code } } }""", {"g": grant}, ("revokeRole",))


ADD_RULE = """mutation { addPolicyRule(input: {role: "police_officer",
    domain: "370000/370400/370406/370406100", obj: "child", act: "read", effect: "deny",
    source: "ST 8 (local arrangement)"}) { rule { ruleId } userErrors { code } } }"""


async def probe_add_rule(api: Api, user: str) -> bool:
    return await _ok(api, user, ADD_RULE, None, ("addPolicyRule",))


async def probe_remove_rule(api: Api, user: str) -> bool:
    added = await api.gql(ADD_RULE.replace("370406100", f"x-{user}"), user="admin")
    rule_id = added["addPolicyRule"]["rule"]["ruleId"]
    return await _ok(api, user, """mutation($r: Int!) { removePolicyRule(input: {ruleId: $r})
        { rule { ruleId } userErrors { code } } }""", {"r": rule_id}, ("removePolicyRule",))


async def probe_access_log(api: Api, user: str) -> bool:
    # Someone reads ID numbers of the principal's pupils first, so there is a log to see.
    await api.gql("{ children(first: 5) { edges { node { nationalId { value } } } } }",
                  user="principal")
    return await _ok(api, user, "{ accessLog(first: 10) { totalCount } }", None,
                     ("accessLog", "totalCount"))


PROBES: dict[str, tuple[Probe, set[str]]] = {
    "me": (lambda api, u: _ok(api, u, "{ me { username } }"), EVERYONE),
    "jurisdictions": (lambda api, u: _ok(api, u, "{ jurisdictions { code } }",
                                         None, ("jurisdictions",)), EVERYONE),
    "jurisdiction": (lambda api, u: _ok(api, u, '{ jurisdiction(code: "370406") { name } }'),
                     EVERYONE),
    "agencies": (lambda api, u: _ok(api, u, "{ agencies(first: 3) { totalCount } }", None,
                                    ("agencies", "totalCount")), EVERYONE),
    "duties": (lambda api, u: _ok(api, u, "{ duties { code } }", None, ("duties",)), EVERYONE),
    "node": (lambda api, u: _ok(api, u, '{ node(id: "SnVyaXNkaWN0aW9uOjM3MDQwNg==") { id } }'),
             EVERYONE),
    "nodes": (lambda api, u: _ok(api, u, '{ nodes(ids: ["SnVyaXNkaWN0aW9uOjM3MDQwNg=="]) '
                                 "{ id } }", None, ("nodes",)), EVERYONE),
    "children": (lambda api, u: _ok(api, u, "{ children(first: 3) { totalCount } }", None,
                                    ("children", "totalCount")), CHILD_READERS),
    "users": (lambda api, u: _ok(api, u, "{ users(first: 3) { totalCount } }", None,
                                 ("users", "totalCount")), ADMINS),
    "policy": (lambda api, u: _ok(api, u, "{ policy { version } }"), ADMINS),
    "accessLog": (probe_access_log, ACCESS_LOG_READERS),
    "auditEvents": (lambda api, u: _ok(api, u, "{ auditEvents(last: 5) { operation } }"),
                    AUDIT_READERS),
    "createUser": (probe_create_user, ADMINS),
    "setUserActive": (probe_set_user_active, ADMINS),
    "grantRole": (probe_grant_role, ADMINS),
    "revokeRole": (probe_revoke_role, ADMINS),
    "addPolicyRule": (probe_add_rule, ADMINS),
    "removePolicyRule": (probe_remove_rule, ADMINS),
}


def test_every_operation_is_covered() -> None:
    schema = build_schema()
    graphql_schema = schema._schema
    operations = set(graphql_schema.query_type.fields)  # type: ignore[union-attr]
    if graphql_schema.mutation_type is not None:
        operations |= set(graphql_schema.mutation_type.fields)
    missing, stale = operations - set(PROBES), set(PROBES) - operations
    assert not missing and not stale, f"missing: {missing}, stale: {stale}"


@pytest.mark.parametrize("operation", sorted(PROBES))
async def test_agency_by_operation(api: Api, operation: str) -> None:
    probe, allowed = PROBES[operation]
    outcome = {user: await probe(api, user) for user in USERS}
    expected = {user: user in allowed for user in USERS}
    assert outcome == expected
