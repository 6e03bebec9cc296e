"""Child-labour findings (童工查处): record one, read them, and what follows.

Police (LS 11(5)) or the inspecting officer record that a child was found working. A child
under the age limit (16, from ``reference_data/child_labour.json``) who is on the register
has the dropout case opened or joined at once, so persuasion and enrolment follow (ST 8), and
each agency gets its task: human resources the return order, market supervision the penalty
review, civil affairs the assistance check, the school or township the enrolment.

A retrying client sends the same idempotency key; the second request returns the first
finding instead of recording the child twice.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, select
from sqlalchemy.exc import IntegrityError

from authz.filters import scope_filter
from models.case import DropoutCase
from models.child import Child
from models.employer import Employer
from models.enums import AgencyKind, CaseStage, Sex, TaskStatus
from models.finding import LabourFinding
from models.inspection import Inspection
from models.task import Task
from workflow import audit
from workflow import case as cases
from workflow.batch import in_order
from workflow.calendar import local_date
from workflow.common import matches, rows_by_ids, rows_grouped, where_fields
from workflow.context import ServiceContext
from workflow.employer import visible_employer
from workflow.errors import BadIdNumber, IdempotencyKeyReused, InvalidInput
from workflow.infra import id_number
from workflow.inspection import ensure_visit, visible_inspection
from workflow.labour_rules import FollowUp, rules_for
from workflow.pagination import Page, PageRequest, keyset_page
from workflow.task import changed
from workflow.task import visible as task_visible

OBJ = "finding"


def visible(ctx: ServiceContext) -> ColumnElement[bool]:
    """Findings the caller may read: by the employer's place, and for agencies that see them
    only once a case reaches them (the judicial bureau), by the linked case's stage."""
    return scope_filter(
        ctx.authz, ctx.principal, OBJ, "read", LabourFinding.scope_path, DropoutCase.stage_rank
    )


def _base() -> Select[LabourFinding]:
    return select(LabourFinding).outerjoin(DropoutCase, DropoutCase.id == LabourFinding.case_id)


@dataclass(frozen=True)
class FindingFilter:
    inspection_id: int | None = matches(LabourFinding.inspection_id)
    employer_id: int | None = matches(LabourFinding.employer_id)
    case_id: int | None = matches(LabourFinding.case_id)
    under_16: bool | None = None


def findings_query(ctx: ServiceContext, f: FindingFilter) -> Select[LabourFinding]:
    stmt = where_fields(_base().where(visible(ctx)), f)
    if f.under_16 is not None:
        stmt = stmt.where(LabourFinding.under_16.is_(f.under_16))
    return stmt


async def findings_page(
    ctx: ServiceContext, f: FindingFilter, request: PageRequest
) -> Page[LabourFinding]:
    """One page of the findings the caller may see, newest first (``findings_query``)."""
    return await keyset_page(
        ctx, findings_query(ctx, f), LabourFinding.id, request, prefix="finding", descending=True
    )


async def get_findings(ctx: ServiceContext, ids: Sequence[int]) -> list[LabourFinding | None]:
    return await rows_by_ids(ctx, _base().where(visible(ctx)), LabourFinding.id, ids)


async def _grouped(
    ctx: ServiceContext, column: Any, keys: Sequence[int]
) -> list[list[LabourFinding]]:
    rows = (
        (
            await ctx.session.execute(
                _base().where(column.in_(keys), visible(ctx)).order_by(LabourFinding.id)
            )
        )
        .scalars()
        .all()
    )
    by: dict[int, list[LabourFinding]] = {k: [] for k in keys}
    for f in rows:
        by[getattr(f, column.key)].append(f)
    return [by[k] for k in keys]


async def findings_of_inspections(
    ctx: ServiceContext, ids: Sequence[int]
) -> list[list[LabourFinding]]:
    return await _grouped(ctx, LabourFinding.inspection_id, ids)


async def findings_of_cases(ctx: ServiceContext, ids: Sequence[int]) -> list[list[LabourFinding]]:
    return await _grouped(ctx, LabourFinding.case_id, ids)


