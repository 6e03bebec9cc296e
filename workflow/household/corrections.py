"""The police household-register clean-up (户籍清理, ST 8): the police record that a person
on their household list is a duplicate, has died, has moved away or is missing; each agency
that holds the person gets a task to correct its records; completing that task applies the
correction on the agency's side; the police may withdraw a correction no agency applied yet.

One correction and a list of many go through the same set-based path (``record_many``): the
persons are resolved in a fixed number of statements whatever the number of rows, the
corrections and the agencies' tasks each inserted in one statement, so the police's clean-up
list of a district is one transaction of a handful of statements (docs/police_cleanup.md).

Which agencies hold the person is decided from the data: education when the person is a child
on Lianbao's register (the correction names the child, or the police base record is matched to
one, or a child has the ID number); the poverty office, the disabled federation and civil
affairs when their own list (``base_record`` of their source) has the person in the district,
by ID number, matched child or person key.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import Any

from sqlalchemy import ColumnElement, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from authz.errors import Forbidden
from authz.filters import scope_filter
from models.case import DropoutCase
from models.child import Child
from models.enums import AgencyKind, CaseStatus, ClosureReason, EnrolmentStatus, TaskStatus
from models.household import (
    HouseholdCorrection,
    HouseholdCorrectionKind,
    HouseholdCorrectionStatus,
)
from models.imports import BaseRecord, ImportSource
from models.reference import Jurisdiction
from models.task import Task
from workflow import audit
from workflow import task as tasks
from workflow.calendar import local_date
from workflow.case import close_case
from workflow.common import bounded_text, check_version, fetch_visible
from workflow.context import ServiceContext
from workflow.errors import BadIdNumber, Duplicate, InvalidInput, NotFound, WrongStage
from workflow.household.rules import rules_for
from workflow.infra import id_number
from workflow.infra.events import TaskEvent
from workflow.register import history
from workflow.register.changes import leave_register
from workflow.register.tasks import linked

OBJ = "household_correction"
TASK_KIND = "household_correction"  # an agency corrects its records (ST 8)
CONFIRM_DEATH = "confirm_death"  # a door-to-door visit found the child deceased (cross)
MAX_ROWS = 5000  # one clean-up list per call; a larger list is sent in parts
# Free text bounded like every other (workflow/common.bounded_text): the police's note, the
# withdrawal's reason, the agency's outcome.
TEXT_LIMITS = {"note": 2000, "reason": 2000, "outcome": 2000}

KIND_LABEL = {
    HouseholdCorrectionKind.DUPLICATE: "重复户籍",
    HouseholdCorrectionKind.DECEASED: "死亡注销",
    HouseholdCorrectionKind.MOVED_AWAY: "迁出注销",
    HouseholdCorrectionKind.MISSING: "失踪失联",
}


@dataclass(frozen=True)
class CorrectionRow:
    """One person of the police's clean-up: named by the police household list's base record,
    the register's child or the ID number (at least one)."""

    kind: HouseholdCorrectionKind
    effective_on: date
    base_record_id: int | None = None
    child_id: int | None = None
    national_id: str | None = None
    duplicate_of_base_record_id: int | None = None
    moved_to: str = ""
    note: str = ""


@dataclass
class _Person:
    """A row resolved: the base record and child it names, its identity and domain."""

    row: CorrectionRow
    index: int
    base: BaseRecord | None = None
    child: Child | None = None
    district_code: str = ""
    township_code: str | None = None
    scope_path: str = ""
    register_path: str = ""  # the district of the child's register: its bureau corrects it

    @property
    def national_id(self) -> str | None:
        for source in (self.row.national_id, self.base and self.base.national_id,
                       self.child and self.child.national_id):
            if source:
                return source
        return None

    @property
    def child_id(self) -> int | None:
        if self.child is not None:
            return self.child.id
        return None if self.base is None else self.base.child_id

    def records(self) -> list[tuple[str, int]]:
        """What a correction of this person points at: its base record, its child."""
        keys = [("base", self.base.id)] if self.base is not None else []
        return keys + ([("child", self.child_id)] if self.child_id is not None else [])


