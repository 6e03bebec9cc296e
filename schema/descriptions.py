"""Descriptions (说明) of every type, field, argument and enum value, from one catalogue.

The text lives in ``schema/descriptions.toml`` rather than beside each strawberry field, so that
it is reviewed in one place and schema modules edited in parallel do not collide over it. It is
applied to the built ``GraphQLSchema`` (``schema/root.build_schema``), so introspection, the
SDL (``schema.graphql``) and GraphiQL all show it. Keys name schema elements:

* ``Type`` — an object, input, interface, enum or scalar type;
* ``Type.field`` — an output or input field;
* ``Type.field(arg)`` — an argument;
* ``Enum.VALUE`` — an enum value.

A key may hold ``*`` wildcards (``"*Payload.userErrors"``, ``"*(first)"``) for what is said
the same way everywhere. A pattern describes elements of its own kind only (a type, a field or
value, an argument: ``"Query.*"`` matches fields of Query, never their arguments); an exact key
beats a pattern, and of two patterns the one with more literal characters wins. A
``description=`` written inline in strawberry beats the catalogue.

``tests/test_descriptions.py`` fails on an element left undescribed (listing the keys to add)
and on a catalogue key that names nothing or is shadowed by an inline description (stale).
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from functools import lru_cache
from pathlib import Path
from typing import Any

from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLSchema,
    specified_scalar_types,
)

CATALOGUE = Path(__file__).with_name("descriptions.toml")


@dataclass
class Coverage:
    """What applying the catalogue found: keys described by nobody, and keys that did not
    describe anything (they name no element, or an inline description shadows them)."""

    missing: list[str] = field(default_factory=list)
    stale: list[str] = field(default_factory=list)


@lru_cache(maxsize=1)
def catalogue() -> Mapping[str, str]:
    with CATALOGUE.open("rb") as fh:
        data = tomllib.load(fh)
    return {key: " ".join(str(text).split()) for key, text in data.items()}


def elements(schema: GraphQLSchema) -> Iterator[tuple[str, Any]]:
    """Every describable element with its catalogue key; the GraphQL specification's own
    scalars and the introspection types are described by graphql-core already."""
    for name, named in sorted(schema.type_map.items()):
        if name.startswith("__") or name in specified_scalar_types:
            continue
        yield name, named
        yield from _members(name, named)


def _members(name: str, named: GraphQLNamedType) -> Iterator[tuple[str, Any]]:
    if isinstance(named, GraphQLEnumType):
        for value_name, value in named.values.items():
            yield f"{name}.{value_name}", value
    elif isinstance(named, GraphQLObjectType | GraphQLInterfaceType):
        for field_name, output in named.fields.items():
            yield f"{name}.{field_name}", output
            for arg_name, arg in output.args.items():
                yield f"{name}.{field_name}({arg_name})", arg
    elif isinstance(named, GraphQLInputObjectType):
        for field_name, input_field in named.fields.items():
            yield f"{name}.{field_name}", input_field


def _kind(key: str) -> str:
    return "argument" if "(" in key else "member" if "." in key else "type"


def apply_descriptions(
    schema: GraphQLSchema, texts: Mapping[str, str] | None = None
) -> Coverage:
    """Give every element without an inline description its catalogue text."""
    texts = catalogue() if texts is None else texts
    patterns = sorted(
        (key for key in texts if "*" in key), key=lambda k: len(k.replace("*", "")), reverse=True
    )
    used: set[str] = set()
    coverage = Coverage()
    for key, element in elements(schema):
        if element.description:
            continue  # inline wins; a catalogue entry for it is stale (checked below)
        chosen = key if key in texts else next(
            (p for p in patterns if _kind(p) == _kind(key) and fnmatchcase(key, p)), None
        )
        if chosen is None:
            coverage.missing.append(key)
            continue
        element.description = texts[chosen]
        used.add(chosen)
    coverage.stale = sorted(set(texts) - used)
    return coverage