async def findings_of_employers(
    ctx: ServiceContext, ids: Sequence[int]
) -> list[list[LabourFinding]]:
    return await _grouped(ctx, LabourFinding.employer_id, ids)


# --- recording -------------------------------------------------------------------------


@dataclass(frozen=True)
class Evidence:
    """Metadata of a photo, statement or record; the bytes live in the document store."""

    kind: str
    description: str = ""
    filename: str | None = None
    sha256: str | None = None
    taken_at: str | None = None


@dataclass(frozen=True)
class FindingIn:
    employer_id: int
    found_on: date
    work: str
    idempotency_key: str
    inspection_id: int | None = None
    national_id: str | None = None
    child_name: str | None = None
    sex: Sex | None = None
    birth_date: date | None = None
    age: int | None = None
    employed_since: date | None = None
    hours_per_day: int | None = None
    conditions: str = ""
    hazardous: bool = False
    absent_since: date | None = None
    evidence: tuple[Evidence, ...] = field(default_factory=tuple)

    def digest(self) -> str:
        raw = {k: v for k, v in self.__dict__.items() if k != "idempotency_key"}
        raw["evidence"] = [e.__dict__ for e in self.evidence]
        text = json.dumps(raw, sort_keys=True, default=str, ensure_ascii=False)
        return hashlib.sha256(text.encode()).hexdigest()


def _age_on(born: date, day: date) -> int:
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


async def _replay(ctx: ServiceContext, key: str, digest: str) -> LabourFinding | None:
    found = (
        await ctx.session.execute(
            select(LabourFinding).where(
                LabourFinding.recorded_by == ctx.principal.user_id,
                LabourFinding.idempotency_key == key,
            )
        )
    ).scalar_one_or_none()
    if found is not None and found.request_hash != digest:
        raise IdempotencyKeyReused(
            "this idempotency key was used for a different finding", field="idempotencyKey"
        )
    return found


def _check(data: FindingIn, today: date) -> None:
    key = data.idempotency_key.strip()
    if not 8 <= len(key) <= 64:
        raise InvalidInput("an idempotency key is 8 to 64 characters", field="idempotencyKey")
    if data.found_on > today:
        raise InvalidInput("a finding cannot be in the future", field="foundOn")
    if data.found_on < today - timedelta(days=365):
        raise InvalidInput("a finding is recorded within a year", field="foundOn")
    if not data.work.strip() or len(data.work) > 200:
        raise InvalidInput("say what work the child did (at most 200 characters)", field="work")
    if data.hours_per_day is not None and not 0 < data.hours_per_day <= 24:
        raise InvalidInput("hours per day are 1 to 24", field="hoursPerDay")
    if data.employed_since is not None and data.employed_since > data.found_on:
        raise InvalidInput("employment starts on or before the finding", field="employedSince")
    if data.absent_since is not None and not (
        today - timedelta(days=365) <= data.absent_since <= data.found_on
    ):
        raise InvalidInput(
            "absence starts within the last year and by the finding", field="absentSince"
        )
    if len(data.conditions) > 4000:
        raise InvalidInput("conditions are at most 4,000 characters", field="conditions")
    if len(data.evidence) > 50:
        raise InvalidInput("at most 50 evidence items", field="evidence")
    for e in data.evidence:
        if not e.kind.strip() or len(e.kind) > 32:
            raise InvalidInput("each evidence item has a kind", field="evidence")
        if e.sha256 is not None and (
            len(e.sha256) != 64 or any(c not in "0123456789abcdef" for c in e.sha256.lower())
        ):
            raise InvalidInput("an evidence hash is 64 hex characters", field="evidence")


@dataclass
class _Subject:
    """Who the finding is about, from the ID number (and the register) or what was said."""

    child: Child | None
    national_id: str | None
    name: str
    born: date | None
    sex: Sex | None
    age: int


