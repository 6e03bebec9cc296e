"""Errors with machine-readable codes.

Services raise these; the GraphQL layer turns ``UserError`` subclasses into ``userErrors`` on
mutation payloads and everything else into top-level errors with ``extensions.code``.
"""

from __future__ import annotations


class LianbaoError(Exception):
    code = "INTERNAL"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        # Machine-readable detail for ``extensions`` (a limit and the size sent).
        self.extra: dict[str, object] = {}


class Unauthenticated(LianbaoError):
    code = "UNAUTHENTICATED"


class Forbidden(LianbaoError):
    """Denied by policy. The message never says whether the record exists."""

    code = "FORBIDDEN"

    def __init__(self, message: str = "not allowed", *, field: str | None = None) -> None:
        super().__init__(message, field=field)


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
