"""Per-request GraphQL context: the service context plus the request's DataLoaders."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from strawberry.types import Info as _Info

from authz.guard import FieldGuard
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


Info = _Info[Context, None]
