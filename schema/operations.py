"""Mutations and list fields declared as data: what is written once for every resolver.

Most resolvers did the same three things: decode the global ids of their input, pass the
input's fields to one service function under the same names, and shape the result
(``mutate`` for a mutation, ``to_connection`` for a list). Each mutation is now one
``Operation`` (the service function, the input type, the payload's subject) and each list one
``listing`` call; ``arguments`` is the one mapping from an input object to a service's keyword
arguments.

Every mutation answers its own ``<Name>Payload`` (``reportAbsence`` → ``ReportAbsencePayload``),
built here from the mutation's name and its subject (``case: DropoutCase``), so the SDL keeps
one payload type per mutation without a class written out for each (docs/api.md).
"""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Optional, get_args, get_type_hints

import strawberry
from strawberry.utils.str_converters import capitalize_first, to_camel_case

from schema.context import Info
from schema.ids import global_or_raw_id, node_id
from schema.mutation import UserError, mutate
from schema.pagination import Connection, page_request, to_connection
from workflow.context import ServiceContext


def _decoded(value: Any, type_name: str, name: str) -> Any:
    field_name = to_camel_case(name)
    if isinstance(value, list):
        return [node_id(v, type_name, field_name) for v in value]
    return None if value is None else node_id(value, type_name, field_name)


def arguments(
    value: object | None,
    ids: Mapping[str, str] = {},
    raw: Mapping[str, str] = {},
) -> dict[str, Any]:
    """An input object's fields as keyword arguments, by their Python names.

    ``ids`` names the fields that hold global ids (``{"case_id": "DropoutCase"}``): each is
    decoded to its database key, ``BAD_INPUT`` on the field (camelCase) when it names anything
    else; a list of ids is decoded item by item. ``raw`` pairs a global-id field with the
    deprecated raw key beside it (``{"school": "school_id"}``): the two are merged into the raw
    key's name (``global_or_raw_id``). ``None`` (an omitted filter) gives no arguments."""
    if value is None:
        return {}
    kwargs = {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}  # type: ignore[arg-type]
    for global_name, raw_name in raw.items():
        kwargs[raw_name] = global_or_raw_id(
            kwargs.pop(global_name), kwargs[raw_name], ids[global_name], global_name
        )
    for name, type_name in ids.items():
        if name in kwargs:
            kwargs[name] = _decoded(kwargs[name], type_name, name)
    return kwargs


def payload_type(name: str, subject: str, node: Any) -> type:
    """The payload ``name``: the mutation's subject (null when it failed) and ``userErrors``."""
    namespace = {
        "__annotations__": {subject: Optional[node], "user_errors": list[UserError]},  # noqa: UP045
        "__module__": __name__,
    }
    return strawberry.type(type(name, (), namespace))


def service_input(
    call: Callable[..., Any], name: str, ids: Mapping[str, str] = {},
    defaults: Mapping[str, object] = {},
) -> type:
    """The GraphQL input ``name`` whose fields are the keyword parameters of the service
    function ``call`` after its context, in order, under the same names and types: a
    parameter that may be None is optional (default null), one with a default keeps it (or
    takes the one in ``defaults``), and each named in ``ids`` is a global id. An input whose
    fields are a service's arguments (``arguments`` passes them back by name) is then
    written once, in the service's signature."""
    hints = get_type_hints(call)
    annotations: dict[str, Any] = {}
    namespace: dict[str, Any] = {"__annotations__": annotations, "__module__": __name__}
    for param in list(inspect.signature(call).parameters.values())[1:]:
        hint = hints[param.name]
        optional = type(None) in get_args(hint)
        annotations[param.name] = (
            (Optional[strawberry.ID] if optional else strawberry.ID)  # noqa: UP045
            if param.name in ids else hint
        )
        if param.name in defaults:
            namespace[param.name] = defaults[param.name]
        elif param.default is not inspect.Parameter.empty:
            namespace[param.name] = param.default
        elif optional:
            namespace[param.name] = None
    return strawberry.input(type(name, (), namespace), name=name)


@dataclass(frozen=True)
class Operation:
    """One mutation: ``call(ctx, **arguments(input, ids, raw))`` in the mutation's
    transaction, its result shaped by ``shape`` (the subject type's ``from_model`` by default)
    into the payload's ``subject`` field. What is left out (the subject, its type, the ids)
    comes from the ``operations`` decorator of the mutation class; without an ``input``, the
    mutation's input is ``service_input(call)``, named ``<Mutation>Input``."""

    call: Callable[..., Awaitable[Any]]
    input: type | None = None
    description: str | None = None
    deprecation_reason: str | None = None
    subject: str | None = None
    node: Any = None
    ids: Mapping[str, str] | None = None
    raw: Mapping[str, str] = field(default_factory=dict)
    shape: Callable[[Any], object] | None = None

    def field(self, name: str) -> Any:
        assert self.subject is not None and self.ids is not None
        title = capitalize_first(to_camel_case(name))
        payload = payload_type(title + "Payload", self.subject, self.node)
        input_type = self.input or service_input(self.call, title + "Input", self.ids)
        shape = self.shape or self.node.from_model
        call, ids, raw = self.call, self.ids, self.raw

        async def resolve(info: Info, input: Any) -> Any:
            async def operation(ctx: ServiceContext) -> Any:
                return await call(ctx, **arguments(input, ids, raw))

            return await mutate(info, payload, shape, operation)

        resolve.__annotations__ = {"info": Info, "input": input_type, "return": payload}
        return strawberry.mutation(
            resolver=resolve, description=self.description,
            deprecation_reason=self.deprecation_reason,
        )