def _field(index: int | None, name: str) -> str:
    return name if index is None else f"rows.{index}.{name}"


def _checked(rows: Sequence[CorrectionRow], today: date, many: bool) -> list[CorrectionRow]:
    """Each row's input on its own (the field named by the row's position in a list)."""
    if not rows:
        raise InvalidInput("give at least one row", field="rows")
    if len(rows) > MAX_ROWS:
        raise InvalidInput(f"at most {MAX_ROWS} rows at once; send the list in parts",
                           field="rows")
    out = []
    for i, r in enumerate(rows):
        at = i if many else None
        if r.base_record_id is None and r.child_id is None and not r.national_id:
            raise InvalidInput("name the person: the base record, the child or the ID number",
                               field=_field(at, "baseRecordId"))
        national = r.national_id.strip().upper() if r.national_id else None
        if national:
            try:
                national = id_number.validate(national).number
            except id_number.InvalidIdNumber as exc:
                raise BadIdNumber(str(exc), field=_field(at, "nationalId")) from exc
        if r.effective_on > today:
            raise InvalidInput("the correction's date is in the future",
                               field=_field(at, "effectiveOn"))
        is_duplicate = r.kind is HouseholdCorrectionKind.DUPLICATE
        if is_duplicate and (r.duplicate_of_base_record_id is None or r.base_record_id is None):
            raise InvalidInput("a duplicate names its base record and the one it duplicates",
                               field=_field(at, "duplicateOfBaseRecordId"))
        if is_duplicate and r.duplicate_of_base_record_id == r.base_record_id:
            raise InvalidInput("a record does not duplicate itself",
                               field=_field(at, "duplicateOfBaseRecordId"))
        if not is_duplicate and r.duplicate_of_base_record_id is not None:
            raise InvalidInput("only a duplicate names the record it duplicates",
                               field=_field(at, "duplicateOfBaseRecordId"))
        if r.moved_to and r.kind is not HouseholdCorrectionKind.MOVED_AWAY:
            raise InvalidInput("only a move away says where to", field=_field(at, "movedTo"))
        note = bounded_text(r.note, _field(at, "note"), TEXT_LIMITS["note"], required=False)
        out.append(replace(r, national_id=national, moved_to=r.moved_to.strip()[:200],
                           note=note))
    return out


async def _rows(ctx: ServiceContext, stmt: Any) -> list[Any]:
    return list((await ctx.session.execute(stmt)).scalars())


def _one(found: list[BaseRecord], district: str | None) -> BaseRecord | None:
    """The police record among ``found`` in ``district``, or the only one when none is given."""
    if district is not None:
        return next((b for b in found if b.district_code == district), None)
    return found[0] if len(found) == 1 else None


