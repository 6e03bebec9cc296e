"""Agency work queues: who sees which tasks, filters, order, stable pages, claim / assign /
complete rules, and the cost of a page."""

from __future__ import annotations

import base64
from datetime import date, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from models.task import Task
from tests.helpers import Api, Database, counting, report
from workflow.clock import FixedClock
from workflow.task import CLOSED_BY

QUEUE = """query($f: TaskFilterInput, $o: TaskOrder!, $n: Int, $after: String) {
  agencyQueue(filter: $f, orderBy: $o, first: $n, after: $after) { totalCount
  pageInfo { hasNextPage endCursor } edges { cursor node { id kind agency: agencyKind dueOn
  priority status overdue version case { stage } child { name } school { name }
  documents { number } } } } }"""
CLAIM = """mutation($t: ID!, $v: Int!) { claimTask(input: {taskId: $t, expectedVersion: $v})
  { task { status version assignee { username } } userErrors { code: errorCode field } } }"""
ASSIGN = """mutation($t: ID!, $v: Int!, $u: ID!) { assignTask(input: {taskId: $t,
  expectedVersion: $v, userId: $u}) { task { status version assignee { username } }
  userErrors { code: errorCode field } } }"""
COMPLETE = """mutation($t: ID!, $v: Int!) { completeTask(input: {taskId: $t, expectedVersion: $v,
  outcome: "已家访，家长承诺周一送返", evidence: {photos: 2}}) { task { status outcome evidence
  version } userErrors { code: errorCode field } } }"""
COMPLETE_MSG = COMPLETE.replace("field }", "field message }")
TASK = """query($id: ID!) { node(id: $id) { ... on Task { id kind status outcome evidence
  version } } }"""


async def queue(api: Api, user: str, f: dict[str, Any] | None = None, order: str = "DUE",
                n: int = 50, after: str | None = None) -> dict[str, Any]:
    data = await api.gql(QUEUE, {"f": f, "o": order, "n": n, "after": after}, user=user)
    result: dict[str, Any] = data["agencyQueue"]
    return result


async def _pupils(api: Api, n: int) -> list[str]:
    data = await api.gql("query($n: Int!) { children(first: $n) { edges { node { id } } } }",
                         {"n": n}, user="principal")
    return [e["node"]["id"] for e in data["children"]["edges"]]


async def test_each_agency_sees_its_own_queue(api: Api, clock: FixedClock) -> None:
    case = (await report(api, clock.now().date() - timedelta(days=8)))["case"]
    agencies = {t["agency"] for t in case["tasks"]}
    assert {"SCHOOL", "TOWNSHIP", "EDUCATION"} <= agencies
    school = await queue(api, "head_teacher")
    assert school["totalCount"] >= 1 and {e["node"]["agency"] for e in school["edges"]} == {
        "SCHOOL"}
    township = await queue(api, "township_officer")
    assert {e["node"]["agency"] for e in township["edges"]} == {"TOWNSHIP"}
    for user in ("police_officer", "judicial_officer", "market_officer", "admin"):
        assert (await queue(api, user))["totalCount"] == 0, user
    node = school["edges"][0]["node"]
    assert node["child"]["name"] and node["school"]["name"] and node["case"]["stage"]


async def test_filters_and_order(api: Api, clock: FixedClock) -> None:
    today = clock.now().date()
    for i, child in enumerate(await _pupils(api, 4)):
        await report(api, today - timedelta(days=3 * i), child=child)
    clock.advance(days=2)  # two days on, the one-day tasks are late
    today = clock.now().date()
    everything = await queue(api, "principal")
    dues = [date.fromisoformat(e["node"]["dueOn"]) for e in everything["edges"]]
    assert dues == sorted(dues) and everything["totalCount"] == len(dues)
    late = await queue(api, "principal", {"overdue": True})
    assert late["totalCount"] == sum(1 for d in dues if d < today) > 0
    assert all(e["node"]["overdue"] for e in late["edges"])
    window = await queue(api, "principal", {"dueAfter": today.isoformat(),
                                            "dueBefore": (today + timedelta(days=3)).isoformat()})
    assert all(today <= date.fromisoformat(e["node"]["dueOn"]) <= today + timedelta(days=3)
               for e in window["edges"])
    persuading = await queue(api, "principal", {"stage": "SCHOOL_PERSUASION"})
    assert all(e["node"]["case"]["stage"] == "SCHOOL_PERSUASION" for e in persuading["edges"])
    nowhere = await queue(api, "principal", {"townshipCode": "370406999"})
    assert nowhere["totalCount"] == 0
    by_priority = await queue(api, "principal", order="PRIORITY")
    priorities = [e["node"]["priority"] for e in by_priority["edges"]]
    assert priorities == sorted(priorities)


