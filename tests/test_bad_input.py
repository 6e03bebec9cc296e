"""Bad input is a coded error, never INTERNAL, and nothing is written.

The arguments are found by walking the schema's own introspection (every argument of every
query and mutation, and every field of their input objects, at any depth), so a field added
later is covered without touching this file. Each bad value is sent twice: in variables (what
front-ends do) and inline in the document.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from graphql import get_introspection_query
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from schema.inputs import JSON_SIZE, text_limit
from tests.helpers import Api, coded_failure, input_value, named, type_string

USER = "edu_officer"
WRITTEN_TABLES = (
    "audit_event", "case_event", "dropout_case", "task", "legal_document", "employer",
    "inspection", "labour_finding", "enforcement_action", "app_user", "authz_rule", "ladder",
)


def gid(raw: str) -> str:
    return base64.b64encode(raw.encode()).decode()


class Enum(str):
    """An enum value: printed bare inline, as a string in variables."""


@dataclass(frozen=True)
class Slot:
    """One place a value can be given: root field, argument, then input-field names."""

    operation: str  # "query" or "mutation"
    field: str
    path: tuple[str, ...]
    leaf: str  # the named type at the end
    kind: str  # SCALAR or ENUM


# --- walking the introspection ---------------------------------------------------------------


class Schema:
    def __init__(self, introspection: dict[str, Any]) -> None:
        self.types = {t["name"]: t for t in introspection["__schema"]["types"]}
        self.roots = {
            "query": introspection["__schema"]["queryType"]["name"],
            "mutation": introspection["__schema"]["mutationType"]["name"],
        }

    def root_fields(self, operation: str) -> list[dict[str, Any]]:
        return [f for f in self.types[self.roots[operation]]["fields"] if f["args"]]

    def field(self, operation: str, name: str) -> dict[str, Any]:
        return next(f for f in self.types[self.roots[operation]]["fields"] if f["name"] == name)

    def slots(self) -> Iterator[Slot]:
        for operation in ("query", "mutation"):
            for f in self.root_fields(operation):
                for arg in f["args"]:
                    yield from self._slots(operation, f["name"], (arg["name"],), arg["type"], 0)

    def _slots(
        self, operation: str, field: str, path: tuple[str, ...], ref: dict[str, Any], depth: int
    ) -> Iterator[Slot]:
        leaf = named(ref)
        if leaf["kind"] in ("SCALAR", "ENUM"):
            yield Slot(operation, field, path, leaf["name"], leaf["kind"])
        elif leaf["kind"] == "INPUT_OBJECT" and depth < 4:
            for sub in self.types[leaf["name"]]["inputFields"]:
                yield from self._slots(operation, field, (*path, sub["name"]), sub["type"],
                                       depth + 1)

    # --- values that are fine, around the bad one --------------------------------------------

    def filler(self, ref: dict[str, Any], name: str) -> Any:
        return input_value(ref, name, self._named_filler)

    def _named_filler(self, ref: dict[str, Any], name: str) -> Any:
        t = self.types[ref["name"]]
        if t["kind"] == "ENUM":
            return Enum(t["enumValues"][0]["name"])
        if t["kind"] == "INPUT_OBJECT":
            return {
                sub["name"]: self.filler(sub["type"], sub["name"])
                for sub in t["inputFields"]
                if sub["type"]["kind"] == "NON_NULL" and sub["defaultValue"] is None
            }
        return {
            "ID": gid("DropoutCase:2147483000"),
            "String": "x",
            "Int": 1,
            "Float": 1.0,
            "Boolean": False,
            "Date": "2026-11-02",
            "DateTime": "2026-11-02T08:00:00+08:00",
            "JSON": {},
        }[t["name"]]

    def arguments(self, slot: Slot, bad: Any) -> dict[str, Any]:
        """Every required argument filled in, and ``bad`` at the slot."""
        f = self.field(slot.operation, slot.field)
        args = {
            a["name"]: self.filler(a["type"], a["name"])
            for a in f["args"]
            if a["type"]["kind"] == "NON_NULL" and a["defaultValue"] is None
        }
        arg = next(a for a in f["args"] if a["name"] == slot.path[0])
        args[slot.path[0]] = self._place(arg["type"], slot.path[1:], bad, args.get(slot.path[0]))
        return args

    def _place(self, ref: dict[str, Any], rest: tuple[str, ...], bad: Any, current: Any) -> Any:
        if ref["kind"] == "NON_NULL":
            return self._place(ref["ofType"], rest, bad, current)
        if ref["kind"] == "LIST":
            inner = current[0] if isinstance(current, list) and current else None
            return [self._place(ref["ofType"], rest, bad, inner)]
        if not rest:
            return bad
        t = self.types[ref["name"]]
        obj = dict(current) if isinstance(current, dict) else self.filler(ref, "")
        sub = next(s for s in t["inputFields"] if s["name"] == rest[0])
        obj[rest[0]] = self._place(sub["type"], rest[1:], bad, obj.get(rest[0]))
        return obj

    def selection(self, slot: Slot) -> str:
        returned = named(self.field(slot.operation, slot.field)["type"])
        if returned["kind"] not in ("OBJECT", "INTERFACE", "UNION"):
            return ""
        fields = {f["name"] for f in self.types[returned["name"]].get("fields") or []}
        with_errors = " { __typename userErrors { code: errorCode field } }"
        return with_errors if "userErrors" in fields else " { __typename }"


class Inline:
    """A value printed into the document as it is, not quoted (``1e30``)."""

    def __init__(self, literal: str, variable: Any) -> None:
        self.literal, self.variable = literal, variable


def literal(value: Any) -> str:
    if isinstance(value, Inline):
        return value.literal
    if isinstance(value, Enum):
        return str(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list):
        return "[" + ", ".join(literal(v) for v in value) + "]"
    return "{" + ", ".join(f"{k}: {literal(v)}" for k, v in value.items()) + "}"


def variable(value: Any) -> Any:
    if isinstance(value, Inline):
        return value.variable
    if isinstance(value, list):
        return [variable(v) for v in value]
    if isinstance(value, dict):
        return {k: variable(v) for k, v in value.items()}
    return value


def requests(schema: Schema, slot: Slot, bad: Any) -> Iterator[tuple[str, dict[str, Any]]]:
    args = schema.arguments(slot, bad)
    f = schema.field(slot.operation, slot.field)
    types = {a["name"]: type_string(a["type"]) for a in f["args"]}
    selection = schema.selection(slot)
    declared = ", ".join(f"${name}: {types[name]}" for name in args)
    passed = ", ".join(f"{name}: ${name}" for name in args)
    yield (f"{slot.operation}({declared}) {{ {slot.field}({passed}){selection} }}",
           {name: variable(v) for name, v in args.items()})
    inline = ", ".join(f"{name}: {literal(v)}" for name, v in args.items())
    yield f"{slot.operation} {{ {slot.field}({inline}){selection} }}", {}


# --- the bad values, by type ---------------------------------------------------------------

BAD: dict[str, list[tuple[str, Any]]] = {
    "ID": [
        ("empty", ""),
        ("not-base64", "abc"),
        ("key-not-a-number", gid("Child:abc")),
        ("unknown-type", gid("Nope:1")),
        ("not-a-node", gid("Query:1")),
        ("key-over-int32", gid("Child:2147483648")),
        ("key-over-int64", gid("DropoutCase:99999999999999999999")),
        ("negative-key", gid("Task:-1")),
    ],
    "Date": [("feb-30", "2026-02-30"), ("words", "tomorrow")],
    "DateTime": [("no-offset", "2026-11-02T08:00:00"), ("feb-30", "2026-02-30T08:00:00Z")],
    "Int": [("1e30", Inline("1e30", 1e30)), ("string", Inline('"abc"', "abc"))],
    "String": [("nul-byte", "a\x00b")],
    "ENUM": [("unknown", Enum("NOPE_NOT_A_VALUE"))],
}


async def written(session: AsyncSession) -> dict[str, int]:
    counts = {}
    for table in WRITTEN_TABLES:
        counts[table] = (await session.execute(text(f"SELECT count(*) FROM {table}"))).scalar_one()
    return counts


@pytest.fixture
async def schema(api: Api) -> Schema:
    """The standard introspection query itself must work (it failed on a JSON default)."""
    data = await api.gql(get_introspection_query(descriptions=True), user=USER)
    return Schema(data)


def cases() -> Iterator[Any]:
    for type_name, values in BAD.items():
        for label, value in values:
            yield pytest.param(type_name, value, id=f"{type_name}-{label}")


@pytest.mark.parametrize(("type_name", "bad"), list(cases()))
async def test_bad_value_everywhere_is_coded(
    api: Api, session: AsyncSession, schema: Schema, type_name: str, bad: Any
) -> None:
    slots = [s for s in schema.slots()
             if (s.kind == "ENUM" if type_name == "ENUM" else s.leaf == type_name)]
    assert slots, type_name
    before = await written(session)
    failures = []
    for slot in slots:
        for query, variables in requests(schema, slot, bad):
            response = await api.post(query, variables, user=USER)
            body = response.json()
            codes = coded_failure(body)
            # A validation code, before any resolver ran: not INTERNAL, and not an answer
            # (NOT_FOUND, FORBIDDEN) that shows the value was taken for a real one.
            if not codes or not set(codes) <= VALIDATION_CODES:
                failures.append((slot, query[:160], body))
    assert not failures, failures[:5]
    assert await written(session) == before


VALIDATION_CODES = {"BAD_INPUT", "GRAPHQL_VALIDATION_FAILED", "TEXT_TOO_LONG"}


async def test_every_string_input_has_a_length_limit(
    api: Api, session: AsyncSession, schema: Schema
) -> None:
    """One character over its field's limit is TEXT_TOO_LONG naming the field and the limit;
    nothing is written. The limit fits the purpose (names short, notes long)."""
    slots = [s for s in schema.slots() if s.leaf == "String"]
    before = await written(session)
    failures = []
    for slot in slots:
        name = slot.path[-1]
        limit = text_limit(name)
        for query, variables in requests(schema, slot, "字" * (limit + 1)):
            body = (await api.post(query, variables, user=USER)).json()
            errors = body.get("errors") or []
            expected = {"code": "TEXT_TOO_LONG", "field": name, "limit": limit}
            if not any(expected.items() <= e.get("extensions", {}).items() for e in errors):
                failures.append((slot, body))
    assert not failures, failures[:5]
    assert await written(session) == before


async def test_limits_fit_their_purpose() -> None:
    assert text_limit("note") >= 2000 and text_limit("reason") >= 2000
    assert text_limit("facts") >= text_limit("note")
    assert 50 <= text_limit("name") <= 500 and text_limit("displayName") <= 500
    assert text_limit("jurisdictionCode") <= 64
    assert text_limit("someFieldAddedLater") > 0  # a default limit for any new field


async def test_two_million_character_note_is_refused(api: Api, session: AsyncSession) -> None:
    """The body limit stops a 2,000,000-character note at the door (it never reaches the
    resolver); a note under the body limit but over its field's limit is TEXT_TOO_LONG."""
    case = (await api.gql("{ cases(first: 1) { edges { node { id } } } }"))["cases"]["edges"]
    case_id = case[0]["node"]["id"] if case else gid("DropoutCase:1")
    before = await written(session)
    mutation = ("mutation($i: AddCaseNoteInput!) { addCaseNote(input: $i) "
                "{ userErrors { code: errorCode } } }")
    huge = await api.post(mutation, {"i": {"caseId": case_id, "text": "x" * 2_000_000}})
    assert huge.status_code == 413
    assert huge.json()["errors"][0]["extensions"]["code"] == "REQUEST_TOO_LARGE"
    long = 100_000
    body = (await api.post(mutation, {"i": {"caseId": case_id, "text": "x" * long}})).json()
    assert body["errors"][0]["extensions"] == {"code": "TEXT_TOO_LONG", "field": "text",
                                               "limit": text_limit("text"), "length": long}
    assert await written(session) == before


