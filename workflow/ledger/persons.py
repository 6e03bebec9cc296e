"""Persons on no register in the ledgers (适龄未入学): a household list's school-age person
whom no matching rule found on the school register and whom no child row stands for yet,
an open ``UNREGISTERED`` finding of the comparisons with no child (``models/crosscheck.py``).

A county's 适龄儿童台账 starts from the household register, so such a person is one of its
rows (suspected, reason 适龄未入学) and of the 疑似辍学学生台账, from the day the comparison
finds it until its verification resolves it: enrolled (the child's own row from then on),
moved away or studying elsewhere (passed on), deferred, or a dropout confirmed (a case on
the child the bureau registered). Nothing is stored for it here either: the rows follow
from the finding.

The rows come after the children's in a page (``query.py``): their own keyset, by the
finding's id, with a cursor of its own prefix.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, Select, String, and_, cast, false, func, or_, select

from authz.filters import covers, escape_like, scope_filter
from models.crosscheck import CrosscheckFinding, FindingKind
from models.enums import JurisdictionLevel, SpecialGroup
from models.reference import Jurisdiction
from workflow.child import GROUP_FIELD
from workflow.context import ServiceContext
from workflow.ledger import status as st
from workflow.ledger.access import HOUSEHOLDS
from workflow.ledger.rules import LedgerKind, ledger

P = CrosscheckFinding


def on_no_register() -> list[ColumnElement[bool]]:
    """An open finding of a school-age person on no register, with no child row."""
    return [P.child_id.is_(None), P.kind == FindingKind.UNREGISTERED, *st.finding_open()]


def readable(ctx: ServiceContext, kind: LedgerKind) -> ColumnElement[bool]:
    """The persons' rows the caller may read: as the children's (``access.readable``), on the
    finding's domain (where the person lives); the poverty office's households grant reads
    the persons of poor and monitored households (the finding's ``poverty``, the poverty
    office's rows of the comparisons)."""
    obj = ledger(kind).policy
    full = scope_filter(ctx.authz, ctx.principal, obj, "read", P.scope_path)
    if not ctx.authz.rules_for(ctx.principal, obj + HOUSEHOLDS, "read"):
        return full
    households = scope_filter(ctx.authz, ctx.principal, obj + HOUSEHOLDS, "read", P.scope_path)
    return or_(full, and_(households, P.poverty.is_(True)))


def in_place(place: Jurisdiction | None) -> list[ColumnElement[bool]]:
    """Of a district (its domain) or a township (where the person lives)."""
    if place is None:
        return []
    if place.level is JurisdictionLevel.TOWNSHIP:
        return [P.township_code == place.code]
    return [covers(P.scope_path, place.path)]


def in_shown_group(ctx: ServiceContext, group: SpecialGroup) -> ColumnElement[bool]:
    """The person is in ``group`` as the list gave it and, for a group that reveals poverty
    or health, the caller may unmask that field where the person lives (as the children's
    filter, ``workflow.child.in_shown_group``). The groups are a short JSON list of the
    enum's values (none quoted inside): the quoted value in its text is the one test both
    databases share. The comparisons take a person's groups from its child's, so a person
    with no child row has none yet, and passes no group's filter."""
    member = cast(P.groups, String).like(f'%"{escape_like(group.value)}"%', escape="\\")
    guarded = GROUP_FIELD.get(group)
    if guarded is None:
        return member
    return and_(scope_filter(ctx.authz, ctx.principal, guarded.obj, "unmask", P.scope_path),
                member)


def persons(ctx: ServiceContext, kind: LedgerKind, *terms: ColumnElement[bool]
            ) -> Select[Any]:
    """The ids of the persons' findings the caller may read in the ledger, narrowed by
    ``terms``."""
    return select(P.id).where(readable(ctx, kind), *on_no_register(), *terms)


def ledger_terms(
    ctx: ServiceContext, place: Jurisdiction | None, f_school: int | None, f_grade: int | None,
    group: SpecialGroup | None,
) -> list[ColumnElement[bool]]:
    """The filter's terms every ledger shares, on a person: its place and group; a school or
    a grade no person on no register passes."""
    terms = in_place(place)
    if f_school is not None or f_grade is not None:
        terms.append(false())
    if group is not None:
        terms.append(in_shown_group(ctx, group))
    return terms


async def placed(
    ctx: ServiceContext, ids: Sequence[int]
) -> dict[int, tuple[CrosscheckFinding, str]]:
    """Each person's finding and the name of the township it lives in (the district's when
    the list named none); one statement."""
    place = Jurisdiction.code == func.coalesce(P.township_code, P.district_code)
    rows = await ctx.session.execute(
        select(P, Jurisdiction.name).join(Jurisdiction, place).where(P.id.in_(ids)))
    return {finding.id: (finding, name) for finding, name in rows.tuples()}
