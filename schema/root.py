"""The root types and the schema object, with its protections built once."""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from functools import lru_cache, partial
from typing import Any

import strawberry
from graphql import ASTValidationRule, DocumentNode, GraphQLError, GraphQLSchema, validate
from graphql.validation import NoSchemaIntrospectionCustomRule
from strawberry import relay
from strawberry.extensions import (
    AddValidationRules,
    MaxTokensLimiter,
    ParserCache,
    SchemaExtension,
)
from strawberry.extensions.max_aliases import create_validator as alias_validator
from strawberry.extensions.query_depth_limiter import create_validator as depth_validator
from strawberry.schema.validation_rules.maybe_null import MaybeNullValidationRule
from strawberry.schema.validation_rules.one_of import OneOfInputValidationRule
from strawberry.types import ExecutionContext, ExecutionResult

from schema.admin import AdminMutation, AdminQuery
from schema.case import CaseMutation, CaseQuery
from schema.child import ChildQuery
from schema.context import Info
from schema.document import DocumentMutation, DocumentQuery
from schema.employer import EmployerMutation, EmployerQuery
from schema.enforcement import EnforcementMutation, EnforcementQuery
from schema.errors import ErrorCodes, coded, is_input_coercion
from schema.finding import FindingMutation, FindingQuery
from schema.inspection import InspectionMutation, InspectionQuery
from schema.ladder import LadderMutation, LadderQuery
from schema.reference import ReferenceQuery
from schema.task import TaskMutation, TaskQuery, TaskSubscription
from schema.user import UserQuery
from workflow.errors import LianbaoError


@strawberry.type
class Query(
    UserQuery,
    ReferenceQuery,
    ChildQuery,
    CaseQuery,
    TaskQuery,
    DocumentQuery,
    EmployerQuery,
    InspectionQuery,
    FindingQuery,
    EnforcementQuery,
    LadderQuery,
    AdminQuery,
):
    # Plain resolvers rather than relay.node(): that field binds itself to the first schema
    # built, and tests (and a production-mode app) build more than one.
    @strawberry.field(description="Refetch any object by its global id.")
    async def node(self, info: Info, id: relay.GlobalID) -> relay.Node | None:
        resolved: relay.Node | None = await id.resolve_node(info, required=False)
        return resolved

    @strawberry.field(description="Refetch several objects by their global ids.")
    async def nodes(self, info: Info, ids: list[relay.GlobalID]) -> list[relay.Node | None]:
        # One batched lookup per type, not one per id.
        by_type: dict[type[relay.Node], list[str]] = {}
        for gid in ids:
            by_type.setdefault(gid.resolve_type(info), []).append(gid.node_id)
        found: dict[tuple[str, str], relay.Node | None] = {}
        for node_type, keys in by_type.items():
            result = node_type.resolve_nodes(info=info, node_ids=keys, required=False)
            nodes = await result if inspect.isawaitable(result) else result
            for key, node in zip(keys, list(nodes), strict=True):
                found[(node_type.__name__, key)] = node
        return [found[(gid.resolve_type(info).__name__, gid.node_id)] for gid in ids]


@strawberry.type
class Subscription(TaskSubscription):
    pass


class LianbaoSchema(strawberry.Schema):
    """Logs only unexpected errors: a FORBIDDEN or a bad cursor is an answer, not a fault.

    With ``hide_suggestions`` (introspection off), graphql-core leaves out its "Did you mean
    …?" hints, which would otherwise spell out field, argument, type and enum names of a
    schema that production does not publish: validation gets the flag through
    ``CachedValidation``, execution (variable and enum coercion) through the executor's
    keyword arguments.
    """

    def __init__(self, *args: Any, hide_suggestions: bool = False, **kwargs: Any) -> None:
        self.hide_suggestions = hide_suggestions
        super().__init__(*args, **kwargs)

    def _get_custom_context_kwargs(
        self, operation_extensions: dict[str, Any] | None = None, *, sync: bool = False
    ) -> dict[str, Any]:
        kwargs = super()._get_custom_context_kwargs(operation_extensions, sync=sync)
        if self.hide_suggestions:
            kwargs["hide_suggestions"] = True
        return kwargs

    async def execute(self, *args: Any, **kwargs: Any) -> ExecutionResult:
        """Code every error once more: a syntax error raised by ``ParserCache`` escapes the
        operation hooks (so ``ErrorCodes`` never sees it) and would reach the client bare."""
        result = await super().execute(*args, **kwargs)
        if result.errors:
            result.errors = [coded(e) for e in result.errors]
        return result

    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        unexpected = [e for e in errors if not isinstance(e.original_error, LianbaoError)
                      and e.original_error is not None and not is_input_coercion(e)]
        super().process_errors(unexpected, execution_context)


@strawberry.type
class Mutation(
    CaseMutation,
    TaskMutation,
    DocumentMutation,
    EmployerMutation,
    InspectionMutation,
    FindingMutation,
    EnforcementMutation,
    LadderMutation,
    AdminMutation,
):
    pass


@lru_cache(maxsize=512)
def _validate(
    schema: GraphQLSchema,
    document: DocumentNode,
    rules: tuple[type[ASTValidationRule], ...],
    hide_suggestions: bool,
) -> list[GraphQLError]:
    return validate(schema, document, rules, hide_suggestions=hide_suggestions)


class CachedValidation(SchemaExtension):
    """strawberry's ``ValidationCache`` with graphql-core's ``hide_suggestions`` passed on
    (strawberry's own ``disable_field_suggestions`` only trims "Cannot query field" messages
    after the fact, and leaves argument, type, enum and input-field suggestions in)."""

    def __init__(self, hide_suggestions: bool = False) -> None:
        super().__init__()
        self.hide_suggestions = hide_suggestions

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        assert context.graphql_document is not None
        rules = (*context.validation_rules, MaybeNullValidationRule, OneOfInputValidationRule)
        context.pre_execution_errors = _validate(
            context.schema._schema, context.graphql_document, rules, self.hide_suggestions
        )
        yield


def build_schema(
    *,
    max_depth: int = 12,
    max_aliases: int = 30,
    max_tokens: int = 2000,
    introspection: bool = True,
) -> strawberry.Schema:
    """Build the schema once per process.

    The depth and alias limits are turned into validation rules once here and handed over
    with ``AddValidationRules``: strawberry's own limiter extensions build a new rule per
    request, which defeats ``ValidationCache`` (strawberry issue 4635).
    """
    rules: list[type[ASTValidationRule]] = [
        depth_validator(max_depth, None),
        alias_validator(max_aliases),
    ]
    if not introspection:
        rules.append(NoSchemaIntrospectionCustomRule)
    # Without introspection the schema is not public: no "Did you mean …?" either.
    hide_suggestions = not introspection
    return LianbaoSchema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        # Factories, not instances: an instance would be shared by concurrent requests. The
        # parse and validation caches are module-level in strawberry, so they still persist.
        extensions=[
            ErrorCodes,
            partial(MaxTokensLimiter, max_token_count=max_tokens),
            partial(ParserCache, maxsize=512),
            partial(AddValidationRules, rules),
            partial(CachedValidation, hide_suggestions=hide_suggestions),
        ],
        hide_suggestions=hide_suggestions,
    )