def operations(
    subject: str, node: Any, ids: Mapping[str, str] | None = None
) -> Callable[[type], type]:
    """Turn a mutation class's ``Operation`` attributes into mutation fields named after
    them, answering ``subject`` (of type ``node``) unless they say otherwise, with the global
    ids ``ids`` decoded; apply below ``@strawberry.type``."""

    def build(cls: type) -> type:
        for name, value in list(vars(cls).items()):
            if isinstance(value, Operation):
                own = {"subject": subject, "node": node, "ids": ids or {}}
                given = {k: v for k, v in own.items() if getattr(value, k) is None}
                setattr(cls, name, dataclasses.replace(value, **given).field(name))
        return cls

    return build


def filter_input(
    service_filter: type,
    ids: Mapping[str, str] = {},
    raw: Mapping[str, str] = {},
    hidden: tuple[str, ...] = (),
    name: str | None = None,
) -> type:
    """The GraphQL input of a list's filter, ``name`` (``<ServiceFilter>Input`` by default,
    for a service filter whose class name is the concept's own): the service's filter
    dataclass field by field, under the same names, types and defaults (``None``: that
    condition is not applied), each field named in ``ids`` taken as a global id instead of
    its database key. A filter whose fields are the service's is thus written once, in the
    service, which says there which column each one matches (``workflow.common.matches``).

    ``raw`` pairs a global-id field with the deprecated raw key the service filters by
    (``{"school": "school_id"}``, as ``arguments`` merges them): the global field comes just
    before the raw one, which is marked deprecated. ``hidden`` fields are the resolver's to
    set, not the client's (``mine`` of the task queues)."""
    hints = get_type_hints(service_filter)
    annotations: dict[str, Any] = {}
    namespace: dict[str, Any] = {"__annotations__": annotations, "__module__": __name__}
    global_of = {raw_name: global_name for global_name, raw_name in raw.items()}
    for f in dataclasses.fields(service_filter):
        if f.name in hidden:
            continue
        if f.name in global_of:
            global_name, type_name = global_of[f.name], ids[global_of[f.name]]
            annotations[global_name] = Optional[strawberry.ID]  # noqa: UP045
            namespace[global_name] = strawberry.field(
                default=None, description=f"The {type_name}'s global id.")
            namespace[f.name] = strawberry.field(default=None, deprecation_reason=(
                f"A raw database key: use {to_camel_case(global_name)}, the {type_name}'s "
                "global id."))
            annotations[f.name] = hints[f.name]
            continue
        annotations[f.name] = Optional[strawberry.ID] if f.name in ids else hints[f.name]  # noqa: UP045
        namespace[f.name] = f.default
    name = name or service_filter.__name__ + "Input"
    return strawberry.input(type(name, (), namespace), name=name)


def listing(
    node: Any,
    page: Callable[..., Awaitable[Any]],
    *,
    description: str | None = None,
    filter: tuple[type, Callable[..., object]] | type | None = None,
    filter_name: str | None = None,
    ids: Mapping[str, str] = {},
    raw: Mapping[str, str] = {},
    **extra: tuple[Any, Any],
) -> Any:
    """A list field answering a Relay connection of ``node``.

    Its arguments are a ``filter`` input (``(FilterInput, ServiceFilter)``: the input decoded
    by ``arguments`` into the service's filter, then ``page(ctx, filter, request)``; the
    service's filter alone when the input is ``filter_input(ServiceFilter, ids, raw,
    name=filter_name)``) or the
    ``extra`` ones by name (``kind=(AgencyKind | None, None)``: ``page(ctx, request,
    kind=…)``), then ``first`` and ``after``; the service pages (workflow/pagination.py)."""
    if isinstance(filter, type):
        filter = (filter_input(filter, ids, raw, name=filter_name), filter)

    async def resolve(info: Info, **kwargs: Any) -> Any:
        request = page_request(info, kwargs.pop("first"), kwargs.pop("after"))
        services = info.context.services
        if filter is None:
            result = await page(services, request, **kwargs)
        else:
            given = arguments(kwargs["filter"] or filter[0](), ids, raw)
            result = await page(services, filter[1](**given), request)
        return to_connection(result, node.from_model)

    params: dict[str, tuple[Any, Any]] = (
        {"filter": (Optional[filter[0]], None)} if filter else dict(extra)  # noqa: UP045
    )
    params.update(first=(Optional[int], None), after=(Optional[str], None))  # noqa: UP045
    _sign(resolve, params, Connection[node])
    return strawberry.field(resolver=resolve, description=description)


def _sign(resolve: Callable[..., Any], params: dict[str, tuple[Any, Any]], returns: Any) -> None:
    """Give a resolver written with ``**kwargs`` the GraphQL arguments ``params`` (annotation
    and default by name) as strawberry reads them: its signature and annotations."""
    kind = inspect.Parameter.KEYWORD_ONLY
    parameters = [inspect.Parameter("info", kind, annotation=Info)] + [
        inspect.Parameter(n, kind, annotation=a, default=d) for n, (a, d) in params.items()
    ]
    setattr(resolve, "__signature__",  # noqa: B010
            inspect.Signature(parameters, return_annotation=returns))
    resolve.__annotations__ = {"info": Info, **{n: a for n, (a, _) in params.items()},
                               "return": returns}
