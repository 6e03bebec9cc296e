"""Small helpers shared by the benchmark scripts."""

from __future__ import annotations

import statistics
from collections.abc import Sequence


def percentile(samples: Sequence[float], p: float) -> float:
    ordered = sorted(samples)
    k = max(0, min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1))))
    return ordered[k]


def row(name: str, samples_ms: Sequence[float], extra: str = "") -> str:
    return (
        f"| {name} | {len(samples_ms)} | {statistics.median(samples_ms):.2f} | "
        f"{percentile(samples_ms, 99):.2f} | {extra} |"
    )