async def test_json_evidence_is_checked(api: Api, schema: Schema) -> None:
    mutation = ("mutation($i: CompleteTaskInput!) { completeTask(input: $i) "
                "{ userErrors { code: errorCode field } } }")
    base = {"taskId": gid("Task:2147483000"), "expectedVersion": 1, "outcome": "done"}
    big = (await api.post(mutation, {"i": {**base, "evidence": {"a": "x" * JSON_SIZE}}})).json()
    assert big["errors"][0]["extensions"]["code"] == "TEXT_TOO_LONG"
    nul = (await api.post(mutation, {"i": {**base, "evidence": {"a\x00": 1}}})).json()
    assert nul["errors"][0]["extensions"]["code"] == "BAD_INPUT"
    listed = (await api.post(mutation, {"i": {**base, "evidence": [1, 2]}})).json()
    assert coded_failure(listed) in (["BAD_INPUT"], ["NOT_FOUND"], ["FORBIDDEN"])


async def test_nul_byte_search_matches_nothing_but_is_refused(api: Api) -> None:
    """On SQLite a NUL ended the LIKE pattern, so the search matched every employer."""
    body = (await api.post(
        "query($s: String) { employers(filter: {search: $s}) { totalCount } }",
        {"s": "\x00"}, user="hr_officer",
    )).json()
    assert body["errors"][0]["extensions"] == {"code": "BAD_INPUT", "field": "search"}


