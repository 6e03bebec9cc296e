"""Each sensitive field for each agency that can read children: raw, masked or withheld, and
every raw read in the access log."""

from __future__ import annotations

import base64
import re
from typing import Any

import pytest
import pytest_asyncio
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from authz.enforcer import Authorizer
from authz.guard import FieldGuard
from authz.masking import SensitiveField
from authz.principal import Principal
from models.child import Child, ChildGroup, Guardian
from models.enums import SpecialGroup
from tests.helpers import NOW, Api
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
    # On the poverty office's and the disabled federation's lists: they read only those
    # children of the register (workflow/agency_lists.py; tests/test_agency_lists.py).
    session.add_all([ChildGroup(child_id=child.id, group=SpecialGroup.REGISTERED_POOR),
                     ChildGroup(child_id=child.id, group=SpecialGroup.DISABLED)])
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


@pytest_asyncio.fixture
async def held_and_absent(session: AsyncSession) -> tuple[str, str]:
    """Two pupils of the principal's school: one with every nullable sensitive field held, one
    with none held (no ID number, no guardian phone, no income or health note)."""
    principal = await load_principal(session, "principal")
    assert principal is not None
    held, absent = (
        await session.execute(
            select(Child).where(Child.scope_path == principal.agency_scope,
                                Child.national_id.is_not(None)).order_by(Child.id).limit(2)
        )
    ).scalars().all()
    held.health_note, held.family_income_note = "肢体残疾二级", "低保户"
    absent.health_note = absent.family_income_note = absent.national_id = None
    for child, phone in ((held, "13812345678"), (absent, None)):
        for g in (await session.execute(
            select(Guardian).where(Guardian.child_id == child.id)
        )).scalars():
            g.phone = phone
    for child in (held, absent):  # on the poverty office's and disabled federation's lists
        session.add_all([ChildGroup(child_id=child.id, group=SpecialGroup.REGISTERED_POOR),
                         ChildGroup(child_id=child.id, group=SpecialGroup.DISABLED)])
    await session.commit()
    return tuple(base64.b64encode(f"Child:{c.id}".encode()).decode() for c in (held, absent))  # type: ignore[return-value]


NULLABLE = {"nationalId": 1, "phone": 2, "familyIncomeNote": 3, "healthNote": 4}


@pytest.mark.parametrize("user", sorted(EXPECTED))
async def test_a_withheld_value_and_an_absent_one_look_the_same(
    api: Api, held_and_absent: tuple[str, str], user: str
) -> None:
    """Without the grant, ``masked`` and ``reason`` do not depend on whether a value is held:
    police must not learn which children have a health note (a disability) from the flag."""
    nodes = [(await api.gql(QUERY, {"id": gid}, user=user))["node"] for gid in held_and_absent]

    def fields(node: dict[str, Any]) -> dict[str, dict[str, Any]]:
        return {"nationalId": node["nationalId"], "phone": node["guardians"][0]["phone"],
                "familyIncomeNote": node["familyIncomeNote"], "healthNote": node["healthNote"]}

    held, absent = (fields(n) for n in nodes)
    for name, column in NULLABLE.items():
        want = EXPECTED[user][column]
        assert absent[name]["value"] is None, (user, name)
        if want == RAW:
            assert held[name]["value"] and not held[name]["masked"], (user, name)
            assert absent[name] == {"value": None, "masked": False, "reason": None}
            continue
        # Same flag, same reason; a withheld field reads identically in full.
        assert held[name]["masked"] is True and held[name]["reason"], (user, name)
        assert (absent[name]["masked"], absent[name]["reason"]) == (
            True, held[name]["reason"]), (user, name)
        if want == WITHHELD:
            assert absent[name] == held[name] == {
                "value": None, "masked": True, "reason": held[name]["reason"]}, (user, name)


@pytest.mark.parametrize("fld", list(SensitiveField))
def test_guard_answers_by_grant_not_by_value(authorizer: Authorizer, fld: SensitiveField) -> None:
    """Every sensitive field type (children's and findings' alike go through the guard): for a
    caller without the grant, an absent value carries the same flag and reason as a held one,
    and a withheld field reads identically in full."""
    nobody = Principal(None, "nobody", "nobody", None, None, "", "", "")
    guard = FieldGuard(authorizer, nobody, NOW)
    domain = "370000/370400/370406"
    held = guard.show(fld, "370406200801011234", record_type="child", record_id=1, domain=domain)
    absent = guard.show(fld, None, record_type="child", record_id=1, domain=domain)
    assert held.masked and absent.masked and held.reason and absent.reason == held.reason
    assert absent.value is None
    if held.value is None:  # withheld (income, health): nothing tells the two apart
        assert absent == held
    assert not guard.entries
