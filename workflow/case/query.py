"""Reading dropout cases under the policy: the list filter, single fetches (locked for
change), and the batches the GraphQL loaders ask for.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy import ColumnElement, Select, exists, func, or_, select

from authz.filters import scope_filter
from models.case import CasePlan, DropoutCase
from models.child import Child
from models.enums import CaseStage, CaseStatus, SpecialGroup
from models.task import Task
from workflow.calendar import local_date
from workflow.child import in_shown_group
from workflow.common import fetch_visible, matches, open_task, rows_by_ids, where_fields
from workflow.context import ServiceContext
from workflow.pagination import Page, PageRequest, keyset_page

OBJ = "case:dropout"


# --- reading ---------------------------------------------------------------------------


def visible(ctx: ServiceContext) -> ColumnElement[bool]:
    """Cases in either of their domains: the school's, or where the child lives (LS 14)."""
    return or_(
        scope_filter(
            ctx.authz, ctx.principal, OBJ, "read", DropoutCase.scope_path, DropoutCase.stage_rank
        ),
        scope_filter(
            ctx.authz,
            ctx.principal,
            OBJ,
            "read",
            DropoutCase.residence_path,
            DropoutCase.stage_rank,
        ),
    )


def case_allowed(ctx: ServiceContext, case: DropoutCase, obj: str, act: str) -> bool:
    """``visible`` for one case and any object and act: a grant on either domain."""
    return any(
        ctx.authz.allowed(ctx.principal, obj, act, path, case.stage)
        for path in (case.scope_path, case.residence_path)
        if path
    )


def require_on_case(ctx: ServiceContext, case: DropoutCase, obj: str, act: str) -> None:
    if not case_allowed(ctx, case, obj, act):
        ctx.authz.require(ctx.principal, obj, act, case.scope_path, case.stage)


@dataclass(frozen=True)
class CaseFilter:
    status: CaseStatus | None = matches(DropoutCase.status)
    stage: CaseStage | None = matches(DropoutCase.stage)
    overdue: bool | None = None
    township_code: str | None = matches(DropoutCase.township_code)
    school_id: int | None = matches(DropoutCase.school_id)
    special_group: SpecialGroup | None = None


def overdue_clause(today: date) -> ColumnElement[bool]:
    """A case is overdue when one of its open tasks is past its due date."""
    return exists(
        select(Task.id).where(
            Task.case_id == DropoutCase.id,
            open_task(),
            Task.due_on < today,
        )
    )


def cases_query(ctx: ServiceContext, f: CaseFilter) -> Select[DropoutCase]:
    stmt = where_fields(select(DropoutCase).where(visible(ctx)), f)
    if f.overdue is not None:
        clause = overdue_clause(local_date(ctx.clock.now()))
        stmt = stmt.where(clause if f.overdue else ~clause)
    if f.special_group is not None:
        stmt = stmt.where(in_shown_group(ctx, f.special_group, DropoutCase.child_id,
                                         (DropoutCase.scope_path,), DropoutCase.stage_rank))
    return stmt


async def cases_page(ctx: ServiceContext, f: CaseFilter, request: PageRequest) -> Page[DropoutCase]:
    """One page of the cases the caller may see (``cases_query``)."""
    return await keyset_page(ctx, cases_query(ctx, f), DropoutCase.id, request, prefix="case")


async def get_cases(ctx: ServiceContext, ids: Sequence[int]) -> list[DropoutCase | None]:
    return await rows_by_ids(ctx, select(DropoutCase).where(visible(ctx)), DropoutCase.id, ids)


async def lock_case(ctx: ServiceContext, case_id: int, act: str = "read") -> DropoutCase:
    """The case, locked for change, if the caller may ``act`` on it now; NOT_FOUND when it
    may not even see it. Services of other concepts (the case's documents) that check their
    own object in the policy lock it with ``read``."""
    # Every operation that changes a case locks its row first (PostgreSQL; SQLite has one
    # writer anyway): concurrent operations queue here, in one order, instead of taking row
    # locks in different orders (a deadlock), and the later one then sees the new version.
    case = await fetch_visible(
        ctx,
        DropoutCase,
        case_id,
        visible=lambda c: case_allowed(ctx, c, OBJ, "read"),
        lock=True,
        not_found="no such case",
        field="caseId",
    )
    require_on_case(ctx, case, OBJ, act)
    return case


async def children_of(ctx: ServiceContext, child_ids: Sequence[int]) -> list[Child]:
    """Children of cases the caller was already allowed to read (the case grants the view;
    field masking still applies)."""
    rows = (await ctx.session.execute(select(Child).where(Child.id.in_(child_ids)))).scalars()
    found = {c.id: c for c in rows}
    return [found[i] for i in child_ids]


async def tasks_of(ctx: ServiceContext, case_ids: Sequence[int]) -> list[list[Task]]:
    rows = (
        await ctx.session.execute(select(Task).where(Task.case_id.in_(case_ids)).order_by(Task.id))
    ).scalars()
    by_case: dict[int, list[Task]] = {}
    for t in rows:
        if t.case_id is not None:
            by_case.setdefault(t.case_id, []).append(t)
    return [by_case.get(i, []) for i in case_ids]


async def plans_of(ctx: ServiceContext, case_ids: Sequence[int]) -> list[CasePlan | None]:
    return await rows_by_ids(ctx, select(CasePlan), CasePlan.case_id, case_ids)


async def count_open(ctx: ServiceContext) -> int:
    stmt = (
        select(func.count())
        .select_from(DropoutCase)
        .where(visible(ctx), DropoutCase.status == CaseStatus.OPEN)
    )
    return int((await ctx.session.execute(stmt)).scalar_one())
