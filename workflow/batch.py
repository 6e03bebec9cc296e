"""Batch answers in the order they were asked for.

A DataLoader's batch function, ``resolve_nodes`` and every ``…_of`` service function get a list
of keys and must answer one entry per key, in the keys' order, with a gap (None, or an empty
list) where a key names nothing the caller may see. SQL returns rows in its own order and leaves
the gaps out; these two functions put them back, so no caller writes the reordering itself.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Sequence
from typing import TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


def in_order(rows: Iterable[V], keys: Sequence[K], key: Callable[[V], K]) -> list[V | None]:
    """One row per key (None where none came back): for lookups by id."""
    found = {key(r): r for r in rows}
    return [found.get(k) for k in keys]


def grouped(rows: Iterable[V], keys: Sequence[K], key: Callable[[V], K]) -> list[list[V]]:
    """The rows of each key, in the rows' order (an empty list where none came back): for
    one-to-many relations such as a case's tasks."""
    by_key: dict[K, list[V]] = {}
    for r in rows:
        by_key.setdefault(key(r), []).append(r)
    return [by_key.get(k, []) for k in keys]
