"""Lists of register changes and deferrals, filtered in SQL by the policy like every list:
a row is visible to whoever may read the child in either of its domains, and a transfer also
to the side that may approve it (the receiving school sees the request)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy import Select, select

from models.enums import DeferralStatus, RegisterChangeKind, RegisterChangeStatus
from models.register import Deferral, RegisterChange
from workflow.calendar import local_date
from workflow.common import rows_by_ids, where_given
from workflow.context import ServiceContext
from workflow.pagination import Page, PageRequest, keyset_page
from workflow.register.changes import changes_visible, not_received
from workflow.register.deferrals import deferrals_visible, valid_on


@dataclass(frozen=True)
class ChangeFilter:
    kind: RegisterChangeKind | None = None
    status: RegisterChangeStatus | None = None
    child_id: int | None = None
    # Transfers out of this district sent and not received in its days, as of ``on``.
    not_received_in: str | None = None
    on: date | None = None  # today (the district's local date) when not given


async def changes_page(
    ctx: ServiceContext, f: ChangeFilter, request: PageRequest
) -> Page[RegisterChange]:
    stmt: Select[RegisterChange] = select(RegisterChange).where(changes_visible(ctx))
    stmt = where_given(stmt, (RegisterChange.kind, f.kind), (RegisterChange.status, f.status),
                       (RegisterChange.child_id, f.child_id))
    if f.not_received_in is not None:
        on = f.on or local_date(ctx.clock.now())
        stmt = stmt.where(*not_received(f.not_received_in, on))
    return await keyset_page(ctx, stmt, RegisterChange.id, request, prefix="register_change")


async def get_changes(ctx: ServiceContext, ids: Sequence[int]) -> list[RegisterChange | None]:
    stmt = select(RegisterChange).where(changes_visible(ctx))
    return await rows_by_ids(ctx, stmt, RegisterChange.id, ids)


@dataclass(frozen=True)
class DeferralFilter:
    status: DeferralStatus | None = None
    child_id: int | None = None
    valid_on: date | None = None


async def deferrals_page(
    ctx: ServiceContext, f: DeferralFilter, request: PageRequest
) -> Page[Deferral]:
    stmt: Select[Deferral] = select(Deferral).where(deferrals_visible(ctx))
    stmt = where_given(stmt, (Deferral.status, f.status), (Deferral.child_id, f.child_id))
    if f.valid_on is not None:
        stmt = stmt.where(valid_on(f.valid_on))
    return await keyset_page(ctx, stmt, Deferral.id, request, prefix="deferral")


async def get_deferrals(ctx: ServiceContext, ids: Sequence[int]) -> list[Deferral | None]:
    return await rows_by_ids(ctx, select(Deferral).where(deferrals_visible(ctx)), Deferral.id,
                             ids)
