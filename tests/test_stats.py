"""Statistics against a district counted by hand (tests/helpers.hand_counted), over HTTP."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from tests.helpers import Api, coded_failure, hand_counted

FIGURES = """key label schoolAge enrolled deferredOrExempt suspected confirmedDropouts
    returned base lost retained dropoutRate retentionRate"""
TABLE = f"""query($in: StatsInput) {{ statistics(input: $in) {{ jurisdictionCode asOf
    periodStart rows {{ {FIGURES} }} total {{ {FIGURES} }} }} }}"""
COUNTS = ("schoolAge", "enrolled", "deferredOrExempt", "suspected", "confirmedDropouts",
          "returned", "base", "lost", "retained")


def counts(figures: dict[str, Any]) -> tuple[int, ...]:
    return tuple(figures[k] for k in COUNTS)


async def table(api: Api, user: str = "t_edu", **given: Any) -> dict[str, Any]:
    data = await api.gql(TABLE, {"in": {"jurisdictionCode": "370499", **given}}, user=user)
    result: dict[str, Any] = data["statistics"]
    return result


async def test_total_and_rates_as_counted_by_hand(api: Api, session: AsyncSession) -> None:
    await hand_counted(session)
    t = await table(api)
    assert (t["asOf"], t["periodStart"]) == ("2026-11-02", "2026-09-01")
    #                       age enr def sus drop ret base lost kept
    assert counts(t["total"]) == (6, 4, 1, 1, 1, 1, 5, 1, 4)
    assert (t["total"]["dropoutRate"], t["total"]["retentionRate"]) == (0.2, 0.8)


async def test_by_township_school_and_grade(api: Api, session: AsyncSession) -> None:
    d = await hand_counted(session)
    by_township = {r["key"]: r for r in (await table(api, dimension="TOWNSHIP"))["rows"]}
    assert counts(by_township["370499101"]) == (3, 2, 0, 1, 1, 0, 3, 1, 2)
    assert counts(by_township["370499102"]) == (3, 2, 1, 0, 0, 1, 2, 0, 2)
    assert by_township["370499101"]["label"] == "A镇"
    by_school = {r["label"]: r for r in (await table(api, dimension="SCHOOL"))["rows"]}
    assert by_school[d.schools["A"].name]["lost"] == 1
    assert by_school["none"]["schoolAge"] == 1  # c7, on no register
    by_grade = {r["key"]: counts(r) for r in (await table(api, dimension="GRADE"))["rows"]}
    assert by_grade == {
        "2": (1, 1, 0, 1, 0, 0, 1, 0, 1), "3": (1, 1, 0, 0, 0, 0, 1, 0, 1),
        "5": (1, 0, 0, 0, 1, 0, 1, 1, 0), "7": (1, 0, 1, 0, 0, 0, 0, 0, 0),
        "8": (1, 1, 0, 0, 0, 1, 1, 0, 1), "9": (0, 1, 0, 0, 0, 0, 1, 0, 1),
        "none": (1, 0, 0, 0, 0, 0, 0, 0, 0),
    }


async def test_by_group_cause_and_stage(api: Api, session: AsyncSession) -> None:
    await hand_counted(session)
    groups = {r["key"]: r for r in (await table(api, dimension="SPECIAL_GROUP"))["rows"]}
    assert set(groups) == {"left_behind", "orphan"}
    assert (groups["left_behind"]["suspected"], groups["left_behind"]["confirmedDropouts"]) == (
        1, 1)
    assert groups["orphan"]["returned"] == 1
    causes = {r["key"]: r["confirmedDropouts"]
              for r in (await table(api, dimension="CAUSE"))["rows"]}
    assert causes == {"family_poverty": 1, "none": 0}
    stages = {r["key"]: (r["suspected"], r["confirmedDropouts"], r["returned"])
              for r in (await table(api, dimension="STAGE"))["rows"]}
    assert stages == {"dropout_reported": (0, 1, 0), "reported": (1, 0, 0),
                      "closed": (0, 0, 1), "none": (0, 0, 0)}


async def test_a_past_date_is_reproduced_from_the_register_history(
    api: Api, session: AsyncSession
) -> None:
    await hand_counted(session)
    t = await table(api, asOf="2026-10-15")
    # c4 was out then (back on 10-20), c3's case not yet opened, nobody back yet
    assert counts(t["total"]) == (6, 3, 1, 0, 2, 0, 5, 2, 3)
    before_term = await table(api, asOf="2026-08-31", periodStart="2026-08-01")
    assert before_term["total"]["enrolled"] == 5  # c1, c2, c3, c4, c6 (c5 deferred 09-01)
    assert before_term["total"]["deferredOrExempt"] == 0


async def test_each_figure_drills_down_to_its_children(api: Api, session: AsyncSession) -> None:
    await hand_counted(session)
    query = """query($in: StatsInput, $m: StatsMeasure!, $k: String) {
        statisticsChildren(input: $in, measure: $m, key: $k, first: 2) { totalCount
        edges { node { id name } } pageInfo { hasNextPage endCursor } } }"""
    place = {"jurisdictionCode": "370499", "dimension": "TOWNSHIP"}
    lost = (await api.gql(query, {"in": place, "m": "LOST", "k": "370499101"},
                          user="t_edu"))["statisticsChildren"]
    assert lost["totalCount"] == 1
    assert lost["edges"][0]["node"]["name"] == "小2"
    enrolled = (await api.gql(query, {"in": place, "m": "ENROLLED"},
                              user="t_edu"))["statisticsChildren"]
    assert enrolled["totalCount"] == 4 and enrolled["pageInfo"]["hasNextPage"]
    # the inspectorate sees who is behind a figure, names masked (no child read grant)
    seen = (await api.gql(query, {"in": place, "m": "LOST"},
                          user="t_inspector"))["statisticsChildren"]
    assert seen["totalCount"] == 1 and seen["edges"][0]["node"]["name"] != "小2"
    assert seen["edges"][0]["node"]["id"] == lost["edges"][0]["node"]["id"]


async def test_inspectorate_sees_all_a_township_only_its_own(
    api: Api, session: AsyncSession
) -> None:
    await hand_counted(session)
    assert counts((await table(api, "t_inspector"))["total"])[0] == 6
    own = await api.gql(TABLE, {"in": {"jurisdictionCode": "370499101"}}, user="t_township")
    assert own["statistics"]["total"]["schoolAge"] == 3
    for code in ("370499", "370499102"):
        body = (await api.post(TABLE, {"in": {"jurisdictionCode": code}},
                               user="t_township")).json()
        assert coded_failure(body) == ["FORBIDDEN"]
    # the bureau's own figures are its district's: the demo county's are not mixed in
    demo = await api.gql(TABLE, {"in": {"jurisdictionCode": "370406"}}, user="edu_officer")
    assert demo["statistics"]["total"]["schoolAge"] > 0
    body = (await api.post(TABLE, {"in": {"jurisdictionCode": "370406"}}, user="t_edu")).json()
    assert coded_failure(body) == ["FORBIDDEN"]


async def test_bad_period_is_bad_input(api: Api, session: AsyncSession) -> None:
    await hand_counted(session)
    body = (await api.post(TABLE, {"in": {"jurisdictionCode": "370499", "asOf": "2026-10-01",
                                          "periodStart": "2026-10-02"}}, user="t_edu")).json()
    assert coded_failure(body) == ["BAD_INPUT"]
    body = (await api.post(TABLE, {"in": {"jurisdictionCode": "999999"}}, user="t_edu")).json()
    assert coded_failure(body) == ["NOT_FOUND"]
