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

from authz.filters import scope_filter
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
    ctx: ServiceContext, kind: LedgerKind, child_id: ChildKey, *domains: Path
) -> ColumnElement[bool]:
    """The ledger's rows the caller may read: a grant on the ledger covering either of the
    row's domains (the child's school or home, and where it lives), or a grant on its
    households' rows covering one of them for a child of a poverty household."""
    obj = ledger(kind).policy

    def granted(o: str) -> list[ColumnElement[bool]]:
        return [scope_filter(ctx.authz, ctx.principal, o, "read", d) for d in domains]

    full = granted(obj)
    if not ctx.authz.rules_for(ctx.principal, obj + HOUSEHOLDS, "read"):
        # No households' grant: the term would be "false AND …", which PostgreSQL plans
        # worse than leaving it out (a walk of the whole table instead of the domain's range).
        return or_(*full)
    return or_(*full, and_(or_(*granted(obj + HOUSEHOLDS)), poverty_household(child_id)))
