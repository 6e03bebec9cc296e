"""Reference data: the jurisdiction tree, agencies and the duty catalogue.

``load_reference_data`` is idempotent (insert what is missing, update what changed), so it
runs on every ``lianbao migrate`` and after every upgrade of the shipped JSON files.
Reads go through the policy like everything else: ``reference``/``read``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial
from typing import Any, TypeVar

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from models.base import Base
from models.enums import AgencyKind, JurisdictionLevel
from models.reference import Agency, Duty, Jurisdiction
from workflow.calendar import load_national_schedule
from workflow.common import rows_by_ids, where_given
from workflow.context import ServiceContext
from workflow.infra import reference_json
from workflow.pagination import Page, PageRequest, keyset_page

T = TypeVar("T")


def _read(name: str) -> list[dict[str, Any]]:
    data: list[dict[str, Any]] = reference_json.load(name)
    return data


def _upsert(
    session: AsyncSession, current: Base | None, new: Callable[[], Base], values: dict[str, Any]
) -> bool:
    """The shipped row: added (``new()``) when missing, else ``current`` brought up to
    ``values``; whether anything was written."""
    if current is None:
        session.add(new())
        return True
    if all(getattr(current, k) == v for k, v in values.items()):
        return False
    for k, v in values.items():
        setattr(current, k, v)
    return True


async def load_reference_data(session: AsyncSession) -> dict[str, int]:
    """Upsert jurisdictions and duties from the shipped JSON; returns counts written."""
    existing = {j.code: j for j in (await session.execute(select(Jurisdiction))).scalars()}
    written = {"jurisdictions": 0, "duties": 0}
    paths: dict[str, str] = {code: j.path for code, j in existing.items()}
    for row in _read("jurisdictions.json"):
        parent = row.get("parent")
        path = f"{paths[parent]}/{row['code']}" if parent else row["code"]
        paths[row["code"]] = path
        values = {
            "name": row["name"],
            "level": JurisdictionLevel(row["level"]),
            "parent_code": parent,
            "path": path,
        }
        new_jurisdiction = partial(Jurisdiction, code=row["code"], **values)
        if _upsert(session, existing.get(row["code"]), new_jurisdiction, values):
            written["jurisdictions"] += 1
        await session.flush()
    duties = {(d.agency_kind, d.code): d for d in (await session.execute(select(Duty))).scalars()}
    for row in _read("duties.json"):
        key = (AgencyKind(row["agency"]), row["code"])
        values = {
            "title": row["title"],
            "title_en": row["title_en"],
            "source_key": row["source_key"],
            "article": row["article"],
            "quote": row["quote"],
        }
        new_duty = partial(Duty, agency_kind=key[0], code=key[1], **values)
        if _upsert(session, duties.get(key), new_duty, values):
            written["duties"] += 1
    await session.flush()
    # The national holiday schedule with its make-up working days, from its maintained package.
    written["national_calendar_days"] = await load_national_schedule(session)
    await session.flush()
    return written


def _require_read(ctx: ServiceContext) -> None:
    ctx.authz.require(ctx.principal, "reference", "read", ctx.principal.agency_scope)


def authorize_labels(ctx: ServiceContext) -> None:
    """The enum labels (schema/labels.py) are reference data: whoever reads the reference
    data reads them (policy: member, reference, read)."""
    _require_read(ctx)


async def list_jurisdictions(
    ctx: ServiceContext,
    *,
    parent_code: str | None = None,
    level: JurisdictionLevel | None = None,
    roots_only: bool = False,
) -> Sequence[Jurisdiction]:
    _require_read(ctx)
    stmt = select(Jurisdiction).order_by(Jurisdiction.code)
    if roots_only:
        stmt = stmt.where(Jurisdiction.parent_code.is_(None))
    stmt = where_given(
        stmt,
        (Jurisdiction.parent_code, parent_code),
        (Jurisdiction.level, level),
    )
    return (await ctx.session.execute(stmt)).scalars().all()


async def children_of(ctx: ServiceContext, codes: Sequence[str]) -> list[list[Jurisdiction]]:
    """The jurisdictions directly below each code, in code order: one statement for a batch."""
    _require_read(ctx)
    rows = (
        await ctx.session.execute(
            select(Jurisdiction).where(Jurisdiction.parent_code.in_(codes))
            .order_by(Jurisdiction.code)
        )
    ).scalars()
    by_parent: dict[str, list[Jurisdiction]] = {}
    for j in rows:
        assert j.parent_code is not None
        by_parent.setdefault(j.parent_code, []).append(j)
    return [by_parent.get(c, []) for c in codes]


async def get_jurisdictions(ctx: ServiceContext, codes: Sequence[str]) -> list[Jurisdiction | None]:
    _require_read(ctx)
    return await rows_by_ids(ctx, select(Jurisdiction), Jurisdiction.code, codes)




def within(
    stmt: Select[T], code: InstrumentedAttribute[str], jurisdiction_code: str | None
) -> Select[T]:
    """``stmt`` limited to rows whose jurisdiction (the column ``code``) is
    ``jurisdiction_code`` or lies below it (a district's townships), by path prefix; all
    of ``stmt`` when no jurisdiction is given."""
    if jurisdiction_code is None:
        return stmt
    path = select(Jurisdiction.path).where(Jurisdiction.code == jurisdiction_code)
    return stmt.join(Jurisdiction, Jurisdiction.code == code).where(
        (Jurisdiction.path == path.scalar_subquery())
        | Jurisdiction.path.startswith(path.scalar_subquery() + "/", autoescape=False)
    )


async def agencies_page(
    ctx: ServiceContext,
    request: PageRequest,
    *,
    kind: AgencyKind | None = None,
    jurisdiction_code: str | None = None,
) -> Page[Agency]:
    """One page of the agencies."""
    _require_read(ctx)
    stmt = where_given(select(Agency), (Agency.kind, kind))
    # An agency "in" a jurisdiction includes those of the townships below it.
    stmt = within(stmt, Agency.jurisdiction_code, jurisdiction_code)
    return await keyset_page(ctx, stmt, Agency.id, request, prefix="agency")


async def get_agencies(ctx: ServiceContext, ids: Sequence[int]) -> list[Agency | None]:
    _require_read(ctx)
    return await rows_by_ids(ctx, select(Agency), Agency.id, ids)


def _covering(path: str) -> list[str]:
    """The scope paths that cover ``path``, outermost first (``a``, ``a/b``, ``a/b/c``)."""
    parts = path.split("/")
    return [p for p in ("/".join(parts[:i]) for i in range(1, len(parts) + 1)) if p]


async def agencies_covering(ctx: ServiceContext, paths: Sequence[str]) -> list[list[Agency]]:
    """For each scope path, the agencies whose scope covers it, nearest first (by id among
    equals). A task is addressed to an agency kind within a domain, not to an office
    (models/task.py): the office whose queue holds it is the nearest of its kind here. Keyed
    by path alone, so the tasks of one case (one path) share one entry; one statement a batch."""
    _require_read(ctx)
    if not paths:
        return []
    stmt = select(Agency).where(
        Agency.scope_path.in_({p for path in paths for p in _covering(path)})
    ).order_by(Agency.id)
    by_path: dict[str, list[Agency]] = {}
    for a in (await ctx.session.execute(stmt)).scalars():
        by_path.setdefault(a.scope_path, []).append(a)
    return [
        [a for p in reversed(_covering(path)) for a in by_path.get(p, [])] for path in paths
    ]


async def list_duties(ctx: ServiceContext, agency: AgencyKind | None = None) -> Sequence[Duty]:
    _require_read(ctx)
    stmt = select(Duty).order_by(Duty.agency_kind, Duty.id)
    if agency is not None:
        stmt = stmt.where(Duty.agency_kind == agency)
    return (await ctx.session.execute(stmt)).scalars().all()


async def get_duties(ctx: ServiceContext, ids: Sequence[int]) -> list[Duty | None]:
    _require_read(ctx)
    return await rows_by_ids(ctx, select(Duty), Duty.id, ids)
