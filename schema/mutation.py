"""One transaction per mutation, and expected failures as ``userErrors``.

``run`` calls the service, commits, and on a ``UserError`` rolls back and returns the error
on the payload; ``Forbidden`` and faults roll back and become top-level errors. So nothing a
mutation writes is ever half-kept.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

import strawberry
from sqlalchemy.orm.exc import StaleDataError

from schema.context import Info
from workflow.context import ServiceContext
from workflow.errors import UserError as ServiceUserError

T = TypeVar("T")


@strawberry.type(description="An expected failure the client should show its user.")
class UserError:
    field: str | None
    message: str
    code: str


async def run(
    info: Info, operation: Callable[[ServiceContext], Awaitable[T]]
) -> tuple[T | None, list[UserError]]:
    ctx = info.context.services
    session = ctx.session
    try:
        result = await operation(ctx)
        await session.commit()
    except ServiceUserError as exc:
        await session.rollback()
        ctx.events.clear()
        return None, [UserError(field=exc.field, message=exc.message, code=exc.code)]
    except StaleDataError:
        # The optimistic version check in the UPDATE found someone else's write.
        await session.rollback()
        ctx.events.clear()
        return None, [
            UserError(
                field="expectedVersion",
                code="CONFLICT",
                message="the record changed concurrently; reload and retry",
            )
        ]
    except BaseException:
        await session.rollback()
        ctx.events.clear()
        raise
    hooks, ctx.after_commit = ctx.after_commit, []
    for hook in hooks:
        await hook()
    events, ctx.events = ctx.events, []
    bus = info.context.extra.get("bus")
    if bus is not None and events:
        await bus.publish(events)
    return result, []
