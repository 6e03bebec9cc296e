"""Writing what a pass found (``batch.Batch``): the findings kept per (district, kind,
person), the ones no longer found cleared, open dropout cases linked, the special groups and
candidates described, one verification task per unexplained open finding (铁脚板摸排, ST 2).
Each is one statement for every district of the pass; the per-district counts come from the
rows the writes return."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    ColumnElement,
    Date,
    Integer,
    Table,
    and_,
    bindparam,
    case,
    cast,
    delete,
    exists,
    func,
    insert,
    literal,
    null,
    or_,
    select,
    text,
    true,
    update,
)

from models.case import DropoutCase
from models.crosscheck import (
    CrosscheckFinding,
    CrosscheckRun,
    FindingKind,
    FindingStatus,
    VerificationOutcome,
)
from models.enums import AgencyKind, CaseStatus, TaskStatus
from models.reference import Agency
from models.school import School
from models.task import Task
from workflow.calendar import local_date
from workflow.crosscheck.batch import Batch, batch_table
from workflow.crosscheck.matching import candidates_of

TASK_KIND = "crosscheck_verification"
TASK_TITLES = {
    FindingKind.UNREGISTERED: "铁脚板摸排：核实适龄儿童未入学原因及去向",
    FindingKind.NOT_AT_SCHOOL: "铁脚板摸排：核实在籍学生是否在校（名在人不在）",
}
F = CrosscheckFinding


def _run_of_district() -> Any:
    """The pass's run of the finding's district (correlated)."""
    b = batch_table.c
    return (select(b.run_id).where(b.district_code == F.district_code)
            .correlate(F).scalar_subquery())


# A pass that wrote more findings than this analyzes the table before reading it again:
# planned from the statistics of an empty table, clearing the findings no longer found was a
# nested loop over every finding of the province for each (minutes).
ANALYZE_AFTER = 5000


async def upsert_findings(job: Batch) -> None:
    """Insert the new findings, update those whose facts changed (``fingerprint``)."""
    c = job.found().c
    explained = c.elsewhere_district_code.is_not(None)
    status = case((explained, FindingStatus.RESOLVED.value), else_=FindingStatus.OPEN.value)
    outcome = case((explained, VerificationOutcome.ELSEWHERE.value), else_=null())
    columns = {
        "district_code": c.district_code, "scope_path": c.scope_path,
        "township_code": c.township_code, "kind": c.kind, "person_key": c.person_key,
        "child_id": c.child_id, "base_record_id": c.base_record_id,
        "school_id": c.school_id, "name": c.name, "national_id": c.national_id,
        "birth_date": c.birth_date, "household_no": c.household_no,
        "poverty": cast(c.poverty, Boolean), "priority": cast(c.priority, Boolean),
        "groups": c.groups, "candidate_child_ids": job.json_literal("[]"),
        "elsewhere_district_code": c.elsewhere_district_code,
        "first_run_id": c.run_id, "last_run_id": c.run_id,
        "first_seen_on": literal(job.as_of, Date), "last_seen_on": literal(job.as_of, Date),
        "fingerprint": c.fingerprint, "status": status, "outcome": outcome,
        "outcome_detail": job.json_literal("{}"), "case_id": c.case_id,
        "created_at": literal(job.now, F.created_at.type),
        "updated_at": literal(job.now, F.updated_at.type), "version": literal(1),
    }
    if "new_id" in c:  # ids and tasks taken for the new findings (``new_tasks``)
        columns["id"] = func.coalesce(c.new_id, func.nextval(func.pg_get_serial_sequence(
            F.__tablename__, "id")))
        columns["task_id"] = c.new_task_id
    stmt = job.upsert().from_select(list(columns), select(*columns.values()).where(true()))
    x = stmt.excluded
    done = F.status.in_((FindingStatus.RESOLVED, FindingStatus.CLEARED))
    again = {  # a resolved or cleared finding whose data changed starts over
        "status": case((done, x.status), else_=F.status),
        "outcome": case((done, x.outcome), else_=F.outcome),
        "outcome_detail": case((done, x.outcome_detail), else_=F.outcome_detail),
        "task_id": case((done, null()), else_=F.task_id),
        "resolved_at": case((done, null()), else_=F.resolved_at),
        "resolved_by": case((done, null()), else_=F.resolved_by),
    }
    # a child's groups and priority are the child's now; a person on no register keeps
    # what the finding had
    child = x.child_id.is_not(None)
    described = {"groups": case((child, x.groups), else_=F.groups),
                 "priority": case((child, x.priority), else_=F.priority)}
    refreshed = {name: getattr(x, name) for name in (
        "scope_path", "township_code", "child_id", "base_record_id", "school_id", "name",
        "national_id", "birth_date", "household_no", "poverty", "elsewhere_district_code",
        "case_id", "fingerprint", "last_run_id", "last_seen_on", "updated_at")}
    written = await job.session.execute(stmt.on_conflict_do_update(
        index_elements=["district_code", "kind", "person_key"],
        set_={**refreshed, **described, **again, "version": F.version + 1},
        where=or_(F.fingerprint != x.fingerprint, F.status == FindingStatus.CLEARED),
    ))
    if job.dialect == "postgresql" and (written.rowcount or 0) > ANALYZE_AFTER:  # type: ignore[attr-defined]
        await job.session.execute(text(f"ANALYZE {F.__tablename__}"))


def mine(job: Batch) -> ColumnElement[bool]:
    """The findings the districts' own runs made (a finding passed here from another
    district is this district's to verify, not its runs' to clear)."""
    return and_(job.in_batch(F.district_code), exists().where(
        CrosscheckRun.id == F.first_run_id, CrosscheckRun.district_code == F.district_code))


async def clear_gone(job: Batch) -> Counter[str]:
    """The open findings no longer found, cleared (or resolved: a death the verifier
    reported and the police have now recorded); how many per district."""
    found = job.found()
    still = exists().where(found.c.district_code == F.district_code,
                           found.c.kind == F.kind, found.c.person_key == F.person_key)
    confirmed = F.outcome == VerificationOutcome.DECEASED
    rows = await job.session.execute(
        update(F)
        .where(mine(job), F.status == FindingStatus.OPEN, ~still)
        .values(status=case((confirmed, FindingStatus.RESOLVED.value),
                            else_=FindingStatus.CLEARED.value),
                resolved_at=case((confirmed, literal(job.now, F.resolved_at.type)),
                                 else_=F.resolved_at),
                last_run_id=_run_of_district(), last_seen_on=job.as_of, updated_at=job.now,
                version=F.version + 1)
        .returning(F.district_code)
        .execution_options(synchronize_session=False)
    )
    return job.per_district(rows)


async def link_cases(job: Batch) -> list[tuple[int, str]]:
    """An open finding whose child has an open dropout case now: the case is linked and is
    the follow-up, so its verification task ends. The findings' ids and districts."""
    case_now = (select(DropoutCase.id).where(DropoutCase.child_id == F.child_id,
                                             DropoutCase.status == CaseStatus.OPEN)
                .limit(1).scalar_subquery())
    rows = await job.session.execute(
        update(F)
        .where(job.in_batch(F.district_code), F.status == FindingStatus.OPEN,
               F.case_id.is_(None), F.child_id.is_not(None),
               exists().where(DropoutCase.child_id == F.child_id,
                              DropoutCase.status == CaseStatus.OPEN))
        .values(case_id=case_now, updated_at=job.now, version=F.version + 1)
        .returning(F.id, F.district_code)
        .execution_options(synchronize_session=False)
    )
    return [(int(i), str(d)) for i, d in rows.all()]


