"""A user of one district sees nothing of another — not even whether a record exists."""

from __future__ import annotations

import base64
from datetime import date

import pytest_asyncio
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from models.child import Child
from models.enums import AgencyKind, RegisterType, SchoolKind, Sex
from models.reference import Agency, Jurisdiction
from models.school import Enrolment, School
from models.user import RoleGrant, User
from tests.conftest import Api

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
        firstAbsence: "2026-11-01"}) { case { id } userErrors { code field } } }""",
                           {"c": yueqing["child"]}, user="edu_officer")
    assert report["reportAbsence"]["userErrors"] == [{"code": "NOT_FOUND", "field": "childId"}]

    # and the other way round: 乐清's officer opens a case on its pupil, 山亭 cannot see it
    opened = await api.gql("""mutation($c: ID!) { reportAbsence(input: {childId: $c,
        firstAbsence: "2026-11-01"}) { case { id } userErrors { code } } }""",
                           {"c": yueqing["child"]}, user="yq_officer")
    case_id = opened["reportAbsence"]["case"]["id"]
    seen = await api.gql("query($id: ID!) { node(id: $id) { id } cases { totalCount } }",
                         {"id": case_id}, user="edu_officer")
    assert seen["node"] is None and seen["cases"]["totalCount"] == 0
    audit = await api.gql("{ auditEvents(last: 20) { actorUsername } }", user="inspector")
    assert "yq_officer" not in {e["actorUsername"] for e in audit["auditEvents"]}
