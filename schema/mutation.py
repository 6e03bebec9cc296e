"""One transaction per mutation, and expected failures as ``userErrors``.

``mutate`` is the one way a mutation resolver runs its service call: it hands the call to
``run`` and builds the mutation's payload from the result. ``run`` calls the service,
commits, and on a ``UserError`` rolls back and returns the error on the payload;
``Forbidden`` and faults roll back and become top-level errors. So nothing a mutation writes
is ever half-kept. A serialisation failure or deadlock (the database rolled the transaction
back) runs the whole mutation once more before anything is published.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar, cast

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.exc import StaleDataError
from strawberry.types.nodes import SelectedField, Selection
from strawberry.utils.str_converters import to_camel_case

from models.faults import classify
from schema.context import Info
from schema.enums import UserErrorCode
from schema.languages import translate
from schema.loaders import Loaders
from schema.shape import maybe
from workflow.context import ServiceContext
from workflow.errors import UserError as ServiceUserError
from workflow.infra.events import LocalBus

T = TypeVar("T")
P = TypeVar("P")
log = logging.getLogger("lianbao.graphql")


@dataclasses.dataclass(frozen=True)
class ReadAfterCommit:
    """What a mutation answers when its subject is not what the service returned: the
    subject is read by ``read`` once the transaction has committed, not inside it.

    A persuasion's service returns the attempt, its payload the case. Read inside the
    transaction, the case would cost one more round trip while the service's row lock on it
    is held, and every concurrent write on that case queues behind the lock for as long
    (with one worker serving many requests, for as long as the event loop takes to come
    back to this one too). Read after, it is an ordinary read, filtered by the policy like
    any other. If it fails, the change stays kept and the subject is null (``mutate``)."""

    read: Callable[[ServiceContext], Awaitable[object]]


@strawberry.type(description="An expected failure the client should show its user.")
class UserError:
    field: str | None
    message: str
    code: str = strawberry.field(deprecation_reason="A free string: use errorCode, a closed enum.")

    @strawberry.field(description="What went wrong, from a closed set a client can switch on.")
    def error_code(self) -> UserErrorCode:
        return UserErrorCode(self.code)


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
    """``transact`` for a resolver: the request's services and bus; batched reads cached
    before a retried failure may be stale, so the retry starts them afresh."""

    def fresh_loaders() -> None:
        info.context.loaders = Loaders(info.context.services)

    return await transact(info.context.services, operation, info.context.app.bus,
                          fresh_loaders)


async def transact(
    ctx: ServiceContext,
    operation: Callable[[ServiceContext], Awaitable[T]],
    bus: LocalBus | None,
    on_retry: Callable[[], None] | None = None,
) -> tuple[T | None, list[UserError]]:
    """The one transaction of a mutation: ``operation``, then the commit; an expected failure
    rolled back and answered as ``UserError``; the after-commit hooks and task events run
    only once it has committed. Shared by the resolvers (``run``) and the planned persisted
    mutations (api/persisted.py), so both keep the same transaction, retry and errors."""
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
            return None, [UserError(field=exc.field, message=translate(exc.message), code=exc.code)]
        except StaleDataError:
            # The optimistic version check in the UPDATE found someone else's write.
            await session.rollback()
            ctx.events.clear()
            ctx.after_commit.clear()
            return None, [
                UserError(
                    field="expectedVersion",
                    code="CONFLICT",
                    message=translate("the record changed concurrently; reload and retry"),
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
            log.warning("mutation hit %s; retrying once", fault.code)
            if on_retry is not None:
                on_retry()
    hooks, ctx.after_commit = ctx.after_commit, []
    for hook in hooks:
        await hook()
    events, ctx.events = ctx.events, []
    if bus is not None and events:
        await bus.publish(events)
    return result, []


async def mutate(
    info: Info,
    payload: type[P],
    shape: Callable[[T], object],
    operation: Callable[[ServiceContext], Awaitable[T]],
) -> P:
    """Run ``operation`` in the mutation's transaction (``run``) and answer ``payload``: its
    subject field holds ``shape(result)``, or null when the operation failed, and
    ``userErrors`` the expected failures.

    Every payload type is explicit in the SDL (``CasePayload { case, userErrors }``); what they
    share is built here once, so a new mutation writes only its service call.
    """
    result, errors = await run(info, operation)
    subject = _subject_field(payload)
    if isinstance(result, ReadAfterCommit):
        # Not asked for (a front-end that wants only ``userErrors``): no read at all, which
        # is a transaction of its own (begin, select, rollback) once the commit is made.
        asked = _selects(info.selected_fields, to_camel_case(subject))
        result = cast(T, await _read_committed(info, result)) if asked else None
    fields = {subject: maybe(shape, result), "user_errors": errors}
    return cast(Callable[..., P], payload)(**fields)


async def _read_committed(info: Info, later: ReadAfterCommit) -> object | None:
    """The committed mutation's subject, or None (the subject null, no ``userErrors``) when
    that read fails: the change is kept, and reporting it as failed would have the client
    send it again (a second persuasion, a second note)."""
    try:
        return await later.read(info.context.services)
    except Exception:
        log.warning("reading a committed mutation's subject failed", exc_info=True)
        await _rollback(info.context.services.session)
        return None


def _selects(selections: Sequence[Selection], name: str) -> bool:
    """Whether the mutation field's selection (``info.selected_fields``: the one field)
    asks for its payload's field ``name``, directly or in a fragment. A field under
    ``@skip``/``@include`` counts as asked: reading it when not needed is only a read."""
    stack: list[Selection] = [s for field in selections if isinstance(field, SelectedField)
                              for s in field.selections]
    while stack:
        item = stack.pop()
        if isinstance(item, SelectedField):
            if item.name == name:
                return True
        else:
            stack.extend(item.selections)
    return False


def _subject_field(payload: type) -> str:
    """The name of a payload's one field besides ``user_errors`` (``case``, ``task`` …).

    A payload of another shape is a programming error, caught the first time it is used
    (tests/test_schema_structure.py runs every payload type through it)."""
    names = [f.name for f in dataclasses.fields(payload) if f.name != "user_errors"]
    if len(names) != 1 or len(names) == len(dataclasses.fields(payload)):
        raise TypeError(f"{payload.__name__} is not a payload: one field and user_errors")
    return names[0]