CURSOR_PREFIXES = ("access", "agency", "case", "child", "document", "employer", "enforcement",
                   "finding", "inspection", "user")


async def test_cursors_out_of_range_are_bad_input(api: Api, schema: Schema) -> None:
    paged = [f["name"] for f in schema.root_fields("query")
             if any(a["name"] == "after" for a in f["args"])]
    assert paged
    cursors = [base64.urlsafe_b64encode(f"{p}:{n}".encode()).decode()
               for p in CURSOR_PREFIXES for n in ("99999999999999999999", "2147483648")]
    cursors += [base64.urlsafe_b64encode(json.dumps(v).encode()).decode() for v in (
        ["due", "2026-11-02", 99999999999999999999],
        ["priority", 99999999999999999999, 1],
        ["updated", "2026-11-02T08:00:00", 1],
    )]
    failures = []
    for name in paged:
        selection = " { totalCount }"
        for cursor in cursors:
            body = (await api.post(f"query($c: String) {{ {name}(after: $c){selection} }}",
                                   {"c": cursor}, user="admin")).json()
            codes = coded_failure(body)
            if body.get("errors") and (None in codes or "INTERNAL" in codes):
                failures.append((name, cursor, body))
    assert not failures, failures[:5]


@pytest.mark.parametrize(
    ("document", "code"),
    [
        ("{ }", "GRAPHQL_VALIDATION_FAILED"),
        ("{ ...Missing }", "GRAPHQL_VALIDATION_FAILED"),
        ("{ cases(first: 1 { totalCount } }", "GRAPHQL_PARSE_FAILED"),
        ("{ " + "a " * 3000 + "}", "GRAPHQL_PARSE_FAILED"),
        ("query { nope }", "GRAPHQL_VALIDATION_FAILED"),
    ],
    ids=["empty-selection", "unknown-fragment", "syntax", "token-limit", "unknown-field"],
)
async def test_malformed_documents_are_coded(api: Api, document: str, code: str) -> None:
    errors = await api.errors(document)
    assert [e["extensions"]["code"] for e in errors] == [code]
    assert "max() arg" not in errors[0]["message"] and errors[0]["message"] != "'Missing'"
