"""The lists of household corrections, filtered in SQL by the policy like every list: the
police, and the agencies that correct their records from them, read the corrections of their
districts; on a child, whoever may read the child reads the corrections about it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy import Select, select

from models.household import (
    HouseholdCorrection,
    HouseholdCorrectionKind,
    HouseholdCorrectionStatus,
)
from workflow.common import matches, rows_by_ids, rows_grouped, where_fields
from workflow.context import ServiceContext
from workflow.household.corrections import visible
from workflow.pagination import Page, PageRequest, keyset_page


@dataclass(frozen=True)
class CorrectionFilter:
    district_code: str | None = matches(HouseholdCorrection.district_code)
    kind: HouseholdCorrectionKind | None = matches(HouseholdCorrection.kind)
    status: HouseholdCorrectionStatus | None = matches(HouseholdCorrection.status)
    child_id: int | None = matches(HouseholdCorrection.child_id)
    base_record_id: int | None = matches(HouseholdCorrection.base_record_id)
    # Only corrections in effect by that day (what a comparison as of that day uses).
    effective_by: date | None = None


async def corrections_page(
    ctx: ServiceContext, f: CorrectionFilter, request: PageRequest
) -> Page[HouseholdCorrection]:
    stmt: Select[HouseholdCorrection] = where_fields(
        select(HouseholdCorrection).where(visible(ctx)), f)
    if f.effective_by is not None:
        stmt = stmt.where(HouseholdCorrection.effective_on <= f.effective_by)
    return await keyset_page(ctx, stmt, HouseholdCorrection.id, request,
                             prefix="household_correction")


async def get_corrections(
    ctx: ServiceContext, ids: Sequence[int]
) -> list[HouseholdCorrection | None]:
    stmt = select(HouseholdCorrection).where(visible(ctx))
    return await rows_by_ids(ctx, stmt, HouseholdCorrection.id, ids)


async def corrections_of_children(
    ctx: ServiceContext, child_ids: Sequence[int]
) -> list[list[HouseholdCorrection]]:
    """The corrections about each child, oldest first: asked only through a child the caller
    may read (``Child.householdCorrections``), so the child's read decides."""
    stmt = select(HouseholdCorrection).order_by(HouseholdCorrection.id)
    return await rows_grouped(ctx, stmt, HouseholdCorrection.child_id, child_ids)