async def _resolve(
    ctx: ServiceContext, rows: list[CorrectionRow], district_code: str | None, many: bool
) -> list[_Person]:
    """The base record and child each row names, in five statements whatever the rows."""
    police = BaseRecord.source == ImportSource.POLICE_HOUSEHOLD
    base_ids = {x for r in rows for x in (r.base_record_id, r.duplicate_of_base_record_id) if x}
    national = sorted({r.national_id for r in rows if r.national_id})
    bases = {b.id: b for b in await _rows(ctx, select(BaseRecord).where(
        or_(BaseRecord.id.in_(sorted(base_ids)), police & BaseRecord.national_id.in_(national))))}
    by_nid: dict[str, list[BaseRecord]] = {}
    for b in bases.values():
        if b.source is ImportSource.POLICE_HOUSEHOLD and b.national_id:
            by_nid.setdefault(b.national_id, []).append(b)
    child_ids = {r.child_id for r in rows if r.child_id} | {
        b.child_id for b in bases.values() if b.child_id is not None}
    children = {c.id: c for c in await _rows(ctx, select(Child).where(
        or_(Child.id.in_(sorted(child_ids)), Child.national_id.in_(national))))}
    child_by_nid = {c.national_id: c for c in children.values() if c.national_id}
    townships = await _jurisdictions(ctx, {c.township_code for c in children.values()})
    people = []
    for i, r in enumerate(rows):
        at = i if many else None
        p = _Person(row=r, index=i)
        if r.base_record_id is not None:
            p.base = bases.get(r.base_record_id)
            if p.base is None or p.base.source is not ImportSource.POLICE_HOUSEHOLD:
                raise NotFound("no such record on the police household list",
                               field=_field(at, "baseRecordId"))
        if r.child_id is not None:
            p.child = children.get(r.child_id)
            if p.child is None:
                raise NotFound("no such child", field=_field(at, "childId"))
        if (p.child is not None and p.base is not None and p.base.child_id is not None
                and p.base.child_id != p.child.id):
            raise InvalidInput("the base record is another child's", field=_field(at, "childId"))
        if p.child is None and r.national_id:
            p.child = child_by_nid.get(r.national_id)
        if p.child is None and p.base is not None and p.base.child_id is not None:
            p.child = children.get(p.base.child_id)
        home = None if p.child is None else townships[p.child.township_code].parent_code
        if p.base is None and r.national_id:
            p.base = _one(by_nid.get(r.national_id, []), district_code or home)
        people.append(p)
    # The police record of children named without one (one statement).
    wanted = sorted({p.child.id for p in people if p.base is None and p.child is not None})
    by_child: dict[int | None, list[BaseRecord]] = {}
    for b in await _rows(ctx, select(BaseRecord).where(police, BaseRecord.child_id.in_(wanted))):
        by_child.setdefault(b.child_id, []).append(b)
    for p in people:
        at = p.index if many else None
        if p.base is None and p.child is not None:
            p.base = _one(by_child.get(p.child.id, []), district_code or str(
                townships[p.child.township_code].parent_code))
        if p.base is None and p.child is None:
            raise NotFound("the person is on neither the police list nor the register",
                           field=_field(at, "nationalId"))
        if p.base is not None:
            p.district_code, p.township_code = p.base.district_code, p.base.township_code
        else:
            assert p.child is not None
            township = townships[p.child.township_code]
            p.district_code, p.township_code = str(township.parent_code), township.code
        if district_code is not None and p.district_code != district_code:
            raise NotFound("the person is not in that district", field=_field(at, "baseRecordId"))
        dup = p.row.duplicate_of_base_record_id
        other = None if dup is None else bases.get(dup)
        if dup is not None and (other is None or other.source is not ImportSource.POLICE_HOUSEHOLD
                                or other.district_code != p.district_code):
            raise NotFound("no such record on the district's police household list",
                           field=_field(at, "duplicateOfBaseRecordId"))
    homes = {p.index: str(townships[p.child.township_code].parent_code)
             for p in people if p.child is not None}
    paths = await _jurisdictions(ctx, {p.township_code for p in people if p.township_code}
                                 | {p.district_code for p in people} | set(homes.values()))
    for p in people:
        p.scope_path = (paths.get(p.township_code or "") or paths[p.district_code]).path
        # The police list is matched province-wide by ID number: a child on another
        # district's register is corrected by that district's bureau, not the police's.
        p.register_path = paths[homes[p.index]].path if p.index in homes else p.scope_path
    return people


async def _jurisdictions(ctx: ServiceContext, codes: set[str]) -> dict[str, Jurisdiction]:
    stmt = select(Jurisdiction).where(Jurisdiction.code.in_(sorted(codes)))
    return {j.code: j for j in await _rows(ctx, stmt)}


async def _not_recorded_twice(ctx: ServiceContext, people: list[_Person], many: bool) -> None:
    """A person has one recorded correction of each kind: DUPLICATE otherwise, for a row
    repeated in the list as for one recorded before (one statement)."""
    seen: set[tuple[str, str, int]] = set()
    for p in people:
        for which, key in p.records():
            if (which, p.row.kind, key) in seen:
                raise Duplicate("the list names the person twice for the same correction",
                                field=_field(p.index if many else None, "baseRecordId"))
            seen.add((which, p.row.kind, key))
    base_ids = {p.base.id for p in people if p.base}
    child_ids = {p.child_id for p in people if p.child_id}
    stmt = select(HouseholdCorrection).where(
        HouseholdCorrection.status == HouseholdCorrectionStatus.RECORDED,
        or_(HouseholdCorrection.base_record_id.in_(sorted(base_ids)),
            HouseholdCorrection.child_id.in_(sorted(child_ids))),
    )
    recorded = {(which, c.kind, key) for c in (await ctx.session.execute(stmt)).scalars()
                for which, key in (("base", c.base_record_id), ("child", c.child_id))
                if key is not None}
    for p in people:
        if any((which, p.row.kind, key) in recorded for which, key in p.records()):
            raise Duplicate("the police recorded that correction of the person already",
                            field=_field(p.index if many else None, "baseRecordId"))