async def _subject(ctx: ServiceContext, data: FindingIn) -> _Subject:
    """The child found: known by ID number if on the register, else as described."""
    child: Child | None = None
    national_id: str | None = None
    born, sex = data.birth_date, data.sex
    if data.national_id:
        try:
            info = id_number.validate(data.national_id)
        except id_number.InvalidIdNumber as exc:
            raise BadIdNumber(str(exc), field="nationalId") from exc
        national_id, born, sex = info.number, info.birth_date, Sex(info.sex)
        child = (
            await ctx.session.execute(select(Child).where(Child.national_id == national_id))
        ).scalar_one_or_none()
    name = (child.name if child else (data.child_name or "")).strip()
    if not name or len(name) > 64:
        raise InvalidInput("give the child's name (at most 64 characters)", field="childName")
    if born is None and child is not None:
        born = child.birth_date
    if born is not None:
        if born >= data.found_on:
            raise InvalidInput("the birth date is after the finding", field="birthDate")
        age = _age_on(born, data.found_on)
    elif data.age is not None:
        age = data.age
    else:
        raise InvalidInput("give an ID number, a birth date or an estimated age", field="age")
    if not 0 < age < 18:
        raise InvalidInput("a child-labour finding is of a person under 18", field="age")
    return _Subject(child, national_id, name, born, sex, age)


async def _insert_once(
    ctx: ServiceContext, finding: LabourFinding, key: str, digest: str
) -> LabourFinding:
    """The new finding, or the one a concurrent retry with the same key committed first."""
    try:
        # Added inside the savepoint: begin_nested() flushes what is pending before it starts.
        async with ctx.session.begin_nested():
            ctx.session.add(finding)
            await ctx.session.flush()
    except IntegrityError:
        # The same key committed by a concurrent retry while this request was checking; the
        # savepoint's rollback has already dropped the pending row from the session.
        if finding in ctx.session:
            ctx.session.expunge(finding)
        again = await _replay(ctx, key, digest)
        if again is None:
            raise
        return again
    return finding


async def _open_case(
    ctx: ServiceContext, finding: LabourFinding, employer: Employer, child: Child, data: FindingIn
) -> tuple[DropoutCase, bool]:
    """A child on the register under the age limit: open (or join) the case, and put the
    finding on its timeline."""
    case, opened = await cases.open_or_join(
        ctx,
        child,
        data.absent_since or data.found_on,
        f"童工查处：{employer.name}，{finding.work}",
        {"finding_id": finding.id, "source": "child_labour_finding"},
    )
    finding.case_id = case.id
    cases.case_event(
        ctx,
        case,
        "labour_finding",
        f"{employer.name}：{finding.work}",
        {
            "finding_id": finding.id,
            "employer_id": employer.id,
            "found_on": data.found_on.isoformat(),
        },
    )
    return case, opened


async def record(ctx: ServiceContext, data: FindingIn) -> LabourFinding:
    """Record a finding; open or join the child's case and create each agency's task."""
    # The employer and the caller's right over it first, then the input.
    employer = await visible_employer(ctx, data.employer_id)
    ctx.authz.require(ctx.principal, OBJ, "write", employer.scope_path)
    today = local_date(ctx.clock.now())
    _check(data, today)
    key = data.idempotency_key.strip()
    digest = data.digest()
    replay = await _replay(ctx, key, digest)
    if replay is not None:
        return replay

    rules = rules_for(employer.district_code)
    inspection: Inspection | None = None
    if data.inspection_id is not None:
        inspection = await visible_inspection(ctx, data.inspection_id, lock=True)
        await ensure_visit(ctx, inspection, employer, data.found_on)

    subject = await _subject(ctx, data)
    child, age = subject.child, subject.age
    finding = LabourFinding(
        inspection_id=inspection.id if inspection else None,
        employer_id=employer.id,
        scope_path=employer.scope_path,
        found_on=data.found_on,
        child_id=child.id if child else None,
        child_name=subject.name,
        national_id=subject.national_id,
        sex=subject.sex,
        birth_date=subject.born,
        age_at_finding=age,
        under_16=age < rules.age_limit,
        employed_since=data.employed_since,
        work=data.work.strip(),
        hours_per_day=data.hours_per_day,
        conditions=data.conditions.strip(),
        hazardous=data.hazardous,
        evidence=[e.__dict__ for e in data.evidence],
        recorded_at=ctx.clock.now(),
        recorded_by=ctx.principal.user_id,
        recorded_agency_kind=ctx.principal.agency_kind,
        idempotency_key=key,
        request_hash=digest,
    )
    stored = await _insert_once(ctx, finding, key, digest)
    if stored is not finding:
        return stored

    case: DropoutCase | None = None
    opened = False
    if finding.under_16 and child is not None:
        case, opened = await _open_case(ctx, finding, employer, child, data)
    tasks: list[Task] = []
    if finding.under_16:
        tasks = await _follow_ups(ctx, finding, employer, child, case, rules.on_finding, today)
    await ctx.session.flush()
    audit.record_row(ctx, "record_finding", finding, {
        "employer_id": employer.id,
        "inspection_id": finding.inspection_id,
        "child_id": finding.child_id,
        "age": age,
        "under_16": finding.under_16,
        "case_id": finding.case_id,
        "case_opened": opened,
        "tasks": [t.id for t in tasks],
    })
    return finding


