"""A case's timeline (事件): entries written by every operation on the case, notes and
attachments.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select

from models.case import CaseAttachment, CaseEvent, DropoutCase
from models.enums import CaseStage
from workflow import audit
from workflow.case.query import lock_case
from workflow.common import rows_grouped
from workflow.context import ServiceContext
from workflow.errors import InvalidInput


def case_event(
    ctx: ServiceContext,
    case: DropoutCase,
    kind: str,
    reason: str = "",
    data: dict[str, Any] | None = None,
    *,
    from_stage: CaseStage | None = None,
    to_stage: CaseStage | None = None,
) -> CaseEvent:
    """A timeline entry, written by the case's own operations and by other concepts'
    services (documents, inspections, enforcement) in the same transaction."""
    p = ctx.principal
    event = CaseEvent(
        case_id=case.id,
        occurred_at=ctx.clock.now(),
        kind=kind,
        actor_user_id=p.user_id,
        actor_username=p.username,
        actor_agency_kind=p.agency_kind,
        from_stage=from_stage,
        to_stage=to_stage,
        reason=reason,
        data=data or {},
    )
    ctx.session.add(event)
    return event


async def timeline(ctx: ServiceContext, case_ids: Sequence[int]) -> list[list[CaseEvent]]:
    """Events per case, in order. Callers pass cases they were already allowed to read."""
    stmt = select(CaseEvent).order_by(CaseEvent.id)
    return await rows_grouped(ctx, stmt, CaseEvent.case_id, case_ids)


async def add_attachment(
    ctx: ServiceContext,
    *,
    case_id: int,
    filename: str,
    content_type: str,
    size_bytes: int,
    sha256: str,
) -> CaseAttachment:
    """Record an attachment's metadata (a scanned report, a photo of a served notice); the
    bytes live in the document store, addressed by their hash."""
    case = await lock_case(ctx, case_id, "note")
    if not filename.strip() or "/" in filename or len(filename) > 200:
        raise InvalidInput("a plain file name of at most 200 characters", field="filename")
    if size_bytes <= 0 or size_bytes > 50 * 1024 * 1024:
        raise InvalidInput("attachments are 1 byte to 50 MiB", field="sizeBytes")
    if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
        raise InvalidInput("sha256 is 64 lowercase hex digits", field="sha256")
    attachment = CaseAttachment(
        case_id=case.id,
        filename=filename.strip(),
        content_type=content_type[:100],
        size_bytes=size_bytes,
        sha256=sha256,
        uploaded_at=ctx.clock.now(),
        uploaded_by=ctx.principal.user_id,
    )
    ctx.session.add(attachment)
    await ctx.session.flush()
    case_event(ctx, case, "attachment", filename.strip(),
               {"attachment_id": attachment.id, "sha256": sha256, "size_bytes": size_bytes})
    audit.record_row(ctx, "add_case_attachment", case,
                     {"attachment_id": attachment.id, "filename": filename, "sha256": sha256})
    return attachment


async def attachments_of(
    ctx: ServiceContext, case_ids: Sequence[int]
) -> list[list[CaseAttachment]]:
    stmt = select(CaseAttachment).order_by(CaseAttachment.id)
    return await rows_grouped(ctx, stmt, CaseAttachment.case_id, case_ids)


async def add_note(ctx: ServiceContext, *, case_id: int, text: str) -> CaseEvent:
    case = await lock_case(ctx, case_id, "note")
    if not text.strip():
        raise InvalidInput("the note is empty", field="text")
    event = case_event(ctx, case, "note", text.strip())
    await ctx.session.flush()
    audit.record_row(ctx, "add_case_note", case, {"event_id": event.id})
    return event
