"""Schema hygiene (issue 13): School is a Node with a ``schools`` query, filters take global
ids (the raw ones stay, deprecated), one RoleGrant type, one loader per relation."""

from __future__ import annotations

import re
from datetime import timedelta

from tests.helpers import Api, Database, counting, report
from workflow.clock import FixedClock

SCHOOLS = "{ schools(first: 50) { totalCount edges { node { id schoolId name kind } } } }"


async def _a_school(api: Api) -> dict[str, object]:
    data = await api.gql(SCHOOLS)
    assert data["schools"]["totalCount"] >= 2
    node: dict[str, object] = data["schools"]["edges"][0]["node"]
    return node


async def test_schools_are_listed_and_refetched_by_global_id(api: Api) -> None:
    school = await _a_school(api)
    again = await api.gql(
        "query($id: ID!) { node(id: $id) { ... on School { id name schoolId } } }",
        {"id": school["id"]},
    )
    assert again["node"] == {"id": school["id"], "name": school["name"],
                             "schoolId": school["schoolId"]}


async def test_schools_filter_by_kind_and_jurisdiction(api: Api) -> None:
    everything = (await api.gql(SCHOOLS))["schools"]["totalCount"]
    junior = await api.gql('{ schools(kind: JUNIOR, first: 50) { edges { node { kind } } } }')
    kinds = {e["node"]["kind"] for e in junior["schools"]["edges"]}
    assert kinds == {"JUNIOR"}
    none = await api.gql('{ schools(jurisdictionCode: "999999", first: 5) { totalCount } }')
    assert none["schools"]["totalCount"] == 0 < everything


async def test_schools_need_a_signed_in_member(api: Api) -> None:
    response = await api.post(SCHOOLS, user=None)
    body = response.json()
    assert body["errors"][0]["extensions"]["code"] in ("UNAUTHENTICATED", "FORBIDDEN")


async def test_children_filter_takes_the_school_global_id(api: Api) -> None:
    school = await _a_school(api)
    q = "query($s: ID, $k: Int) { children(school: $s, schoolId: $k, first: 100) " \
        "{ totalCount edges { node { enrolment { school { id } } } } } }"
    by_gid = await api.gql(q, {"s": school["id"]})
    by_raw = await api.gql(q, {"k": school["schoolId"]})
    assert by_gid == by_raw
    assert {e["node"]["enrolment"]["school"]["id"]
            for e in by_gid["children"]["edges"]} <= {school["id"]}
    # Both, disagreeing, or another type's id: refused on the field, never ignored.
    clash = await api.errors(q, {"s": school["id"], "k": int(str(school["schoolId"])) + 1})
    assert clash[0]["extensions"] == {"code": "BAD_INPUT", "field": "school"}
    child = await api.gql("{ children(first: 1) { edges { node { id } } } }")
    wrong = await api.errors(q, {"s": child["children"]["edges"][0]["node"]["id"]})
    assert wrong[0]["extensions"] == {"code": "BAD_INPUT", "field": "school"}


async def test_case_and_task_filters_take_the_school_global_id(
    api: Api, clock: FixedClock
) -> None:
    payload = await report(api, clock.now().date())
    case = payload["case"]["id"]
    school = await api.gql(
        "query($id: ID!) { node(id: $id) { ... on DropoutCase { child { enrolment "
        "{ school { id schoolId } } } } } }", {"id": case}, user="head_teacher")
    s = school["node"]["child"]["enrolment"]["school"]
    cases = await api.gql("query($s: ID) { cases(filter: {school: $s}, first: 50) "
                          "{ edges { node { id } } } }", {"s": s["id"]}, user="head_teacher")
    assert case in {e["node"]["id"] for e in cases["cases"]["edges"]}
    counts = []
    for variables in ({"s": s["id"]}, {"k": s["schoolId"]}):
        tasks = await api.gql(
            "query($s: ID, $k: Int) { agencyQueue(filter: {school: $s, schoolId: $k}, "
            "first: 50) { totalCount } }", variables, user="principal")
        counts.append(tasks["agencyQueue"]["totalCount"])
    assert counts[0] == counts[1] >= 1


async def test_one_role_grant_type_revoked_by_global_id(api: Api) -> None:
    me = await api.gql("{ me { roles { id role grantedAt jurisdiction { code } } } }",
                       user="admin")
    member = next(r for r in me["me"]["roles"] if r["role"] == "member")
    assert member["id"] is None and member["grantedAt"] is None
    users = await api.gql("{ users(first: 100) { edges { node { username roles "
                          "{ id grantId role grantedAt } } } } }",
                          user="admin")
    grant = next(e["node"]["roles"][0] for e in users["users"]["edges"]
                 if e["node"]["username"] == "youth_league")
    assert grant["id"] and grant["grantedAt"]
    revoke = """mutation($g: ID) { revokeRole(input: {grant: $g})
        { grant { id grantId role } userErrors { code: errorCode field } } }"""
    missing = await api.gql(revoke, {"g": None}, user="admin")
    assert missing["revokeRole"]["userErrors"] == [{"code": "BAD_INPUT", "field": "grant"}]
    done = await api.gql(revoke, {"g": grant["id"]}, user="admin")
    assert done["revokeRole"]["userErrors"] == []
    assert done["revokeRole"]["grant"] == {"id": grant["id"], "grantId": grant["grantId"],
                                           "role": grant["role"]}


async def test_a_cases_child_is_loaded_once_for_the_case_and_its_tasks(
    api: Api, database: Database, clock: FixedClock
) -> None:
    data = await api.gql("{ children(first: 3) { edges { node { id } } } }")
    for i, edge in enumerate(data["children"]["edges"]):
        await report(api, clock.now().date() - timedelta(days=i), user="edu_officer",
                     child=edge["node"]["id"])
    query = "{ cases(first: 3) { edges { node { child { name } tasks { child { name } } } } } }"
    await api.gql(query)  # warm: the first request also loads the policy
    with counting(database) as statements:
        page = await api.gql(query)
    assert all(t["child"] == e["node"]["child"]
               for e in page["cases"]["edges"] for t in e["node"]["tasks"])
    from_child = [s for s in statements if re.search(r"\bFROM child\b", s)]
    assert len(from_child) == 1, from_child
