"""No N+1: the statements a page costs do not grow with the page size."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.conftest import Api, Database
from tests.test_cases import report
from workflow.clock import FixedClock

CHILDREN = """query($n: Int!) { children(first: $n) { totalCount edges { node { id name
  nationalId { value } specialGroups guardians { name phone { value } }
  enrolment { grade status school { name township { name } } } township { name } } } } }"""
CASES = """query($n: Int!) { cases(first: $n) { totalCount edges { node { id stage overdue
  child { name enrolment { school { name } } } timeline { kind } tasks { kind dueOn }
  plan { cause } persuasions { method } documents { number status } } } } }"""


@contextmanager
def counting(database: Database) -> Iterator[list[str]]:
    statements: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    event.listen(database.engine.sync_engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(database.engine.sync_engine, "before_cursor_execute", count)


async def _cost(api: Api, database: Database, query: str, n: int, user: str) -> int:
    with counting(database) as statements:
        data = await api.gql(query, {"n": n}, user=user)
    first = next(iter(data.values()))
    assert len(first["edges"]) == min(n, first["totalCount"])
    return len(statements)


async def test_children_page_costs_the_same_for_2_and_40(api: Api, database: Database) -> None:
    small = await _cost(api, database, CHILDREN, 2, "edu_officer")
    large = await _cost(api, database, CHILDREN, 40, "edu_officer")
    assert large == small, (small, large)
    assert small <= 12


async def test_cases_page_costs_the_same_for_2_and_20(
    api: Api, database: Database, clock: FixedClock
) -> None:
    data = await api.gql("{ children(first: 25) { edges { node { id } } } }")
    for i, edge in enumerate(data["children"]["edges"]):
        await report(api, clock.now().date() - timedelta(days=i % 9), user="edu_officer",
                     child=edge["node"]["id"])
    small = await _cost(api, database, CASES, 2, "edu_officer")
    large = await _cost(api, database, CASES, 20, "edu_officer")
    assert large == small, (small, large)


async def test_nodes_batches_per_type(api: Api, database: Database) -> None:
    data = await api.gql("{ children(first: 6) { edges { node { id } } } }")
    ids = [e["node"]["id"] for e in data["children"]["edges"]]
    query = "query($ids: [ID!]!) { nodes(ids: $ids) { id } }"
    with counting(database) as few:
        small = await api.gql(query, {"ids": [*ids[:2], "SnVyaXNkaWN0aW9uOjM3MDQwNg=="]})
    with counting(database) as many:
        large = await api.gql(query, {"ids": [*ids, "SnVyaXNkaWN0aW9uOjM3MDQwNg=="]})
    assert [n["id"] for n in large["nodes"]] == [*ids, "SnVyaXNkaWN0aW9uOjM3MDQwNg=="]
    assert len(small["nodes"]) == 3
    assert len(many) == len(few)


FINDINGS = """query($n: Int!) { findings(first: $n) { totalCount edges { node { id childName
  { value } nationalId { value } employer { name } inspection { title progress { open } }
  case { stage } tasks { kind } child { name } } } } }"""
INSPECTIONS = """query($n: Int!) { inspections(first: $n) { totalCount edges { node { id
  participants { agencyKind agency { name } } visits { employer { name } }
  findings { work } enforcementActions { kind document { number } findings { work } }
  progress { agencyKind open } campaign { name } } } } }"""


async def test_labour_pages_cost_the_same_for_2_and_12(
    api: Api, database: Database, sessions: async_sessionmaker[AsyncSession]
) -> None:
    from tests.test_child_labour import FINDING, ISSUE, _children, _finding_input, _setup

    state = await _setup(api, sessions)
    kids = await _children(sessions, 12)
    for i, kid in enumerate(kids):  # twelve inspections alike: a pupil found, an order issued
        planned = await api.gql("""mutation($e: ID!) { planInspection(input: {kind: AD_HOC,
            title: "复查", plannedOn: "2026-11-02", employerIds: [$e]}) { inspection { id } } }""",
                                {"e": state["employer"]["id"]}, user="hr_officer")
        inspection = planned["planInspection"]["inspection"]["id"]
        found = await api.gql(FINDING, {"in": {**_finding_input(state, 0, f"count-{i}-finding"),
                                               "inspectionId": inspection,
                                               "nationalId": kid.national_id}},
                              user="police_officer")
        finding = found["recordFinding"]["finding"]["id"]
        await api.gql(ISSUE, {"kind": "RETURN_ORDER", "e": state["employer"]["id"],
                              "f": [finding]}, user="hr_officer")
    for query in (FINDINGS, INSPECTIONS):
        small = await _cost(api, database, query, 2, "edu_officer")
        large = await _cost(api, database, query, 12, "edu_officer")
        assert large == small, (query[:30], small, large)
