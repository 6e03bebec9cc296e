"""The schema conventions of issue 18: one payload per mutation, closed codes and objects where
a client wants them, connections instead of plain lists, global ids instead of raw keys; and
every replaced field still served, deprecated, until clients have moved (CHANGELOG.md)."""

from __future__ import annotations

import base64
from datetime import timedelta

from graphql import GraphQLNonNull, GraphQLObjectType

from schema.root import build_schema
from tests.helpers import Api, gid, report
from workflow import errors
from workflow.clock import FixedClock
from workflow.errors import UserErrorCode

DEPRECATED = {
    ("UserError", "code"): "errorCode",
    ("Task", "kind"): "taskKind",
    ("Task", "agency"): "agencyKind",
    ("LegalDocument", "kind"): "documentKind",
    ("Query", "auditEvents"): "auditTrail",
    ("Ladder", "ladderId"): "id",
    ("Me", "userId"): "id",
    ("AccessLogEntry", "recordId"): "record",
}


def _decoded(global_id: str) -> tuple[str, int]:
    type_name, key = base64.b64decode(global_id).decode().split(":")
    return type_name, int(key)


def test_replaced_fields_stay_deprecated_beside_their_replacements() -> None:
    types = build_schema()._schema.type_map
    for (type_name, old), new in DEPRECATED.items():
        fields = types[type_name].fields  # type: ignore[union-attr]
        assert fields[old].deprecation_reason, (type_name, old)
        assert new in fields and not fields[new].deprecation_reason, (type_name, new)
    access_log = types["Query"].fields["accessLog"]  # type: ignore[union-attr]
    assert access_log.args["recordId"].deprecation_reason
    assert not access_log.args["record"].deprecation_reason


def test_every_mutation_answers_its_own_payload() -> None:
    mutation = build_schema()._schema.mutation_type
    assert mutation is not None
    seen: dict[str, str] = {}
    for name, field in mutation.fields.items():
        payload = field.type.of_type if isinstance(field.type, GraphQLNonNull) else field.type
        assert isinstance(payload, GraphQLObjectType)
        assert payload.name == name[0].upper() + name[1:] + "Payload", name
        assert payload.name not in seen, (name, seen.get(payload.name))
        seen[payload.name] = name
        assert "userErrors" in payload.fields and len(payload.fields) == 2, payload.name


def test_user_error_codes_are_one_closed_set() -> None:
    classes, stack = set(), [errors.UserError]
    while stack:
        cls = stack.pop()
        classes.add(cls)
        stack.extend(cls.__subclasses__())
    assert {c.code for c in classes} | {"CONFLICT"} == {c.value for c in UserErrorCode}
    enum = build_schema()._schema.type_map["UserErrorCode"]
    assert set(enum.values) == {c.value for c in UserErrorCode}  # type: ignore[attr-defined]


async def test_user_errors_carry_the_closed_code_and_the_old_string(api: Api) -> None:
    data = await api.gql("""mutation { markDropout(input: {caseId: "RHJvcG91dENhc2U6OTk5OQ==",
        expectedVersion: 1}) { case { id } userErrors { field code errorCode } } }""")
    (error,) = data["markDropout"]["userErrors"]
    assert error["errorCode"] == "NOT_FOUND" == error["code"]


async def test_a_task_names_its_kind_and_its_agency_as_objects(
    api: Api, clock: FixedClock
) -> None:
    case = (await report(api, clock.now().date() - timedelta(days=1)))["case"]
    data = await api.gql("""query($id: ID!) { node(id: $id) { ... on DropoutCase { tasks {
        kind title agency agencyKind taskKind { code label }
        assignedAgency { id kind name } } } } }""", {"id": case["id"]})
    tasks = data["node"]["tasks"]
    assert tasks
    for t in tasks:
        assert t["taskKind"] == {"code": t["kind"], "label": t["title"]}
        assert t["agencyKind"] == t["agency"]
        assert t["assignedAgency"] is None or t["assignedAgency"]["kind"] == t["agencyKind"]
    # The school's own task is addressed to the pupil's school, whose queue holds it.
    school_tasks = [t for t in tasks if t["agencyKind"] == "SCHOOL"]
    assert school_tasks and all(t["assignedAgency"] for t in school_tasks)
    queue = await api.gql("{ me { agency { id } } agencyQueue(first: 50) { edges { node {"
                          " assignedAgency { id } } } } }", user="principal")
    mine = queue["me"]["agency"]["id"]
    assert queue["agencyQueue"]["edges"]
    assert {e["node"]["assignedAgency"]["id"] for e in queue["agencyQueue"]["edges"]} == {mine}


