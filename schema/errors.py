"""Error codes in ``extensions``.

Every top-level error carries ``extensions.code``: our own ``LianbaoError`` subclasses give
theirs; GraphQL syntax and validation failures get ``GRAPHQL_PARSE_FAILED`` /
``GRAPHQL_VALIDATION_FAILED``; database faults a client can retry (a lock or statement
timeout, a deadlock, an unreachable database: ``models/faults.py``) get their own code and
``extensions.retryable: true``; anything unexpected is logged with the request id and replaced
by ``INTERNAL`` so no stack detail or data leaks to the client.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

from graphql import GraphQLError
from strawberry.extensions import SchemaExtension

from models.faults import classify
from workflow.errors import LianbaoError

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
        return GraphQLError(
            original.message,
            error.nodes,
            error.source,
            error.positions,
            error.path,
            original,
            extensions,
        )
    if original is None or is_input_coercion(error):
        code = (
            "GRAPHQL_PARSE_FAILED"
            if "Syntax Error" in error.message
            else ("GRAPHQL_VALIDATION_FAILED" if error.path is None else "BAD_INPUT")
        )
        extensions["code"] = code
        return GraphQLError(
            error.message,
            error.nodes,
            error.source,
            error.positions,
            error.path,
            None,
            extensions,
        )
    fault = classify(original)
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


def is_input_coercion(error: GraphQLError) -> bool:
    """A variable graphql-core could not coerce (an unknown enum value, a scalar whose parser
    refused the text): bad input, even though graphql-core keeps the parser's exception as
    ``original_error``. Its message is graphql-core's own, written for the client."""
    return error.path is None and (
        isinstance(error.original_error, GraphQLError)
        or error.message.startswith("Variable '$")
    )


class ErrorCodes(SchemaExtension):
    def on_operation(self) -> Iterator[None]:
        yield
        result = self.execution_context.result
        if result is not None and result.errors:
            result.errors = [coded(e) for e in result.errors]
        if self.execution_context.pre_execution_errors:
            self.execution_context.pre_execution_errors = [
                coded(e) for e in self.execution_context.pre_execution_errors
            ]
