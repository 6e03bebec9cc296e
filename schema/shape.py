"""Shaping service results into GraphQL objects, where a result may be absent.

A relation that is not set, a record the caller may not see and a failed mutation all come
back as None; every resolver maps None to null the same way, so they share one function
instead of each writing its own null ternary around ``from_model``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TypeVar

R = TypeVar("R")
N = TypeVar("N")


def maybe(shape: Callable[[R], N], value: R | None) -> N | None:
    """``shape(value)``, or None when there is no value (``is None``: a falsy row still counts)."""
    return None if value is None else shape(value)


def maybe_each(shape: Callable[[R], N], values: Iterable[R | None]) -> list[N | None]:
    """``maybe`` over a batch, keeping its order and its gaps (``resolve_nodes`` answers one
    entry per id asked for, null where the id names nothing the caller may see)."""
    return [None if v is None else shape(v) for v in values]
