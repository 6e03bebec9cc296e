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
from strawberry.schema.validation_rules.maybe_null import MaybeNullValidationRule
from strawberry.schema.validation_rules.one_of import OneOfInputValidationRule
from strawberry.types import ExecutionContext, ExecutionResult

from authz.errors import LianbaoError
from schema.access_log import AccessLogQuery
from schema.accountability import AccountabilityMutation, AccountabilityQuery
from schema.audit import AuditQuery
from schema.case import CaseMutation, CaseQuery
from schema.census import CensusMutation, CensusQuery
from schema.child import ChildMutation, ChildQuery
from schema.context import Info
from schema.crosscheck import CrosscheckMutation, CrosscheckQuery
from schema.descriptions import Coverage, apply_descriptions
from schema.document import DocumentMutation, DocumentQuery
from schema.employer import EmployerMutation, EmployerQuery
from schema.enforcement import EnforcementMutation, EnforcementQuery
from schema.errors import ErrorCodes, coded, is_request_error
from schema.finding import FindingMutation, FindingQuery
from schema.home_visit import HomeVisitMutation, HomeVisitQuery
from schema.household import HouseholdMutation, HouseholdQuery
from schema.ids import parse_global_id
from schema.imports import ImportMutation, ImportQuery, ImportSubscription
from schema.inputs import SCALAR_OVERRIDES, guard_inputs
from schema.inspection import InspectionMutation, InspectionQuery
from schema.labels import LabelQuery
from schema.ladder import LadderMutation, LadderQuery
from schema.languages import localized
from schema.ledger import LedgerQuery
from schema.limits import QueryCost, QueryLimits, limits_rule
from schema.policy import PolicyMutation, PolicyQuery
from schema.prevention import SubstituteSchoolingMutation, SubstituteSchoolingQuery
from schema.reference import ReferenceQuery
from schema.register import RegisterMutation, RegisterQuery
from schema.report import ReportMutation, ReportQuery
from schema.role import RoleMutation
from schema.school import SchoolMutation, SchoolQuery
from schema.stats import StatsQuery
from schema.supervision import RectificationMutation, SupervisionMutation, SupervisionQuery
from schema.task import TaskMutation, TaskQuery, TaskSubscription
from schema.user import UserDirectoryQuery, UserMutation, UserQuery
from workflow.errors import InvalidInput, TooManyIds


@strawberry.type
class Query(
    UserQuery,
    ReferenceQuery,
    ChildQuery,
    SchoolQuery,
    CaseQuery,
    TaskQuery,
    DocumentQuery,
    EmployerQuery,
    InspectionQuery,
    FindingQuery,
    EnforcementQuery,
    LadderQuery,
    UserDirectoryQuery,
    PolicyQuery,
    AccessLogQuery,
    AuditQuery,
    LabelQuery,
    RegisterQuery,
    ImportQuery,
    HouseholdQuery,
    CrosscheckQuery,
    StatsQuery,
    LedgerQuery,
    AccountabilityQuery,
    ReportQuery,
    SubstituteSchoolingQuery,
    HomeVisitQuery,
    CensusQuery,
    SupervisionQuery,
):
    # Plain resolvers rather than relay.node(): that field binds itself to the first schema
    # built, and tests (and a production-mode app) build more than one. The ids are plain
    # ``ID``s decoded by schema.ids, so a malformed one is BAD_INPUT, not a resolver crash.
    @strawberry.field(description="Refetch any object by its global id.")
    async def node(self, info: Info, id: strawberry.ID) -> relay.Node | None:
        node_type, key = _node_key(info, id, "id")
        (found,) = await _resolve(info, node_type, [key])
        return found

    @strawberry.field(
        description="Refetch several objects by their global ids (at most the configured "
        "number, 100 by default)."
    )
    async def nodes(self, info: Info, ids: list[strawberry.ID]) -> list[relay.Node | None]:
        limit = _limits(info).max_node_ids
        if len(ids) > limit:
            raise TooManyIds(
                f"nodes takes at most {limit} ids", field="ids", limit=limit, size=len(ids)
            )
        keys = [_node_key(info, gid, "ids") for gid in ids]
        # One batched lookup per type, not one per id.
        by_type: dict[type[relay.Node], list[str]] = {}
        for node_type, key in keys:
            by_type.setdefault(node_type, []).append(key)
        found: dict[tuple[str, str], relay.Node | None] = {}
        for node_type, type_keys in by_type.items():
            resolved = await _resolve(info, node_type, type_keys)
            for key, node in zip(type_keys, resolved, strict=True):
                found[(node_type.__name__, key)] = node
        return [found[(node_type.__name__, key)] for node_type, key in keys]


