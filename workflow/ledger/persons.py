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

from sqlalchemy import ColumnElement, Select, false, func, select

from authz.filters import covers
from models.crosscheck import CrosscheckFinding, FindingKind
from models.enums import JurisdictionLevel, SpecialGroup
from models.reference import Jurisdiction
from workflow.context import ServiceContext
from workflow.ledger import status as st
from workflow.ledger.access import readable
from workflow.ledger.rules import LedgerKind

P = CrosscheckFinding


def on_no_register() -> list[ColumnElement[bool]]:
    """An open finding of a school-age person on no register, with no child row."""
    return [P.child_id.is_(None), P.kind == FindingKind.UNREGISTERED, *st.finding_open()]


def in_place(place: Jurisdiction | None) -> list[ColumnElement[bool]]:
    """Of a district (its domain) or a township (where the person lives)."""
    if place is None:
        return []
    if place.level is JurisdictionLevel.TOWNSHIP:
        return [P.township_code == place.code]
    return [covers(P.scope_path, place.path)]


def persons(ctx: ServiceContext, kind: LedgerKind, *terms: ColumnElement[bool]
            ) -> Select[Any]:
    """The ids of the persons' findings the caller may read in the ledger, narrowed by
    ``terms``."""
    # As the children's rows, on the finding's domain (where the person lives); the poverty
    # office's households grant reads the persons of poor and monitored households (the
    # finding's ``poverty``: the poverty office's rows of the comparisons).
    return select(P.id).where(readable(ctx, kind, P.poverty.is_(True), P.scope_path),
                              *on_no_register(), *terms)


def ledger_terms(
    place: Jurisdiction | None, f_school: int | None, f_grade: int | None,
    group: SpecialGroup | None,
) -> list[ColumnElement[bool]]:
    """The filter's terms every ledger shares, on a person: its place. A school or a grade
    no person on no register passes; nor does a special group, for now: the comparisons
    take a person's groups from its child's (``crosscheck/compare.py``), and a person with
    no child row has none."""
    terms = in_place(place)
    if f_school is not None or f_grade is not None or group is not None:
        terms.append(false())
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
