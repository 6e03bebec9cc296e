"""Each sensitive field for each agency that can read children: raw, masked or withheld, and
every raw read in the access log."""

from __future__ import annotations

import base64
import re

import pytest
import pytest_asyncio
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from models.child import Child, Guardian
from tests.conftest import Api
from workflow.user import load_principal

RAW, MASKED, WITHHELD = "raw", "masked", "withheld"
FIELDS = ("name", "nationalId", "phone", "familyIncomeNote", "healthNote")

EXPECTED = {
    #                 name   nationalId  guardian phone  family income  health
    "edu_officer":      (RAW, RAW, RAW, RAW, RAW),
    "principal":        (RAW, RAW, RAW, WITHHELD, WITHHELD),
    "head_teacher":     (RAW, MASKED, RAW, WITHHELD, WITHHELD),
    "township_officer": (RAW, MASKED, RAW, WITHHELD, WITHHELD),
    "police_officer":   (RAW, RAW, RAW, WITHHELD, WITHHELD),
    "civil_affairs":    (RAW, MASKED, RAW, RAW, WITHHELD),
    "poverty_office":   (RAW, RAW, MASKED, RAW, WITHHELD),
    "disabled_fed":     (RAW, RAW, MASKED, WITHHELD, RAW),
}

QUERY = """query($id: ID!) { node(id: $id) { ... on Child {
  name nationalId { value masked reason } familyIncomeNote { value masked reason }
  healthNote { value masked reason } guardians { phone { value masked reason } } } } }"""


def _classify(value: dict[str, object]) -> str:
    if not value["masked"]:
        return RAW
    return MASKED if value["value"] is not None else WITHHELD


@pytest_asyncio.fixture
async def pupil(session: AsyncSession) -> str:
    """A pupil of the principal's school with every sensitive field filled in."""
    principal = await load_principal(session, "principal")
    assert principal is not None
    child = (
        await session.execute(
            select(Child).where(Child.scope_path == principal.agency_scope,
                                Child.national_id.is_not(None)).order_by(Child.id).limit(1)
        )
    ).scalar_one()
    child.health_note = "肢体残疾二级"
    child.family_income_note = "建档立卡贫困户（2016年识别）"
    guardian = (
        await session.execute(select(Guardian).where(Guardian.child_id == child.id).limit(1))
    ).scalar_one()
    guardian.phone = "13812345678"
    await session.commit()
    return base64.b64encode(f"Child:{child.id}".encode()).decode()


@pytest.mark.parametrize("user", sorted(EXPECTED))
async def test_fields_per_agency(api: Api, pupil: str, user: str) -> None:
    want = dict(zip(FIELDS, EXPECTED[user], strict=True))
    node = (await api.gql(QUERY, {"id": pupil}, user=user))["node"]
    got = {
        "name": RAW if "*" not in node["name"] else MASKED,
        "nationalId": _classify(node["nationalId"]),
        "phone": _classify(node["guardians"][0]["phone"]),
        "familyIncomeNote": _classify(node["familyIncomeNote"]),
        "healthNote": _classify(node["healthNote"]),
    }
    assert got == want
    if want["nationalId"] == MASKED:
        assert re.fullmatch(r"\d{4}\*{10}[\dX]{4}", node["nationalId"]["value"])
        assert "field:national_id" in node["nationalId"]["reason"]
    if want["phone"] == MASKED:
        assert node["guardians"][0]["phone"]["value"] == "138****5678"
    if want["healthNote"] == WITHHELD:
        assert node["healthNote"]["reason"].startswith("withheld")


async def test_raw_reads_are_logged_and_masked_ones_not(api: Api) -> None:
    data = await api.gql("{ children(first: 3) { edges { node { nationalId { value } } } } }",
                         user="head_teacher")
    assert data["children"]["edges"]
    log = await api.gql("{ accessLog(first: 50) { totalCount } }", user="edu_officer")
    assert log["accessLog"]["totalCount"] == 0
    await api.gql("{ children(first: 3) { edges { node { id nationalId { value } } } } }",
                  user="police_officer")
    log = await api.gql(
        "{ accessLog(first: 50) { totalCount edges { node { username field agencyKind } } } }",
        user="edu_officer",
    )
    assert log["accessLog"]["totalCount"] == 3
    assert {(e["node"]["username"], e["node"]["field"], e["node"]["agencyKind"])
            for e in log["accessLog"]["edges"]} == {("police_officer", "national_id", "POLICE")}


async def test_care_workers_cannot_list_children(api: Api) -> None:
    for user in ("youth_league", "womens_fed", "market_officer", "judicial_officer"):
        data = await api.gql("{ children(first: 5) { totalCount } }", user=user)
        assert data["children"]["totalCount"] == 0, user


async def test_poverty_groups_hidden_without_the_grant(api: Api) -> None:
    query = """{ children(first: 5, specialGroup: REGISTERED_POOR) { totalCount
                 edges { node { specialGroups } } } }"""
    police = await api.gql(query, user="police_officer")
    assert police["children"]["totalCount"] == 0  # the filter would disclose the group
    unfiltered = await api.gql("{ children(first: 100) { edges { node { specialGroups } } } }",
                               user="police_officer")
    groups = {g for e in unfiltered["children"]["edges"] for g in e["node"]["specialGroups"]}
    assert groups and not groups & {"REGISTERED_POOR", "SUBSISTENCE_ALLOWANCE", "DISABLED",
                                    "LEARNING_DIFFICULTY"}
    edu = await api.gql(query, user="edu_officer")
    assert edu["children"]["totalCount"] > 0
    for edge in edu["children"]["edges"]:
        assert "REGISTERED_POOR" in edge["node"]["specialGroups"]
