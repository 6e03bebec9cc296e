"""docs/architecture.md's concept table names files that exist, and every concept module of
the three layers appears in it: a newcomer finds a concept's model, GraphQL, service and tests
from the table, and the table cannot drift from the tree unnoticed."""

from __future__ import annotations

import re

from tests.helpers import ROOT

DOC = ROOT / "docs" / "architecture.md"
# Modules that are plumbing of their layer, not a concept of their own.
NOT_CONCEPTS = {"__init__.py", "base.py", "enums.py", "session.py", "listen.py", "context.py",
                "loaders.py", "mutation.py", "root.py", "shape.py", "clock.py", "backrefs.py"}


def _table() -> str:
    text = DOC.read_text(encoding="utf-8")
    start = text.index("## Where each concept lives")
    return text[start:text.index("\n## ", start + 1)]


def _paths(table: str) -> list[str]:
    return re.findall(r"`([A-Za-z_/.]+(?:\.py|/))`", table)


def test_every_file_the_table_names_exists() -> None:
    missing = []
    for row in _table().splitlines():
        for path in _paths(row):
            candidates = [path, f"tests/{path}", f"api/{path}", f"workflow/{path}"]
            if not any((ROOT / c).exists() for c in candidates):
                missing.append(path)
    assert missing == []


def test_every_concept_module_is_in_the_table() -> None:
    named = {p.rstrip("/").rsplit("/", 1)[-1] for p in _paths(_table())}
    stems = {n.removesuffix(".py") for n in named}
    absent = []
    for layer in ("models", "schema", "workflow"):
        for module in (ROOT / layer).iterdir():
            if module.name in NOT_CONCEPTS or module.name.startswith(("_", ".")):
                continue
            is_module = module.suffix == ".py" or (module / "__init__.py").exists()
            if is_module and module.name not in named and module.stem not in stems:
                absent.append(f"{layer}/{module.name}")
    assert absent == []
