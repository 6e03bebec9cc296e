"""Every agency (its demo user) × every operation in the schema: allowed or denied as the
policy says. A new operation without a row here fails ``test_every_operation_is_covered``."""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from models.reference import Jurisdiction
from schema.root import build_schema
from tests.helpers import (
    IMPORT_APPLY,
    NOW,
    Api,
    match_candidate,
    pupil_of_principal,
    register_list,
    staged_list,
)
from workflow.accountability import scan_district
from workflow.census import open_census
from workflow.demo.seed import DEMO_USERS
from workflow.engine import TickReport
from workflow.infra import uscc
from workflow.infra.id_number import make as make_id
from workflow.report import open_reports

USERS = [u.username for u in DEMO_USERS]
EVERYONE = set(USERS)
CHILD_READERS = {"edu_officer", "edu_admin", "principal", "head_teacher", "township_officer",
                 "police_officer", "civil_affairs", "poverty_office", "disabled_fed"}
# Readers of the children on their own lists only (child:listed; tests/test_agency_lists.py):
# the register changes and deferrals probed here are of children on no list.
LIST_BOUND = {"poverty_office", "disabled_fed"}
ACCESS_LOG_READERS = {"edu_officer", "edu_admin", "principal", "inspector"}
ADMINS = {"admin"}
SUPERVISORS = {"edu_admin", "principal", "township_officer"}  # see their own agency
AUDIT_READERS = {"admin", "inspector"}

Probe = Callable[[Api, str], Awaitable[bool]]


async def _ok(api: Api, user: str, query: str, variables: dict[str, Any] | None = None,
              path: tuple[str, ...] = ()) -> bool:
    """True when the operation ran (and, for lists, returned something); False on denial."""
    body = (await api.post(query, variables, user=user)).json()
    if body.get("errors"):
        codes = {e["extensions"]["code"] for e in body["errors"]}
        assert codes <= {"FORBIDDEN"}, body["errors"]
        return False
    value: Any = body["data"]
    for key in path:
        value = value[key]
    if isinstance(value, list):
        return bool(value)
    if isinstance(value, int):
        return value > 0
    if isinstance(value, dict) and "userErrors" in value:
        errors = value["userErrors"]
        assert all(e["code"] in {"NOT_FOUND"} for e in errors), errors
        return not errors
    return value is not None


async def _once(api: Api, key: str, make: Callable[[], Awaitable[Any]]) -> Any:
    """Set-up shared by every user's probe within one test, made on first use.

    A probe's set-up (a case to list, an ID number read to log, a document to count) is
    there for the probe's query to find something; it need not be made again for each of
    the demo users, and making it once per test halves the matrix's HTTP round-trips. Each
    test still starts from the rolled-back demo county (``api`` is per test)."""
    if key not in api.scratch:
        api.scratch[key] = await make()
    return api.scratch[key]


async def _target(api: Api, make: Callable[[], Awaitable[Any]]) -> Any:
    """The object a mutating probe acts on, reused from one user to the next until a user's
    probe succeeds (``_spent``).

    A refused mutation changes nothing (the whole request rolls back; ``_ok`` accepts only
    FORBIDDEN or NOT_FOUND), so the next user finds the object exactly as it was prepared and
    meets the same question; only after an allowed user has changed it is a fresh one made.
    Most users are refused most operations, so this spares most of the set-up requests."""
    return await _once(api, "target", make)


def _spent(api: Api, ok: bool) -> bool:
    """After a probe: an allowed user changed the target, so the next user gets a new one."""
    if ok:
        api.scratch.pop("target", None)
    return ok


async def _agency_gid(api: Api) -> str:
    async def lookup() -> str:
        data = await api.gql('{ agencies(kind: POLICE, first: 1) { edges { node { id } } } }')
        gid: str = data["agencies"]["edges"][0]["node"]["id"]
        return gid

    found: str = await _once(api, "police_agency", lookup)
    return found


async def _user_gid(api: Api, username: str) -> str:
    async def lookup() -> dict[str, str]:
        data = await api.gql("{ users(first: 100) { edges { node { id username } } } }",
                             user="admin")
        return {e["node"]["username"]: e["node"]["id"] for e in data["users"]["edges"]}

    users: dict[str, str] = await _once(api, "user_gids", lookup)
    return users[username]


async def probe_create_user(api: Api, user: str) -> bool:
    gid = await _agency_gid(api)
    return await _ok(api, user, """mutation($a: ID!) { createUser(input: {username: "new.one",
        displayName: "新用户", agencyId: $a}) { user { id } userErrors { code: errorCode } } }""",
                     {"a": gid}, ("createUser",))


async def probe_set_user_active(api: Api, user: str) -> bool:
    gid = await _user_gid(api, "youth_league")
    return await _ok(api, user, """mutation($u: ID!) { setUserActive(input: {userId: $u,
        active: false}) { user { isActive } userErrors { code: errorCode } } }""", {"u": gid},
                     ("setUserActive",))


async def probe_grant_role(api: Api, user: str) -> bool:
    gid = await _user_gid(api, "police_officer")
    return await _ok(api, user, """mutation($u: ID!) { grantRole(input: {userId: $u,
        role: "task_supervisor", domain: "370000/370400/370406"}) { grant { role }
        userErrors { code: errorCode } } }""", {"u": gid}, ("grantRole",))


async def probe_revoke_role(api: Api, user: str) -> bool:
    # The same grant for every user of one test: once the admin revoked it, it is gone.
    if "grant" not in api.scratch:
        data = await api.gql(
            "{ users(first: 100) { edges { node { username roles { grantId } } } } }",
            user="admin",
        )
        api.scratch["grant"] = next(e["node"]["roles"][0]["grantId"] for e in data["users"]["edges"]
                                if e["node"]["username"] == "youth_league")
    grant = api.scratch["grant"]
    return await _ok(api, user, """mutation($g: Int!) { revokeRole(input: {grantId: $g})
        { grant { role } userErrors { code: errorCode } } }""", {"g": grant}, ("revokeRole",))


ADD_RULE = """mutation { addPolicyRule(input: {role: "police_officer",
    domain: "370000/370400/370406/370406100", obj: "child", act: "read", effect: "deny",
    source: "ST 8 (local arrangement)"}) { rule { ruleId } userErrors { code: errorCode } } }"""


async def probe_add_rule(api: Api, user: str) -> bool:
    return await _ok(api, user, ADD_RULE, None, ("addPolicyRule",))


async def probe_remove_rule(api: Api, user: str) -> bool:
    added = await api.gql(ADD_RULE.replace("370406100", f"x-{user}"), user="admin")
    rule_id = added["addPolicyRule"]["rule"]["ruleId"]
    return await _ok(api, user, """mutation($r: Int!) { removePolicyRule(input: {ruleId: $r})
        { rule { ruleId }
        userErrors { code: errorCode } } }""", {"r": rule_id}, ("removePolicyRule",))


async def probe_access_log(api: Api, user: str) -> bool:
    # Someone reads ID numbers of the principal's pupils first, so there is a log to see.
    await _once(api, "access_logged", lambda: api.gql(
        "{ children(first: 5) { edges { node { nationalId { value } } } } }", user="principal"))
    return await _ok(api, user, "{ accessLog(first: 10) { totalCount } }", None,
                     ("accessLog", "totalCount"))


CASE_READERS = {"edu_officer", "edu_admin", "principal", "head_teacher", "township_officer",
                "inspector"}
REPORTERS = {"edu_officer", "edu_admin", "principal", "head_teacher", "township_officer",
             "police_officer"}
PERSUADERS = {"edu_officer", "edu_admin", "principal", "head_teacher", "township_officer"}
EDU_ADMINS = {"edu_admin"}


async def _pupils(api: Api) -> list[str]:
    if "pupils" not in api.scratch:
        data = await api.gql("{ children(first: 50) { edges { node { id } } } }",
                             user="principal")
        api.scratch["pupils"] = [e["node"]["id"] for e in data["children"]["edges"]]
        assert len(api.scratch["pupils"]) >= 6
    pupils: list[str] = api.scratch["pupils"]
    return pupils


async def fresh_case(api: Api, user: str) -> tuple[str, int]:
    """A case at stage REPORTED of its own for each user (while pupils last)."""
    pupils = await _pupils(api)
    child = pupils[USERS.index(user) % len(pupils)]
    data = await api.gql("""mutation($c: ID!) { reportAbsence(input: {childId: $c,
        firstAbsence: "2026-11-02"}) { case { id version status }
        userErrors { code: errorCode } } }""",
                         {"c": child}, user="head_teacher")
    case = data["reportAbsence"]["case"]
    if case["status"] == "CLOSED":
        raise AssertionError("probe reused a closed case")
    return case["id"], case["version"]


async def probe_audit(api: Api, user: str) -> bool:
    # a head teacher's report: one audit row
    await _once(api, "case", lambda: fresh_case(api, "edu_officer"))
    return await _ok(api, user, "{ auditEvents(last: 5) { operation } }", None,
                     ("auditEvents",))


async def probe_cases(api: Api, user: str) -> bool:
    await _once(api, "case", lambda: fresh_case(api, "edu_officer"))
    return await _ok(api, user, "{ cases(first: 5) { totalCount } }", None,
                     ("cases", "totalCount"))


async def probe_report(api: Api, user: str) -> bool:
    pupils = await _pupils(api)
    return await _ok(api, user, """mutation($c: ID!) { reportAbsence(input: {childId: $c,
        firstAbsence: "2026-11-01"}) { case { id } userErrors { code: errorCode } } }""",
                     {"c": pupils[0]}, ("reportAbsence",))


