"""The sensitive-field access log: written for every unmasked read, read by the data's
subject agency and the inspectorate (PIPL art. 51)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from authz.filters import scope_filter
from authz.guard import AccessEntry
from authz.principal import Principal
from models.access_log import SensitiveAccess
from workflow.common import where_given
from workflow.context import ServiceContext
from workflow.pagination import Page, PageRequest, keyset_page


async def write(
    session: AsyncSession,
    principal: Principal,
    entries: Sequence[AccessEntry],
    request_id: str | None,
) -> None:
    if not entries:
        return
    await session.execute(
        insert(SensitiveAccess),
        [
            {
                "occurred_at": e.occurred_at,
                "request_id": request_id,
                "user_id": principal.user_id,
                "username": principal.username,
                "agency_id": principal.agency_id,
                "agency_kind": principal.agency_kind,
                "record_type": e.record_type,
                "record_id": e.record_id,
                "field": e.field,
                "subject_scope": e.subject_scope,
            }
            for e in entries
        ],
    )




async def access_log_page(
    ctx: ServiceContext, request: PageRequest, *, record_type: str | None = None,
    record_id: int | None = None,
) -> Page[SensitiveAccess]:
    """One page of the raw reads of sensitive fields the caller may audit."""
    stmt = select(SensitiveAccess).where(
        scope_filter(ctx.authz, ctx.principal, "access_log", "read", SensitiveAccess.subject_scope)
    )
    stmt = where_given(
        stmt,
        (SensitiveAccess.record_type, record_type),
        (SensitiveAccess.record_id, record_id),
    )
    return await keyset_page(ctx, stmt, SensitiveAccess.id, request, prefix="access")