async def _holders(ctx: ServiceContext, people: list[_Person]) -> list[set[AgencyKind]]:
    """The agencies whose records hold each person (one statement for the other lists)."""
    sources = {s for p in people for s in rules_for(p.district_code).agencies.values()}
    sources.discard(ImportSource.SCHOOL_REGISTER)
    nids = {p.national_id for p in people if p.national_id}
    cids = {p.child_id for p in people if p.child_id is not None}
    keys = {p.base.person_key for p in people if p.base is not None}
    found: list[BaseRecord] = []
    if sources:
        stmt = select(BaseRecord).where(
            BaseRecord.source.in_(sorted(sources)),
            BaseRecord.district_code.in_(sorted({p.district_code for p in people})),
            or_(BaseRecord.national_id.in_(sorted(nids)), BaseRecord.child_id.in_(sorted(cids)),
                BaseRecord.person_key.in_(sorted(keys))),
        )
        found = list((await ctx.session.execute(stmt)).scalars())
    # Who holds what, by each key a person is known by: dictionaries, not a scan per person.
    held_by: set[tuple[ImportSource, str, str, object]] = set()
    for b in found:
        for key, value in (("nid", b.national_id), ("child", b.child_id),
                           ("person", b.person_key)):
            if value is not None:
                held_by.add((b.source, b.district_code, key, value))
    out = []
    for p in people:
        known: list[tuple[str, object]] = [
            ("nid", p.national_id), ("child", p.child_id),
            ("person", p.base.person_key if p.base is not None else None)]
        held = {agency for agency, source in rules_for(p.district_code).agencies.items()
                if (p.child_id is not None if source is ImportSource.SCHOOL_REGISTER
                    else any(v is not None and (source, p.district_code, k, v) in held_by
                             for k, v in known))}
        out.append(held)
    return out


@dataclass(frozen=True)
class Recorded:
    """What a clean-up list did: the corrections recorded (in the list's order), the
    agencies' tasks opened, the ``confirm_death`` tasks completed."""

    ids: list[int]
    tasks_opened: int
    deaths_confirmed: int