def case_probe(mutation: str, field: str, prepare: str | None = None) -> Probe:
    async def prepared(api: Api, user: str) -> tuple[str, int]:
        case_id, version = await fresh_case(api, user)
        if prepare is not None:
            await api.gql(prepare, {"case": case_id, "v": version}, user="principal")
            # (a reused case may be prepared already: then the step above changed nothing)
            node = await api.gql("query($id: ID!) { node(id: $id) { ... on DropoutCase"
                                 " { version } } }", {"id": case_id}, user="edu_officer")
            version = node["node"]["version"]
        return case_id, version

    async def probe(api: Api, user: str) -> bool:
        case_id, version = await _target(api, lambda: prepared(api, user))
        variables: dict[str, Any] = {"case": case_id}
        if "$v:" in mutation:
            variables["v"] = version
        return _spent(api, await _ok(api, user, mutation, variables, (field,)))

    return probe


CLOSE_AS_PRINCIPAL = """mutation($case: ID!, $v: Int!) { closeCase(input: {caseId: $case,
    expectedVersion: $v, reason: STUDYING_ELSEWHERE}) { case { version }
    userErrors { code: errorCode } } }"""
MARK_AS_PRINCIPAL = """mutation($case: ID!, $v: Int!) { markDropout(input: {caseId: $case,
    expectedVersion: $v}) { case { version } userErrors { code: errorCode } } }"""
ADOPT = """mutation { adoptLadder(input: {jurisdictionCode: "370406", template: "SPT"})
    { ladder { version } userErrors { code: errorCode } } }"""
CALENDAR = """mutation { setSchoolCalendar(input: {jurisdictionCode: "370406", terms: [{name:
    "秋季学期", startsOn: "2026-09-01", endsOn: "2027-01-22"}], holidays: []})
    { calendar { jurisdictionCode } userErrors { code: errorCode } } }"""


async def probe_define(api: Api, user: str) -> bool:
    steps = [{"code": "a", "stage": "reported", "anchor": "day0", "tasks": [{"agency": "school",
              "kind": "contact", "title": "联系家长", "due_days": 1}],
              "legal_basis": {"source_key": "SPT", "article": "7"}}]
    return await _ok(api, user, """mutation($s: JSON!) { defineLadder(input: {jurisdictionCode:
        "370406", name: "本地流程", steps: $s}) { ladder { version }
        userErrors { code: errorCode } } }""",
                     {"s": steps}, ("defineLadder",))


QUEUE_READERS = {"edu_officer", "edu_admin", "principal", "head_teacher", "township_officer"}
SCHOOL = {"principal", "head_teacher"}


async def _school_task(api: Api, user: str) -> tuple[str, int]:
    """The open school task of a case of this user's own (created by a fresh report)."""
    case_id, _ = await fresh_case(api, user)
    data = await api.gql("query($id: ID!) { node(id: $id) { ... on DropoutCase { tasks"
                         " { id agency status version } } } }", {"id": case_id},
                         user="edu_officer")
    task = next(t for t in data["node"]["tasks"] if t["agency"] == "SCHOOL")
    return task["id"], task["version"]


def task_probe(mutation: str, field: str) -> Probe:
    async def probe(api: Api, user: str) -> bool:
        task_id, version = await _target(api, lambda: _school_task(api, user))
        variables: dict[str, Any] = {"task": task_id, "v": version}
        if "$member" in mutation:
            variables["member"] = await _user_gid(api, "head_teacher")
        return _spent(api, await _ok(api, user, mutation, variables, (field,)))

    return probe


async def _marked_case(api: Api) -> None:
    case_id, version = await fresh_case(api, "edu_officer")
    await api.gql(MARK_AS_PRINCIPAL, {"case": case_id, "v": version}, user="principal")


async def probe_queue(api: Api, user: str) -> bool:
    await _once(api, "marked_case", lambda: _marked_case(api))
    return await _ok(api, user, "{ agencyQueue(first: 5) { totalCount } }", None,
                     ("agencyQueue", "totalCount"))


async def probe_my_tasks(api: Api, user: str) -> bool:
    task_id, version = await _school_task(api, user)
    await api.post("""mutation($t: ID!, $v: Int!) { claimTask(input: {taskId: $t,
        expectedVersion: $v}) { task { id } } }""", {"t": task_id, "v": version}, user=user)
    return await _ok(api, user, "{ myTasks(first: 5) { totalCount } }", None,
                     ("myTasks", "totalCount"))


DOC_FIELDS = "{ document { id number status } userErrors { code: errorCode } }"


async def _issued_report(api: Api, user: str, *, issue: bool = True) -> str:
    """A written dropout report drafted (and issued) by the principal on the user's case."""
    case_id, version = await fresh_case(api, user)
    await api.gql(MARK_AS_PRINCIPAL, {"case": case_id, "v": version}, user="principal")
    drafted = await api.gql("""mutation($case: ID!) { draftDocument(input: {caseId: $case,
        kind: "dropout_report"}) """ + DOC_FIELDS + " }", {"case": case_id}, user="principal")
    doc: str = drafted["draftDocument"]["document"]["id"]
    if issue:
        await api.gql("mutation($d: ID!) { issueDocument(input: {documentId: $d}) "
                      + DOC_FIELDS + " }", {"d": doc}, user="principal")
    return doc


def document_probe(mutation: str, field: str, *, issue: bool = True) -> Probe:
    async def probe(api: Api, user: str) -> bool:
        doc = await _target(api, lambda: _issued_report(api, user, issue=issue))
        return _spent(api, await _ok(api, user, mutation, {"d": doc}, (field,)))

    return probe


async def _case_of_issued_report(api: Api, user: str) -> str:
    doc = await _issued_report(api, user)
    node = await api.gql("query($d: ID!) { node(id: $d) { ... on LegalDocument { case { id } }"
                         " } }", {"d": doc}, user="principal")
    case_id: str = node["node"]["case"]["id"]
    return case_id


async def probe_served_by_kind(api: Api, user: str) -> bool:
    case_id = await _target(api, lambda: _case_of_issued_report(api, user))
    return _spent(api, await _ok(api, user, """mutation($case: ID!) { recordDocumentServed(
        input: {caseId: $case, documentKind: "dropout_report", servedOn: "2026-11-02",
        servedTo: "区教体局"}) { case { id } userErrors { code: errorCode } } }""",
                                 {"case": case_id}, ("recordDocumentServed",)))


async def _marked_case_of(api: Api, user: str) -> str:
    case_id, version = await fresh_case(api, user)
    await api.gql(MARK_AS_PRINCIPAL, {"case": case_id, "v": version}, user="principal")
    return case_id


async def probe_draft(api: Api, user: str) -> bool:
    # enrol_notice, from the dropout report on: the bureau and the township draft it
    case_id = await _target(api, lambda: _marked_case_of(api, user))
    return _spent(api, await _ok(api, user, """mutation($case: ID!) { draftDocument(input:
        {caseId: $case, kind: "enrol_notice"}) """ + DOC_FIELDS + " }", {"case": case_id},
                                 ("draftDocument",)))


async def probe_documents(api: Api, user: str) -> bool:
    await _once(api, "issued_report", lambda: _issued_report(api, "edu_officer"))
    return await _ok(api, user, "{ documents(first: 5) { totalCount } }", None,
                     ("documents", "totalCount"))


async def probe_verify(api: Api, user: str) -> bool:
    if "code" not in api.scratch:
        doc = await _issued_report(api, "edu_officer")
        node = await api.gql("query($d: ID!) { node(id: $d) { ... on LegalDocument "
                             "{ verificationCode } } }", {"d": doc}, user="principal")
        api.scratch["code"] = node["node"]["verificationCode"]
    return await _ok(api, user, "query($c: String!) { verifyDocument(code: $c) { valid } }",
                     {"c": api.scratch["code"]}, ("verifyDocument", "valid"))


# --- child-labour inspections ----------------------------------------------------------

LABOUR_READERS = {"hr_officer", "market_officer", "police_officer", "township_officer",
                  "edu_officer", "edu_admin", "inspector"}
FINDING_READERS = LABOUR_READERS | {"civil_affairs"}
INSPECTION_READERS = FINDING_READERS
EMPLOYER_WRITERS = {"hr_officer", "market_officer", "police_officer"}
HR = {"hr_officer"}
ENFORCEMENT = """{ action { id status version } userErrors { code: errorCode } }"""
FINDING = """mutation($e: ID!, $i: ID!, $k: String!) { recordFinding(input: {idempotencyKey: $k,
    employerId: $e, inspectionId: $i, foundOn: "2026-11-02", work: "洗碗", childName: "小李",
    age: 14}) { finding { id } userErrors { code: errorCode } } }"""


async def _labour(api: Api) -> dict[str, str]:
    """An employer in the township officer's township, a township inspection under way with it,
    and a finding there (made once per test)."""
    if "labour" not in api.scratch:
        me = await api.gql("{ me { jurisdiction { code } } }", user="township_officer")
        township = me["me"]["jurisdiction"]["code"]
        employer = await api.gql("""mutation($c: String!, $t: String!) { registerEmployer(input:
            {creditCode: $c, name: "某某五金加工店", address: "某路1号", townshipCode: $t})
            { employer { id version } } }""", {"c": uscc.make("92", "370406", "MA0000000"),
                                              "t": township}, user="hr_officer")
        e = employer["registerEmployer"]["employer"]
        planned = await api.gql("""mutation($e: ID!, $t: String!) { planInspection(input:
            {kind: PLANNED, title: "乡镇用工检查", plannedOn: "2026-11-02", employerIds: [$e],
            townshipCode: $t}) { inspection { id } } }""", {"e": e["id"], "t": township},
                                user="hr_officer")
        inspection = planned["planInspection"]["inspection"]["id"]
        found = await api.gql(FINDING, {"e": e["id"], "i": inspection, "k": "setup-finding"},
                              user="police_officer")
        api.scratch["labour"] = {"employer": e["id"], "version": e["version"],
                                 "inspection": inspection, "township": township,
                                 "finding": found["recordFinding"]["finding"]["id"]}
    labour: dict[str, str] = api.scratch["labour"]
    return labour


