"""Authorization comes before input validation.

A service fetches the record, asks the Authorizer, and only then judges the input against
the record. Otherwise the answer to bad input ("use recordReturn", WRONG_STAGE, a version
CONFLICT) tells a caller without rights about a record it may not touch.
"""

from __future__ import annotations

import base64
from typing import Any

import pytest
from graphql import get_introspection_query
from sqlalchemy.ext.asyncio import AsyncSession

from authz.enforcer import Authorizer
from tests.helpers import (
    Api,
    coded_failure,
    input_value,
    match_candidate,
    named,
    register_list,
    type_string,
)
from workflow.clock import FixedClock
from workflow.demo import labour

DENIED = {"FORBIDDEN", "NOT_FOUND"}
# Agencies in the demo county that hold no role at all.
NO_ROLE_USERS = ("united_front", "cyberspace")


async def first_case(api: Api) -> dict[str, Any]:
    """An open case: a head teacher reports a pupil of the demo school absent yesterday."""
    children = await api.gql("{ children(first: 1) { edges { node { id } } } }",
                             user="principal")
    data = await api.gql(
        """mutation($c: ID!, $d: Date!) { reportAbsence(input: {childId: $c, firstAbsence: $d})
             { case { id version } userErrors { code: errorCode } } }""",
        {"c": children["children"]["edges"][0]["node"]["id"], "d": "2026-11-01"},
        user="head_teacher",
    )
    assert not data["reportAbsence"]["userErrors"], data
    return dict(data["reportAbsence"]["case"])


async def test_civil_affairs_close_returned_is_not_told_to_use_record_return(api: Api) -> None:
    case = await first_case(api)
    body = (await api.post(
        """mutation($i: CloseCaseInput!) { closeCase(input: $i) {
             case { id } userErrors { code: errorCode field message } } }""",
        {"i": {"caseId": case["id"], "expectedVersion": case["version"], "reason": "RETURNED"}},
        user="civil_affairs",
    )).json()
    assert coded_failure(body) and set(coded_failure(body)) <= DENIED, body
    assert "recordReturn" not in str(body)


async def test_market_supervision_draft_penalty_decision_is_not_wrong_stage(api: Api) -> None:
    case = await first_case(api)
    body = (await api.post(
        """mutation($i: DraftDocumentInput!) { draftDocument(input: $i) {
             document { id } userErrors { code: errorCode field message } } }""",
        {"i": {"caseId": case["id"], "kind": "penalty_decision", "facts": "x"}},
        user="market_officer",
    )).json()
    assert coded_failure(body) and set(coded_failure(body)) <= DENIED, body
    # An education officer, who drafts documents on the case, is told what is wrong.
    told = (await api.post(
        """mutation($i: DraftDocumentInput!) { draftDocument(input: $i) {
             document { id } userErrors { code: errorCode field } } }""",
        {"i": {"caseId": case["id"], "kind": "penalty_decision", "facts": "x"}},
        user="edu_officer",
    )).json()
    assert coded_failure(told) in (["WRONG_STAGE"], ["FORBIDDEN"]), told


# --- the sweep -------------------------------------------------------------------------------


