"""Per-request GraphQL context: the service context plus the request's DataLoaders."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.types import Info as _Info

from authz.guard import FieldGuard
from authz.principal import Principal
from schema.loaders import Loaders
from workflow.context import ServiceContext


@dataclass
class Context:
    services: ServiceContext
    loaders: Loaders
    guard: FieldGuard
    request: Any = None
    response: Any = None
    extra: dict[str, Any] = field(default_factory=dict)
    # graphql-transport-ws: the connection_init payload (it carries the token).
    connection_params: dict[str, Any] | None = None
    # graphql-transport-ws: a socket outlives its token and its user's grants, so a
    # subscription calls this before each event: the principal as of now, or None when the
    # token has expired or the user was deactivated (the socket is then being closed, 4403).
    # None over HTTP, where every request authenticates afresh.
    reauthenticate: Callable[[AsyncSession], Awaitable[Principal | None]] | None = None


Info = _Info[Context, None]
