"""Children, guardians and the register, as the policy lets each principal see them.

Lists are filtered in SQL with the compiled policy (``authz.filters.scope_filter``) before
ORDER BY / LIMIT; single reads go through the same filter, so a child outside the caller's
domain is indistinguishable from one that does not exist.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import ColumnElement, Select, and_, exists, or_, select
from sqlalchemy.orm import InstrumentedAttribute

from authz.filters import scope_filter
from authz.masking import SensitiveField
from models.child import Child, ChildGroup, Guardian
from models.enums import EnrolmentStatus, SpecialGroup
from models.reference import Agency
from models.school import Enrolment, School
from workflow.agency_lists import LISTED, on_list
from workflow.batch import grouped
from workflow.common import fetch_visible, matches, rows_by_ids, where_fields
from workflow.context import ServiceContext
from workflow.infra import reference_json
from workflow.pagination import Page, PageRequest, keyset_page


def _group_fields() -> dict[SpecialGroup, SensitiveField]:
    """Groups that reveal family poverty or health: shown, and usable as a filter, only where
    the caller may unmask that field; otherwise a filter would disclose what the mask hides.
    Read from the data file, which must list every group exactly once (a group missing there
    would be shown unguarded by default)."""
    rows = reference_json.load("special_groups.json")["groups"]
    codes = [r["code"] for r in rows]
    if sorted(codes) != sorted(g.value for g in SpecialGroup):
        raise ValueError("special_groups.json must list every SpecialGroup exactly once")
    return {
        SpecialGroup(r["code"]): SensitiveField(r["guarded_by"])
        for r in rows
        if r["guarded_by"] is not None
    }


GROUP_FIELD = _group_fields()


@dataclass(frozen=True)
class ChildFilter:
    school_id: int | None = None
    township_code: str | None = matches(Child.township_code)
    special_group: SpecialGroup | None = None
    status: EnrolmentStatus | None = None


def in_group(
    child_id: ColumnElement[int] | InstrumentedAttribute[int], group: SpecialGroup
) -> ColumnElement[bool]:
    """The child of ``child_id`` belongs to the special group (the lists of children, cases
    and tasks filter by it the same way)."""
    member = select(ChildGroup.child_id).where(
        ChildGroup.child_id == child_id, ChildGroup.group == group
    )
    return exists(member)


def in_shown_group(
    ctx: ServiceContext,
    group: SpecialGroup,
    child_id: ColumnElement[int] | InstrumentedAttribute[int],
    domains: Sequence[InstrumentedAttribute[str]],
    stage: InstrumentedAttribute[int] | None = None,
) -> ColumnElement[bool]:
    """The child of ``child_id`` is in ``group`` and, for a group that reveals poverty or
    health, the caller may unmask that field in one of the record's ``domains`` (from the
    case's ``stage`` on): a filter must not disclose what the mask hides. The lists of
    children and cases filter by it."""
    member = in_group(child_id, group)
    guarded = GROUP_FIELD.get(group)
    if guarded is None:
        return member
    shown = [scope_filter(ctx.authz, ctx.principal, guarded.obj, "unmask", d, stage)
             for d in domains]
    return and_(or_(*shown), member)


def readable_records(
    ctx: ServiceContext, child_id: ColumnElement[int] | InstrumentedAttribute[int],
    domains: Sequence[ColumnElement[str] | InstrumentedAttribute[str]], act: str = "read",
) -> ColumnElement[bool]:
    """Records about the child of ``child_id`` (the child itself, its register changes and
    deferrals) sit in the child's ``domains``: the caller may ``act`` on them with a grant on
    ``child`` covering one of them, or, for a read, with a grant on ``child:listed`` covering
    one of them when the child is on its agency's lists (``workflow.agency_lists``: the
    poverty office and the disabled federation see their own children, nothing else)."""
    full = [scope_filter(ctx.authz, ctx.principal, "child", act, d) for d in domains]
    if act != "read" or not ctx.authz.rules_for(ctx.principal, LISTED, "read"):
        # Without a listed grant the term would be "false AND …", which PostgreSQL plans
        # worse than leaving it out.
        return or_(*full)
    listed = [scope_filter(ctx.authz, ctx.principal, LISTED, "read", d) for d in domains]
    return or_(*full, and_(or_(*listed), on_list(ctx.principal.agency_kind, child_id)))


def visible(ctx: ServiceContext, act: str = "read") -> ColumnElement[bool]:
    """A child's records sit in two domains: its school's (``scope_path``) and where it lives
    (``residence_path``); a grant covering either lets the principal see it. A village
    committee's grant sits on its own path, which only residence paths lie under (LS 14)."""
    return readable_records(ctx, Child.id, (Child.scope_path, Child.residence_path), act)


