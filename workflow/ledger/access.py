"""Who reads which rows of a ledger: one policy object per ledger (``ledger:school_age``,
``ledger:suspected``, ``ledger:dropout``), compiled into SQL like every list.

A grant on the object reads every row of its domain (a township its own children, the
bureau its district, the inspectorate all it covers); a grant on ``<object>:households``
reads only the rows of children of poverty households (the poverty office, ST 1, 7): the
children on the poverty office's lists (``workflow.agency_lists``), whom it also reads of the
register.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, and_, or_
from sqlalchemy.orm import InstrumentedAttribute

from authz.filters import scope_branches, scope_filter
from models.enums import AgencyKind
from workflow.agency_lists import on_list
from workflow.context import ServiceContext
from workflow.ledger.rules import LedgerKind, ledger

HOUSEHOLDS = ":households"

ChildKey = ColumnElement[int] | InstrumentedAttribute[int]
Path = ColumnElement[str] | InstrumentedAttribute[str]


def poverty_household(child_id: ChildKey) -> ColumnElement[bool]:
    """The child is of a household the poverty office answers for: on its lists
    (``workflow.agency_lists``), the same children it may read of the register."""
    return on_list(AgencyKind.POVERTY_OFFICE, child_id)


def readable(
    ctx: ServiceContext, kind: LedgerKind, household: ColumnElement[bool], *domains: Path
) -> ColumnElement[bool]:
    """The ledger's rows the caller may read: a grant on the ledger covering either of the
    row's domains (the child's school or home, and where it lives), or a grant on its
    households' rows covering one of them for a row of a poverty household (``household``:
    ``poverty_household`` of a child; a person's finding's own flag, ``persons.py``)."""
    obj = ledger(kind).policy

    def granted(o: str) -> list[ColumnElement[bool]]:
        return [scope_filter(ctx.authz, ctx.principal, o, "read", d) for d in domains]

    full = granted(obj)
    if not ctx.authz.rules_for(ctx.principal, obj + HOUSEHOLDS, "read"):
        # No households' grant: the term would be "false AND …", which PostgreSQL plans
        # worse than leaving it out (a walk of the whole table instead of the domain's range).
        return or_(*full)
    return or_(*full, and_(or_(*granted(obj + HOUSEHOLDS)), household))


# Paths list the codes from the province down (models/reference.py): a domain of this many
# segments or more is a district's or narrower.
DISTRICT_DEPTH = 3
# More domains than this are gathered no more: a holder of a city's ten districts' grants
# would gather the city's children, and the walk serves it as it serves the city's officer.
GATHERED_DOMAINS = 4


def readable_branches(
    ctx: ServiceContext, kind: LedgerKind, household: ColumnElement[bool], *domains: Path
) -> list[ColumnElement[bool]]:
    """``readable`` as terms whose OR it is, each on one index range of one domain
    (``authz.filters.scope_branches``): the ledger's rows gathered range by range."""
    obj = ledger(kind).policy

    def branches(o: str) -> list[ColumnElement[bool]]:
        return [b for d in domains for b in scope_branches(ctx.authz, ctx.principal, o, "read", d)]

    return [*branches(obj),
            *(and_(b, household) for b in branches(obj + HOUSEHOLDS))]


def gathered(ctx: ServiceContext, kind: LedgerKind) -> bool:
    """Whether a page of the ledger gathers the caller's children first, from the domain
    indexes (``readable_branches``), rather than walking the children in key order until the
    page is full. A district's or township's children are a few percent of a province's:
    walking, a page of a rare status (dropouts) reads the district's whole range from the
    table's pages (243 ms with its count at province scale); gathered, they come index-only
    (27 ms; README). A city's or province's are most of what a walk meets, and its page
    stops early (without ``totalCount``) where gathering them would take them all."""
    obj = ledger(kind).policy
    domains = {g for o in (obj, obj + HOUSEHOLDS)
               for g, _ in ctx.authz.rules_for(ctx.principal, o, "read")}
    return 0 < len(domains) <= GATHERED_DOMAINS and all(
        g != "*" and len(g.split("/")) >= DISTRICT_DEPTH for g in domains)