def _node_key(info: Info, gid: str, field: str) -> tuple[type[relay.Node], str]:
    """The Node type and database key a global id names; BAD_INPUT when the type is unknown
    or not a Node (``Nope:1``, ``Query:1``)."""
    parsed = parse_global_id(gid, field)
    try:
        node_type = parsed.resolve_type(info)
    except (ValueError, TypeError) as exc:
        raise InvalidInput("not the id of an object", field=field) from exc
    return node_type, parsed.node_id


async def _resolve(
    info: Info, node_type: type[relay.Node], keys: list[str]
) -> list[relay.Node | None]:
    result = node_type.resolve_nodes(info=info, node_ids=keys, required=False)
    nodes = await result if inspect.isawaitable(result) else result
    return list(nodes)


def _limits(info: Info) -> QueryLimits:
    schema = info.schema
    return schema.limits if isinstance(schema, LianbaoSchema) else QueryLimits()


@strawberry.type
class Subscription(TaskSubscription, ImportSubscription):
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

    # Its query limits, so that ``nodes`` refuses the same id count the cost rule assumed.
    limits: QueryLimits = QueryLimits()
    # What the description catalogue left undescribed or did not use (schema/descriptions.py).
    descriptions: Coverage | None = None

    async def execute(self, *args: Any, **kwargs: Any) -> ExecutionResult:
        """Code every error once more: a syntax error raised by ``ParserCache`` escapes the
        operation hooks (so ``ErrorCodes`` never sees it) and would reach the client bare."""
        result = await super().execute(*args, **kwargs)
        if result.errors:
            result.errors = [localized(coded(e)) for e in result.errors]
        return result

    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        unexpected = [e for e in errors if not isinstance(e.original_error, LianbaoError)
                      and e.original_error is not None and not is_request_error(e)]
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
    UserMutation,
    RoleMutation,
    PolicyMutation,
    SchoolMutation,
    ChildMutation,
    RegisterMutation,
    ImportMutation,
    HouseholdMutation,
    CrosscheckMutation,
    AccountabilityMutation,
    ReportMutation,
    SubstituteSchoolingMutation,
    HomeVisitMutation,
    CensusMutation,
    SupervisionMutation,
    RectificationMutation,
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
    limits: QueryLimits | None = None,
    max_tokens: int = 2000,
    introspection: bool = True,
) -> strawberry.Schema:
    """Build the schema once per process.

    The depth and alias limits are one validation rule built once here and handed over with
    ``AddValidationRules``: strawberry's own limiter extensions build a new rule per request,
    which defeats ``ValidationCache`` (strawberry issue 4635). The cost, which depends on the
    page sizes in the variables, is checked by ``QueryCost`` between validation and execution.
    """
    limits = limits or QueryLimits()
    rules: list[type[ASTValidationRule]] = [limits_rule(limits)]
    if not introspection:
        rules.append(NoSchemaIntrospectionCustomRule)
    # Without introspection the schema is not public: no "Did you mean …?" either.
    hide_suggestions = not introspection
    schema = LianbaoSchema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        scalar_overrides=SCALAR_OVERRIDES,
        # Factories, not instances: an instance would be shared by concurrent requests. The
        # parse and validation caches are module-level in strawberry, so they still persist.
        extensions=[
            ErrorCodes,
            partial(MaxTokensLimiter, max_token_count=max_tokens),
            partial(ParserCache, maxsize=512),
            partial(AddValidationRules, rules),
            partial(CachedValidation, hide_suggestions=hide_suggestions),
            partial(QueryCost, limits=limits),
        ],
        hide_suggestions=hide_suggestions,
    )
    schema.limits = limits
    guard_inputs(schema._schema)
    schema.descriptions = apply_descriptions(schema._schema)
    return schema