async def describe(job: Batch) -> None:
    """The children an unmatched record of a finding this pass wrote could be (offered to
    the verifier; the special groups and priority came with the finding, ``compare``)."""
    unmatched = select(F.base_record_id).where(job.touched(), F.child_id.is_(None),
                                               F.base_record_id.is_not(None))
    offered = await candidates_of(job.session, unmatched)
    if offered:
        table = CrosscheckFinding.__table__
        assert isinstance(table, Table)
        await job.session.execute(
            update(table).where(table.c.base_record_id == bindparam("record"),
                                table.c.district_code.in_(job.codes),
                                table.c.last_run_id.in_(job.run_ids))
            .values(candidate_child_ids=bindparam("children")),
            [{"record": r, "children": ids} for r, ids in offered.items()],
        )


TASK_COLUMNS = ["kind", "title", "agency_kind", "scope_path", "due_on", "priority", "status",
                "evidence", "created_at", "updated_at", "version"]


def task_values(job: Batch, row: Any, finding_id: Any) -> list[Any]:
    """A verification task's columns (``TASK_COLUMNS``) for the finding ``row`` (its kind,
    school, scope and priority; ``School`` and ``Agency`` joined outer by its school): for
    the township where the child lives, or the school, as the districts' rules say."""
    agency: Any = literal(AgencyKind.TOWNSHIP.value)
    scope: Any = row.scope_path
    for kind, verifier in job.rules.verifier.items():
        by_school = and_(row.kind == kind, row.school_id.is_not(None))
        if verifier is AgencyKind.SCHOOL:
            agency = case((by_school, literal(verifier.value)), else_=agency)
            scope = case((by_school, Agency.scope_path), else_=scope)
        else:
            agency = case((row.kind == kind, literal(verifier.value)), else_=agency)
    due = local_date(job.now) + timedelta(days=job.rules.due_days)
    title = case(*((row.kind == k, literal(t)) for k, t in TASK_TITLES.items()))
    return [literal(TASK_KIND), title, agency, scope, literal(due, Date),
            case((row.priority, 1), else_=2), literal(TaskStatus.OPEN.value),
            job.json_object("finding_id", finding_id),
            literal(job.now, Task.created_at.type), literal(job.now, Task.updated_at.type),
            literal(1)]


