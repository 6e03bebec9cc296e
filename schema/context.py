"""Per-request GraphQL context: the service context, the request's DataLoaders, and what the
running app lends every request (``AppResources``), each under its own name and type."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from strawberry.types import Info as _Info

from authz.guard import FieldGuard
from authz.principal import Principal
from schema.loaders import Loaders
from workflow.context import ServiceContext
from workflow.infra.events import LocalBus


@dataclass(frozen=True)
class AppResources:
    """What the running app lends each request. Built once per app (api/app.py) and shared by
    every request and socket operation; the defaults are what a schema run without an app
    (tests printing the SDL, the statement-count walk) needs."""

    # Where committed mutations publish their task events, and what a subscription listens to.
    bus: LocalBus | None = None
    # A subscription opens a short session per event it delivers (its socket has none).
    sessions: async_sessionmaker[AsyncSession] | None = None
    # The largest ``first`` a connection serves (settings.max_page_size).
    max_page_size: int = 100


@dataclass
class Context:
    services: ServiceContext
    loaders: Loaders
    guard: FieldGuard
    request: Any = None
    response: Any = None
    app: AppResources = field(default_factory=AppResources)
    # graphql-transport-ws: the connection_init payload (it carries the token).
    connection_params: dict[str, Any] | None = None
    # graphql-transport-ws: a socket outlives its token and its user's grants, so a
    # subscription calls this before each event: the principal as of now, or None when the
    # token has expired or the user was deactivated (the socket is then being closed, 4403).
    # None over HTTP, where every request authenticates afresh.
    reauthenticate: Callable[[AsyncSession], Awaitable[Principal | None]] | None = None


Info = _Info[Context, None]
