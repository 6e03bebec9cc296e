"""Shaping service results into GraphQL objects, where a result may be absent.

A relation that is not set, a record the caller may not see and a failed mutation all come
back as None; every resolver maps None to null the same way, so they share one function
instead of each writing its own null ternary around ``from_model``.
"""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Awaitable, Callable, Iterable, Sequence
from operator import attrgetter
from typing import Annotated, Any, ClassVar, Optional, Self, TypeVar, get_args, get_type_hints

import strawberry
from strawberry import relay

from schema.backrefs import builder
from schema.context import Info
from workflow.context import ServiceContext

R = TypeVar("R")
N = TypeVar("N")
T = TypeVar("T")


def maybe(shape: Callable[[R], N], value: R | None) -> N | None:
    """``shape(value)``, or None when there is no value (``is None``: a falsy row still counts)."""
    return None if value is None else shape(value)


def maybe_each(shape: Callable[[R], N], values: Iterable[R | None]) -> list[N | None]:
    """``maybe`` over a batch, keeping its order and its gaps (``resolve_nodes`` answers one
    entry per id asked for, null where the id names nothing the caller may see)."""
    return [None if v is None else shape(v) for v in values]


def copied(cls: type[T], source: object, **given: Any) -> T:
    """An instance of the strawberry type ``cls`` whose fields hold ``source``'s attributes of
    the same names; ``given`` supplies the rest (a renamed column, a nested object). Types
    that mirror a row or a service result field by field are built by this one function
    instead of each spelling every field out."""
    names = [f.name for f in dataclasses.fields(cls) if f.init and f.name not in given]  # type: ignore[arg-type]
    return cls(**{n: getattr(source, n) for n in names}, **given)


class Mirror:
    """A type that mirrors a row field by field: ``from_model`` is ``copied``; ``sources``
    pairs a field with the attribute of the row it reads when the names differ
    (``(("rule_id", "id"),)``). A Node's id field (its ``relay.NodeID``) reads the row's
    ``id`` unless ``sources`` say otherwise, as every integer-keyed Node's does."""

    sources: ClassVar[tuple[tuple[str, str], ...]] = ()

    @classmethod
    def from_model(cls, row: Any) -> Self:
        given = {f: attrgetter(a)(row) for f, a in cls.sources}
        if issubclass(cls, relay.Node) and (key := cls.resolve_id_attr()) not in given:
            given[key] = row.id
        return copied(cls, row, **given)


def fetched_by(
    fetch: Callable[[ServiceContext, list[int]], Awaitable[Sequence[object | None]]],
) -> Callable[[type[T]], type[T]]:
    """Give a Node type its ``resolve_nodes`` (what ``node``/``nodes`` call): ``fetch`` is the
    service's batched lookup under the policy (one entry per key, None where the caller may
    not see the record) and the type's ``from_model`` shapes each row. Every integer-keyed Node
    refetches the same way, so the plumbing is written here once."""

    # Looked up by name at each call, as a call written in the resolver's body would be: a
    # service function patched in a test (a fault injected) or replaced is the one called.
    module, name = fetch.__module__, fetch.__name__

    def give(node_type: type[T]) -> type[T]:
        async def resolve_nodes(
            cls: Any, *, info: Info, node_ids: Iterable[str], required: bool = False
        ) -> list[Any]:
            current = getattr(sys.modules[module], name, fetch)
            rows = await current(info.context.services, [int(i) for i in node_ids])
            return maybe_each(cls.from_model, rows)

        # Set after strawberry processed the type: resolve_nodes is a classmethod it looks
        # up at run time, not a field.
        setattr(node_type, "resolve_nodes", classmethod(resolve_nodes))  # noqa: B010
        return node_type

    return give


