"""The checked-in schema.graphql is the schema the code serves (run `make schema` to update)."""

from __future__ import annotations

from pathlib import Path

from strawberry.printer import print_schema

from schema.root import build_schema

SDL = Path(__file__).resolve().parent.parent / "schema.graphql"


def test_schema_graphql_is_current() -> None:
    current = print_schema(build_schema()) + "\n"
    assert SDL.read_text(encoding="utf-8") == current, (
        "schema.graphql drifted from the code: run `make schema` and review the diff"
    )
