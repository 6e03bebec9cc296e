"""The village committee (LS 14): it reads the children living in its village, whichever
school they attend, reports an absence for them, follows their cases and its own tasks, and
sees no child of another village."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from models.child import Child
from models.reference import Agency
from models.user import User
from tests.helpers import REPORT, Api, gid
from workflow.clock import FixedClock

CHILDREN = """{ children(first: 100) { totalCount edges { node { id name village } } } }"""
NODE = """query($id: ID!) { node(id: $id) { ... on Child { id } } }"""


async def _village(session: AsyncSession) -> tuple[Agency, list[Child], list[Child]]:
    agency = (await session.execute(
        select(Agency).join(User, User.agency_id == Agency.id)
        .where(User.username == "village_officer"))).scalar_one()
    residents = list((await session.execute(
        select(Child).where(Child.residence_path == agency.scope_path).order_by(Child.id)
    )).scalars())
    others = list((await session.execute(
        select(Child).where(Child.residence_path != agency.scope_path).order_by(Child.id)
        .limit(5))).scalars())
    return agency, residents, others


async def test_the_village_reads_its_residents_and_no_one_else(
    api: Api, session: AsyncSession
) -> None:
    agency, residents, others = await _village(session)
    assert residents, "the demo village has children living in it"
    assert agency.scope_path.rsplit("/", 1)[1].startswith("village:")
    data = (await api.gql(CHILDREN, user="village_officer"))["children"]
    assert data["totalCount"] == len(residents)
    assert {e["node"]["id"] for e in data["edges"]} == {gid("Child", c.id) for c in residents}
    assert len({e["node"]["village"] for e in data["edges"]}) == 1
    # LS 14 lets it know whom it looks for: names are shown whole
    assert {e["node"]["name"] for e in data["edges"]} == {c.name for c in residents}
    # residents attend schools the committee has no grant on: its domain is where they live
    assert any(not c.scope_path.startswith(agency.scope_path) for c in residents)
    for child in others:
        node = await api.gql(NODE, {"id": gid("Child", child.id)}, user="village_officer")
        assert node["node"] is None


async def test_the_village_reports_an_absence_of_a_resident_only(
    api: Api, clock: FixedClock, session: AsyncSession
) -> None:
    _, residents, others = await _village(session)
    day0 = (clock.now() - timedelta(days=1)).date().isoformat()
    data = await api.gql(REPORT, {"child": gid("Child", residents[0].id), "day0": day0},
                         user="village_officer")
    payload = data["reportAbsence"]
    assert payload["userErrors"] == []
    assert payload["case"]["stage"] == "REPORTED"
    assert payload["case"]["timeline"][0]["actorUsername"] == "village_officer"
    # the village follows its resident's case
    cases = await api.gql("{ cases(first: 10) { totalCount } }", user="village_officer")
    assert cases["cases"]["totalCount"] == 1
    other = await api.gql(REPORT, {"child": gid("Child", others[0].id), "day0": day0},
                          user="village_officer")
    assert other["reportAbsence"]["case"] is None
    assert other["reportAbsence"]["userErrors"][0]["code"] == "NOT_FOUND"


async def test_village_tasks_sit_where_the_child_lives(
    api: Api, clock: FixedClock, session: AsyncSession
) -> None:
    """The Lhasa ladder gives the village a task on day 15 (help the family, LS 14): it is
    in the committee's queue, because the task's domain is the child's residence."""
    adopted = await api.gql("""mutation { adoptLadder(input: {jurisdictionCode: "370406",
        template: "LS"}) { ladder { version }
        userErrors { code: errorCode } } }""", user="edu_admin")
    assert adopted["adoptLadder"]["userErrors"] == []
    _, residents, _ = await _village(session)
    day0 = (clock.now() - timedelta(days=16)).date().isoformat()
    data = await api.gql(REPORT, {"child": gid("Child", residents[1].id), "day0": day0},
                         user="village_officer")
    assert data["reportAbsence"]["userErrors"] == []
    queue = await api.gql("{ agencyQueue(first: 10) { edges { node { kind } } } }",
                          user="village_officer")
    assert [e["node"]["kind"] for e in queue["agencyQueue"]["edges"]] == ["help_family"]
