"""Every type, field, argument and enum value is described (schema/descriptions.toml), and the
catalogue holds no key that describes nothing; the descriptions reach clients by introspection."""

from __future__ import annotations

from typing import Any

from graphql import GraphQLEnumType, GraphQLObjectType, build_schema, graphql_sync

from schema.descriptions import apply_descriptions, catalogue, elements
from schema.root import build_schema as build_lianbao_schema

SDL = """
type Query { "inline" a(x: Int): Int  b: Colour  c(first: Int): Int }
enum Colour { RED GREEN }
"""


def test_every_element_is_described_and_no_key_is_stale() -> None:
    coverage = build_lianbao_schema().descriptions
    assert coverage is not None
    # Printed as TOML lines, so whoever adds a type can paste and fill them in.
    missing = "\n".join(f'"{key}" = ""' for key in coverage.missing)
    assert not coverage.missing, (
        f"{len(coverage.missing)} schema elements have no description; add them to "
        f"schema/descriptions.toml:\n{missing}"
    )
    assert not coverage.stale, (
        "schema/descriptions.toml keys that describe nothing (no such element, or an inline "
        f"description wins): {coverage.stale}"
    )


def test_every_element_of_the_built_schema_has_text() -> None:
    """Not just 'a key matched': what reaches the schema is real text, not blank."""
    schema = build_lianbao_schema()._schema
    blank = [key for key, element in elements(schema) if not (element.description or "").strip()]
    assert blank == []
    assert all(text.strip() for text in catalogue().values())


def test_precedence_inline_then_exact_then_longest_pattern() -> None:
    schema = build_schema(SDL)
    coverage = apply_descriptions(schema, {
        "Query.a": "shadowed by the inline text",
        "Query.*": "any field of Query",
        "Query.b": "exact",
        "*.*(*)": "any argument",
        "*(first)": "page size",
        "Colour": "a colour",
        "Colour.*": "a value",
        "Colour.RED": "red",
        "Query": "root",
        "Nothing.here": "names nothing",
    })
    query = schema.query_type
    assert isinstance(query, GraphQLObjectType)
    assert query.fields["a"].description == "inline"
    assert query.fields["b"].description == "exact"
    assert query.fields["c"].description == "any field of Query"
    assert query.fields["a"].args["x"].description == "any argument"
    assert query.fields["c"].args["first"].description == "page size"
    colour = schema.get_type("Colour")
    assert isinstance(colour, GraphQLEnumType)
    assert colour.values["RED"].description == "red"
    assert colour.values["GREEN"].description == "a value"
    assert coverage.missing == []
    assert coverage.stale == ["Nothing.here", "Query.a"]


def test_missing_elements_are_listed_by_key() -> None:
    coverage = apply_descriptions(build_schema(SDL), {"Query": "root"})
    assert coverage.missing == [
        "Colour", "Colour.RED", "Colour.GREEN", "Query.a(x)", "Query.b", "Query.c",
        "Query.c(first)",
    ]


def test_introspection_shows_the_descriptions() -> None:
    schema = build_lianbao_schema()._schema
    result = graphql_sync(schema, """{
      stage: __type(name: "CaseStage") { description enumValues { name description } }
      query: __type(name: "Query") { fields { name args { name description } } }
    }""")
    assert result.errors is None
    data: dict[str, Any] = result.data or {}
    stage = data["stage"]
    assert "控辍保学" in stage["description"]
    values = {v["name"]: v["description"] for v in stage["enumValues"]}
    assert "限期入学通知书" in values["ENROL_NOTICE"]
    cases = next(f for f in data["query"]["fields"] if f["name"] == "cases")
    first = next(a for a in cases["args"] if a["name"] == "first")
    assert "20 when omitted" in first["description"]
