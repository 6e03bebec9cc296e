"""Reading enforcement actions under the policy: the list filter and the batches the
GraphQL loaders ask for.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from operator import itemgetter
from typing import Any

from sqlalchemy import ColumnElement, Select, select

from authz.filters import scope_filter
from models.enforcement import EnforcementAction, EnforcementFinding
from models.enums import (
    EnforcementKind,
    EnforcementStatus,
)
from models.finding import LabourFinding
from workflow.batch import grouped
from workflow.common import matches, rows_by_ids, where_fields
from workflow.context import ServiceContext
from workflow.pagination import Page, PageRequest, keyset_page

LIVE = (
    EnforcementStatus.ISSUED,
    EnforcementStatus.SERVED,
    EnforcementStatus.COMPLIED,
    EnforcementStatus.OVERDUE,
    EnforcementStatus.PAID,
)


DOCUMENT_KIND = {
    EnforcementKind.RETURN_ORDER: "return_order",
    EnforcementKind.FINE: "penalty_decision",
    EnforcementKind.LICENCE_REVOCATION: "licence_revocation",
}


def obj(kind: EnforcementKind) -> str:
    return f"enforcement:{kind.value}"


def visible(ctx: ServiceContext) -> ColumnElement[bool]:
    return scope_filter(
        ctx.authz, ctx.principal, "enforcement", "read", EnforcementAction.scope_path
    )


@dataclass(frozen=True)
class EnforcementFilter:
    employer_id: int | None = matches(EnforcementAction.employer_id)
    inspection_id: int | None = matches(EnforcementAction.inspection_id)
    kind: EnforcementKind | None = matches(EnforcementAction.kind)
    status: EnforcementStatus | None = matches(EnforcementAction.status)


def actions_query(ctx: ServiceContext, f: EnforcementFilter) -> Select[EnforcementAction]:
    return where_fields(select(EnforcementAction).where(visible(ctx)), f)


async def actions_page(
    ctx: ServiceContext, f: EnforcementFilter, request: PageRequest
) -> Page[EnforcementAction]:
    """One page of the enforcement actions the caller may see, newest first
    (``actions_query``)."""
    return await keyset_page(
        ctx,
        actions_query(ctx, f),
        EnforcementAction.id,
        request,
        prefix="enforcement",
        descending=True,
    )


async def get_actions(ctx: ServiceContext, ids: Sequence[int]) -> list[EnforcementAction | None]:
    stmt = actions_query(ctx, EnforcementFilter())
    return await rows_by_ids(ctx, stmt, EnforcementAction.id, ids)


async def _by(
    ctx: ServiceContext, column: Any, keys: Sequence[int], stmt: Select[Any] | None = None
) -> list[list[EnforcementAction]]:
    """Visible actions grouped by ``column`` (one statement); ``stmt`` brings the joins."""
    base = stmt if stmt is not None else actions_query(ctx, EnforcementFilter())
    rows = (
        await ctx.session.execute(
            base.add_columns(column)
            .where(column.in_(keys))
            .distinct()
            .order_by(EnforcementAction.id)
        )
    ).all()
    return [[action for action, _ in g] for g in grouped(rows, keys, key=itemgetter(1))]


async def actions_of_cases(
    ctx: ServiceContext, case_ids: Sequence[int]
) -> list[list[EnforcementAction]]:
    # Through the findings: one order may name two findings of one child.
    via_findings = (
        actions_query(ctx, EnforcementFilter())
        .join(EnforcementFinding, EnforcementFinding.action_id == EnforcementAction.id)
        .join(LabourFinding, LabourFinding.id == EnforcementFinding.finding_id)
    )
    return await _by(ctx, LabourFinding.case_id, case_ids, via_findings)


async def actions_of_inspections(
    ctx: ServiceContext, ids: Sequence[int]
) -> list[list[EnforcementAction]]:
    return await _by(ctx, EnforcementAction.inspection_id, ids)


async def actions_of_employers(
    ctx: ServiceContext, ids: Sequence[int]
) -> list[list[EnforcementAction]]:
    return await _by(ctx, EnforcementAction.employer_id, ids)


async def finding_ids_of(ctx: ServiceContext, action_ids: Sequence[int]) -> list[list[int]]:
    rows = (
        await ctx.session.execute(
            select(EnforcementFinding.action_id, EnforcementFinding.finding_id)
            .where(EnforcementFinding.action_id.in_(action_ids))
            .order_by(EnforcementFinding.finding_id)
        )
    ).all()
    return [[finding for _, finding in g] for g in grouped(rows, action_ids, key=itemgetter(0))]