def related(
    loader: str, key: str, node: Any, *, many: bool = False, lazy: str | None = None,
    **options: Any,
) -> Any:
    """A field that loads what the attribute path ``key`` of the object names (``row.
    employer_id``; ``row.id`` for the rows that point back at it) through the request's
    DataLoader ``loader``, and shapes it as ``node``: the one row (null for a null key or a
    row the caller may not see), or every row when ``many``.

    ``node`` is the type, or its class name with ``lazy`` its module (``"InspectionNode",
    lazy="schema.inspection"``) when that module refers back to this one: the row is then
    built through ``schema/backrefs.py``. One loader per relation means a page of objects costs
    one statement per relation, whatever its size."""
    get = attrgetter(key)
    target: Any = node if lazy is None else Annotated[node, strawberry.lazy(lazy)]

    async def resolve(root: Any, info: Info) -> Any:
        shape = node.from_model if lazy is None else builder(node)
        value = get(root)
        found = None if value is None else await getattr(info.context.loaders, loader).load(value)
        return [shape(x) for x in found or ()] if many else maybe(shape, found)

    resolve.__annotations__["return"] = list[target] if many else Optional[target]  # noqa: UP045
    return strawberry.field(resolver=resolve, **options)


def attr_field(path: str, type_: object, **options: Any) -> Any:
    """A field that answers the attribute path ``path`` of the object (``self.<path>``):
    ``pupils = attr_field("figures.pupils", int)`` on a type wrapping a service result.

    Types that wrap a row or a result expose most of its attributes unchanged; this keeps each
    such field one line. The type is the resolver's return annotation (as a written-out
    method's would be), so the field keeps its place among the type's other resolvers in the
    SDL. ``options`` are ``strawberry.field``'s (a description, a deprecation)."""
    get = attrgetter(path)

    def resolve(root: Any) -> Any:
        return get(root)

    resolve.__annotations__["return"] = type_
    return strawberry.field(resolver=resolve, **options)


def row_field(path: str, type_: object, **options: Any) -> Any:
    """``attr_field`` of the wrapped model row (``self.row.<path>``): ``stage =
    row_field("stage", CaseStage)``."""
    return attr_field("row." + path, type_, **options)


@strawberry.type
class RowNode(relay.Node):
    """A Node that wraps one model row with an integer key: ``from_model`` wraps the row,
    ``row_field`` exposes its columns, resolvers read ``self.row``. A subclass narrows
    ``row`` to its model (``row: strawberry.Private[m.DropoutCase]``); this base is never a
    type of the SDL itself."""

    key: relay.NodeID[int]
    row: strawberry.Private[Any]

    def __init_subclass__(cls, columns: tuple[str, ...] = (), **options: Any) -> None:
        """``class InspectionNode(RowNode, columns=("kind", "status", …))``: the type's first
        fields are those columns of its row's model (``row: strawberry.Private[m.…]``), each a
        ``row_field`` of the column's own type (``Mapped[date | None]`` answers ``Date``), so
        a column passed through unchanged is typed once, in the model."""
        super().__init_subclass__(**options)
        if not columns:
            return
        model = get_args(get_type_hints(cls, include_extras=True)["row"])[0]
        types = get_type_hints(model)
        # Strawberry orders a type's fields as its class attributes are, so the ones the
        # body wrote are set again after the columns, which come first.
        written = {n: v for n, v in vars(cls).items() if not n.startswith("__")}
        for name in written:
            delattr(cls, name)
        for name in columns:
            setattr(cls, name, row_field(name, get_args(types[name])[0]))
        for name, value in written.items():
            setattr(cls, name, value)

    @classmethod
    def from_model(cls, row: Any) -> Self:
        return cls(key=row.id, row=row)


@strawberry.type
class MirrorNode(relay.Node, Mirror):
    """A Node that mirrors a row with an integer key field by field (``Mirror``): its id is
    the row's ``id``, as every such Node's is; this base is never a type of the SDL itself."""

    key: relay.NodeID[int]


@strawberry.type
class CodeLabel:
    """A kind from an open set (a district's ladder or document catalogue may add kinds, so no
    enum can close it): the code to send back and the label to show (Chinese, as printed)."""

    code: str
    label: str
