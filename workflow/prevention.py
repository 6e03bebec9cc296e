"""The blacklist of illegal substitute schooling (黑名单, ST 10): education, police and market
supervision list the places (国学班, 读经班, 私塾, "home study" replacing school) with the
evidence and the cases of the children found there, see each other's entries in their
district, and lift an entry with the reason once the place has stopped."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from sqlalchemy import ColumnElement, select

from authz.filters import scope_filter
from models.case import DropoutCase
from models.enums import JurisdictionLevel, SubstituteKind
from models.prevention import SubstituteSchooling, SubstituteSchoolingCase
from models.reference import Jurisdiction
from workflow import audit
from workflow.batch import grouped
from workflow.common import bounded_text, check_version, fetch_visible, rows_by_ids
from workflow.context import ServiceContext
from workflow.errors import InvalidInput, NotFound, WrongStage
from workflow.pagination import Page, PageRequest, keyset_page

OBJ = "blacklist"
TEXT_LIMITS = {"name": 200, "address": 300, "evidence": 4000, "reason": 2000}


def visible(ctx: ServiceContext) -> ColumnElement[bool]:
    return scope_filter(ctx.authz, ctx.principal, OBJ, "read", SubstituteSchooling.scope_path)


async def entries_page(ctx: ServiceContext, request: PageRequest) -> Page[SubstituteSchooling]:
    """The entries of the caller's domains, oldest first (lifted ones stay on record)."""
    stmt = select(SubstituteSchooling).where(visible(ctx))
    return await keyset_page(ctx, stmt, SubstituteSchooling.id, request, prefix="blacklist")


async def get_entries(
    ctx: ServiceContext, ids: Sequence[int]
) -> list[SubstituteSchooling | None]:
    stmt = select(SubstituteSchooling).where(visible(ctx))
    return await rows_by_ids(ctx, stmt, SubstituteSchooling.id, ids)


async def cases_of(ctx: ServiceContext, entry_ids: Sequence[int]) -> list[list[int]]:
    """The linked cases of each entry (their ids; the case itself is read under its own
    policy). Callers pass entries they were allowed to read."""
    rows = (await ctx.session.execute(
        select(SubstituteSchoolingCase).where(SubstituteSchoolingCase.entry_id.in_(entry_ids))
        .order_by(SubstituteSchoolingCase.case_id)
    )).scalars()
    return [[link.case_id for link in links]
            for links in grouped(rows, entry_ids, key=lambda link: link.entry_id)]


def _text(value: str, field: str) -> str:
    return bounded_text(value, field, TEXT_LIMITS[field])


async def _cases(ctx: ServiceContext, district: str, case_ids: Sequence[int]) -> list[int]:
    """The cases to link: in the district and readable by the caller, else NOT_FOUND (a case
    the caller may not read is not told to exist)."""
    rows = {c.id: c for c in (await ctx.session.execute(
        select(DropoutCase).where(DropoutCase.id.in_(case_ids),
                                  DropoutCase.district_code == district))).scalars()}
    for case_id in case_ids:
        case = rows.get(case_id)
        if case is None or not ctx.authz.allowed(ctx.principal, f"case:{case.kind}", "read",
                                                 case.scope_path, case.stage):
            raise NotFound("no such case", field="caseIds")
    return sorted(set(case_ids))


async def list_entry(
    ctx: ServiceContext, *, township_code: str, name: str, kind: SubstituteKind, address: str,
    evidence: str, found_on: date, case_ids: Sequence[int],
) -> SubstituteSchooling:
    township = await ctx.session.get(Jurisdiction, township_code)
    if township is None or township.level is not JurisdictionLevel.TOWNSHIP:
        raise InvalidInput("not a township (nine-digit code)", field="townshipCode")
    ctx.authz.require(ctx.principal, OBJ, "write", township.path)
    assert township.parent_code is not None
    entry = SubstituteSchooling(
        district_code=township.parent_code, township_code=township.code,
        scope_path=township.path, name=_text(name, "name"), kind=kind,
        address=_text(address, "address"), evidence=_text(evidence, "evidence"),
        found_on=found_on, listed_at=ctx.clock.now(), listed_by=ctx.principal.user_id,
    )
    linked = await _cases(ctx, township.parent_code, case_ids)
    ctx.session.add(entry)
    await ctx.session.flush()
    ctx.session.add_all(SubstituteSchoolingCase(entry_id=entry.id, case_id=c) for c in linked)
    await ctx.session.flush()
    audit.record(ctx, "list_substitute_schooling", "substitute_schooling", [entry.id],
                 {"name": entry.name, "kind": kind.value, "township": township.code,
                  "cases": linked})
    return entry


async def lift_entry(
    ctx: ServiceContext, *, entry_id: int, reason: str, expected_version: int | None
) -> SubstituteSchooling:
    entry = await fetch_visible(ctx, SubstituteSchooling, entry_id, where=visible(ctx),
                                lock=True, not_found="no such entry", field="entryId")
    ctx.authz.require(ctx.principal, OBJ, "write", entry.scope_path)
    check_version(entry.version, expected_version, "the entry")
    if entry.lifted_at is not None:
        raise WrongStage("the entry was lifted already", field="entryId")
    entry.lift_reason = _text(reason, "reason")
    entry.lifted_at = ctx.clock.now()
    await ctx.session.flush()
    audit.record(ctx, "lift_substitute_schooling", "substitute_schooling", [entry.id],
                 {"reason": entry.lift_reason})
    return entry
