"""The principal is loaded once per token and reused until the authorization changes.

Loading it is two statements per request; a front end sends the same token every time. A
grant revoked, a user deactivated or a rule changed must still take effect on the very next
request (``api/auth.PrincipalCache``, ``workflow/policy.authorization_changed``).
"""

from __future__ import annotations

from typing import Any

from api.auth import PrincipalCache
from authz.principal import Principal
from tests.helpers import Api, Database, counting

ME = "{ me { username roles { role domain } } }"


def principal_reads(statements: list[str]) -> int:
    return sum(1 for s in statements if "FROM app_user" in s or "FROM role_grant" in s)


async def user_gid(api: Api, username: str) -> dict[str, Any]:
    data = await api.gql(
        "{ users(first: 100) { edges { node { id username roles { grantId role } } } } }",
        user="admin",
    )
    node: dict[str, Any] = next(
        e["node"] for e in data["users"]["edges"] if e["node"]["username"] == username
    )
    return node


async def test_the_second_request_with_a_token_reads_no_user_or_grants(
    api: Api, database: Database
) -> None:
    await api.gql(ME, user="police_officer")
    with counting(database) as statements:
        again = await api.gql(ME, user="police_officer")
    assert again["me"]["username"] == "police_officer"
    assert principal_reads(statements) == 0, statements


async def test_a_revoked_grant_takes_effect_on_the_next_request(api: Api) -> None:
    before = await api.gql(ME, user="youth_league")
    assert before["me"]["roles"], before
    user = await user_gid(api, "youth_league")
    grant = user["roles"][0]["grantId"]
    revoked = await api.gql("""mutation($g: Int!) { revokeRole(input: {grantId: $g})
        { userErrors { code } } }""", {"g": grant}, user="admin")
    assert revoked["revokeRole"]["userErrors"] == []
    after = await api.gql(ME, user="youth_league")
    assert len(after["me"]["roles"]) == len(before["me"]["roles"]) - 1


async def test_a_granted_role_takes_effect_on_the_next_request(api: Api) -> None:
    before = await api.gql(ME, user="police_officer")
    user = await user_gid(api, "police_officer")
    granted = await api.gql("""mutation($u: ID!) { grantRole(input: {userId: $u,
        role: "task_supervisor", domain: "370000/370400/370406"}) { userErrors { code } } }""",
                            {"u": user["id"]}, user="admin")
    assert granted["grantRole"]["userErrors"] == []
    after = await api.gql(ME, user="police_officer")
    assert {"role": "task_supervisor", "domain": "370000/370400/370406"} in after["me"]["roles"]
    assert len(after["me"]["roles"]) == len(before["me"]["roles"]) + 1


async def test_a_deactivated_user_is_refused_on_the_next_request(api: Api) -> None:
    await api.gql(ME, user="youth_league")
    user = await user_gid(api, "youth_league")
    done = await api.gql("""mutation($u: ID!) { setUserActive(input: {userId: $u,
        active: false}) { userErrors { code } } }""", {"u": user["id"]}, user="admin")
    assert done["setUserActive"]["userErrors"] == []
    response = await api.post(ME, user="youth_league")
    assert response.status_code == 401
    assert response.json()["errors"][0]["extensions"]["reason"] == "unknown_user"


async def test_a_policy_version_from_another_process_reloads_the_principal(
    api: Api, database: Database
) -> None:
    """Another process changed a grant: this one learns the new version (NOTIFY or poll)
    and reads the principal again."""
    await api.gql(ME, user="police_officer")
    transport: Any = api.client._transport
    authz = transport.app.state.lianbao.authz
    authz.reload(authz.rules, authz.version + 1)
    with counting(database) as statements:
        await api.gql(ME, user="police_officer")
    assert principal_reads(statements) == 2, statements


def principal(name: str) -> Principal:
    return Principal(user_id=1, username=name, display_name=name, agency_id=1,
                     agency_kind=None, agency_name="", agency_scope="", jurisdiction_code="")


def test_cache_entries_end_with_the_version_the_age_and_the_size_bound(
    monkeypatch: Any,
) -> None:
    cache = PrincipalCache(max_age=60, max_entries=2)
    cache.put("a", 1, principal("a"))
    assert cache.get("a", 1) == principal("a")
    assert cache.get("a", 2) is None, "another version"
    assert cache.get("a", 1) is None, "dropped when seen stale"
    cache.put("a", 1, principal("a"))
    cache.put("b", 1, principal("b"))
    cache.put("c", 1, principal("c"))
    assert len(cache) == 2 and cache.get("a", 1) is None, "the oldest goes first"
    now = [1000.0]
    monkeypatch.setattr("api.auth.time.monotonic", lambda: now[0])
    cache.put("d", 1, principal("d"))
    now[0] += 61
    assert cache.get("d", 1) is None, "past its age"
    off = PrincipalCache(max_age=0)
    off.put("a", 1, principal("a"))
    assert off.get("a", 1) is None and len(off) == 0
