"""Reading the rule files in ``workflow/reference_data/``.

The rules are data (each cites its legal basis); every service that needs one reads it here,
so where the files live and how they are decoded is said once. Callers cache what they
build from a file (they parse it into their own typed rules).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")

DATA_DIR = Path(__file__).resolve().parent.parent / "reference_data"


def path(name: str) -> Path:
    """The file ``name`` (e.g. ``"documents.json"``) in the reference data."""
    return DATA_DIR / name


def load(name: str) -> Any:
    """The decoded JSON of reference file ``name``."""
    return json.loads(path(name).read_text(encoding="utf-8"))


def by_district(name: str, parse: Callable[[dict[str, Any]], T]) -> Callable[[str], T]:
    """``rules_for(district_code)`` of a file whose ``"districts"`` map each district code
    (and ``"default"``) to one set of rules: the district's own, else the defaults, each
    parsed once by ``parse``. The files of one set per district share this layering."""

    @cache
    def parsed() -> dict[str, T]:
        return {code: parse(row) for code, row in load(name)["districts"].items()}

    def rules_for(district_code: str) -> T:
        rules = parsed()
        return rules.get(district_code, rules["default"])

    return rules_for


def by_code(name: str, district_code: str) -> list[dict[str, Any]]:
    """The entries of a file that lists them under ``"default"`` and per district code, each
    with its ``"code"``: the defaults with the district's own replacing (or adding to)
    those of the same code, in the defaults' order. The catalogues a district may extend
    (accountability rules, periodic reports) share this layering."""
    data = load(name)
    merged = {entry["code"]: entry for entry in data["default"]}
    merged.update({entry["code"]: entry for entry in data.get(district_code, [])})
    return list(merged.values())