async def new_tasks(job: Batch) -> Counter[str]:
    """PostgreSQL: ids from the sequences for the findings the upsert will insert (none is
    there: the districts are locked) and for the verification tasks they need, and those
    tasks inserted first, so that the upsert writes each new finding once, with its task.
    (Setting the task after, an update of rows inserted in the same transaction re-checked
    every foreign key of every finding: 5 s at province scale.) How many per district."""
    if job.dialect != "postgresql":
        return Counter()
    session, found = job.session, job.found()
    sequences = (await session.execute(text(
        "SELECT pg_get_serial_sequence('crosscheck_finding', 'id'), "
        "pg_get_serial_sequence('task', 'id')"))).one()
    for name in ("new_id", "new_task_id"):
        await session.execute(text(f"ALTER TABLE {found.name} ADD COLUMN {name} INTEGER"))
        found.append_column(Column(name, Integer))
    c = found.c
    there = exists().where(F.district_code == c.district_code, F.kind == c.kind,
                           F.person_key == c.person_key)
    # what ``open_tasks`` would want of the new finding, and ``link_cases`` would not take
    has_case = exists().where(DropoutCase.child_id == c.child_id,
                              DropoutCase.status == CaseStatus.OPEN)
    needs = and_(c.kind.in_(tuple(TASK_TITLES)), c.elsewhere_district_code.is_(None),
                 c.case_id.is_(None), or_(c.child_id.is_(None), ~has_case))
    await session.execute(update(found).where(~there).values(
        new_id=func.nextval(sequences[0]),
        new_task_id=case((needs, func.nextval(sequences[1])), else_=null())))
    await session.execute(insert(Task).from_select(["id", *TASK_COLUMNS], (
        select(c.new_task_id, *task_values(job, c, c.new_id))
        .select_from(found)
        .outerjoin(School, School.id == c.school_id)
        .outerjoin(Agency, Agency.id == School.agency_id)
        .where(c.new_task_id.is_not(None)))))
    return Counter({str(d): int(n) for d, n in (await session.execute(
        select(c.district_code, func.count(c.new_task_id)).group_by(c.district_code))).all()})


async def drop_unclaimed(job: Batch, made: Counter[str]) -> Counter[str]:
    """PostgreSQL, after the upsert: the tasks ``new_tasks`` made for findings the upsert
    did not insert after all are deleted, so no task points at a finding that is not there.
    That happens when another district's verification passed a finding here in between
    (``operations._pass_on`` writes into this district without its lock; the upsert then
    updated that finding). Returns how many tasks each district kept."""
    if job.dialect != "postgresql" or not made:
        return made
    c = job.found().c
    unclaimed = await job.session.execute(
        delete(Task).where(Task.id.in_(select(c.new_task_id).where(c.new_task_id.is_not(None))),
                           ~exists().where(F.task_id == Task.id))
        .execution_options(synchronize_session=False).returning(Task.id))
    if not unclaimed.all():
        return made
    return Counter({str(d): int(n) for d, n in (await job.session.execute(
        select(c.district_code, func.count()).join(F, F.task_id == c.new_task_id)
        .group_by(c.district_code))).all()})


async def open_tasks(job: Batch) -> Counter[str]:
    """One verification task per unexplained open finding without one (those made with
    their findings, ``new_tasks``, have theirs). How many per district."""
    wanted = and_(job.in_batch(F.district_code), F.status == FindingStatus.OPEN,
                  F.outcome.is_(None), F.task_id.is_(None), F.case_id.is_(None),
                  F.kind.in_(tuple(TASK_TITLES)))
    source = (
        select(*task_values(job, F, F.id))
        .select_from(F)
        .outerjoin(School, School.id == F.school_id)
        .outerjoin(Agency, Agency.id == School.agency_id)
        .where(wanted)
        .order_by(F.id)
    )
    columns = TASK_COLUMNS
    if job.dialect == "postgresql":
        # One statement: the insert's RETURNING feeds the findings' link (matching the new
        # tasks back by their evidence scanned every task of the kind, each run slower
        # than the last at province scale).
        made = (insert(Task).from_select(columns, source)
                .returning(Task.id.label("task_id"),
                           Task.evidence["finding_id"].as_integer().label("finding_id"))
                .cte("made"))
        rows = await job.session.execute(
            update(F).where(F.id == made.c.finding_id)
            .values(task_id=made.c.task_id)
            .returning(F.district_code)
            .execution_options(synchronize_session=False))
        return job.per_district(rows)
    # The tasks this statement makes have higher ids than any before it.
    before = (await job.session.execute(
        select(func.coalesce(func.max(Task.id), 0)))).scalar_one()
    made_count = await job.session.execute(insert(Task).from_select(columns, source))
    if not made_count.rowcount:  # type: ignore[attr-defined]
        return Counter()
    rows = await job.session.execute(
        update(F)
        .where(wanted, Task.kind == TASK_KIND, Task.id > before,
               Task.evidence["finding_id"].as_integer() == F.id)
        .values(task_id=Task.id)
        .returning(F.district_code)
        .execution_options(synchronize_session=False)
    )
    return job.per_district(rows)
