"""The audit trail is append-only: neither the ORM nor raw SQL may change or delete a row."""

from __future__ import annotations

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from authz.enforcer import Authorizer
from authz.principal import SYSTEM
from models.audit import AuditEvent, AuditIsAppendOnly
from workflow import audit
from workflow.clock import FixedClock
from workflow.context import ServiceContext


async def _write(session: AsyncSession, authorizer: Authorizer, clock: FixedClock) -> AuditEvent:
    ctx = ServiceContext(session, SYSTEM, authorizer, clock, request_id="r-1")
    event = audit.record(ctx, "test_op", "child", [1, 2], {"status": ["a", "b"]})
    await session.flush()
    return event


async def test_record_keeps_who_when_what(
    session: AsyncSession, authorizer: Authorizer, clock: FixedClock
) -> None:
    event = await _write(session, authorizer, clock)
    row = (await session.execute(select(AuditEvent).where(AuditEvent.id == event.id))).scalar_one()
    assert row.actor_username == "system"
    assert row.occurred_at == clock.now()
    assert row.record_ids == [1, 2]
    assert row.change == {"status": ["a", "b"]}
    assert row.request_id == "r-1"


async def test_orm_refuses_update_and_delete(
    session: AsyncSession, authorizer: Authorizer, clock: FixedClock
) -> None:
    event = await _write(session, authorizer, clock)
    event.operation = "rewritten"
    with pytest.raises(AuditIsAppendOnly):
        await session.flush()


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE audit_event SET operation = 'x' WHERE id = :id",
        "DELETE FROM audit_event WHERE id = :id",
    ],
)
async def test_database_refuses_update_and_delete(
    session: AsyncSession, authorizer: Authorizer, clock: FixedClock, sql: str
) -> None:
    event = await _write(session, authorizer, clock)
    with pytest.raises(DBAPIError, match="append-only"):
        async with session.begin_nested():
            await session.execute(text(sql), {"id": event.id})
