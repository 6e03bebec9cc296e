"""A user of one district sees nothing of another — not even whether a record exists."""

from __future__ import annotations

import base64
from collections.abc import Callable
from datetime import date

import pytest_asyncio
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from api.settings import Settings
from models.child import Child
from models.enums import AgencyKind, RegisterType, SchoolKind, Sex
from models.reference import Agency, Jurisdiction
from models.school import Enrolment, School
from models.user import RoleGrant, User
from tests.helpers import Api, Database

YUEQING = "330382"


@pytest_asyncio.fixture
async def yueqing(session: AsyncSession) -> dict[str, str]:
    """An education bureau, a school, a pupil and an officer in 乐清市."""
    district = await session.get(Jurisdiction, YUEQING)
    town = (await session.execute(select(Jurisdiction).where(
        Jurisdiction.parent_code == YUEQING).limit(1))).scalar_one()
    assert district is not None
    bureau = Agency(kind=AgencyKind.EDUCATION, name="乐清市教育局", jurisdiction_code=YUEQING,
                    scope_path=district.path)
    school_agency = Agency(kind=AgencyKind.SCHOOL, name="乐清市实验小学",
                           jurisdiction_code=town.code, scope_path="pending")
    session.add_all([bureau, school_agency])
    await session.flush()
    school_agency.scope_path = f"{town.path}/school:{school_agency.id}"
    school = School(agency_id=school_agency.id, name="乐清市实验小学", kind=SchoolKind.PRIMARY,
                    township_code=town.code, grade_from=1, grade_to=6)
    child = Child(name="陈小明", sex=Sex.MALE, birth_date=date(2017, 5, 1),
                  register_type=RegisterType.OTHER, student_no="YQ-0001",
                  township_code=town.code, scope_path=school_agency.scope_path)
    session.add_all([school, child])
    await session.flush()
    session.add(Enrolment(child_id=child.id, school_id=school.id, grade=4,
                          status_since=date(2023, 9, 1)))
    officer = User(username="yq_officer", display_name="乐清教育干部", agency_id=bureau.id)
    session.add(officer)
    await session.flush()
    session.add(RoleGrant(user_id=officer.id, role="education_officer", domain=district.path,
                          jurisdiction_code=YUEQING))
    await session.commit()
    return {"child": base64.b64encode(f"Child:{child.id}".encode()).decode()}


async def test_each_district_sees_only_its_own(api: Api, yueqing: dict[str, str]) -> None:
    mine = await api.gql("{ children(first: 5) { totalCount } cases { totalCount }"
                         " accessLog { totalCount } }", user="yq_officer")
    assert mine["children"]["totalCount"] == 1
    theirs = await api.gql("{ children(first: 100) { totalCount edges { node { id } } } }")
    assert yueqing["child"] not in {e["node"]["id"] for e in theirs["children"]["edges"]}
    assert theirs["children"]["totalCount"] > 100  # 山亭's own pupils only

    # by id: the same answer as for a record that does not exist
    gone = await api.gql("query($id: ID!) { node(id: $id) { id } }", {"id": yueqing["child"]})
    missing = await api.gql('{ node(id: "Q2hpbGQ6OTk5OTk5") { id } }')
    assert gone == missing == {"node": None}
    report = await api.gql("""mutation($c: ID!) { reportAbsence(input: {childId: $c,
        firstAbsence: "2026-11-01"}) { case { id } userErrors { code: errorCode field } } }""",
                           {"c": yueqing["child"]}, user="edu_officer")
    assert report["reportAbsence"]["userErrors"] == [{"code": "NOT_FOUND", "field": "childId"}]

    # and the other way round: 乐清's officer opens a case on its pupil, 山亭 cannot see it
    opened = await api.gql("""mutation($c: ID!) { reportAbsence(input: {childId: $c,
        firstAbsence: "2026-11-01"}) { case { id } userErrors { code: errorCode } } }""",
                           {"c": yueqing["child"]}, user="yq_officer")
    case_id = opened["reportAbsence"]["case"]["id"]
    seen = await api.gql("query($id: ID!) { node(id: $id) { id } cases { totalCount } }",
                         {"id": case_id}, user="edu_officer")
    assert seen["node"] is None and seen["cases"]["totalCount"] == 0
    audit = await api.gql("{ auditTrail(first: 20) { edges { node { actorUsername } } } }",
                          user="inspector")
    edges = audit["auditTrail"]["edges"]
    assert "yq_officer" not in {e["node"]["actorUsername"] for e in edges}


SHAPOTOU = "640502"
REPORT = """mutation($c: ID!) { reportAbsence(input: {childId: $c, firstAbsence: "2026-11-02"})
    { case { id timeline { kind data } } userErrors { code: errorCode field } } }"""
QUEUE = "{ agencyQueue(first: 50) { totalCount edges { node { id case { id } } } } }"
CHILDREN = "{ children(first: 100) { totalCount edges { node { id } } } }"


async def _district_children(session: AsyncSession, code: str) -> int:
    path = (await session.execute(select(Jurisdiction.path).where(
        Jurisdiction.code == code))).scalar_one()
    return len((await session.execute(select(Child.id).where(
        Child.scope_path.startswith(path + "/")))).scalars().all())