async def _fresh_finding(api: Api, user: str) -> str:
    labour = await _labour(api)
    found = await api.gql(FINDING, {"e": labour["employer"], "i": labour["inspection"],
                                    "k": f"probe-finding-{user}"}, user="police_officer")
    finding: str = found["recordFinding"]["finding"]["id"]
    return finding


async def _action(api: Api, user: str, kind: str, issuer: str, serve: bool) -> dict[str, Any]:
    labour = await _labour(api)
    finding = await _fresh_finding(api, user)
    issued = await api.gql("""mutation($k: EnforcementKind!, $e: ID!, $f: ID!) {
        issueEnforcementAction(input: {kind: $k, employerId: $e, findingIds: [$f]}) """
                           + ENFORCEMENT + " }", {"k": kind, "e": labour["employer"],
                                                  "f": finding}, user=issuer)
    action: dict[str, Any] = issued["issueEnforcementAction"]["action"]
    if serve:
        await api.gql(SERVE_ACTION, {"a": action["id"]}, user=issuer)
    return action


SERVE_ACTION = """mutation($a: ID!) { serveEnforcementAction(input: {actionId: $a, servedOn:
    "2026-11-02", method: IN_PERSON, servedTo: "负责人"}) """ + ENFORCEMENT + " }"


def action_probe(mutation: str, field: str, kind: str, issuer: str, serve: bool) -> Probe:
    async def probe(api: Api, user: str) -> bool:
        action = await _target(api, lambda: _action(api, user, kind, issuer, serve))
        return _spent(api, await _ok(api, user, mutation, {"a": action["id"]}, (field,)))

    return probe


async def probe_register_employer(api: Api, user: str) -> bool:
    labour = await _labour(api)
    code = uscc.make("92", "370406", f"MA{USERS.index(user) + 1:07d}")
    return await _ok(api, user, """mutation($c: String!, $t: String!) { registerEmployer(input:
        {creditCode: $c, name: "某某超市", address: "某路2号", townshipCode: $t})
        { employer { id }
        userErrors { code: errorCode } } }""", {"c": code, "t": labour["township"]},
                     ("registerEmployer",))


async def probe_update_employer(api: Api, user: str) -> bool:
    labour = await _labour(api)
    return await _ok(api, user, """mutation($e: ID!) { updateEmployer(input: {employerId: $e,
        address: "某路1号之一"}) { employer { id } userErrors { code: errorCode } } }""",
                     {"e": labour["employer"]}, ("updateEmployer",))


async def _planned(api: Api) -> str:
    labour = await _labour(api)
    planned = await api.gql("""mutation($e: ID!, $t: String!) { planInspection(input:
        {kind: PLANNED, title: "复查", plannedOn: "2026-11-02", employerIds: [$e],
        townshipCode: $t}) { inspection { id } } }""", {"e": labour["employer"],
                                                        "t": labour["township"]},
                            user="hr_officer")
    inspection: str = planned["planInspection"]["inspection"]["id"]
    return inspection


def inspection_probe(mutation: str, field: str, *, started: bool) -> Probe:
    async def prepared(api: Api) -> str:
        inspection = await _planned(api)
        if started:
            await api.gql("mutation($i: ID!) { startInspection(input: {inspectionId: $i}) "
                          "{ inspection { id } } }", {"i": inspection}, user="hr_officer")
        return inspection

    async def probe(api: Api, user: str) -> bool:
        labour = await _labour(api)
        inspection = await _target(api, lambda: prepared(api))
        return _spent(api, await _ok(api, user, mutation,
                                     {"i": inspection, "e": labour["employer"]}, (field,)))

    return probe


async def probe_labour_list(api: Api, user: str, query: str, field: str) -> bool:
    await _once(api, "listed_action",
                lambda: _action(api, "list", "RETURN_ORDER", "hr_officer", serve=False))
    return await _ok(api, user, query, None, (field, "totalCount"))


LABOUR_PROBES: dict[str, tuple[Probe, set[str]]] = {
    "employers": (lambda api, u: probe_labour_list(api, u, "{ employers(first: 5) "
                                                   "{ totalCount } }", "employers"),
                  LABOUR_READERS),
    "inspections": (lambda api, u: probe_labour_list(api, u, "{ inspections(first: 5) "
                                                     "{ totalCount } }", "inspections"),
                    INSPECTION_READERS | {"police_officer", "market_officer"}),
    "findings": (lambda api, u: probe_labour_list(api, u, "{ findings(first: 5) "
                                                  "{ totalCount } }", "findings"),
                 FINDING_READERS),
    "enforcementActions": (lambda api, u: probe_labour_list(
        api, u, "{ enforcementActions(first: 5) { totalCount } }", "enforcementActions"),
                           LABOUR_READERS),
    "registerEmployer": (probe_register_employer, EMPLOYER_WRITERS),
    "updateEmployer": (probe_update_employer, EMPLOYER_WRITERS),
    "createCampaign": (lambda api, u: _ok(api, u, """mutation { createCampaign(input: {name:
        "寒假童工专项检查", startsOn: "2027-01-20", endsOn: "2027-02-20"}) { campaign { id }
        userErrors { code: errorCode } } }""", None, ("createCampaign",)), HR),
    "planInspection": (inspection_probe("""mutation($e: ID!) { planInspection(input: {kind:
        AD_HOC, title: "巡查", plannedOn: "2026-11-03", employerIds: [$e]}) { inspection { id }
        userErrors { code: errorCode } } }""", "planInspection", started=False), HR),
    "startInspection": (inspection_probe("""mutation($i: ID!) { startInspection(input:
        {inspectionId: $i}) { inspection { id }
        userErrors { code: errorCode } } }""", "startInspection",
                                         started=False), HR),
    "recordInspectionVisit": (inspection_probe("""mutation($i: ID!, $e: ID!) {
        recordInspectionVisit(input: {inspectionId: $i, employerId: $e, visitedOn:
        "2026-11-02"}) { inspection { id }
        userErrors { code: errorCode } } }""", "recordInspectionVisit",
                                               started=True), HR),
    "completeInspection": (inspection_probe("""mutation($i: ID!) { completeInspection(input:
        {inspectionId: $i, summary: "未发现童工"}) { inspection { id }
        userErrors { code: errorCode } } }""",
                                            "completeInspection", started=True), HR),
    "cancelInspection": (inspection_probe("""mutation($i: ID!) { cancelInspection(input:
        {inspectionId: $i, reason: "改期"}) { inspection { id }
        userErrors { code: errorCode } } }""",
                                          "cancelInspection", started=False), HR),
    "recordFinding": (lambda api, u: _probe_finding(api, u), {"police_officer", "hr_officer"}),
    "issueEnforcementAction": (lambda api, u: _probe_issue(api, u), HR),
    "serveEnforcementAction": (action_probe(SERVE_ACTION, "serveEnforcementAction",
                                            "RETURN_ORDER", "hr_officer", serve=False), HR),
    "recordReturnCompliance": (action_probe("""mutation($a: ID!) { recordReturnCompliance(input:
        {actionId: $a, compliedOn: "2026-11-02", note: "已送回监护人"}) """ + ENFORCEMENT + " }",
                                            "recordReturnCompliance", "RETURN_ORDER",
                                            "hr_officer", serve=True), HR),
    "recordFinePayment": (action_probe("""mutation($a: ID!) { recordFinePayment(input:
        {actionId: $a, paidOn: "2026-11-02"}) """ + ENFORCEMENT + " }", "recordFinePayment",
                                       "FINE", "hr_officer", serve=True),
                          HR),  # 山亭 fines by the labour department (禁止使用童工规定 art. 6)
    "voidEnforcementAction": (action_probe("""mutation($a: ID!) { voidEnforcementAction(input:
        {actionId: $a, reason: "事实有误"}) """ + ENFORCEMENT + " }", "voidEnforcementAction",
                                           "RETURN_ORDER", "hr_officer", serve=False), HR),
}


async def _probe_finding(api: Api, user: str) -> bool:
    labour = await _labour(api)
    return await _ok(api, user, FINDING, {"e": labour["employer"], "i": labour["inspection"],
                                          "k": f"matrix-{user}"}, ("recordFinding",))


async def _probe_issue(api: Api, user: str) -> bool:
    labour = await _labour(api)
    finding = await _target(api, lambda: _fresh_finding(api, user))
    return _spent(api, await _ok(api, user, """mutation($e: ID!, $f: ID!) {
        issueEnforcementAction(input: {kind: RETURN_ORDER, employerId: $e, findingIds: [$f]})
        """ + ENFORCEMENT + " }", {"e": labour["employer"], "f": finding},
                                 ("issueEnforcementAction",)))



