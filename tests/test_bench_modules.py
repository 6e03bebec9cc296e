"""Every benchmark module imports: the benchmarks are not part of the suite's runs, so a
shared name moved between them (``bench/common.py``) would otherwise break ``make bench-*``
unseen until someone measures."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

BENCH = sorted(p.stem for p in (Path(__file__).resolve().parent.parent / "bench").glob("*.py")
               if p.stem != "__init__")


@pytest.mark.parametrize("module", BENCH)
def test_the_benchmark_module_imports(module: str) -> None:
    importlib.import_module(f"bench.{module}")
