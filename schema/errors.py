"""Error codes in ``extensions``.

Every top-level error carries ``extensions.code``: our own ``LianbaoError`` subclasses give
theirs (plus their ``extra``: a limit, a size); GraphQL syntax errors and the token limit get
``GRAPHQL_PARSE_FAILED``, validation failures ``GRAPHQL_VALIDATION_FAILED``, variables that do
not coerce to their type (an invalid date, an unknown enum value, ``1e30`` for an ``Int``)
``BAD_INPUT``; database faults a client can retry (a lock or statement timeout, a deadlock,
an unreachable database: ``models/faults.py``) get their own code and
``extensions.retryable: true``; anything unexpected is logged with the request id and replaced
by ``INTERNAL`` so no stack detail or data leaks to the client.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator

from graphql import GraphQLError
from strawberry.extensions import SchemaExtension

from authz.errors import LianbaoError
from models.faults import classify
from schema.languages import localized

log = logging.getLogger("lianbao.graphql")


def coded(error: GraphQLError) -> GraphQLError:
    original = error.original_error
    extensions = dict(error.extensions or {})
    if "code" in extensions:
        return error
    if isinstance(original, LianbaoError):
        extensions["code"] = original.code
        if original.field:
            extensions["field"] = original.field
        reason = getattr(original, "reason", None)
        if reason:
            extensions["reason"] = reason
        extensions.update(original.extra)
        return GraphQLError(
            original.message,
            error.nodes,
            error.source,
            error.positions,
            error.path,
            original,
            extensions,
        )
    if is_request_error(error):
        extensions["code"] = _request_error_code(error)
        return GraphQLError(
            error.message,
            error.nodes,
            error.source,
            error.positions,
            error.path,
            None,
            extensions,
        )
    fault = classify(original) if original is not None else None
    if fault is not None:
        # Not a bug: the database refused or could not serve this now; the client may retry.
        log.warning("database fault %s in resolver: %s", fault.code, original)
        return GraphQLError(
            fault.message,
            error.nodes,
            error.source,
            error.positions,
            error.path,
            None,
            {"code": fault.code, "retryable": fault.retryable},
        )
    log.error("unexpected error in resolver", exc_info=original)
    return GraphQLError(
        "internal error",
        error.nodes,
        error.source,
        error.positions,
        error.path,
        None,
        {"code": "INTERNAL"},
    )


def is_request_error(error: GraphQLError) -> bool:
    """A failure of the request itself (syntax, validation, variable coercion), not a fault.

    graphql-core reports those before any resolver runs (no ``path``) and points at the
    document (``nodes`` or ``positions``); a scalar's ``ValueError`` or the inner error of a
    variable's coercion rides along as ``original_error``. A resolver error without our code
    has a ``path`` and stays a fault.
    """
    original = error.original_error
    if original is None:
        return True
    if error.path is not None:
        return False
    return isinstance(original, GraphQLError) or bool(error.nodes) or bool(error.positions)


def _request_error_code(error: GraphQLError) -> str:
    if error.message.startswith("Syntax Error"):
        return "GRAPHQL_PARSE_FAILED"  # includes the token limit ("Document contains more…")
    if error.path is not None:
        return "BAD_INPUT"
    if _COERCION.match(error.message):
        return "BAD_INPUT"
    return "GRAPHQL_VALIDATION_FAILED"


# graphql-core's messages for a variable's value that does not coerce to its type (bad input),
# as opposed to validation's messages about the document's variables ("Variable '$x' is never
# used.", "… is not defined", "… used in position expecting …"), which stay validation failures.
_COERCION = re.compile(
    r"Variable '\$\w+' (got invalid value|has invalid value|of required type .* was not provided"
    r"|of non-null type .* must not be null)"
)


class ErrorCodes(SchemaExtension):
    """Codes every error, and words its message in the request's language (schema/languages.py):
    the one place GraphQL errors are formatted for the response."""

    def on_operation(self) -> Iterator[None]:
        yield
        result = self.execution_context.result
        if result is not None and result.errors:
            result.errors = [localized(coded(e)) for e in result.errors]
        if self.execution_context.pre_execution_errors:
            self.execution_context.pre_execution_errors = [
                localized(coded(e)) for e in self.execution_context.pre_execution_errors
            ]