PROBES: dict[str, tuple[Probe, set[str]]] = {
    "agencyQueue": (probe_queue, QUEUE_READERS),
    "myTasks": (probe_my_tasks, SCHOOL),
    "claimTask": (task_probe("""mutation($task: ID!, $v: Int!) { claimTask(input: {taskId:
        $task, expectedVersion: $v}) { task { id }
        userErrors { code: errorCode } } }""", "claimTask"),
                  SCHOOL),
    "assignTask": (task_probe("""mutation($task: ID!, $v: Int!, $member: ID!) { assignTask(
        input: {taskId: $task, expectedVersion: $v, userId: $member}) { task { id }
        userErrors { code: errorCode } } }""", "assignTask"), {"principal"}),
    "completeTask": (task_probe("""mutation($task: ID!, $v: Int!) { completeTask(input:
        {taskId: $task, expectedVersion: $v, outcome: "已电话联系家长"}) { task { id }
        userErrors { code: errorCode } } }""", "completeTask"), SCHOOL),
    "cases": (probe_cases, CASE_READERS),
    "ladder": (lambda api, u: _ok(api, u, '{ ladder(jurisdictionCode: "370406") { version } }'),
               EVERYONE),
    "ladderTemplates": (lambda api, u: _ok(api, u, "{ ladderTemplates { code } }", None,
                                           ("ladderTemplates",)), EVERYONE),
    "schoolCalendar": (lambda api, u: _ok(api, u, '{ schoolCalendar(jurisdictionCode: "370406")'
                                          " { terms { name } } }", None,
                                          ("schoolCalendar", "terms")), EVERYONE),
    "reportAbsence": (probe_report, REPORTERS),
    "recordPersuasion": (case_probe("""mutation($case: ID!) { recordPersuasion(input:
        {caseId: $case, method: PHONE, outcome: UNREACHABLE, attemptedAt:
        "2026-11-02T01:00:00Z"}) { case { id }
        userErrors { code: errorCode } } }""", "recordPersuasion"),
                         PERSUADERS),
    "markDropout": (case_probe("""mutation($case: ID!, $v: Int!) { markDropout(input: {caseId:
        $case, expectedVersion: $v}) { case { id }
        userErrors { code: errorCode } } }""", "markDropout"),
                    {"edu_officer", "edu_admin", "principal"}),
    "recordReturn": (case_probe("""mutation($case: ID!, $v: Int!) { recordReturn(input: {caseId:
        $case, expectedVersion: $v, returnedOn: "2026-11-02"}) { case { id } userErrors
        { code: errorCode } } }""", "recordReturn"), {"edu_officer", "edu_admin", "principal",
                                          "head_teacher"}),
    "closeCase": (case_probe(CLOSE_AS_PRINCIPAL, "closeCase"),
                  {"edu_officer", "edu_admin", "principal"}),
    "reopenCase": (case_probe("""mutation($case: ID!, $v: Int!) { reopenCase(input: {caseId:
        $case, expectedVersion: $v, reason: "再次辍学"}) { case { id }
        userErrors { code: errorCode } } }""",
                              "reopenCase", prepare=CLOSE_AS_PRINCIPAL),
                   {"edu_officer", "edu_admin"}),
    "addCaseNote": (case_probe("""mutation($case: ID!) { addCaseNote(input: {caseId:
        $case, text: "家长外出务工"}) { case { id }
        userErrors { code: errorCode } } }""", "addCaseNote"),
                    PERSUADERS),
    "addCaseAttachment": (case_probe("""mutation($case: ID!) { addCaseAttachment(input: {caseId:
        $case, filename: "家访记录.pdf", contentType: "application/pdf", sizeBytes: 1024,
        sha256: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"})
        { case { id } userErrors { code: errorCode } } }""", "addCaseAttachment"), PERSUADERS),
    "setCasePlan": (case_probe("""mutation($case: ID!) { setCasePlan(input: {caseId:
        $case, cause: SCHOOL_AVERSION, measures: "结对帮扶", responsiblePerson: "刘芳",
        responsibleAgency: SCHOOL}) { case { id }
        userErrors { code: errorCode } } }""", "setCasePlan"),
                    {"edu_officer", "edu_admin", "principal"}),
    # serves the case's issued document of the kind: an issued dropout report, which only
    # the school's principal serves (on the bureau and the township)
    "recordDocumentServed": (probe_served_by_kind, {"principal"}),
    # the first action step is the referral, from the township's order on: not reachable
    # here, so every agency is refused (FORBIDDEN, or NOT_FOUND where the case is unseen)
    "escalateCase": (case_probe("""mutation($case: ID!, $v: Int!) { escalateCase(input:
        {caseId: $case, expectedVersion: $v, stepCode: "judicial_referral", reason: "逾期"})
        { case { id } userErrors { code: errorCode } } }""", "escalateCase"), set()),
    "draftDocument": (probe_draft, {"edu_officer", "edu_admin", "township_officer"}),
    "issueDocument": (document_probe("mutation($d: ID!) { issueDocument(input: {documentId:"
                                     " $d}) " + DOC_FIELDS + " }", "issueDocument",
                                     issue=False), {"principal"}),
    "serveDocument": (document_probe("""mutation($d: ID!) { serveDocument(input: {documentId:
        $d, servedOn: "2026-11-02", method: IN_PERSON, servedTo: "区教体局 收文"}) """
                                     + DOC_FIELDS + " }", "serveDocument"), {"principal"}),
    "voidDocument": (document_probe("""mutation($d: ID!) { voidDocument(input: {documentId:
        $d, reason: "事实有误"}) """ + DOC_FIELDS + " }", "voidDocument"), {"principal"}),
    "reissueDocument": (document_probe("""mutation($d: ID!) { reissueDocument(input:
        {documentId: $d, reason: "事实有误"}) """ + DOC_FIELDS + " }", "reissueDocument"),
                        {"principal"}),
    # the dropout report goes to the bureau and the township (SPT 7, ST 4, GH 三(二), YQ 三(一)2)
    "documents": (probe_documents, {"edu_officer", "edu_admin", "principal", "township_officer"}),
    "verifyDocument": (probe_verify, EVERYONE),
    "adoptLadder": (lambda api, u: _ok(api, u, ADOPT, None, ("adoptLadder",)), EDU_ADMINS),
    "defineLadder": (probe_define, EDU_ADMINS),
    "setSchoolCalendar": (lambda api, u: _ok(api, u, CALENDAR, None, ("setSchoolCalendar",)),
                          EDU_ADMINS),
    "me": (lambda api, u: _ok(api, u, "{ me { username } }"), EVERYONE),
    "jurisdictions": (lambda api, u: _ok(api, u, "{ jurisdictions { code } }",
                                         None, ("jurisdictions",)), EVERYONE),
    "jurisdiction": (lambda api, u: _ok(api, u, '{ jurisdiction(code: "370406") { name } }'),
                     EVERYONE),
    "agencies": (lambda api, u: _ok(api, u, "{ agencies(first: 3) { totalCount } }", None,
                                    ("agencies", "totalCount")), EVERYONE),
    # Schools are reference data like agencies (policy: member, reference, read).
    "schools": (lambda api, u: _ok(api, u, "{ schools(first: 3) { totalCount } }", None,
                                   ("schools", "totalCount")), EVERYONE),
    "duties": (lambda api, u: _ok(api, u, "{ duties { code } }", None, ("duties",)), EVERYONE),
    "node": (lambda api, u: _ok(api, u, '{ node(id: "SnVyaXNkaWN0aW9uOjM3MDQwNg==") { id } }'),
             EVERYONE),
    "nodes": (lambda api, u: _ok(api, u, '{ nodes(ids: ["SnVyaXNkaWN0aW9uOjM3MDQwNg=="]) '
                                 "{ id } }", None, ("nodes",)), EVERYONE),
    "children": (lambda api, u: _ok(api, u, "{ children(first: 3) { totalCount } }", None,
                                    ("children", "totalCount")),
                 # the village committee reads the children living in it (LS 14)
                 CHILD_READERS | {"village_officer"}),
    "users": (lambda api, u: _ok(api, u, "{ users(first: 3) { totalCount } }", None,
                                 ("users", "totalCount")), ADMINS | SUPERVISORS),
    "policy": (lambda api, u: _ok(api, u, "{ policy { version } }"), ADMINS),
    "accessLog": (probe_access_log, ACCESS_LOG_READERS),
    "auditEvents": (probe_audit, AUDIT_READERS),
    "createUser": (probe_create_user, ADMINS),
    "setUserActive": (probe_set_user_active, ADMINS),
    "grantRole": (probe_grant_role, ADMINS),
    "revokeRole": (probe_revoke_role, ADMINS),
    "addPolicyRule": (probe_add_rule, ADMINS),
    "removePolicyRule": (probe_remove_rule, ADMINS),
}

PROBES.update(LABOUR_PROBES)

# Enum labels are reference data (policy: member, reference, read): every agency reads them.
LABEL_PROBES: dict[str, tuple[Probe, set[str]]] = {
    "enumLabels": (lambda api, u: _ok(api, u, '{ enumLabels(enum: "CaseStage") { label } }',
                                      None, ("enumLabels",)), EVERYONE),
}
PROBES.update(LABEL_PROBES)


async def probe_audit_trail(api: Api, user: str) -> bool:
    await _once(api, "case", lambda: fresh_case(api, "edu_officer"))
    return await _ok(api, user, "{ auditTrail(first: 5) { totalCount } }", None,
                     ("auditTrail", "totalCount"))


# The schema conventions (issue 18): the connection that replaces auditEvents.
CONVENTION_PROBES: dict[str, tuple[Probe, set[str]]] = {
    "auditTrail": (probe_audit_trail, AUDIT_READERS),
}
PROBES.update(CONVENTION_PROBES)