async def record_many(
    ctx: ServiceContext, rows: Sequence[CorrectionRow], *, district_code: str | None = None,
    many: bool = True,
) -> Recorded:
    """Record the police's corrections (one, or a clean-up list of a district), give each
    agency holding the person a task, and complete the ``confirm_death`` tasks a DECEASED
    correction answers. Set-based: a fixed number of statements whatever the rows."""
    # Whoever may record nowhere is refused before the input is judged (the policy first).
    act = "record"
    if not ctx.authz.rules_for(ctx.principal, OBJ, act):
        raise Forbidden(f"not allowed to {act} {OBJ}")
    now = ctx.clock.now()
    today = local_date(now)
    checked = _checked(rows, today, many)
    people = await _resolve(ctx, checked, district_code, many)
    for path in sorted({p.scope_path for p in people}):
        ctx.authz.require(ctx.principal, OBJ, "record", path)
    await _not_recorded_twice(ctx, people, many)
    values = [{
        "district_code": p.district_code, "scope_path": p.scope_path,
        "base_record_id": p.base.id if p.base else None, "child_id": p.child_id,
        "national_id": p.national_id,
        "name": p.base.name if p.base else p.child.name if p.child else "",
        "birth_date": (p.base or p.child).birth_date,  # type: ignore[union-attr]
        "kind": p.row.kind, "duplicate_of_base_record_id": p.row.duplicate_of_base_record_id,
        "moved_to": p.row.moved_to, "effective_on": p.row.effective_on, "note": p.row.note,
        "status": HouseholdCorrectionStatus.RECORDED, "withdrawn_reason": "",
        "recorded_by": ctx.principal.user_id, "recorded_at": now, "updated_at": now,
        "version": 1,
    } for p in people]
    # RETURNING in one statement on both backends; its rows are matched back to the list by
    # (base record, child, kind), unique in a batch (_not_recorded_twice), not by their order
    # (SQLite would send a row at a time to keep the order).
    hc = HouseholdCorrection
    try:
        # A savepoint: a concurrent recording of the same person passed the check above too;
        # the partial unique indexes (one recorded correction of a kind per base record and
        # per child) refuse the second.
        async with ctx.session.begin_nested():
            made_rows = (await ctx.session.execute(
                insert(hc).returning(hc.id, hc.base_record_id, hc.child_id, hc.kind),
                values)).all()
    except IntegrityError as exc:
        raise Duplicate("the police recorded that correction of the person already",
                        field="rows" if many else "baseRecordId") from exc
    by_key: dict[tuple[Any, ...], int] = {(b, c, k): i for i, b, c, k in made_rows}
    ids = [by_key[(v["base_record_id"], v["child_id"], v["kind"])] for v in values]
    holders = await _holders(ctx, people)
    task_rows: list[dict[str, Any]] = [{
        "kind": TASK_KIND, "title": f"户籍清理：{KIND_LABEL[p.row.kind]}，请更正本部门记录",
        "agency_kind": agency,
        "scope_path": p.register_path if agency is AgencyKind.EDUCATION else p.scope_path,
        "due_on": today + timedelta(days=rules_for(p.district_code).due_days), "priority": 2,
        "status": TaskStatus.OPEN, "evidence": {
            "household_correction_id": cid, "child_id": p.child_id,
            "base_record_id": p.base.id if p.base else None},
        "created_at": now, "updated_at": now, "version": 1,
    } for p, cid, held in zip(people, ids, holders, strict=True) for agency in sorted(held)]
    if task_rows:
        made = (await ctx.session.execute(insert(Task).returning(
            Task.id, Task.agency_kind, Task.scope_path), task_rows)).all()
        ctx.events.extend(TaskEvent("created", tid, agency.value, path)
                          for tid, agency, path in made)
    confirmed = await _confirm_deaths(ctx, people, ids)
    audit.record(ctx, "record_household_corrections", OBJ, ids, {
        "kinds": sorted({p.row.kind.value for p in people}),
        "districts": sorted({p.district_code for p in people}),
        "tasks": len(task_rows), "confirm_death_closed": confirmed,
    })
    return Recorded(ids, len(task_rows), len(confirmed))


async def _confirm_deaths(ctx: ServiceContext, people: list[_Person], ids: list[int]) -> list[int]:
    """A DECEASED correction is the police's confirmation a door-to-door finding awaited:
    the open ``confirm_death`` tasks about the same child or base record are done."""
    dead = [(p, cid) for p, cid in zip(people, ids, strict=True)
            if p.row.kind is HouseholdCorrectionKind.DECEASED]
    child_ids = sorted({p.child_id for p, _ in dead if p.child_id is not None})
    base_ids = sorted({p.base.id for p, _ in dead if p.base is not None})
    if not child_ids and not base_ids:
        return []
    where = or_(Task.evidence["child_id"].as_integer().in_(child_ids),
                Task.evidence["base_record_id"].as_integer().in_(base_ids))
    closed = await tasks.close_tasks(ctx, where, {CONFIRM_DEATH}, "公安已确认死亡（户籍注销）")
    for t in closed:
        cid = next(c for p, c in dead if (p.child_id is not None and t.evidence.get("child_id")
                                          == p.child_id) or (p.base is not None and t.evidence.get(
                                              "base_record_id") == p.base.id))
        t.evidence = {**t.evidence, "household_correction_id": cid}
        t.assignee_id = t.assignee_id or ctx.principal.user_id
    return [t.id for t in closed]