async def test_pages_are_stable_under_inserts(api: Api, clock: FixedClock) -> None:
    today = clock.now().date()
    pupils = await _pupils(api, 6)
    for child in pupils[:4]:
        await report(api, today, child=child)
    first = await queue(api, "principal", n=2)
    seen = [e["node"]["id"] for e in first["edges"]]
    # new tasks arrive, some ordered before the cursor, some after
    for child in pupils[4:]:
        await report(api, today - timedelta(days=2), child=child)
    rest: list[str] = []
    after = first["pageInfo"]["endCursor"]
    while after:
        page = await queue(api, "principal", n=2, after=after)
        rest += [e["node"]["id"] for e in page["edges"]]
        after = page["pageInfo"]["endCursor"] if page["pageInfo"]["hasNextPage"] else None
    assert not set(seen) & set(rest), "a page repeated a task"
    everything = [e["node"]["id"] for e in (await queue(api, "principal"))["edges"]]
    cut = everything.index(seen[-1])
    assert rest == everything[cut + 1:], "no task after the cursor was skipped"


async def test_claim_assign_complete(api: Api, clock: FixedClock) -> None:
    case = (await report(api, clock.now().date()))["case"]
    del case
    task = (await queue(api, "head_teacher"))["edges"][0]["node"]
    claimed = await api.gql(CLAIM, {"t": task["id"], "v": task["version"]}, user="head_teacher")
    body = claimed["claimTask"]
    assert body["task"]["status"] == "CLAIMED"
    assert body["task"]["assignee"]["username"] == "head_teacher"
    again = await api.gql(CLAIM, {"t": task["id"], "v": body["task"]["version"]},
                          user="principal")
    assert again["claimTask"]["userErrors"][0]["code"] == "WRONG_STAGE"
    stale = await api.gql(CLAIM, {"t": task["id"], "v": task["version"]}, user="principal")
    assert stale["claimTask"]["userErrors"][0]["code"] == "CONFLICT"
    mine = await api.gql("{ myTasks { totalCount edges { node { id } } } }",
                         user="head_teacher")
    assert task["id"] in {e["node"]["id"] for e in mine["myTasks"]["edges"]}

    users = await api.gql("{ users(first: 100) { edges { node { id username } } } }",
                          user="admin")
    ids = {e["node"]["username"]: e["node"]["id"] for e in users["users"]["edges"]}
    version = body["task"]["version"]
    # a head teacher is not a supervisor; a police officer is not a school member
    body_ = (await api.post(ASSIGN, {"t": task["id"], "v": version,
                                     "u": ids["principal"]}, user="head_teacher")).json()
    assert body_["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    wrong = await api.gql(ASSIGN, {"t": task["id"], "v": version, "u": ids["police_officer"]},
                          user="principal")
    assert wrong["assignTask"]["userErrors"] == [{"code": "BAD_INPUT", "field": "userId"}]
    moved = await api.gql(ASSIGN, {"t": task["id"], "v": version, "u": ids["principal"]},
                          user="principal")
    assert moved["assignTask"]["task"]["assignee"]["username"] == "principal"
    version = moved["assignTask"]["task"]["version"]
    # claimed by a colleague: the head teacher may not complete it, the supervisor may
    blocked = (await api.post(COMPLETE, {"t": task["id"], "v": version},
                              user="head_teacher")).json()
    assert blocked["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    done = await api.gql(COMPLETE, {"t": task["id"], "v": version}, user="principal")
    assert done["completeTask"]["task"]["status"] == "DONE"
    assert done["completeTask"]["task"]["evidence"] == {"photos": 2}
    twice = await api.gql(COMPLETE, {"t": task["id"],
                                     "v": done["completeTask"]["task"]["version"]},
                          user="principal")
    assert twice["completeTask"]["userErrors"][0]["code"] == "WRONG_STAGE"
    audit = await api.gql("{ auditTrail(first: 10) { edges { node { operation } } } }",
                          user="admin")
    ops = [e["node"]["operation"] for e in audit["auditTrail"]["edges"]]
    assert {"claim_task", "assign_task", "complete_task"} <= set(ops)


async def test_queue_page_costs_the_same_for_2_and_30(
    api: Api, database: Database, clock: FixedClock
) -> None:
    today = clock.now().date()
    data = await api.gql("{ children(first: 30) { edges { node { id } } } }")
    for i, edge in enumerate(data["children"]["edges"]):
        await report(api, today - timedelta(days=i % 9), user="edu_officer",
                     child=edge["node"]["id"])
    costs = []
    for n in (2, 30):
        with counting(database) as statements:
            page = await queue(api, "edu_officer", n=n)
        assert len(page["edges"]) == min(n, page["totalCount"])
        costs.append(len(statements))
    assert costs[0] == costs[1], costs


USERS = """{ users(first: 100) { totalCount edges { node { id username isActive
  agency { name } roles { role } } } } }"""


async def test_supervisors_list_their_own_agency_to_assign(api: Api, clock: FixedClock) -> None:
    """A supervisor holds ``assignTask``, so ``users`` lists the members of their own agency
    (and no one else, and not their role grants); the id found there assigns the task."""
    everyone = (await api.gql(USERS, user="admin"))["users"]["edges"]
    agency_of = {e["node"]["username"]: e["node"]["agency"]["name"] for e in everyone}
    assert all(e["node"]["roles"] is not None for e in everyone)  # the administrator sees grants
    for supervisor in ("principal", "edu_admin", "township_officer"):
        seen = (await api.gql(USERS, user=supervisor))["users"]
        names = {e["node"]["username"] for e in seen["edges"]}
        want = {u for u, a in agency_of.items() if a == agency_of[supervisor]}
        assert names == want and seen["totalCount"] == len(want), supervisor
        assert all(e["node"]["roles"] is None for e in seen["edges"]), supervisor
    # edu_admin's bureau shares its scope path with police, judicial, ...: still only the bureau
    assert {"police_officer", "judicial_officer", "admin"} & {
        e["node"]["username"] for e in (await api.gql(USERS, user="edu_admin"))["users"]["edges"]
    } == {"admin"}
    for member in ("head_teacher", "police_officer"):  # no supervisor role: nothing
        assert (await api.gql(USERS, user=member))["users"]["totalCount"] == 0, member
    police = next(e["node"]["id"] for e in everyone if e["node"]["username"] == "police_officer")
    node = await api.gql("query($id: ID!) { node(id: $id) { id } }", {"id": police},
                         user="principal")
    assert node["node"] is None

    await report(api, clock.now().date())
    task = (await queue(api, "principal"))["edges"][0]["node"]
    colleagues = (await api.gql(USERS, user="principal"))["users"]["edges"]
    teacher = next(e["node"]["id"] for e in colleagues
                   if e["node"]["username"] == "head_teacher")
    moved = await api.gql(ASSIGN, {"t": task["id"], "v": task["version"], "u": teacher},
                          user="principal")
    assert moved["assignTask"]["task"]["assignee"]["username"] == "head_teacher"


async def _school_task_copy(api: Api, sessions: async_sessionmaker[AsyncSession], clock: FixedClock,
                            kind: str | None, evidence: dict[str, Any]) -> dict[str, Any]:
    """A school task of a reported case, turned (in the database) into one of ``kind``
    (``None``: its own) carrying ``evidence``; its queue node."""
    await report(api, clock.now().date())
    task = (await queue(api, "principal"))["edges"][0]["node"]
    async with sessions() as s:
        row = await s.get_one(Task, int(_key(task["id"])))
        row.kind = kind or row.kind
        row.evidence = evidence
        await s.commit()
    return {**task, **(await api.gql(TASK, {"id": task["id"]}, user="principal"))["node"]}


def _key(global_id: str) -> str:
    return base64.b64decode(global_id).decode().split(":", 1)[1]


async def test_a_feature_owned_task_is_not_completed_by_hand(
    api: Api, sessions: async_sessionmaker[AsyncSession], clock: FixedClock
) -> None:
    task = await _school_task_copy(api, sessions, clock, "household_correction",
                                   {"household_correction_id": 1})
    refused = await api.gql(COMPLETE_MSG, {"t": task["id"], "v": task["version"]},
                            user="principal")
    errors = refused["completeTask"]["userErrors"]
    assert errors[0]["code"] == "WRONG_STAGE" and errors[0]["field"] == "taskId"
    assert "applyHouseholdCorrection" in errors[0]["message"]
    after = (await api.gql(TASK, {"id": task["id"]}, user="principal"))["node"]
    assert after == {k: task[k] for k in after}, "a refused completion changed the task"


async def test_completion_keeps_the_evidence_already_on_the_task(
    api: Api, sessions: async_sessionmaker[AsyncSession], clock: FixedClock
) -> None:
    task = await _school_task_copy(api, sessions, clock, None, {"visit_id": 7, "photos": 1})
    done = await api.gql(COMPLETE, {"t": task["id"], "v": task["version"]}, user="principal")
    assert done["completeTask"]["task"]["status"] == "DONE"
    assert done["completeTask"]["task"]["evidence"] == {"visit_id": 7, "photos": 2}


async def test_each_owned_kind_names_a_mutation_that_exists(api: Api) -> None:
    data = await api.gql('{ __type(name: "Mutation") { fields { name } } }')
    mutations = {f["name"] for f in data["__type"]["fields"]}
    named = {kind: text.split()[0] for kind, text in CLOSED_BY.items()}
    assert {k: m for k, m in named.items() if m not in mutations} == {}
    assert "completeTask" not in named.values()