# --- the register (issue 14): schools, children, register changes, deferrals ---------------

EDU = {"edu_officer", "edu_admin"}
REGISTER_WRITERS = EDU | {"principal"}
PUPIL = """mutation($s: ID!, $g: Int!, $start: Date) { createChild(input: {details: {name:
    "矩阵测试", sex: FEMALE, birthDate: "2012-05-01", registerType: OTHER, townshipCode:
    "370406101"}, placement: {school: $s, grade: $g, startedOn: $start}, guardians: [{name:
    "矩阵家长", relation: MOTHER}]}) { child { id guardians { id } } } }"""
CHANGE_OUT = "{ change { id } userErrors { code } }"


async def _register_schools(api: Api) -> dict[str, str]:
    async def lookup() -> dict[str, str]:
        pupil = await api.gql("{ children(first: 1) { edges { node { enrolment { school { id } }"
                              " } } } }", user="principal")
        own = pupil["children"]["edges"][0]["node"]["enrolment"]["school"]["id"]
        found = {"own": own}
        for kind in ("PRIMARY", "JUNIOR"):
            data = await api.gql(f'{{ schools(kind: {kind}, jurisdictionCode: "370406", first: '
                                 "5) { edges { node { id } } } }")
            found[kind] = next(e["node"]["id"] for e in data["schools"]["edges"]
                               if e["node"]["id"] != own)
        made = await api.gql("""mutation { createSchool(input: {name: "矩阵职业中专", kind:
            SECONDARY_VOCATIONAL, townshipCode: "370406101"}) { school { id } } }""")
        found["VOCATIONAL"] = made["createSchool"]["school"]["id"]
        return found

    schools: dict[str, str] = await _once(api, "register_schools", lookup)
    return schools


async def _pupil(api: Api, school: str = "own", grade: int = 3,
                 started: str | None = None) -> dict[str, Any]:
    schools = await _register_schools(api)
    data = await api.gql(PUPIL, {"s": schools[school], "g": grade, "start": started})
    child: dict[str, Any] = data["createChild"]["child"]
    return child


async def _change(api: Api, kind: str) -> str:
    """A register change of a fresh pupil, prepared by its principal and the bureau."""
    schools = await _register_schools(api)
    child = await _pupil(api)
    if kind == "suspension":
        data = await api.gql("""mutation($c: ID!) { requestSuspension(input: {childId: $c,
            startsOn: "2026-11-03", endsOn: "2027-01-31", reason: "因病"}) """ + CHANGE_OUT + " }",
                             {"c": child["id"]}, user="principal")
        change: str = data["requestSuspension"]["change"]["id"]
        await api.gql("mutation($x: ID!) { decideRegisterChange(input: {changeId: $x, approve: "
                      "true}) " + CHANGE_OUT + " }", {"x": change})
        return change
    target = ('toDistrictCode: "110101"' if kind == "out"
              else f'toSchool: "{schools["PRIMARY"]}"')
    data = await api.gql("mutation($c: ID!) { requestTransfer(input: {childId: $c, reason: "
                         f'"迁居", {target}}}) ' + CHANGE_OUT + " }", {"c": child["id"]},
                         user="principal")
    change = data["requestTransfer"]["change"]["id"]
    if kind == "out":
        await api.gql("mutation($x: ID!) { decideRegisterChange(input: {changeId: $x, approve: "
                      "true}) " + CHANGE_OUT + " }", {"x": change})
    return change


def register_probe(mutation: str, field: str, prepare: Callable[[Api], Awaitable[Any]]) -> Probe:
    """A mutation on a prepared target (``$t``), made afresh once an allowed user used it."""
    async def probe(api: Api, user: str) -> bool:
        target = await _target(api, lambda: prepare(api))
        return _spent(api, await _ok(api, user, mutation, {"t": target}, (field,)))

    return probe


# --- statistics, periodic reports, accountability (issue 16) ---------------------------------
STATS_READERS = {"edu_officer", "edu_admin", "inspector", "principal", "township_officer"}
ITEMS = """{ accountabilityItems(first: 20) { totalCount edges { node { id ruleCode version } } }
    }"""


async def _accountability_item(api: Api) -> tuple[str, int]:
    """A dropout in the principal's school, and the monthly scan's item on its township
    (GH 三(六): a township's dropouts count in its assessment), not yet reviewed."""
    case, version = await fresh_case(api, "edu_officer")
    # (the demo child's case may be past the mark already: then nothing changes)
    await api.gql(MARK_AS_PRINCIPAL, {"case": case, "v": version}, user="principal")
    state = api.client._transport.app.state.lianbao  # type: ignore[attr-defined]
    async with state.sessions() as session:
        district = await session.get(Jurisdiction, "370406")
        await scan_district(session, district, NOW)
        await session.commit()
    edges = (await api.gql(ITEMS, user="inspector"))["accountabilityItems"]["edges"]
    item = next(e["node"] for e in edges if e["node"]["ruleCode"] == "township_assessment")
    return item["id"], item["version"]


async def probe_accountability_items(api: Api, user: str) -> bool:
    await _once(api, "item", lambda: _accountability_item(api))
    return await _ok(api, user, ITEMS, None, ("accountabilityItems", "totalCount"))


async def probe_review_item(api: Api, user: str) -> bool:
    item, version = await _target(api, lambda: _accountability_item(api))
    return _spent(api, await _ok(api, user, """mutation($i: ID!, $v: Int!) {
        reviewAccountabilityItem(input: {itemId: $i, expectedVersion: $v, decision: CONFIRM})
        { item { id } userErrors { code } } }""", {"i": item, "v": version},
                                 ("reviewAccountabilityItem",)))


SCHOOL_REPORTS = """{ reports(filter: {status: DRAFT}, first: 1) { edges { node { id version
    status } } } }"""


async def _open_reports(api: Api) -> None:
    """The deadline engine's report job, once per test: every unit's reports and tasks."""
    state = api.client._transport.app.state.lianbao  # type: ignore[attr-defined]
    async with state.sessions() as session:
        await open_reports(session, NOW, TickReport())
        await session.commit()


async def probe_reports(api: Api, user: str) -> bool:
    await _once(api, "reports", lambda: _open_reports(api))
    return await _ok(api, user, "{ reports(first: 5) { totalCount } }", None,
                     ("reports", "totalCount"))


async def _school_report(api: Api, submitted: bool) -> tuple[str, int]:
    """A draft report of the principal's school (monthly, end of March, end of October),
    submitted if asked, as a probe's target."""
    await _once(api, "reports", lambda: _open_reports(api))
    edges = (await api.gql(SCHOOL_REPORTS, user="principal"))["reports"]["edges"]
    node = edges[0]["node"]
    if submitted:
        done = await api.gql("""mutation($r: ID!) { submitReport(input: {reportId: $r})
            { report { version } userErrors { code } } }""", {"r": node["id"]}, user="principal")
        node["version"] = done["submitReport"]["report"]["version"]
    return node["id"], node["version"]


def report_probe(mutation: str, field: str, submitted: bool) -> Probe:
    async def probe(api: Api, user: str) -> bool:
        report, version = await _target(api, lambda: _school_report(api, submitted))
        return _spent(api, await _ok(api, user, mutation, {"r": report, "v": version},
                                     (field,)))

    return probe


async def _own_school(api: Api) -> str:
    return (await _register_schools(api))["own"]


async def _create_child(api: Api, user: str) -> bool:
    school = await _own_school(api)
    return await _ok(api, user, PUPIL, {"s": school, "g": 2}, ("createChild",))


async def _child_id(api: Api) -> str:
    return str((await _pupil(api))["id"])


async def _guardian_id(api: Api) -> str:
    return str((await _pupil(api))["guardians"][0]["id"])


async def _unplaced(api: Api) -> dict[str, str]:
    data = await api.gql("""mutation { createChild(input: {details: {name: "未入学", sex: MALE,
        birthDate: "2019-03-01", registerType: OTHER, townshipCode: "370406101"}})
        { child { id } } }""")
    return {"child": data["createChild"]["child"]["id"],
            "school": (await _register_schools(api))["own"]}


async def _graduate(api: Api) -> str:
    return str((await _pupil(api, "JUNIOR", 9, "2017-09-01"))["id"])


async def _leaver(api: Api) -> str:
    schools = await _register_schools(api)
    child = await _pupil(api, "JUNIOR", 9)
    await api.gql("""mutation($c: ID!, $s: ID!) { enrolChild(input: {childId: $c, springEntrant:
        true, placement: {school: $s}}) { child { id } } }""",
                  {"c": child["id"], "s": schools["VOCATIONAL"]})
    return str(child["id"])


async def _deferral(api: Api, ground: str = "ILLNESS") -> str:
    child = await _pupil(api)
    data = await api.gql("""mutation($c: ID!, $g: DeferralGround!) { applyForDeferral(input:
        {childId: $c, kind: EXEMPTION, ground: $g, appliedOn: "2026-09-03", applicantName:
        "矩阵家长", applicantRelation: MOTHER, startsOn: "2026-09-01", endsOn: "2027-08-31"})
        { deferral { id } } }""", {"c": child["id"], "g": ground})
    deferral: str = data["applyForDeferral"]["deferral"]["id"]
    return deferral


async def _enrol(api: Api, user: str) -> bool:
    target = await _target(api, lambda: _unplaced(api))
    return _spent(api, await _ok(api, user, """mutation($c: ID!, $s: ID!) { enrolChild(input:
        {childId: $c, placement: {school: $s}}) { child { id } userErrors { code } } }""",
                                 {"c": target["child"], "s": target["school"]}, ("enrolChild",)))


