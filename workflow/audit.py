"""Writing and reading the append-only audit trail.

``record`` (``record_row`` for one row, ``insert`` for a new one) adds the row to the
caller's session, so it commits or rolls back together with the change it describes: there
is never a change without its audit row, nor the reverse.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Select, inspect, select

from authz.filters import scope_filter
from models.audit import AuditEvent
from models.base import Base
from models.reference import Agency
from workflow.context import ServiceContext
from workflow.errors import InvalidInput
from workflow.pagination import Page, PageRequest, keyset_page


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_jsonable(v) for v in value]
    if isinstance(value, datetime):
        return value.isoformat()
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return str(value)


def record(
    ctx: ServiceContext,
    operation: str,
    record_type: str,
    record_ids: Sequence[Any],
    change: dict[str, Any],
) -> AuditEvent:
    p = ctx.principal
    event = AuditEvent(
        occurred_at=ctx.clock.now(),
        request_id=ctx.request_id,
        actor_user_id=p.user_id,
        actor_username=p.username,
        actor_agency_id=p.agency_id,
        actor_agency_kind=p.agency_kind,
        actor_roles=p.role_summary[:512],
        operation=operation,
        record_type=record_type,
        record_ids=_jsonable(list(record_ids)),
        change=_jsonable(change),
    )
    ctx.session.add(event)
    return event


def record_row(
    ctx: ServiceContext, operation: str, row: Base, change: dict[str, Any]
) -> AuditEvent:
    """``record`` for one row, named by its table and primary key (a case, an action)."""
    mapper = inspect(row).mapper
    return record(
        ctx, operation, row.__tablename__, mapper.primary_key_from_instance(row), change
    )


async def insert(
    ctx: ServiceContext, operation: str, row: Base, change: dict[str, Any]
) -> AuditEvent:
    """A new row: added to the caller's session, flushed for its id, and its creation
    recorded (the one way a service writes a row and its audit entry together)."""
    ctx.session.add(row)
    await ctx.session.flush()
    return record_row(ctx, operation, row, change)


def _events(ctx: ServiceContext, operation: str | None) -> Select[AuditEvent]:
    """The audit events of actors whose agency lies in the caller's audit domain
    (administrators and inspectors), filtered in SQL like every list."""
    stmt = (
        select(AuditEvent)
        .join(Agency, Agency.id == AuditEvent.actor_agency_id)
        .where(scope_filter(ctx.authz, ctx.principal, "audit", "read", Agency.scope_path))
    )
    return stmt.where(AuditEvent.operation == operation) if operation else stmt


async def latest(
    ctx: ServiceContext, *, operation: str | None = None, last: int = 50
) -> Sequence[AuditEvent]:
    """The newest ``last`` audit events (the deprecated ``auditEvents`` list)."""
    if not 0 < last <= 200:
        raise InvalidInput("last must be between 1 and 200", field="last")
    stmt = _events(ctx, operation).order_by(AuditEvent.id.desc()).limit(last)
    return (await ctx.session.execute(stmt)).scalars().all()


async def events_page(
    ctx: ServiceContext, request: PageRequest, *, operation: str | None = None
) -> Page[AuditEvent]:
    """One page of the audit events the caller may read, newest first."""
    return await keyset_page(ctx, _events(ctx, operation), AuditEvent.id, request,
                             prefix="audit", descending=True)