async def test_the_demo_has_a_second_district_and_each_sees_only_its_own(
    api: Api, session: AsyncSession
) -> None:
    """沙坡头区 is in the demo with its own townships, schools, children and officers, the SPT
    ladder in force; its officers and 山亭's see only their own children, cases and tasks."""
    from workflow.demo.seed import SPT_USERS

    spt_children = await _district_children(session, SHAPOTOU)
    st_children = await _district_children(session, "370406")
    assert 40 <= spt_children < st_children  # small on purpose: 山亭's counts stay as they were
    users = {u.username: u for u in (await session.execute(select(User))).scalars()}
    for demo_user in SPT_USERS:
        agency = await session.get(Agency, users[demo_user.username].agency_id)
        assert agency is not None and agency.jurisdiction_code.startswith(SHAPOTOU)
    spt_ladder = await api.gql('{ ladder(jurisdictionCode: "640502") { code jurisdictionCode } }',
                               user="spt_edu_officer")
    assert spt_ladder["ladder"] == {"code": "SPT", "jurisdictionCode": SHAPOTOU}

    # Children: each education officer counts exactly its own district's pupils.
    spt = (await api.gql(CHILDREN, user="spt_edu_officer"))["children"]
    st = (await api.gql(CHILDREN, user="edu_officer"))["children"]
    assert spt["totalCount"] == spt_children and st["totalCount"] == st_children
    spt_ids = {e["node"]["id"] for e in spt["edges"]}
    assert not spt_ids & {e["node"]["id"] for e in st["edges"]}
    probe = "query($id: ID!) { node(id: $id) { id } }"
    some_spt_child = sorted(spt_ids)[0]
    assert (await api.gql(probe, {"id": some_spt_child}))["node"] is None
    assert (await api.gql(probe, {"id": st["edges"][0]["node"]["id"]},
                          user="spt_edu_officer"))["node"] is None

    # A case in each district, opened by each district's own school.
    cases = {}
    for principal in ("spt_principal", "principal"):
        pupil = (await api.gql("{ children(first: 1) { edges { node { id } } } }",
                               user=principal))["children"]["edges"][0]["node"]["id"]
        opened = (await api.gql(REPORT, {"c": pupil}, user=principal))["reportAbsence"]
        assert opened["userErrors"] == []
        cases[principal] = opened["case"]
    bases = {e["data"].get("basis") for e in cases["spt_principal"]["timeline"]}
    assert "SPT 7" in bases  # 沙坡头's case runs on the SPT ladder
    crossed = await api.gql(REPORT, {"c": some_spt_child}, user="principal")
    assert crossed["reportAbsence"]["userErrors"] == [{"code": "NOT_FOUND", "field": "childId"}]

    spt_case, st_case = cases["spt_principal"]["id"], cases["principal"]["id"]
    seen = await api.gql("{ cases(first: 100) { totalCount edges { node { id } } } }",
                         user="spt_edu_officer")
    assert {e["node"]["id"] for e in seen["cases"]["edges"]} == {spt_case}
    seen = await api.gql("{ cases(first: 100) { edges { node { id } } } }", user="edu_officer")
    assert st_case in {e["node"]["id"] for e in seen["cases"]["edges"]}
    assert spt_case not in {e["node"]["id"] for e in seen["cases"]["edges"]}
    for user, other in (("edu_officer", spt_case), ("spt_edu_officer", st_case),
                        ("township_officer", spt_case), ("spt_township_officer", st_case)):
        assert (await api.gql(probe, {"id": other}, user=user))["node"] is None, user

    # Tasks: each school's queue holds its own case's tasks only.
    spt_queue = (await api.gql(QUEUE, user="spt_head_teacher"))["agencyQueue"]
    st_queue = (await api.gql(QUEUE, user="head_teacher"))["agencyQueue"]
    assert spt_queue["totalCount"] > 0
    assert {e["node"]["case"]["id"] for e in spt_queue["edges"]} == {spt_case}
    assert spt_case not in {e["node"]["case"]["id"] for e in st_queue["edges"] if e["node"]["case"]}
    assert st_case in {e["node"]["case"]["id"] for e in st_queue["edges"] if e["node"]["case"]}
    spt_tasks = {e["node"]["id"] for e in spt_queue["edges"]}
    police = (await api.gql(QUEUE, user="police_officer"))["agencyQueue"]
    assert not spt_tasks & {e["node"]["id"] for e in police["edges"]}


async def test_lianbao_users_lists_both_districts(
    database: Database, settings_factory: Callable[[str], Settings]
) -> None:
    from api.cli import _users
    from workflow.demo.seed import ALL_DEMO_USERS

    rows = {r["username"]: r for r in await _users(settings_factory(database.url))}
    assert {u.username for u in ALL_DEMO_USERS} <= set(rows)
    assert rows["spt_edu_officer"]["jurisdiction"] == SHAPOTOU
    assert rows["spt_principal"]["roles"] == ["school_principal", "task_supervisor"]
    assert rows["edu_officer"]["jurisdiction"] == "370406"