async def _register_list(api: Api, user: str, query: str, field: str) -> bool:
    await _once(api, "register_listed", lambda: _change(api, "in"))
    await _once(api, "deferral_listed", lambda: _deferral(api))
    return await _ok(api, user, query, None, (field, "totalCount"))


REGISTER_PROBES: dict[str, tuple[Probe, set[str]]] = {
    "createSchool": (lambda api, u: _ok(api, u, """mutation($n: String!) { createSchool(input:
        {name: $n, kind: PRIMARY, townshipCode: "370406101"}) { school { id }
        userErrors { code } } }""", {"n": f"矩阵小学{u}"}, ("createSchool",)), EDU),
    "updateSchool": (register_probe("""mutation($t: ID!) { updateSchool(input: {schoolId: $t,
        address: "新址1号"}) { school { id } userErrors { code } } }""", "updateSchool",
                                    _own_school), EDU),
    "createChild": (lambda api, u: _create_child(api, u), REGISTER_WRITERS),
    "updateChild": (register_probe("""mutation($t: ID!) { updateChild(input: {childId: $t,
        details: {village: "西村"}}) { child { id } userErrors { code } } }""", "updateChild",
                                   _child_id), REGISTER_WRITERS),
    "addGuardian": (register_probe("""mutation($t: ID!) { addGuardian(input: {childId: $t,
        guardian: {name: "祖母", relation: GRANDMOTHER}}) { child { id } userErrors { code } } }""",
                                   "addGuardian", _child_id), REGISTER_WRITERS),
    "updateGuardian": (register_probe("""mutation($t: ID!) { updateGuardian(input: {guardianId:
        $t, phone: "13700000000"}) { child { id } userErrors { code } } }""", "updateGuardian",
                                      _guardian_id), REGISTER_WRITERS),
    "removeGuardian": (register_probe("""mutation($t: ID!) { removeGuardian(input: {guardianId:
        $t, reason: "登记有误"}) { child { id } userErrors { code } } }""", "removeGuardian",
                                      _guardian_id), REGISTER_WRITERS),
    # the unplaced child sits in its township's domain: the bureau enrols it
    "enrolChild": (_enrol, EDU),
    "requestTransfer": (register_probe("""mutation($t: ID!) { requestTransfer(input: {childId:
        $t, toDistrictCode: "110101", reason: "迁居"}) """ + CHANGE_OUT + " }", "requestTransfer",
                                       _child_id), REGISTER_WRITERS),
    "requestSuspension": (register_probe("""mutation($t: ID!) { requestSuspension(input:
        {childId: $t, startsOn: "2026-11-03", endsOn: "2027-01-31", reason: "因病"}) """
                                         + CHANGE_OUT + " }", "requestSuspension", _child_id),
                          {"principal"}),
    # a transfer to a school without a principal user: the bureau decides for it
    "decideRegisterChange": (register_probe("""mutation($t: ID!) { decideRegisterChange(input:
        {changeId: $t, approve: false, reason: "学位已满"}) """ + CHANGE_OUT + " }",
                                            "decideRegisterChange",
                                            lambda api: _change(api, "in")), EDU),
    "receiveTransfer": (register_probe("""mutation($t: ID!) { receiveTransfer(input: {changeId:
        $t}) """ + CHANGE_OUT + " }", "receiveTransfer", lambda api: _change(api, "out")), EDU),
    "resumeSchooling": (register_probe("""mutation($t: ID!) { resumeSchooling(input: {changeId:
        $t, resumedOn: "2026-12-01"}) """ + CHANGE_OUT + " }", "resumeSchooling",
                                       lambda api: _change(api, "suspension")),
                        REGISTER_WRITERS),
    "certifyGraduation": (register_probe("""mutation($t: ID!) { certifyGraduation(input:
        {childId: $t, graduatedOn: "2026-07-01"}) { child { id } userErrors { code } } }""",
                                         "certifyGraduation", _graduate), EDU),
    "recordEarlyLeaving": (register_probe("""mutation($t: ID!) { recordEarlyLeaving(input:
        {childId: $t, leftOn: "2026-11-01", reason: "外出打工"}) { child { id } userErrors
        { code } } }""", "recordEarlyLeaving", _leaver), EDU),
    "applyForDeferral": (register_probe("""mutation($t: ID!) { applyForDeferral(input: {childId:
        $t, kind: DEFERRAL, ground: ILLNESS, appliedOn: "2026-09-02", applicantName: "家长",
        applicantRelation: FATHER, startsOn: "2026-09-01", endsOn: "2027-08-31"}) { deferral
        { id } userErrors { code } } }""", "applyForDeferral", _child_id), REGISTER_WRITERS),
    "recordDeferralAssessment": (register_probe("""mutation($t: ID!) { recordDeferralAssessment(
        input: {deferralId: $t, confirmed: true, assessedOn: "2026-09-20"}) { deferral { id }
        userErrors { code } } }""", "recordDeferralAssessment",
                                                lambda api: _deferral(api, "UNABLE_TO_LEARN")),
                                 {"disabled_fed"}),
    "decideDeferral": (register_probe("""mutation($t: ID!) { decideDeferral(input: {deferralId:
        $t, grant: true}) { deferral { id } userErrors { code } } }""", "decideDeferral",
                                      _deferral), EDU),
    "registerChanges": (lambda api, u: _register_list(api, u, "{ registerChanges(first: 5) "
                                                      "{ totalCount } }", "registerChanges"),
                        CHILD_READERS - LIST_BOUND),
    "deferrals": (lambda api, u: _register_list(api, u, "{ deferrals(first: 5) { totalCount } }",
                                                "deferrals"), CHILD_READERS - LIST_BOUND),
}

PROBES.update(REGISTER_PROBES)


# --- imports (issue 14): each agency its own list; the bureau every list (ST 1) -------------

IMPORT_READERS = {"edu_officer", "edu_admin", "police_officer", "poverty_office",
                  "disabled_fed", "civil_affairs"}
REGISTER_IMPORTERS = {"edu_officer", "edu_admin"}


async def _fresh_job(api: Api) -> str:
    count = api.scratch["jobs"] = api.scratch.get("jobs", 0) + 1
    return await register_list(api, f"矩阵{count}")


async def _candidate(api: Api) -> str:
    count = api.scratch["candidates"] = api.scratch.get("candidates", 0) + 1
    return await match_candidate(api, f"候选{count}")


def import_probe(mutation: str, field: str, make: Callable[[Api], Awaitable[str]],
                 arg: str = "importId") -> Probe:
    async def probe(api: Api, user: str) -> bool:
        target = await _target(api, lambda: make(api))
        query = (f"mutation($id: ID!) {{ {mutation}(input: {{{arg}: $id}}) "
                 "{ userErrors { code } } }")
        return _spent(api, await _ok(api, user, query, {"id": target}, (field,)))

    return probe


async def probe_import_jobs(api: Api, user: str) -> bool:
    async def every_source() -> None:
        await register_list(api, "列表")
        for source, header in (("police_household", "姓名,公民身份号码,出生日期"),
                               ("poverty_household", "成员姓名,成员证件号码,出生日期,户类型"),
                               ("disabled_federation", "姓名,身份证号,出生日期"),
                               ("civil_affairs", "姓名,身份证号,出生日期,类别")):
            # one bad row each (a short ID number), so that each has a reject to read
            bad = ",".join(["坏", "123", "2015-01-01", "孤儿"][:header.count(",") + 1])
            await staged_list(api, source, f"{header}\n{bad}\n".encode())

    await _once(api, "jobs_of_every_source", every_source)
    return await _ok(api, user, "{ importJobs(first: 5) { totalCount } }", None,
                     ("importJobs", "totalCount"))


async def probe_rejects(api: Api, user: str) -> bool:
    await probe_import_jobs(api, "edu_officer")
    return await _ok(api, user, "{ importRejects(first: 5) { totalCount } }", None,
                     ("importRejects", "totalCount"))


async def probe_candidates(api: Api, user: str) -> bool:
    await _once(api, "candidate", lambda: _candidate(api))
    return await _ok(api, user, "{ matchCandidates(first: 5) { totalCount } }", None,
                     ("matchCandidates", "totalCount"))


IMPORT_PROBES: dict[str, tuple[Probe, set[str]]] = {
    "importJobs": (probe_import_jobs, IMPORT_READERS),
    "importRejects": (probe_rejects, IMPORT_READERS),
    "matchCandidates": (probe_candidates, REGISTER_IMPORTERS),
    "previewImport": (import_probe("previewImport", "previewImport", _fresh_job),
                      REGISTER_IMPORTERS),
    "applyImport": (import_probe("applyImport", "applyImport", _fresh_job), REGISTER_IMPORTERS),
    "cancelImport": (import_probe("cancelImport", "cancelImport", _fresh_job),
                     REGISTER_IMPORTERS),
    "confirmMatch": (import_probe("confirmMatch", "confirmMatch", _candidate, "candidateId"),
                     REGISTER_IMPORTERS),
    "rejectMatch": (import_probe("rejectMatch", "rejectMatch", _candidate, "candidateId"),
                    REGISTER_IMPORTERS),
}

PROBES.update(IMPORT_PROBES)


BLACKLIST_WRITERS = {"edu_officer", "edu_admin", "police_officer", "market_officer"}


