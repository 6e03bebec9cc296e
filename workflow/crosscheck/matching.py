"""Matching the base database's people to the register at run time (人员比对), set-based.

An import matches its rows when it is applied; a child enrolled since then, or a list
applied before the child was on the register, leaves base records unmatched. Each run
therefore matches the district's unmatched records again, in two rules, each one
``UPDATE … FROM``:

1. ``national_id``: the child with the record's ID number (anywhere in the database: a
   child on another district's register is found, and the finding says where);
2. ``name_birth_guardian``: for a record the first rule left, the one child with the same
   normalised name key (models/names.py: full-width → half-width, traditional →
   simplified, spacing and middle dots removed) and birth date, and a guardian whose name
   key is the record's guardian key — when exactly one child has that name and birth date.

Where one or more children share the name and birth date but the guardian differs or several
fit, the match is uncertain: the record stays unmatched and its finding offers those children
as candidates to the verifier (``candidate_child_ids``), never merged silently.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, case, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from models.child import Child, Guardian
from models.imports import BaseRecord, ImportSource

RULES = ("linked", "national_id", "name_birth_guardian", "candidates", "unmatched")


@dataclass(frozen=True)
class Matching:
    """How a run matched one source's records of one district."""

    linked: int  # already matched when the list was applied (or by an earlier run)
    national_id: int
    name_birth_guardian: int
    candidates: int
    unmatched: int

    def as_counts(self) -> dict[str, int]:
        return {rule: int(getattr(self, rule)) for rule in RULES}


def same_name_and_birth() -> Any:
    """A child who could be the record's person: same name key and birth date, and not two
    different ID numbers (a record and a child that both have one are matched by rule 1)."""
    return and_(Child.name_key == BaseRecord.name_key, Child.birth_date == BaseRecord.birth_date,
                or_(Child.national_id.is_(None), BaseRecord.national_id.is_(None)))


SOURCES = (ImportSource.POLICE_HOUSEHOLD, ImportSource.SCHOOL_ROSTER)
Key = tuple[str, str]  # (district code, source)


async def _counted(session: AsyncSession, stmt: Any) -> Counter[Key]:
    """Rows of (district, source[, weight]) from ``stmt``, counted."""
    out: Counter[Key] = Counter()
    for row in (await session.execute(stmt)).all():
        out[(str(row[0]), ImportSource(row[1]).value)] += int(row[2]) if len(row) > 2 else 1
    return out


async def match_records(session: AsyncSession, codes: list[str]
                        ) -> dict[str, dict[str, dict[str, int]]]:
    """Match the unmatched police and in-school-list records of the districts ``codes``;
    per district and source, how many by each rule (``RULES``). Four statements for any
    number of districts (the records matched before are those matched after, less this
    run's matches)."""
    mine = and_(BaseRecord.district_code.in_(codes), BaseRecord.source.in_(SOURCES))
    by = (BaseRecord.district_code, BaseRecord.source)
    by_id = await _counted(session, (
        update(BaseRecord)
        .where(mine, BaseRecord.child_id.is_(None), BaseRecord.national_id.is_not(None),
               Child.national_id == BaseRecord.national_id)
        .values(child_id=Child.id)
        .returning(*by)
        .execution_options(synchronize_session=False)
    ))
    alike = (
        select(BaseRecord.id.label("record_id"), func.count(Child.id).label("n"),
               func.min(Child.id).label("child_id"))
        .join(Child, same_name_and_birth())
        .where(mine, BaseRecord.child_id.is_(None))
        .group_by(BaseRecord.id).subquery()
    )
    guarded = (
        select(alike.c.record_id, alike.c.child_id)
        .join(BaseRecord, BaseRecord.id == alike.c.record_id)
        .join(Guardian, and_(Guardian.child_id == alike.c.child_id,
                             Guardian.name_key == BaseRecord.guardian_key))
        .where(alike.c.n == 1).distinct().subquery()
    )
    by_name = await _counted(session, (
        update(BaseRecord)
        .where(BaseRecord.id == guarded.c.record_id)
        .values(child_id=guarded.c.child_id)
        .returning(*by)
        .execution_options(synchronize_session=False)
    ))
    unmatched_now = BaseRecord.child_id.is_(None)
    # (a CASE, so that only the unmatched records are probed)
    maybe = case((unmatched_now, case(
        (select(Child.id).where(same_name_and_birth()).exists(), 1), else_=0)), else_=0)
    left = {(str(d), ImportSource(s).value): (int(n or 0), int(c or 0), int(m))
            for d, s, n, c, m in (
        await session.execute(select(*by, func.sum(case((unmatched_now, 1), else_=0)),
                                     func.sum(maybe), func.count(BaseRecord.child_id))
                              .where(mine).group_by(*by))).all()}
    out: dict[str, dict[str, dict[str, int]]] = {}
    for code in codes:
        out[code] = {}
        for source in SOURCES:
            key = (code, source.value)
            unmatched, candidates, matched = left.get(key, (0, 0, 0))
            out[code][source.value] = Matching(
                linked=matched - by_id[key] - by_name[key], national_id=by_id[key],
                name_birth_guardian=by_name[key],
                candidates=candidates, unmatched=unmatched - candidates).as_counts()
    return out


async def candidates_of(session: AsyncSession, records: Any) -> dict[int, list[int]]:
    """The children each unmatched record of ``records`` (a select of record ids) could be
    (same name key and birth date)."""
    rows = await session.execute(
        select(BaseRecord.id, Child.id).join(Child, same_name_and_birth())
        .where(BaseRecord.id.in_(records), BaseRecord.child_id.is_(None))
        .order_by(BaseRecord.id, Child.id)
    )
    found: dict[int, list[int]] = {}
    for record_id, child_id in rows.all():
        found.setdefault(int(record_id), []).append(int(child_id))
    return found
