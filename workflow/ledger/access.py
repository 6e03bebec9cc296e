"""Who reads which rows of a ledger: one policy object per ledger (``ledger:school_age``,
``ledger:suspected``, ``ledger:dropout``), compiled into SQL like every list.

A grant on the object reads every row of its domain (a township its own children, the
bureau its district, the inspectorate all it covers); a grant on ``<object>:households``
reads only the rows of children of poverty households (the poverty office, ST 1, 7): a
child on the poverty office's own list in the base database (``base_record``), or in one of
the household groups of ``reference_data/ledgers.json``.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, and_, exists, or_, select
from sqlalchemy.orm import InstrumentedAttribute

from authz.filters import scope_filter
from models.child import ChildGroup
from models.imports import BaseRecord, ImportSource
from workflow.context import ServiceContext
from workflow.ledger.rules import LedgerKind, household_groups, ledger

HOUSEHOLDS = ":households"

ChildKey = ColumnElement[int] | InstrumentedAttribute[int]
Path = ColumnElement[str] | InstrumentedAttribute[str]


def poverty_household(child_id: ChildKey) -> ColumnElement[bool]:
    """The child is of a household the poverty office answers for."""
    listed = select(BaseRecord.id).where(
        BaseRecord.child_id == child_id, BaseRecord.source == ImportSource.POVERTY_HOUSEHOLD)
    grouped = select(ChildGroup.child_id).where(
        ChildGroup.child_id == child_id, ChildGroup.group.in_(household_groups()))
    return or_(exists(listed), exists(grouped))


def readable(
    ctx: ServiceContext, kind: LedgerKind, child_id: ChildKey, *domains: Path
) -> ColumnElement[bool]:
    """The ledger's rows the caller may read: a grant on the ledger covering either of the
    row's domains (the child's school or home, and where it lives), or a grant on its
    households' rows covering one of them for a child of a poverty household."""
    obj = ledger(kind).policy

    def granted(o: str) -> list[ColumnElement[bool]]:
        return [scope_filter(ctx.authz, ctx.principal, o, "read", d) for d in domains]

    return or_(*granted(obj), and_(or_(*granted(obj + HOUSEHOLDS)), poverty_household(child_id)))
