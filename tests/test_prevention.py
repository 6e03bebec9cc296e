"""The blacklist of illegal substitute schooling (ST 10): listed with evidence and cases by
police, seen by education and market supervision, not by a township; lifted with a reason."""

from __future__ import annotations

from datetime import date
from typing import Any

from tests.helpers import Api, coded_failure, report

LIST = """mutation($in: ListSubstituteSchoolingInput!) { listSubstituteSchooling(input: $in) {
    entry { id name kind caseIds version } userErrors { code field } } }"""
ENTRIES = "{ substituteSchooling(first: 10) { totalCount edges { node { id name } } } }"
LIFT = """mutation($in: LiftSubstituteSchoolingInput!) { liftSubstituteSchooling(input: $in) {
    entry { liftedAt liftReason } userErrors { code field } } }"""


def entry(township: str, cases: list[str], **extra: Any) -> dict[str, Any]:
    return {"townshipCode": township, "name": "明德国学馆", "kind": "GUOXUE_BAN",
            "address": "店子镇东村西街 12 号",
            "evidence": "2026-11-01 公安走访：3 名适龄儿童全日在此读经",
            "foundOn": "2026-11-01", "caseIds": cases, **extra}


async def test_listed_seen_and_lifted(api: Api) -> None:
    case = (await report(api, date(2026, 10, 20)))["case"]
    township = (await api.gql("""query($id: ID!) { node(id: $id) { ... on DropoutCase {
        child { township { code } } } } }""", {"id": case["id"]}))["node"]["child"]["township"]
    listed = (await api.gql(LIST, {"in": entry(township["code"], [case["id"]])},
                            user="edu_officer"))["listSubstituteSchooling"]
    assert listed["userErrors"] == [] and listed["entry"]["caseIds"] == [case["id"]]
    for user in ("edu_officer", "police_officer", "market_officer", "inspector"):
        seen = (await api.gql(ENTRIES, user=user))["substituteSchooling"]
        assert seen["totalCount"] == 1, user
    assert (await api.gql(ENTRIES, user="township_officer"))["substituteSchooling"][
        "totalCount"] == 0
    body = (await api.post(LIST, {"in": entry(township["code"], [])},
                           user="township_officer")).json()
    assert coded_failure(body) == ["FORBIDDEN"]
    bad = (await api.gql(LIST, {"in": entry(township["code"], [], evidence=" ")},
                         user="police_officer"))["listSubstituteSchooling"]
    assert bad["userErrors"] == [{"code": "BAD_INPUT", "field": "evidence"}]
    lift = {"entryId": listed["entry"]["id"], "reason": "已取缔，儿童均已返校"}
    lifted = (await api.gql(LIFT, {"in": lift}, user="market_officer"))["liftSubstituteSchooling"]
    assert lifted["entry"]["liftReason"] == "已取缔，儿童均已返校"
    again = (await api.gql(LIFT, {"in": lift}, user="market_officer"))["liftSubstituteSchooling"]
    assert again["userErrors"][0]["code"] == "WRONG_STAGE"
