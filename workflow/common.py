"""What several services share: version checks, the locked-and-authorized fetch, the
batch of visible rows by id or grouped by a foreign key, and the open task set (putting a
batch back in the order its ids were asked is ``workflow/batch.py``).

Each of these was once written in every feature (a fetch under seven names, "open task"
three times and inline four more); a feature that needs one imports it from here, never
another feature's private helper.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from dataclasses import field, fields
from datetime import datetime
from functools import cache
from typing import Any, TypeVar, cast

from sqlalchemy import ColumnElement, Select, inspect, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from authz.enforcer import Authorizer
from authz.principal import SYSTEM
from models.base import Base
from models.enums import TaskStatus
from models.task import Task
from workflow.batch import grouped, in_order
from workflow.clock import FixedClock
from workflow.context import ServiceContext
from workflow.errors import Conflict, InvalidInput, NotFound, WrongStage
from workflow.infra.events import TaskEvent


@cache
def _no_rules() -> Authorizer:
    # A scheduled job checks no policy (it follows the rules' calendar): this allows nothing.
    return Authorizer(())


def scheduler_context(session: AsyncSession, now: datetime) -> ServiceContext:
    """The context a scheduled job of the deadline engine acts in: the system, no policy,
    the pass's time (the register's, reports', accountability's and enforcement's jobs each
    build the same one by hand)."""
    return ServiceContext(session, SYSTEM, _no_rules(), FixedClock(now), request_id="scheduler")


# A task someone still has to do: open for claiming, or claimed and not yet done.
OPEN_TASK_STATUSES = (TaskStatus.OPEN, TaskStatus.CLAIMED)


def open_task() -> ColumnElement[bool]:
    """The SQL condition for an open task (``OPEN_TASK_STATUSES``)."""
    return Task.status.in_(OPEN_TASK_STATUSES)


M = TypeVar("M", bound=Base)
R = TypeVar("R")
K = TypeVar("K", bound=Hashable)


def check_version(current: int, expected: int | None, what: str) -> None:
    """Optimistic concurrency: CONFLICT when the client read an older version."""
    if expected is not None and current != expected:
        raise Conflict(
            f"{what} changed since you read it (version {expected}, now {current})",
            field="expectedVersion",
        )


def bounded_text(value: str, field: str, limit: int, *, required: bool = True) -> str:
    """A free-text input stripped, BAD_INPUT on ``field`` when empty (if ``required``) or
    longer than ``limit`` characters: evidence, findings, reasons are bounded everywhere."""
    text = value.strip()
    if required and not text:
        raise InvalidInput(f"{field} is required", field=field)
    if len(text) > limit:
        raise InvalidInput(f"{field} is at most {limit} characters", field=field)
    return text


def check_voidable(already_void: bool, what: str, field: str, reason: str) -> None:
    """作废 needs a record not yet void and a reason (documents, enforcement actions)."""
    if already_void:
        raise WrongStage(f"the {what} is already void", field=field)
    if not reason.strip():
        raise InvalidInput(f"say why the {what} is voided", field="reason")


async def rows_by_ids(
    ctx: ServiceContext, stmt: Select[R], key: InstrumentedAttribute[K], ids: Sequence[K]
) -> list[R | None]:
    """A DataLoader batch: the rows of ``stmt`` (already filtered to what the caller may see)
    whose ``key`` is in ``ids``, one entry per id in order, None where none is visible."""
    rows = (await ctx.session.execute(stmt.where(key.in_(ids)))).scalars()
    return in_order(rows, ids, key=lambda row: cast(K, getattr(row, key.key)))


async def rows_grouped(
    ctx: ServiceContext, stmt: Select[R], key: InstrumentedAttribute[K], ids: Sequence[K]
) -> list[list[R]]:
    """A DataLoader batch for a one-to-many relation (a case's events, an inspection's
    visits): the rows of ``stmt`` whose ``key`` is in ``ids``, grouped per id in the order
    ``stmt`` sorts them, an empty list where none. One statement for the whole batch."""
    rows = (await ctx.session.execute(stmt.where(key.in_(ids)))).scalars()
    return grouped(rows, ids, key=lambda row: cast(K, getattr(row, key.key)))


async def fetch_visible(
    ctx: ServiceContext,
    model: type[M],
    record_id: int,
    *,
    visible: Callable[[M], bool] | None = None,
    where: ColumnElement[bool] | None = None,
    lock: bool = False,
    not_found: str,
    field: str,
) -> M:
    """One record by id, NOT_FOUND (never FORBIDDEN) unless the caller may see it.

    Visibility is either a SQL condition (``where``, e.g. the list's scope filter) or a
    check of the loaded row (``visible``); the caller authorizes its own act afterwards, so
    that an answer about the act never tells someone without read rights that the record
    exists. ``lock`` takes the row lock every change takes first (``FOR UPDATE`` on
    PostgreSQL; SQLite has one writer anyway), so concurrent changes queue in one order
    instead of deadlocking, and reloads the row so the later change sees the new version.
    """
    # The mapped primary key (every model here has a single-column ``id``).
    stmt = select(model).where(inspect(model).primary_key[0] == record_id)
    if where is not None:
        stmt = stmt.where(where)
    if lock:
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    row = (await ctx.session.execute(stmt)).scalar_one_or_none()
    if row is None or (visible is not None and not visible(row)):
        raise NotFound(not_found, field=field)
    return row


async def fetch_readable(
    ctx: ServiceContext, model: type[M], record_id: int, obj: str, *, lock: bool = False,
    not_found: str, field: str,
) -> M:
    """``fetch_visible`` for a record the caller may see when the policy lets it read ``obj``
    at the record's ``scope_path``."""
    return await fetch_visible(
        ctx, model, record_id, lock=lock, not_found=not_found, field=field,
        visible=lambda row: ctx.authz.allowed(
            ctx.principal, obj, "read", cast(Any, row).scope_path  # every scoped row has one
        ),
    )


def matches(column: Any) -> Any:
    """A list filter's field that keeps the rows whose ``column`` equals the value given
    (None, the default, matches everything); ``where_fields`` applies it. The filter then
    says once which column each field filters, instead of again in its query."""
    return field(default=None, metadata={"column": column})


def where_fields(stmt: Select[R], f: Any) -> Select[R]:
    """``where_given`` for each field of the filter dataclass ``f`` declared ``matches(…)``."""
    return where_given(
        stmt,
        *((x.metadata["column"], getattr(f, x.name)) for x in fields(f) if "column" in x.metadata),
    )


def where_given(stmt: Select[R], *filters: tuple[Any, object]) -> Select[R]:
    """The equality filters a caller gave: ``column == value`` for each pair whose value is
    not None (an absent filter matches everything). The lists of every concept share it."""
    for column, value in filters:
        if value is not None:
            stmt = stmt.where(column == value)
    return stmt


async def finish_task(ctx: ServiceContext, task_id: int | None, outcome: str) -> None:
    """Mark a record's own task done (a report submitted, a rectification reported) with
    the outcome, if it is still open, and tell the queues; a task done already stays."""
    task = await ctx.session.get(Task, task_id) if task_id else None
    if task is not None and task.status in (TaskStatus.OPEN, TaskStatus.CLAIMED):
        task.status, task.outcome = TaskStatus.DONE, outcome
        task.completed_at = task.updated_at = ctx.clock.now()
        ctx.events.append(TaskEvent("changed", task.id, task.agency_kind.value, task.scope_path))
