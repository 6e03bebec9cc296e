"""Query size limits: depth, aliases and cost (amount of work), all before any resolver runs.

Depth and aliases depend on the document alone: they are one validation rule built once
(``limits_rule``), cached with the rest of validation by ``ValidationCache`` (strawberry's
own per-request limiter extensions defeat that cache, strawberry issue 4635). The cost depends
on the page sizes requested, which front-ends send in variables, so ``QueryCost`` computes it
right after validation with the variables at hand, still before execution: an expensive
query is refused in microseconds instead of holding the event loop for seconds.

Cost model (an upper bound on the field values the response can hold):

- every selected field costs 1, plus the cost of its selection;
- a field with ``first``/``last`` is a page: the list inside it (``edges``) multiplies its
  children by the page size requested (literal or variable), the argument's default when
  absent (20);
- ``nodes(ids:)`` multiplies by the number of ids;
- any other list (``tasks``, ``timeline``) multiplies by ``assumed_list_size``: those lists
  are bounded by the data, not by the query, and nesting them (``cases { tasks { case { tasks
  … } } }``) is exactly what makes a query explode. ``LIST_SIZES`` names the lists whose
  typical size is known to differ (the jurisdiction tree: a few children per level, read from
  reference data);
- introspection fields (``__schema``, ``__type``) cost 1: they are bounded by the schema.

Refusals carry ``extensions.code`` (``QUERY_TOO_COSTLY``, ``QUERY_TOO_DEEP``,
``TOO_MANY_ALIASES``) with the measured value and the limit.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from graphql import (
    ASTValidationRule,
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNamedType,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    ListValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    ValidationRule,
    VariableNode,
    get_named_type,
)
from graphql import ExecutionResult as GraphQLExecutionResult
from strawberry.extensions import SchemaExtension

PAGE_ARGUMENTS = ("first", "last")
ID_LIST_ARGUMENTS = ("ids",)


# Typical sizes of unpaged lists that differ from ``assumed_list_size`` ("Type.field").
LIST_SIZES: dict[str, int] = {
    "Query.jurisdictions": 5,  # five provinces at the root, or one place's children
    "Jurisdiction.children": 5,  # cities of a province, districts of a city
}


@dataclass(frozen=True)
class QueryLimits:
    """The limits; ``api.settings.Settings`` carries them per deployment."""

    max_depth: int = 12
    max_aliases: int = 30
    max_cost: int = 5_000
    max_page_size: int = 100
    default_page_size: int = 20
    max_node_ids: int = 100
    assumed_list_size: int = 10
    list_sizes: Mapping[str, int] = field(default_factory=lambda: dict(LIST_SIZES))


def _is_list(type_: GraphQLOutputType) -> bool:
    while isinstance(type_, GraphQLNonNull):
        type_ = type_.of_type
    return isinstance(type_, GraphQLList)


class _Walker:
    def __init__(
        self,
        schema: GraphQLSchema,
        fragments: Mapping[str, FragmentDefinitionNode],
        limits: QueryLimits,
        variables: Mapping[str, Any] | None = None,
    ) -> None:
        self.schema = schema
        self.fragments = fragments
        self.limits = limits
        self.variables = variables or {}
        self.aliases = 0
        self._cost_memo: dict[tuple[str, int | None], int] = {}
        self._depth_memo: dict[str, int] = {}
        self._alias_seen: set[int] = set()
        self._active: set[str] = set()

    # --- sizes -----------------------------------------------------------------------------

    def _int_argument(self, node: FieldNode, name: str, default: Any) -> int | None:
        for arg in node.arguments or ():
            if arg.name.value != name:
                continue
            value = arg.value
            if isinstance(value, IntValueNode):
                try:
                    return max(int(value.value), 0)
                except ValueError:
                    return self.limits.max_page_size
            if isinstance(value, VariableNode):
                # The size requested: the variable's value (coerced later; anything that is
                # not an integer fails there, so it counts as the default page here).
                sent = self.variables.get(value.name.value)
                if isinstance(sent, int) and not isinstance(sent, bool):
                    return max(sent, 0)
                return None
            return None  # null or a wrong type: another rule or the resolver refuses it
        return default if isinstance(default, int) and not isinstance(default, bool) else None

    def _page_size(self, node: FieldNode, field_args: dict[str, Any]) -> int | None:
        for name in PAGE_ARGUMENTS:
            if name in field_args:
                size = self._int_argument(node, name, field_args[name].default_value)
                return self.limits.default_page_size if size is None else size
        for name in ID_LIST_ARGUMENTS:
            if name in field_args:
                for arg in node.arguments or ():
                    if arg.name.value == name:
                        if isinstance(arg.value, ListValueNode):
                            return len(arg.value.values)
                        if isinstance(arg.value, VariableNode):
                            sent = self.variables.get(arg.value.name.value)
                            return len(sent) if isinstance(sent, list) else 1
                        return 1
                return 0
        return None

    # --- walking ---------------------------------------------------------------------------

    def _type_named(self, name: str | None, fallback: GraphQLNamedType | None) -> Any:
        if name is None:
            return fallback
        return self.schema.get_type(name)

    def _fragment(self, name: str) -> FragmentDefinitionNode | None:
        return self.fragments.get(name)

    def cost(
        self, selection_set: SelectionSetNode | None, parent: Any, page: int | None
    ) -> int:
        if selection_set is None:
            return 0
        total = 0
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                total += self._field_cost(selection, parent, page)
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                target = self._type_named(condition.name.value if condition else None, parent)
                total += self.cost(selection.selection_set, target, page)
            elif isinstance(selection, FragmentSpreadNode):
                total += self._spread_cost(selection.name.value, page)
        return total

    def _spread_cost(self, name: str, page: int | None) -> int:
        key = (name, page)
        if key in self._cost_memo:
            return self._cost_memo[key]
        fragment = self._fragment(name)
        if fragment is None or name in self._active:
            return 0  # unknown or cyclic: KnownFragmentNames / NoFragmentCycles report it
        self._active.add(name)
        try:
            target = self._type_named(fragment.type_condition.name.value, None)
            value = self.cost(fragment.selection_set, target, page)
        finally:
            self._active.discard(name)
        self._cost_memo[key] = value
        return value

    def _field_cost(self, node: FieldNode, parent: Any, page: int | None) -> int:
        name = node.name.value
        if name.startswith("__"):
            return 1
        if not isinstance(parent, GraphQLObjectType | GraphQLInterfaceType):
            return 1 + self.cost(node.selection_set, None, None)
        field_def = parent.fields.get(name)
        if field_def is None:
            return 1  # FieldsOnCorrectType reports it
        size = self._page_size(node, field_def.args)
        child_type = get_named_type(field_def.type)
        if _is_list(field_def.type):
            if size is not None:
                multiplier = size
            elif page is not None:
                multiplier = page
            else:
                multiplier = self.limits.list_sizes.get(
                    f"{parent.name}.{name}", self.limits.assumed_list_size
                )
            return 1 + multiplier * self.cost(node.selection_set, child_type, None)
        # A connection: its page size applies to the list inside it (edges), not to
        # totalCount or pageInfo.
        return 1 + self.cost(node.selection_set, child_type, size)

    def depth(self, selection_set: SelectionSetNode | None) -> int:
        if selection_set is None:
            return 0
        deepest = 0
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                if selection.alias is not None:
                    self._count_alias(id(selection))
                if selection.name.value.startswith("__"):
                    continue
                level = 1 + self.depth(selection.selection_set)
            elif isinstance(selection, InlineFragmentNode):
                level = self.depth(selection.selection_set)
            elif isinstance(selection, FragmentSpreadNode):
                level = self._spread_depth(selection.name.value)
            else:
                level = 0
            deepest = max(deepest, level)
        return deepest

    def _spread_depth(self, name: str) -> int:
        if name in self._depth_memo:
            return self._depth_memo[name]
        fragment = self._fragment(name)
        if fragment is None or name in self._active:
            return 0
        self._active.add(name)
        try:
            value = self.depth(fragment.selection_set)
        finally:
            self._active.discard(name)
        self._depth_memo[name] = value
        return value

    def _count_alias(self, key: int) -> None:
        # Each aliased field node counts once, however often its fragment is spread:
        # what the alias limit guards against is a long document of repeated fields.
        if key not in self._alias_seen:
            self._alias_seen.add(key)
            self.aliases += 1


def _fragments(document: DocumentNode) -> dict[str, FragmentDefinitionNode]:
    return {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }


def query_cost(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation_name: str | None,
    variables: Mapping[str, Any] | None,
    limits: QueryLimits,
) -> int:
    """The cost of the operation that will run, with the page sizes its variables request.

    Fragments are costed once per page size (memoised), so the walk stays linear in the
    document, which the token limit bounds: microseconds for a front-end query.
    """
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    chosen = [
        op for op in operations
        if operation_name is None or (op.name is not None and op.name.value == operation_name)
    ]
    if not chosen:
        return 0
    op = chosen[0]
    values = dict(variables or {})
    for definition in op.variable_definitions or ():
        name = definition.variable.name.value
        if name not in values and isinstance(definition.default_value, IntValueNode):
            values[name] = int(definition.default_value.value)
    walker = _Walker(schema, _fragments(document), limits, values)
    return walker.cost(op.selection_set, schema.get_root_type(op.operation), None)


class QueryCost(SchemaExtension):
    """Refuses an operation whose cost is over the limit, after validation and before any
    resolver runs.

    Why not inside the validation rule: the page sizes requested usually come in variables,
    which validation (cached per document text) does not see; counting every variable page
    as the largest allowed refused ordinary front-end queries.
    """

    def __init__(self, *, limits: QueryLimits) -> None:
        super().__init__()
        self.limits = limits

    def on_execute(self) -> Iterator[None]:
        context = self.execution_context
        document = context.graphql_document
        if document is not None and context.result is None:
            cost = query_cost(
                context.schema._schema, document, context.operation_name, context.variables,
                self.limits,
            )
            if cost > self.limits.max_cost:
                context.result = GraphQLExecutionResult(
                    data=None,
                    errors=[
                        GraphQLError(
                            f"the query would cost {cost}; the cost limit is "
                            f"{self.limits.max_cost}: ask for smaller pages (first/last), "
                            "fewer ids or fewer nested lists",
                            extensions={
                                "code": "QUERY_TOO_COSTLY",
                                "cost": cost,
                                "limit": self.limits.max_cost,
                            },
                        )
                    ],
                )
        yield


def limits_rule(limits: QueryLimits) -> type[ASTValidationRule]:
    """A validation rule class carrying ``limits``: depth, aliases and empty selections,
    which depend on the document alone; build it once per schema."""

    class QueryLimitsRule(ValidationRule):
        def enter_selection_set(self, node: SelectionSetNode, *_args: object) -> None:
            # The grammar needs at least one selection; graphql-core 3.3 parses ``{ }``.
            if not node.selections:
                self.report_error(
                    GraphQLError(
                        "a selection set must select at least one field",
                        node,
                        extensions={"code": "GRAPHQL_VALIDATION_FAILED"},
                    )
                )

        def enter_operation_definition(
            self, node: OperationDefinitionNode, *_args: object
        ) -> None:
            walker = _Walker(self.context.schema, _fragments(self.context.document), limits)
            name = node.name.value if node.name else "anonymous"
            # Counted like strawberry's QueryDepthLimiter (a root field is level 0), so the
            # configured depth keeps its meaning.
            depth = max(walker.depth(node.selection_set) - 1, 0)
            if depth > limits.max_depth:
                self._refuse(
                    f"'{name}' is {depth} levels deep; the depth limit is {limits.max_depth}",
                    node, "QUERY_TOO_DEEP", depth=depth, limit=limits.max_depth,
                )
                return
            if walker.aliases > limits.max_aliases:
                self._refuse(
                    f"'{name}' uses {walker.aliases} aliases; the alias limit is "
                    f"{limits.max_aliases}",
                    node, "TOO_MANY_ALIASES", aliases=walker.aliases, limit=limits.max_aliases,
                )
                return

        def _refuse(
            self, message: str, node: OperationDefinitionNode, code: str, **extra: int
        ) -> None:
            self.report_error(
                GraphQLError(message, node, extensions={"code": code, **extra})
            )

    return QueryLimitsRule