async def _township_code(api: Api) -> str:
    async def lookup() -> str:
        data = await api.gql("{ me { agency { jurisdiction { code } } } }",
                             user="township_officer")
        code: str = data["me"]["agency"]["jurisdiction"]["code"]
        return code

    found: str = await _once(api, "township_code", lookup)
    return found


LIST_ENTRY = """mutation($t: String!) { listSubstituteSchooling(input: {townshipCode: $t,
    name: "明德国学馆", kind: GUOXUE_BAN, address: "东村西街 12 号", evidence: "走访发现",
    foundOn: "2026-11-01"}) { entry { id version } userErrors { code } } }"""


async def _entry(api: Api) -> tuple[str, int]:
    made = await api.gql(LIST_ENTRY, {"t": await _township_code(api)}, user="edu_officer")
    node = made["listSubstituteSchooling"]["entry"]
    return node["id"], node["version"]


async def probe_entries(api: Api, user: str) -> bool:
    await _once(api, "entry", lambda: _entry(api))
    return await _ok(api, user, "{ substituteSchooling(first: 5) { totalCount } }", None,
                     ("substituteSchooling", "totalCount"))


async def probe_list_entry(api: Api, user: str) -> bool:
    return await _ok(api, user, LIST_ENTRY, {"t": await _township_code(api)},
                     ("listSubstituteSchooling",))


async def probe_lift_entry(api: Api, user: str) -> bool:
    entry, version = await _target(api, lambda: _entry(api))
    return _spent(api, await _ok(api, user, """mutation($e: ID!, $v: Int!) {
        liftSubstituteSchooling(input: {entryId: $e, expectedVersion: $v, reason: "已取缔"})
        { entry { id } userErrors { code } } }""", {"e": entry, "v": version},
                                 ("liftSubstituteSchooling",)))


ACCOUNT_PROBES: dict[str, tuple[Probe, set[str]]] = {
    "reports": (probe_reports, {"edu_officer", "edu_admin", "inspector", "principal"}),
    "submitReport": (report_probe("""mutation($r: ID!, $v: Int!) { submitReport(input:
        {reportId: $r, expectedVersion: $v}) { report { id } userErrors { code } } }""",
                                  "submitReport", False), {"principal"}),
    "reviewReport": (report_probe("""mutation($r: ID!, $v: Int!) { reviewReport(input:
        {reportId: $r, expectedVersion: $v, decision: APPROVE}) { report { id } userErrors
        { code } } }""", "reviewReport", True), {"edu_officer", "edu_admin"}),
    # without a jurisdiction: the caller's own unit (a principal's school, a township)
    "statistics": (lambda api, u: _ok(api, u, "{ statistics { total { enrolled } } }", None,
                                      ("statistics", "total", "enrolled")), STATS_READERS),
    "statisticsChildren": (lambda api, u: _ok(api, u, """{ statisticsChildren(measure: ENROLLED,
        first: 1) { totalCount } }""", None, ("statisticsChildren", "totalCount")),
                           STATS_READERS),
    "accountabilityItems": (probe_accountability_items,
                            {"edu_officer", "edu_admin", "inspector", "township_officer"}),
    "reviewAccountabilityItem": (probe_review_item, {"inspector"}),
    "substituteSchooling": (probe_entries, BLACKLIST_WRITERS | {"inspector"}),
    "listSubstituteSchooling": (probe_list_entry, BLACKLIST_WRITERS),
    "liftSubstituteSchooling": (probe_lift_entry, BLACKLIST_WRITERS),
}
PROBES.update(ACCOUNT_PROBES)

# --- the three ledgers (issue 15): the poverty office reads its households' rows only --------
LEDGER_READERS = {"edu_officer", "edu_admin", "inspector", "principal", "township_officer"}


def _ledger_probe(field: str, key: str | None = None,
                  make: Callable[[Api], Awaitable[Any]] | None = None) -> Probe:
    """The ledger lists something for the user (after ``make``: a case, a dropout)."""

    async def probe(api: Api, user: str) -> bool:
        if key is not None and make is not None:
            await _once(api, key, lambda: make(api))
        return await _ok(api, user, f"{{ {field}(first: 1) {{ totalCount }} }}", None,
                         (field, "totalCount"))

    return probe


LEDGER_PROBES: dict[str, tuple[Probe, set[str]]] = {
    "schoolAgeLedger": (_ledger_probe("schoolAgeLedger"), LEDGER_READERS | {"poverty_office"}),
    "suspectedLedger": (_ledger_probe("suspectedLedger", "case",
                                      lambda api: fresh_case(api, "edu_officer")), LEDGER_READERS),
    "dropoutLedger": (_ledger_probe("dropoutLedger", "marked_case", _marked_case),
                      LEDGER_READERS),
}
PROBES.update(LEDGER_PROBES)
# --- home visits (ST 5) and the special-needs census (ST 7) ----------------------------------

VISIT_READERS = {"edu_officer", "edu_admin", "inspector", "township_officer", "principal",
                 "head_teacher"}
SCHOOL_STAFF = {"principal", "head_teacher"}
RECORD_VISIT = """mutation($c: ID!) { recordHomeVisit(input: {childId: $c, visitedOn:
    "2026-10-20", visitors: "班主任", met: "母亲", findings: "家庭支持孩子上学"}) { visit { id
    version } userErrors { code } } }"""


async def _visit(api: Api) -> tuple[str, int]:
    made = await api.gql(RECORD_VISIT, {"c": await pupil_of_principal(api)}, user="head_teacher")
    node = made["recordHomeVisit"]["visit"]
    return node["id"], node["version"]


async def probe_visits(api: Api, user: str) -> bool:
    await _once(api, "visit", lambda: _visit(api))
    return await _ok(api, user, "{ homeVisits(first: 5) { totalCount } }", None,
                     ("homeVisits", "totalCount"))


async def probe_record_visit(api: Api, user: str) -> bool:
    child = await _once(api, "pupil", lambda: pupil_of_principal(api))
    return await _ok(api, user, RECORD_VISIT, {"c": child}, ("recordHomeVisit",))


async def probe_amend_visit(api: Api, user: str) -> bool:
    visit, version = await _target(api, lambda: _visit(api))
    return _spent(api, await _ok(api, user, """mutation($v: ID!, $n: Int!) { amendHomeVisit(
        input: {visitId: $v, expectedVersion: $n, findings: "补记"}) { visit { id } userErrors
        { code } } }""", {"v": visit, "n": version}, ("amendHomeVisit",)))


async def _open_census(api: Api) -> None:
    """The census job, once per test: every school's census of the term and its task."""
    state = api.client._transport.app.state.lianbao  # type: ignore[attr-defined]
    async with state.sessions() as session:
        await open_census(session, NOW, TickReport())
        await session.commit()


async def probe_censuses(api: Api, user: str) -> bool:
    await _once(api, "census", lambda: _open_census(api))
    return await _ok(api, user, "{ specialNeedsCensuses(first: 5) { totalCount } }", None,
                     ("specialNeedsCensuses", "totalCount"))


async def _school_census(api: Api) -> tuple[str, int]:
    await _once(api, "census", lambda: _open_census(api))
    data = await api.gql("{ specialNeedsCensuses(first: 1) { edges { node { id version } } } }",
                         user="principal")
    node = data["specialNeedsCensuses"]["edges"][0]["node"]
    return node["id"], node["version"]


async def probe_submit_census(api: Api, user: str) -> bool:
    census, version = await _target(api, lambda: _school_census(api))
    return _spent(api, await _ok(api, user, """mutation($c: ID!, $v: Int!) {
        submitSpecialNeedsCensus(input: {censusId: $c, expectedVersion: $v, categories: []})
        { census { id } userErrors { code } } }""", {"c": census, "v": version},
                                 ("submitSpecialNeedsCensus",)))


PREVENTION_PROBES: dict[str, tuple[Probe, set[str]]] = {
    "homeVisits": (probe_visits, VISIT_READERS),
    "recordHomeVisit": (probe_record_visit, SCHOOL_STAFF),
    "amendHomeVisit": (probe_amend_visit, SCHOOL_STAFF),
    # without an input: the caller's own unit (the principal's school, the township, the district)
    "homeVisitCoverage": (lambda api, u: _ok(api, u, "{ homeVisitCoverage { pupils } }", None,
                                             ("homeVisitCoverage", "pupils")), VISIT_READERS),
    # the pupils behind the figures are children: their readers only (not the inspectorate)
    "homeVisitGaps": (lambda api, u: _ok(api, u, "{ homeVisitGaps(first: 1) { totalCount } }",
                                         None, ("homeVisitGaps", "totalCount")),
                      VISIT_READERS & CHILD_READERS),
    "specialNeedsCensuses": (probe_censuses, VISIT_READERS),
    "submitSpecialNeedsCensus": (probe_submit_census, {"principal"}),
}
PROBES.update(PREVENTION_PROBES)


# --- the three comparisons (四查三比对, issue 15) ---

CROSSCHECK_RUN = """mutation { runCrosscheck(input: {districtCode: "370406", asOf: "2026-09-30"})
  { crosscheckRun { id } userErrors { code } } }"""