def child_allowed(ctx: ServiceContext, child: Child, obj: str, act: str) -> bool:
    """``visible`` for one child: the grant covers either of its domains."""
    return any(
        ctx.authz.allowed(ctx.principal, obj, act, path)
        for path in (child.scope_path, child.residence_path)
        if path
    )


async def visible_child(
    ctx: ServiceContext, child_id: int, *, lock: bool = False, field: str = "childId"
) -> Child:
    """The child if the caller may read it (NOT_FOUND otherwise, never FORBIDDEN), locked
    for a change when ``lock``."""
    return await fetch_visible(ctx, Child, child_id, where=visible(ctx), lock=lock,
                               not_found="no such child", field=field)


def children_query(ctx: ServiceContext, f: ChildFilter) -> Select[Child]:
    stmt = where_fields(select(Child).where(visible(ctx)), f)
    if f.school_id is not None or f.status is not None:
        enrol = select(Enrolment.id).where(Enrolment.child_id == Child.id)
        if f.school_id is not None:
            enrol = enrol.where(Enrolment.school_id == f.school_id)
        if f.status is not None:
            enrol = enrol.where(Enrolment.status == f.status)
        stmt = stmt.where(exists(enrol))
    if f.special_group is not None:
        stmt = stmt.where(in_shown_group(ctx, f.special_group, Child.id,
                                         (Child.scope_path, Child.residence_path)))
    return stmt


async def children_page(ctx: ServiceContext, f: ChildFilter, request: PageRequest) -> Page[Child]:
    """One page of the children the caller may see (``children_query``)."""
    return await keyset_page(ctx, children_query(ctx, f), Child.id, request, prefix="child")


async def get_children(ctx: ServiceContext, ids: Sequence[int]) -> list[Child | None]:
    return await rows_by_ids(ctx, select(Child).where(visible(ctx)), Child.id, ids)


async def guardians_of(ctx: ServiceContext, child_ids: Sequence[int]) -> list[list[Guardian]]:
    """Guardians per child. Callers pass children they were already allowed to read."""
    rows = (
        await ctx.session.execute(
            select(Guardian).where(Guardian.child_id.in_(child_ids)).order_by(Guardian.id)
        )
    ).scalars()
    return grouped(rows, child_ids, key=lambda g: g.child_id)


async def groups_of(ctx: ServiceContext, child_ids: Sequence[int]) -> list[list[SpecialGroup]]:
    rows = await ctx.session.execute(
        select(ChildGroup).where(ChildGroup.child_id.in_(child_ids)).order_by(ChildGroup.group)
    )
    by_child = grouped(rows.scalars(), child_ids, key=lambda g: g.child_id)
    return [sorted(m.group for m in members) for members in by_child]


@dataclass(frozen=True)
class EnrolmentView:
    enrolment: Enrolment
    school: School
    school_agency_id: int


async def enrolments_of(
    ctx: ServiceContext, child_ids: Sequence[int]
) -> list[EnrolmentView | None]:
    rows = (
        await ctx.session.execute(
            select(Enrolment, School, Agency.id)
            .join(School, School.id == Enrolment.school_id)
            .join(Agency, Agency.id == School.agency_id)
            .where(Enrolment.child_id.in_(child_ids))
        )
    ).all()
    by_child = {e.child_id: EnrolmentView(e, s, a) for e, s, a in rows}
    return [by_child.get(i) for i in child_ids]


async def schools_by_id(ctx: ServiceContext, ids: Sequence[int]) -> list[School | None]:
    """Schools are reference data: anyone signed in may read their names."""
    return await rows_by_ids(ctx, select(School), School.id, ids)
