"""The errors authorization raises, with machine-readable codes.

They live in the authz layer, below the services, because ``Authorizer.require`` raises
``Forbidden`` and the layers import only downwards (docs/architecture.md). The services'
own errors (``workflow/errors.py``) subclass ``LianbaoError``; the GraphQL layer turns
``UserError`` subclasses into ``userErrors`` and everything else into top-level errors with
``extensions.code``.
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