async def record(
    ctx: ServiceContext, *, kind: HouseholdCorrectionKind, effective_on: date,
    base_record_id: int | None = None, child_id: int | None = None,
    national_id: str | None = None, duplicate_of_base_record_id: int | None = None,
    moved_to: str = "", note: str = "",
) -> HouseholdCorrection:
    """One correction: ``record_many`` of one row."""
    row = CorrectionRow(kind, effective_on, base_record_id, child_id, national_id,
                        duplicate_of_base_record_id, moved_to, note)
    (cid,) = (await record_many(ctx, [row], many=False)).ids
    found = await ctx.session.get(HouseholdCorrection, cid)
    assert found is not None
    return found


def visible(ctx: ServiceContext) -> ColumnElement[bool]:
    """The corrections the caller may read, as SQL (the policy's scope filter)."""
    return scope_filter(ctx.authz, ctx.principal, OBJ, "read", HouseholdCorrection.scope_path)


async def withdraw(
    ctx: ServiceContext, *, correction_id: int, expected_version: int | None, reason: str,
) -> HouseholdCorrection:
    """The police recorded it in error: withdrawn, the agencies' open tasks cancelled. Once
    an agency has applied it the correction stands (its records were changed on the
    strength of it): WRONG_STAGE."""
    c = await fetch_visible(ctx, HouseholdCorrection, correction_id, where=visible(ctx),
                            lock=True, not_found="no such correction", field="correctionId")
    ctx.authz.require(ctx.principal, OBJ, "withdraw", c.scope_path)
    check_version(c.version, expected_version, "the correction")
    if c.status is not HouseholdCorrectionStatus.RECORDED:
        raise WrongStage("the correction is withdrawn already", field="correctionId")
    if not reason.strip():
        raise InvalidInput("say why the correction is withdrawn", field="reason")
    reason = bounded_text(reason, "reason", TEXT_LIMITS["reason"])
    applied = (await ctx.session.execute(select(Task.agency_kind).where(
        linked("household_correction_id", c.id), Task.kind == TASK_KIND,
        Task.status == TaskStatus.DONE))).scalars().all()
    if applied:
        agencies = ", ".join(sorted(a.value for a in applied))
        raise WrongStage(f"already applied by {agencies}", field="correctionId")
    cancelled = await tasks.close_tasks(ctx, linked("household_correction_id", c.id),
                                        {TASK_KIND}, "公安撤回更正", TaskStatus.CANCELLED)
    c.status, c.withdrawn_reason, c.updated_at = (
        HouseholdCorrectionStatus.WITHDRAWN, reason.strip(), ctx.clock.now())
    await ctx.session.flush()
    audit.record(ctx, "withdraw_household_correction", OBJ, [c.id],
                 {"reason": reason.strip(), "tasks_cancelled": [t.id for t in cancelled]})
    return c


async def apply(
    ctx: ServiceContext, *, task_id: int, expected_version: int | None, outcome: str = "",
) -> HouseholdCorrection:
    """The agency's task done: the correction applied on its side, where Lianbao holds its
    records (the register for education: a death or move ends the entry with a register
    event; the base records of the agency's list for the others: marked corrected), the
    task closed, audited — one transaction."""
    task = await fetch_visible(ctx, Task, task_id, where=tasks.visible(ctx), lock=True,
                               not_found="no such task", field="taskId")
    if task.kind != TASK_KIND:
        raise WrongStage("the task is not a household-register correction", field="taskId")
    ctx.authz.require(ctx.principal, "task", "complete", task.scope_path)
    ctx.authz.require(ctx.principal, OBJ, "apply", task.scope_path)
    check_version(task.version, expected_version, "the task")
    if task.status not in (TaskStatus.OPEN, TaskStatus.CLAIMED):
        raise WrongStage(f"a {task.status} task is not applied again", field="taskId")
    outcome = bounded_text(outcome, "outcome", TEXT_LIMITS["outcome"], required=False)
    c = await ctx.session.get(HouseholdCorrection, int(task.evidence["household_correction_id"]),
                              with_for_update=True)
    assert c is not None
    if c.status is not HouseholdCorrectionStatus.RECORDED:
        raise WrongStage("the police withdrew the correction", field="taskId")
    done = (await _apply_register(ctx, c) if task.agency_kind is AgencyKind.EDUCATION
            else await _mark_records(ctx, c, rules_for(c.district_code).agencies[
                task.agency_kind]))
    text = outcome.strip() or f"已按公安{KIND_LABEL[c.kind]}更正"
    task.assignee_id = task.assignee_id or ctx.principal.user_id
    await tasks.close_tasks(ctx, Task.id == task.id, {TASK_KIND}, text)
    audit.record(ctx, "apply_household_correction", OBJ, [c.id],
                 {"task": task.id, "agency": task.agency_kind.value, **done})
    return c


