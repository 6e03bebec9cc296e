"""The child's register history (学籍档案): every change of the register is an event.

A status change of the register entry (enrolled, transferred, suspended, graduated, …) and a
change of the register data (the child's details, guardians, a deferral) each add one dated
``register_event`` row in the transaction of the change. The ``detail`` never holds a
sensitive value (an ID number, health details): it names the fields that changed, so that
the history can be shown to everyone who may read the child without its own masking.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import select

from models.child import Child
from models.enums import EnrolmentStatus
from models.school import RegisterEvent
from workflow.calendar import local_date
from workflow.child import visible
from workflow.context import ServiceContext
from workflow.pagination import Page, PageRequest, keyset_pages


def record(
    ctx: ServiceContext,
    child_id: int,
    kind: str,
    reason: str,
    *,
    on: date | None = None,
    school_id: int | None = None,
    from_status: EnrolmentStatus | None = None,
    to_status: EnrolmentStatus | None = None,
    detail: dict[str, Any] | None = None,
) -> RegisterEvent:
    """Add one event to the child's register history (flushed with the change)."""
    now = ctx.clock.now()
    event = RegisterEvent(
        child_id=child_id,
        school_id=school_id,
        on_date=on or local_date(now),
        from_status=from_status,
        to_status=to_status,
        reason=reason[:200],
        kind=kind,
        # Dates as ISO text (str() of a date), enums as their values: a JSON document.
        detail=json.loads(json.dumps(detail or {}, default=str)),
        recorded_at=now,
        recorded_by=ctx.principal.user_id,
    )
    ctx.session.add(event)
    return event


async def events_pages(
    ctx: ServiceContext, wanted: Sequence[tuple[int, PageRequest]]
) -> list[Page[RegisterEvent]]:
    """A page of each child's register history, oldest first (the ``registerEvents``
    loader: one statement for a whole list of children, not one per child). Readable by
    whoever may read the child (the filter is the children list's, in the same statement)."""
    stmt = (
        select(RegisterEvent)
        .join(Child, Child.id == RegisterEvent.child_id)
        .where(visible(ctx))
    )
    return await keyset_pages(ctx, stmt, RegisterEvent.id, RegisterEvent.child_id, wanted,
                              prefix="register_event")