async def real_ids(api: Api) -> dict[str, str]:
    """A real record of each kind, so that every id in the sweep decodes and exists."""
    case_id = (await first_case(api))["id"]
    drafted = await api.gql(
        """mutation($c: ID!) { draftDocument(input: {caseId: $c, kind: "dropout_report",
             facts: "连续七天未到校"}) { document { id }
             userErrors { code: errorCode field } } }""",
        {"c": case_id}, user="principal",
    )
    q = """query($c: ID!) { node(id: $c) { ... on DropoutCase { id tasks { id } } }
             children(first: 1) { edges { node { id } } }
             agencies(first: 1) { edges { node { id } } } }"""
    a = await api.gql(q, {"c": case_id}, user="principal")
    labour = await api.gql(
        """{ employers(first: 1) { edges { node { id } } }
             inspections(first: 1) { edges { node { id campaign { id } } } }
             findings(first: 1) { edges { node { id } } }
             enforcementActions(first: 1) { edges { node { id } } } }""",
        user="hr_officer",
    )
    users = await api.gql("{ users(first: 20) { edges { node { id roles { id } } } } }",
                          user="admin")
    case = a["node"]
    inspection = labour["inspections"]["edges"][0]["node"]
    ids = {
        "caseId": case["id"],
        "taskId": case["tasks"][0]["id"],
        "childId": a["children"]["edges"][0]["node"]["id"],
        "agencyId": a["agencies"]["edges"][0]["node"]["id"],
        "employerId": labour["employers"]["edges"][0]["node"]["id"],
        "inspectionId": inspection["id"],
        "findingId": labour["findings"]["edges"][0]["node"]["id"],
        "actionId": labour["enforcementActions"]["edges"][0]["node"]["id"],
        "userId": users["users"]["edges"][0]["node"]["id"],
        # revokeRole names its grant by the RoleGrant's global id.
        "grant": next(r["id"] for e in users["users"]["edges"] for r in e["node"]["roles"] or []
                      if r["id"]),
    }
    document = drafted["draftDocument"]["document"]
    assert document, drafted
    ids["documentId"] = document["id"]
    if inspection.get("campaign"):
        ids["campaignId"] = inspection["campaign"]["id"]
    ids["employerIds"], ids["findingIds"] = ids["employerId"], ids["findingId"]
    # The register (issue 14): a real school; register changes, deferrals, guardians and the
    # statistics features' records (issue 16) the caller cannot see (NOT_FOUND is as good an
    # answer as FORBIDDEN).
    school = (await api.gql("{ schools(first: 1) { edges { node { id } } } }")
              )["schools"]["edges"][0]["node"]["id"]
    for name in ("school", "schoolId", "parentSchool", "toSchool"):
        ids[name] = school
    for name, kind in (("changeId", "RegisterChange"), ("deferralId", "Deferral"),
                       ("guardianId", "Guardian"), ("itemId", "AccountabilityItem"),
                       ("reportId", "PeriodicReport"), ("entryId", "SubstituteSchooling"),
                       ("visitId", "HomeVisit"), ("censusId", "SpecialNeedsCensus"),
                       ("crosscheckFindingId", "CrosscheckFinding"),
                       ("baseRecordId", "BaseRecord"), ("duplicateOfBaseRecordId", "BaseRecord"),
                       ("correctionId", "HouseholdCorrection"),
                       ("supervisionFindingId", "SupervisionFinding"),
                       ("accountabilityItemId", "AccountabilityItem")):
        ids[name] = base64.b64encode(f"{kind}:1".encode()).decode()
    ids["subjectAgencyId"] = ids["agencyId"]  # a supervision's subject (issue 16)
    ids["childIds"] = ids["childId"]  # a census's pupils (ST 7)
    ids["candidateId"] = await match_candidate(api, "顺序")
    ids["importId"] = await register_list(api, "顺序二")
    return ids


PLACES = {"townshipCode": "370406101", "jurisdictionCode": "370406",
          "destinationCode": "330382", "domain": "370000/370400/370406"}


class Invalid:
    """Well-formed input that every service refuses once it judges it: empty reasons and
    names, dates far in the future, a version that is not the record's."""

    def __init__(self, types: dict[str, Any], ids: dict[str, str]) -> None:
        self.types, self.ids = types, ids

    def value(self, ref: dict[str, Any], name: str) -> Any:
        return input_value(ref, name, self._named)

    def _named(self, ref: dict[str, Any], name: str) -> Any:
        t = self.types[ref["name"]]
        if t["kind"] == "ENUM":
            return t["enumValues"][0]["name"]
        if t["kind"] == "INPUT_OBJECT":
            return {sub["name"]: self.value(sub["type"], sub["name"]) for sub in t["inputFields"]}
        if t["name"] == "ID":
            return self.ids.get(name) or base64.b64encode(b"DropoutCase:1").decode()
        if name in PLACES:  # real places, so the caller's right over them is what decides
            return PLACES[name]
        return {
            "String": "",
            "Int": 999,
            "Float": 1.0,
            "Boolean": False,
            "Date": "2099-01-01",
            "DateTime": "2099-01-01T00:00:00+08:00",
            "JSON": {},
        }[t["name"]]


@pytest.mark.parametrize("user", NO_ROLE_USERS)
async def test_every_mutation_refuses_a_caller_without_rights_whatever_the_input(
    api: Api, session: AsyncSession, authorizer: Authorizer, clock: FixedClock, user: str
) -> None:
    # The demo county's child-labour campaign (employers, inspections, a finding, a served
    # return order), so that every id in the sweep names a real record.
    await labour.seed_demo_labour(session, authorizer, clock.now())
    await session.commit()
    introspection = await api.gql(get_introspection_query())
    types = {t["name"]: t for t in introspection["__schema"]["types"]}
    mutations = types[introspection["__schema"]["mutationType"]["name"]]["fields"]
    invalid = Invalid(types, await real_ids(api))
    failures = []
    for m in mutations:
        args = {a["name"]: invalid.value(a["type"], a["name"]) for a in m["args"]}
        declared = ", ".join(f"${n}: {type_string(a['type'])}" for n, a in
                             ((a["name"], a) for a in m["args"]))
        passed = ", ".join(f"{n}: ${n}" for n in args)
        payload = types[named(m["type"])["name"]]
        selection = "userErrors { code: errorCode field }" if any(
            f["name"] == "userErrors" for f in payload["fields"]) else "__typename"
        query = f"mutation({declared}) {{ {m['name']}({passed}) {{ {selection} }} }}"
        body = (await api.post(query, args, user=user)).json()
        found = coded_failure(body)
        if not found or not set(found) <= DENIED:
            failures.append((m["name"], found, body))
    assert not failures, failures