async def test_a_document_names_its_kind_with_its_title(api: Api, clock: FixedClock) -> None:
    case = (await report(api, clock.now().date() - timedelta(days=20)))["case"]
    data = await api.gql("""mutation($c: ID!) { draftDocument(input: {caseId: $c,
        kind: "enrol_notice"}) { document { kind title documentKind { code label } }
        userErrors { errorCode } } }""", {"c": case["id"]})
    document = data["draftDocument"]["document"]
    assert data["draftDocument"]["userErrors"] == []
    assert document["documentKind"] == {"code": "enrol_notice", "label": document["title"]}
    assert document["kind"] == "enrol_notice"


async def test_the_audit_trail_is_a_connection_newest_first(
    api: Api, clock: FixedClock
) -> None:
    await report(api, clock.now().date() - timedelta(days=1))
    await report(api, clock.now().date() - timedelta(days=2),
                 child=(await api.gql("{ children(first: 2) { edges { node { id } } } }",
                                      user="principal"))["children"]["edges"][1]["node"]["id"])
    query = """query($after: String) { auditTrail(first: 1, after: $after) { totalCount
        pageInfo { hasNextPage endCursor } edges { node { operation occurredAt } } } }"""
    first = (await api.gql(query, {"after": None}, user="admin"))["auditTrail"]
    second = (await api.gql(query, {"after": first["pageInfo"]["endCursor"]},
                            user="admin"))["auditTrail"]
    assert first["pageInfo"]["hasNextPage"] and first["totalCount"] >= 2
    assert second["totalCount"] == first["totalCount"]
    old = (await api.gql("{ auditEvents(last: 2) { operation occurredAt } }",
                         user="admin"))["auditEvents"]
    assert [first["edges"][0]["node"], second["edges"][0]["node"]] == old
    # Filtered in SQL like every list: a head teacher audits no one.
    hidden = await api.gql("{ auditTrail(first: 1) { totalCount } }", user="head_teacher")
    assert hidden["auditTrail"]["totalCount"] == 0


async def test_the_access_log_names_records_by_global_id(api: Api) -> None:
    read = await api.gql("{ children(first: 1) { edges { node { id nationalId { value } } } } }",
                         user="principal")
    child = read["children"]["edges"][0]["node"]["id"]
    query = """query($r: ID, $raw: Int) { accessLog(record: $r, recordId: $raw, first: 20) {
        totalCount edges { node { recordType recordId record } } } }"""
    by_gid = (await api.gql(query, {"r": child, "raw": None}))["accessLog"]
    by_raw = (await api.gql(query, {"r": None, "raw": _decoded(child)[1]}))["accessLog"]
    assert by_gid["totalCount"] >= 1
    assert {e["node"]["record"] for e in by_gid["edges"]} == {child}
    assert by_raw["edges"] and {e["node"]["record"] for e in by_raw["edges"]} >= {child}
    for bad in (gid("Employer", 1), "nonsense"):
        body = (await api.post(query, {"r": bad, "raw": None})).json()
        assert body["errors"][0]["extensions"]["code"] == "BAD_INPUT", bad
        assert body["errors"][0]["extensions"]["field"] == "record"
    clash = (await api.post(query, {"r": child, "raw": _decoded(child)[1] + 1})).json()
    assert clash["errors"][0]["extensions"]["code"] == "BAD_INPUT"


async def test_me_and_ladders_carry_global_ids(api: Api) -> None:
    data = await api.gql("""{ me { id userId } ladder(jurisdictionCode: "370406")
        { id ladderId } }""", user="admin")
    assert _decoded(data["me"]["id"]) == ("User", data["me"]["userId"])
    assert _decoded(data["ladder"]["id"]) == ("Ladder", data["ladder"]["ladderId"])
    user = await api.gql("query($id: ID!) { node(id: $id) { ... on User { username } } }",
                         {"id": data["me"]["id"]}, user="admin")
    assert user["node"] == {"username": "admin"}
