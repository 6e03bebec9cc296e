"""What every service function receives: the session, the caller, the authorizer, the clock."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncSession

from authz.enforcer import Authorizer
from authz.principal import Principal
from workflow.clock import Clock
from workflow.infra.events import TaskEvent


@dataclass
class ServiceContext:
    session: AsyncSession
    principal: Principal
    authz: Authorizer
    clock: Clock
    request_id: str | None = None
    # Work to do once the transaction has committed (reload a policy, publish an event):
    # never before, so nobody acts on a change that was rolled back.
    after_commit: list[Callable[[], Awaitable[None]]] = field(default_factory=list)
    # Task events to publish once the transaction has committed (workflow/infra/events.py).
    events: list[TaskEvent] = field(default_factory=list)
