"""The children on an agency's own lists (ST 1, 3, 7): whom the poverty office and the
disabled federation may read of the register.

Their policy rows grant ``child:listed`` instead of ``child``: a grant that covers a child's
domain reads the child only if it is on one of the agency's lists in the base database
(``base_record`` of the agency's import sources, matched to the child), in one of the special
groups that put it in the agency's care, or referred to the agency (a deferral that needs the
disabled children's assessment). Which sources, groups and referrals count is data per agency
kind (``reference_data/agency_lists.json``), so that what an agency sees is read off one
file and compiles into one SQL condition, the same for lists, single reads and exports.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from sqlalchemy import ColumnElement, exists, false, or_, select
from sqlalchemy.orm import InstrumentedAttribute

from models.child import ChildGroup
from models.enums import AgencyKind, SpecialGroup
from models.imports import BaseRecord, ImportSource
from models.register import Deferral
from workflow.infra import reference_json

LISTED = "child:listed"
"""The policy object of a read bound to the agency's lists."""

ChildKey = ColumnElement[int] | InstrumentedAttribute[int]

REFERRALS = frozenset({"deferral_assessment"})


@dataclass(frozen=True)
class AgencyLists:
    sources: tuple[ImportSource, ...]
    groups: tuple[SpecialGroup, ...]
    referrals: frozenset[str]


@cache
def lists_of(kind: AgencyKind | None) -> AgencyLists | None:
    """The agency kind's lists, or None for a kind without any (it reads nothing listed)."""
    if kind is None:
        return None
    raw = reference_json.load("agency_lists.json")["agencies"].get(kind.value)
    if raw is None:
        return None
    referrals = frozenset(raw["referrals"])
    if not referrals <= REFERRALS:
        raise ValueError(f"agency_lists.json: unknown referrals {sorted(referrals - REFERRALS)}")
    return AgencyLists(tuple(ImportSource(s) for s in raw["sources"]),
                       tuple(SpecialGroup(g) for g in raw["groups"]), referrals)


def on_list(kind: AgencyKind | None, child_id: ChildKey) -> ColumnElement[bool]:
    """The child of ``child_id`` is on one of the lists of agencies of ``kind``."""
    lists = lists_of(kind)
    if lists is None:
        return false()
    terms: list[ColumnElement[bool]] = []
    if lists.sources:
        terms.append(exists(select(BaseRecord.id).where(
            BaseRecord.child_id == child_id, BaseRecord.source.in_(lists.sources))))
    if lists.groups:
        terms.append(exists(select(ChildGroup.child_id).where(
            ChildGroup.child_id == child_id, ChildGroup.group.in_(lists.groups))))
    if "deferral_assessment" in lists.referrals:
        terms.append(exists(select(Deferral.id).where(
            Deferral.child_id == child_id, Deferral.assessment_needed.is_(True))))
    return or_(*terms) if terms else false()
