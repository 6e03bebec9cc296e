"""The shape of schema/ that issue 13 set: one mutation helper, one typed request context,
enums registered in one place, no hand-written null ternaries, and size limits.

These read the source (or the built schema), so a new module that slips back into the old
habits fails here rather than in review.
"""

from __future__ import annotations

import ast
import dataclasses
import re
from pathlib import Path

import pytest
from graphql import GraphQLObjectType

from schema.context import AppResources, Context
from schema.mutation import _subject_field
from schema.root import build_schema

SCHEMA_DIR = Path(__file__).resolve().parent.parent / "schema"
MODULES = sorted(SCHEMA_DIR.glob("*.py"))


def _source(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def test_enums_are_registered_only_in_schema_enums() -> None:
    # Registration changes the enum class itself: done as a side effect of whichever module
    # was imported first, the schema depended on import order.
    offenders = [
        p.name
        for p in MODULES
        if p.name != "enums.py"
        and (re.search(r"strawberry\.enum\b", _source(p)) or "from models.enums" in _source(p))
    ]
    assert offenders == []


def test_the_request_context_has_named_typed_fields() -> None:
    names = {f.name for f in dataclasses.fields(Context)}
    assert "extra" not in names and "app" in names
    app = {f.name: f.type for f in dataclasses.fields(AppResources)}
    assert set(app) == {"bus", "sessions", "max_page_size"}
    assert not any("extra" in _source(p) and "context.extra" in _source(p) for p in MODULES)


def test_mutations_run_through_the_one_typed_helper() -> None:
    for p in MODULES:
        text = _source(p)
        assert not re.search(r"\b(op|ctx): Any\b", text), p.name
        assert not re.search(r"async def _\w*op\(", text), p.name
        # Only schema/mutation.py calls run(); resolvers call mutate().
        if p.name != "mutation.py":
            assert "await run(" not in text, p.name


def test_every_payload_type_has_one_subject_and_user_errors() -> None:
    schema = build_schema()
    payloads = [
        t for name, t in schema._schema.type_map.items()
        if name.endswith("Payload") and isinstance(t, GraphQLObjectType)
    ]
    assert len(payloads) >= 10
    for t in payloads:
        cls = schema.get_type_by_name(t.name)
        assert cls is not None
        origin = getattr(cls, "origin", None)
        assert origin is not None, t.name
        assert _subject_field(origin) in {f.python_name for f in cls.fields}, t.name


def test_no_hand_written_null_ternaries() -> None:
    pattern = re.compile(r"\.from_model\((\w+)\) if \1 else None")
    assert [p.name for p in MODULES if pattern.search(_source(p))] == []


@pytest.mark.parametrize("path", MODULES, ids=lambda p: p.name)
def test_modules_and_functions_stay_small(path: Path) -> None:
    text = _source(path)
    assert len(text.splitlines()) <= 600, path.name
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            length = (node.end_lineno or node.lineno) - node.lineno + 1
            assert length <= 80, (path.name, node.name, length)


def test_plain_row_columns_use_row_field() -> None:
    # A method that only returns ``self.row.<column>`` is what row_field is for.
    pattern = re.compile(r"def \w+\(self\) -> [^:\n]+:\n        return self\.row\.[\w.]+\n")
    assert [p.name for p in MODULES if pattern.search(_source(p))] == []
