"""Back-references between GraphQL object types, without import circles.

Types refer to each other both ways: a case lists its documents and a document names its
case; an employer lists its findings and a finding names its inspection. Their annotations are
``strawberry.lazy`` strings; building the other module's object goes through this registry,
which each type module fills as it is imported (``schema/root.py`` imports them all before any
request runs). So no type module imports one that imports it back, at the top or inside a
resolver (``tests/test_layers.py``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T", bound=type)

_BUILDERS: dict[str, Callable[..., Any]] = {}


def provides(cls: T) -> T:
    """Register a type's ``from_model`` under its class name (use as a class decorator)."""
    _BUILDERS[cls.__name__] = cls.from_model  # type: ignore[attr-defined]
    return cls


def builder(name: str) -> Callable[..., Any]:
    """The ``from_model`` of the type called ``name``; a KeyError names a module that
    ``schema/root.py`` does not import."""
    return _BUILDERS[name]