def _enrolling_agency(case: DropoutCase | None) -> AgencyKind:
    """The school of an enrolled child's case; otherwise the township (a child not on the
    register is first found and identified there)."""
    return (
        AgencyKind.SCHOOL
        if case is not None and case.school_id is not None
        else AgencyKind.TOWNSHIP
    )


async def _follow_ups(
    ctx: ServiceContext,
    finding: LabourFinding,
    employer: Employer,
    child: Child | None,
    case: DropoutCase | None,
    follow_ups: Sequence[FollowUp],
    today: date,
) -> list[Task]:
    now = ctx.clock.now()
    child_scope = case.scope_path if case is not None else employer.scope_path
    tasks = []
    for f in follow_ups:
        if f.agency == "enrolling":
            agency = _enrolling_agency(case)
            title = f.title if child is not None else f"{f.title}（核实身份、户籍地）"
        else:
            agency, title = AgencyKind(f.agency), f.title
        tasks.append(
            Task(
                kind=f.kind,
                title=f"{title}：{employer.name}",
                case_id=case.id if case is not None else None,
                finding_id=finding.id,
                agency_kind=agency,
                scope_path=employer.scope_path if f.scope == "employer" else child_scope,
                due_on=today + timedelta(days=f.due_days),
                priority=f.priority,
                status=TaskStatus.OPEN,
                created_at=now,
                updated_at=now,
            )
        )
    ctx.session.add_all(tasks)
    await ctx.session.flush()
    ctx.events.extend(changed(t, "created") for t in tasks)
    return tasks


async def create_follow_ups(
    ctx: ServiceContext, findings: Sequence[LabourFinding], follow_ups: Sequence[FollowUp]
) -> list[Task]:
    """The tasks an ignored deadline creates, one per finding (scheduler and services)."""
    today = local_date(ctx.clock.now())
    created: list[Task] = []
    for finding in findings:
        employer = await ctx.session.get_one(Employer, finding.employer_id)
        case = await ctx.session.get(DropoutCase, finding.case_id) if finding.case_id else None
        child = await ctx.session.get(Child, finding.child_id) if finding.child_id else None
        created += await _follow_ups(ctx, finding, employer, child, case, follow_ups, today)
    return created


async def tasks_of(ctx: ServiceContext, finding_ids: Sequence[int]) -> list[list[Task]]:
    """The tasks that followed from each finding, as far as they are in the caller's queue."""
    stmt = select(Task).where(task_visible(ctx)).order_by(Task.id)
    return await rows_grouped(ctx, stmt, Task.finding_id, finding_ids)


async def case_stages(ctx: ServiceContext, case_ids: Sequence[int]) -> list[CaseStage | None]:
    """The stage of each finding's case: masking decisions that depend on it (the judicial
    bureau from referral on) need it even where the caller may not read the case."""
    rows = (
        await ctx.session.execute(
            select(DropoutCase.id, DropoutCase.stage).where(DropoutCase.id.in_(case_ids))
        )
    ).all()
    return [None if r is None else r.stage for r in in_order(rows, case_ids, key=lambda r: r.id)]
