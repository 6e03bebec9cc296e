"""Errors with machine-readable codes raised by the services.

``LianbaoError``, ``Unauthenticated`` and ``Forbidden`` live in ``authz/errors.py`` (the
authorizer raises them, and authz sits below the services).

Services raise these; the GraphQL layer turns ``UserError`` subclasses into ``userErrors`` on
mutation payloads and everything else into top-level errors with ``extensions.code``.
"""

from __future__ import annotations

from enum import StrEnum

from authz.errors import LianbaoError


class LimitExceeded(LianbaoError):
    """A request over one of the server's size limits; a top-level error that names the
    limit (``extensions.limit``) and what was sent, so a client can split its request."""

    code = "LIMIT_EXCEEDED"

    def __init__(self, message: str, *, field: str | None = None, **extra: object) -> None:
        super().__init__(message, field=field)
        self.extra = dict(extra)


class TooManyIds(LimitExceeded):
    code = "TOO_MANY_IDS"


class TextTooLong(LimitExceeded):
    """A free-text input longer than its field's limit (schema/inputs.py)."""

    code = "TEXT_TOO_LONG"


class UserError(LianbaoError):
    """An expected business failure the client should show to its user."""

    code = "BAD_INPUT"


class InvalidInput(UserError):
    code = "BAD_INPUT"


class NotFound(UserError):
    code = "NOT_FOUND"


class Conflict(UserError):
    """Someone else changed the record first (optimistic version check failed)."""

    code = "CONFLICT"


class WrongStage(UserError):
    code = "WRONG_STAGE"


class Duplicate(UserError):
    code = "DUPLICATE"


class BadIdNumber(InvalidInput):
    """A national ID number that fails GB 11643 (length, date or check character)."""

    code = "INVALID_ID_NUMBER"


class BadCreditCode(InvalidInput):
    """A Unified Social Credit Code that fails GB 32100 (alphabet or check character)."""

    code = "INVALID_CREDIT_CODE"


class IdempotencyKeyReused(UserError):
    """The same idempotency key sent with a different request: refused, not merged."""

    code = "IDEMPOTENCY_KEY_REUSED"


class UserErrorCode(StrEnum):
    """The closed set of codes a mutation's ``userErrors`` carry: the ``code`` of every
    ``UserError`` above, and ``CONFLICT`` for a write another transaction got in first
    (tests/test_schema_conventions.py holds the two to each other)."""

    BAD_INPUT = "BAD_INPUT"
    NOT_FOUND = "NOT_FOUND"
    CONFLICT = "CONFLICT"
    WRONG_STAGE = "WRONG_STAGE"
    DUPLICATE = "DUPLICATE"
    INVALID_ID_NUMBER = "INVALID_ID_NUMBER"
    INVALID_CREDIT_CODE = "INVALID_CREDIT_CODE"
    IDEMPOTENCY_KEY_REUSED = "IDEMPOTENCY_KEY_REUSED"
