"""Reading the rule files in ``workflow/reference_data/``.

The rules are data (each cites its legal basis); every service that needs one reads it here,
so where the files live and how they are decoded is said once. Callers cache what they
build from a file (they parse it into their own typed rules).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

DATA_DIR = Path(__file__).resolve().parent.parent / "reference_data"


def path(name: str) -> Path:
    """The file ``name`` (e.g. ``"documents.json"``) in the reference data."""
    return DATA_DIR / name


def load(name: str) -> Any:
    """The decoded JSON of reference file ``name``."""
    return json.loads(path(name).read_text(encoding="utf-8"))
