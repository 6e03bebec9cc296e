"""Special groups: every group SPT 9, ST 7 and the national practice name is a value, each
citing its rule, guarded like the data it reveals, filterable and assigned in the demo."""

from __future__ import annotations

import pytest

from authz.masking import SensitiveField
from models.enums import SpecialGroup
from tests.helpers import Api
from workflow import child as children
from workflow.demo.data import generate_county
from workflow.infra import reference_json

DATA = reference_json.load("special_groups.json")["groups"]

# The groups issue 12 found missing, and what each reveals about the family.
ADDED = {
    SpecialGroup.DISABLED_PARENT: SensitiveField.HEALTH,  # 残疾人子女, SPT 9
    SpecialGroup.UNSTABLE_POVERTY_EXIT: SensitiveField.FAMILY_INCOME,  # 脱贫不稳定户, SPT 9
    SpecialGroup.SUDDEN_HARDSHIP: SensitiveField.FAMILY_INCOME,  # 突发严重困难户, SPT 9
    SpecialGroup.RURAL_EXTREME_POVERTY: SensitiveField.FAMILY_INCOME,  # 农村特困供养, ST 7
    SpecialGroup.NO_DE_FACTO_CARER: None,  # 事实无人抚养, national practice
}


def test_every_group_is_data_citing_its_rule() -> None:
    assert len(DATA) == len(SpecialGroup)
    assert {r["code"] for r in DATA} == {g.value for g in SpecialGroup}
    for row in DATA:
        assert row["title"] and row["basis"], row["code"]
        assert all(b["quote"] for b in row["basis"]), row["code"]
    for group, field in ADDED.items():
        assert children.GROUP_FIELD.get(group) is field, group


def test_the_demo_assigns_the_added_groups() -> None:
    county = generate_county([(f"370406{100 + i}", "镇") for i in range(1, 11)])
    counts = {g: sum(g.value in c.flags for c in county.children) for g in ADDED}
    assert all(n > 0 for n in counts.values()), counts
    poor = [c for c in county.children if SpecialGroup.SUDDEN_HARDSHIP.value in c.flags
            and not {"registered_poor", "subsistence_allowance"} & c.flags]
    assert poor and all(c.family_income_note for c in poor)


QUERY = """query($g: SpecialGroup!) { children(first: 100, specialGroup: $g) { totalCount
    edges { node { specialGroups } } } }"""


@pytest.mark.parametrize("group", list(ADDED), ids=lambda g: g.value)
async def test_added_groups_filter_and_mask(api: Api, group: SpecialGroup) -> None:
    name = group.name
    edu = (await api.gql(QUERY, {"g": name}, user="edu_officer"))["children"]
    assert edu["totalCount"] > 0
    assert all(name in e["node"]["specialGroups"] for e in edu["edges"])
    police = (await api.gql(QUERY, {"g": name}, user="police_officer"))["children"]
    if ADDED[group] is None:
        assert police["totalCount"] == edu["totalCount"]
    else:
        # The police may not unmask family income or health: the filter would disclose it,
        # and the child's list of groups leaves it out.
        assert police["totalCount"] == 0
        everyone = await api.gql(
            "{ children(first: 100) { edges { node { specialGroups } } } }",
            user="police_officer",
        )
        assert not any(name in e["node"]["specialGroups"] for e in everyone["children"]["edges"])
    # The case and task filters take the value too (the same guarded SQL filter).
    cases = await api.gql(
        "query($g: SpecialGroup!) { cases(first: 5, filter: {specialGroup: $g}) { totalCount } }",
        {"g": name},
        user="edu_officer",
    )
    assert isinstance(cases["cases"]["totalCount"], int)
