"""One transaction per mutation, and expected failures as ``userErrors``.

``run`` calls the service, commits, and on a ``UserError`` rolls back and returns the error
on the payload; ``Forbidden`` and faults roll back and become top-level errors. So nothing a
mutation writes is ever half-kept. A serialisation failure or deadlock (the database rolled
the transaction back) runs the whole mutation once more before anything is published.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.exc import StaleDataError

from models.faults import classify
from schema.context import Info
from schema.loaders import Loaders
from workflow.context import ServiceContext
from workflow.errors import UserError as ServiceUserError

T = TypeVar("T")
log = logging.getLogger("lianbao.graphql")


@strawberry.type(description="An expected failure the client should show its user.")
class UserError:
    field: str | None
    message: str
    code: str


# How many times a mutation runs at most when PostgreSQL rolled it back as a serialisation
# failure or deadlock victim: once more, since the conflicting transaction has usually
# finished by then; a second failure goes back to the client as a retryable error.
ATTEMPTS = 2


async def _rollback(session: AsyncSession) -> None:
    """Roll back, never masking the fault being handled: after a connection died the
    rollback itself fails, and the caller's error is the one that matters."""
    try:
        await session.rollback()
    except Exception:
        log.warning("rollback after a failed mutation failed too", exc_info=True)


async def run(
    info: Info, operation: Callable[[ServiceContext], Awaitable[T]]
) -> tuple[T | None, list[UserError]]:
    ctx = info.context.services
    session = ctx.session
    for attempt in range(1, ATTEMPTS + 1):
        try:
            result = await operation(ctx)
            await session.commit()
            break
        except ServiceUserError as exc:
            await session.rollback()
            ctx.events.clear()
            ctx.after_commit.clear()
            return None, [UserError(field=exc.field, message=exc.message, code=exc.code)]
        except StaleDataError:
            # The optimistic version check in the UPDATE found someone else's write.
            await session.rollback()
            ctx.events.clear()
            ctx.after_commit.clear()
            return None, [
                UserError(
                    field="expectedVersion",
                    code="CONFLICT",
                    message="the record changed concurrently; reload and retry",
                )
            ]
        except BaseException as exc:
            await _rollback(session)
            ctx.events.clear()
            ctx.after_commit.clear()
            fault = classify(exc) if isinstance(exc, Exception) else None
            if fault is None or not fault.retry_in_server or attempt == ATTEMPTS:
                raise
            # Safe to run again: the database rolled the whole transaction back, nothing was
            # published (events and hooks wait for the commit) and no response was sent.
            # Batched reads cached before the failure may be stale, so start them afresh.
            log.warning("mutation hit %s; retrying once", fault.code)
            info.context.loaders = Loaders(ctx)
    hooks, ctx.after_commit = ctx.after_commit, []
    for hook in hooks:
        await hook()
    events, ctx.events = ctx.events, []
    bus = info.context.extra.get("bus")
    if bus is not None and events:
        await bus.publish(events)
    return result, []