async def _crosscheck_findings(api: Api) -> list[str]:
    """A school-age child on the police list only, in the township officer's township, from
    a registered-poor household: after a run, an UNREGISTERED and a POVERTY_DROPOUT finding."""
    township = await _township_code(api)
    born = dt.date(2016, 5, 1)
    api.scratch["crosscheck_made"] = made = api.scratch.get("crosscheck_made", 0) + 1
    number = make_id("370406", born, 900 + made)
    police = f"姓名,公民身份号码,出生日期,乡镇代码\n未入学,{number},{born},{township}\n"
    poverty = f"成员姓名,成员证件号码,出生日期,户类型\n未入学,{number},{born},脱贫户\n"
    for source, body in (("police_household", police), ("poverty_household", poverty)):
        job = await staged_list(api, source, body.encode())
        await api.gql(IMPORT_APPLY, {"id": job})
    await api.gql(CROSSCHECK_RUN)
    data = await api.gql("""{ crosscheckFindings(filter: {status: OPEN, kind: UNREGISTERED},
        first: 50) { edges { node { id } } } }""")
    return [e["node"]["id"] for e in data["crosscheckFindings"]["edges"]]


async def probe_crosscheck_findings(api: Api, user: str) -> bool:
    await _once(api, "crosscheck", lambda: _crosscheck_findings(api))
    return await _ok(api, user, "{ crosscheckFindings(first: 5) { totalCount } }", None,
                     ("crosscheckFindings", "totalCount"))


async def probe_crosscheck_runs(api: Api, user: str) -> bool:
    await _once(api, "crosscheck_run", lambda: api.gql(CROSSCHECK_RUN))
    return await _ok(api, user, "{ crosscheckRuns(first: 5) { totalCount } }", None,
                     ("crosscheckRuns", "totalCount"))


async def probe_resolve_verification(api: Api, user: str) -> bool:
    async def fresh() -> str:
        ids: list[str] = await _crosscheck_findings(api)
        return ids[-1]

    target = await _target(api, fresh)
    return _spent(api, await _ok(api, user, """mutation($f: ID!) { resolveVerification(input:
        {crosscheckFindingId: $f, outcome: NOT_FOUND}) { crosscheckFinding { id }
        userErrors { code } } }""",
                                 {"f": target}, ("resolveVerification",)))


CROSSCHECK_PROBES: dict[str, tuple[Probe, set[str]]] = {
    "runCrosscheck": (lambda api, u: _ok(api, u, CROSSCHECK_RUN, None, ("runCrosscheck",)),
                      {"edu_officer", "edu_admin"}),
    "crosscheckRuns": (probe_crosscheck_runs, {"edu_officer", "edu_admin", "inspector"}),
    "crosscheckFindings": (probe_crosscheck_findings,
                           {"edu_officer", "edu_admin", "inspector", "township_officer",
                            "poverty_office"}),
    "resolveVerification": (probe_resolve_verification,
                            {"edu_officer", "edu_admin", "township_officer"}),
}
PROBES.update(CROSSCHECK_PROBES)


# --- the police household-register clean-up (issue 15, ST 8) ---------------------------------
CORRECTION_READERS = {"police_officer", "edu_officer", "edu_admin", "poverty_office",
                      "disabled_fed", "civil_affairs", "inspector"}
RECORD_CORRECTION = """mutation($t: ID!) { recordHouseholdCorrection(input: {kind: MISSING,
    effectiveOn: "2026-11-01", childId: $t}) { correction { id } userErrors { code } } }"""


async def _correction(api: Api) -> str:
    """A MISSING correction of a fresh pupil, recorded by the police."""
    data = await api.gql(RECORD_CORRECTION, {"t": await _child_id(api)}, user="police_officer")
    found: str = data["recordHouseholdCorrection"]["correction"]["id"]
    return found


async def _correction_task(api: Api) -> str:
    """The education bureau's task of a fresh correction (due in the district's 10 days)."""
    await _correction(api)
    data = await api.gql("""{ agencyQueue(filter: {dueAfter: "2026-11-11", dueBefore:
        "2026-11-13"}, first: 100) { edges { node { id kind } } } }""")
    found: str = [e["node"]["id"] for e in data["agencyQueue"]["edges"]
                  if e["node"]["kind"] == "household_correction"][-1]
    return found


async def probe_corrections(api: Api, user: str) -> bool:
    await _once(api, "correction_listed", lambda: _correction(api))
    return await _ok(api, user, "{ householdCorrections(first: 5) { totalCount } }", None,
                     ("householdCorrections", "totalCount"))


HOUSEHOLD_PROBES: dict[str, tuple[Probe, set[str]]] = {
    "householdCorrections": (probe_corrections, CORRECTION_READERS),
    "recordHouseholdCorrection": (register_probe(RECORD_CORRECTION, "recordHouseholdCorrection",
                                                 _child_id), {"police_officer"}),
    "recordHouseholdCorrections": (register_probe("""mutation($t: ID!) {
        recordHouseholdCorrections(input: {districtCode: "370406", rows: [{kind: DECEASED,
        effectiveOn: "2026-11-01", childId: $t}]}) { batch { recorded } userErrors { code } }
        }""", "recordHouseholdCorrections", _child_id), {"police_officer"}),
    "withdrawHouseholdCorrection": (register_probe("""mutation($t: ID!) {
        withdrawHouseholdCorrection(input: {correctionId: $t, reason: "错录"}) { correction
        { id } userErrors { code } } }""", "withdrawHouseholdCorrection", _correction),
                                    {"police_officer"}),
    "applyHouseholdCorrection": (register_probe("""mutation($t: ID!) {
        applyHouseholdCorrection(input: {taskId: $t}) { correction { id } userErrors { code }
        } }""", "applyHouseholdCorrection", _correction_task), {"edu_officer", "edu_admin"}),
}
PROBES.update(HOUSEHOLD_PROBES)


# --- supervision (督导检查, issue 16): the inspectorate records and reviews, the unit rectifies --
RECORD_SUPERVISION = """mutation($a: ID!) { recordSupervision(input: {subjectAgencyId: $a,
    title: "控辍保学专项督导", visitedOn: "2026-10-30", inspectors: "林海",
    findings: [{description: "台账未按月更新"}]}) { supervision { id findings { id } }
    userErrors { code } } }"""
REPORT_RECTIFICATION = """mutation($f: ID!) { reportRectification(input: {supervisionFindingId: $f,
    rectification: "已补齐"}) { finding { id } userErrors { code } } }"""


async def _township_agency(api: Api) -> str:
    async def lookup() -> str:
        data = await api.gql("{ me { agency { id } } }", user="township_officer")
        gid: str = data["me"]["agency"]["id"]
        return gid

    found: str = await _once(api, "township_agency", lookup)
    return found


async def _finding(api: Api, reported: bool = False) -> str:
    """A finding of a supervision of the township officer's own township, reported rectified
    by the township when ``reported``."""
    made = await api.gql(RECORD_SUPERVISION, {"a": await _township_agency(api)}, user="inspector")
    finding: str = made["recordSupervision"]["supervision"]["findings"][0]["id"]
    if reported:
        await api.gql(REPORT_RECTIFICATION, {"f": finding}, user="township_officer")
    return finding


async def probe_supervisions(api: Api, user: str) -> bool:
    await _once(api, "finding", lambda: _finding(api))
    return await _ok(api, user, "{ supervisions(first: 5) { totalCount } }", None,
                     ("supervisions", "totalCount"))


async def probe_supervision_results(api: Api, user: str) -> bool:
    code = (await _township_code(api))[:6]  # the demo district, not the caller's own
    return await _ok(api, user, """query($c: String!) { supervisionResults(input:
        {jurisdictionCode: $c, periodStart: "2026-09-01", periodEnd: "2026-11-30"},
        format: XLSX) { sizeBytes } }""", {"c": code}, ("supervisionResults", "sizeBytes"))


async def probe_record_supervision(api: Api, user: str) -> bool:
    return await _ok(api, user, RECORD_SUPERVISION, {"a": await _township_agency(api)},
                     ("recordSupervision",))


async def probe_report_rectification(api: Api, user: str) -> bool:
    finding = await _target(api, lambda: _finding(api))
    return _spent(api, await _ok(api, user, REPORT_RECTIFICATION, {"f": finding},
                                 ("reportRectification",)))


async def probe_review_rectification(api: Api, user: str) -> bool:
    finding = await _target(api, lambda: _finding(api, reported=True))
    return _spent(api, await _ok(api, user, """mutation($f: ID!) { reviewRectification(input:
        {supervisionFindingId: $f, decision: ACCEPT}) { finding { id } userErrors { code } } }""",
                                 {"f": finding}, ("reviewRectification",)))


SUPERVISION_PROBES: dict[str, tuple[Probe, set[str]]] = {
    "supervisions": (probe_supervisions,
                     {"inspector", "edu_officer", "edu_admin", "township_officer"}),
    "supervisionResults": (probe_supervision_results, {"inspector", "edu_officer", "edu_admin"}),
    "recordSupervision": (probe_record_supervision, {"inspector"}),
    "reportRectification": (probe_report_rectification, {"township_officer"}),
    "reviewRectification": (probe_review_rectification, {"inspector"}),
}
PROBES.update(SUPERVISION_PROBES)


def test_every_operation_is_covered() -> None:
    schema = build_schema()
    graphql_schema = schema._schema
    operations = set(graphql_schema.query_type.fields)  # type: ignore[union-attr]
    if graphql_schema.mutation_type is not None:
        operations |= set(graphql_schema.mutation_type.fields)
    missing, stale = operations - set(PROBES), set(PROBES) - operations
    assert not missing and not stale, f"missing: {missing}, stale: {stale}"


@pytest.mark.parametrize("operation", sorted(PROBES))
async def test_agency_by_operation(api: Api, operation: str) -> None:
    probe, allowed = PROBES[operation]
    outcome = {user: await probe(api, user) for user in USERS}
    expected = {user: user in allowed for user in USERS}
    assert outcome == expected