async def _apply_register(ctx: ServiceContext, c: HouseholdCorrection) -> dict[str, Any]:
    """Education: the child's register follows the police register (ST 8)."""
    if c.child_id is None:
        return {"register": None}
    child = await ctx.session.get(Child, c.child_id, with_for_update=True)
    assert child is not None
    # The bureau writes the child's register where the child is registered, whichever
    # district's police recorded the correction.
    ctx.authz.require(ctx.principal, "register", "write", child.scope_path)
    label = KIND_LABEL[c.kind]
    detail: dict[str, object] = {"household_correction": c.id}
    if c.kind is HouseholdCorrectionKind.DECEASED:
        before = await leave_register(ctx, child, EnrolmentStatus.DECEASED, c.effective_on,
                                      "household_deceased", label, detail)
    elif c.kind is HouseholdCorrectionKind.MOVED_AWAY:
        before = await leave_register(
            ctx, child, EnrolmentStatus.TRANSFERRED, c.effective_on, "household_moved_away",
            f"{label}：{c.moved_to}" if c.moved_to else label,
            {**detail, "to_district": c.moved_to or None})
    else:
        history.record(ctx, child.id, f"household_{c.kind.value}", label, on=c.effective_on,
                       detail={**detail, "duplicate_of": c.duplicate_of_base_record_id})
        before = None
    await ctx.session.flush()
    closed = await _close_case_of_deceased(ctx, c, child) if (
        c.kind is HouseholdCorrectionKind.DECEASED) else None
    return {"child": child.id, "entry_was": before, "case_closed": closed}


async def _close_case_of_deceased(ctx: ServiceContext, c: HouseholdCorrection,
                                  child: Child) -> int | None:
    """The child's open dropout case ends with the death (closure reason DECEASED, the
    police's correction its confirmation) through the case service's closing: its open
    tasks cancelled, its timeline and audit written, in the apply's transaction."""
    case_id = (await ctx.session.execute(select(DropoutCase.id).where(
        DropoutCase.child_id == child.id, DropoutCase.status == CaseStatus.OPEN))).scalar()
    if case_id is None:
        return None
    await close_case(ctx, case_id=case_id, expected_version=None,
                     reason=ClosureReason.DECEASED, note=f"公安户籍{KIND_LABEL[c.kind]}",
                     police_reference=f"household_correction:{c.id}")
    return case_id


async def _mark_records(ctx: ServiceContext, c: HouseholdCorrection,
                        source: ImportSource) -> dict[str, Any]:
    """The agency's own list: its records of the person marked corrected (one UPDATE)."""
    terms: list[ColumnElement[bool]] = []
    if c.national_id:
        terms.append(BaseRecord.national_id == c.national_id)
    if c.child_id is not None:
        terms.append(BaseRecord.child_id == c.child_id)
    if c.base_record_id is not None:
        key = select(BaseRecord.person_key).where(BaseRecord.id == c.base_record_id)
        terms.append(BaseRecord.person_key == key.scalar_subquery())
    if not terms:
        return {"records": 0}
    result = await ctx.session.execute(
        update(BaseRecord)
        .where(BaseRecord.source == source, BaseRecord.district_code == c.district_code,
               or_(*terms))
        .values(correction_id=c.id, corrected_at=ctx.clock.now())
        .execution_options(synchronize_session=False)
    )
    return {"records": int(getattr(result, "rowcount", 0) or 0), "source": source.value}
