"""The comparisons of many districts in one pass (``crosscheck_province``) give what the same
districts give run one by one: the same findings, tasks, matching, run counts and audit rows
per district, on a first run and on a rerun after the data changed (a child enrolled: the
record matched, the finding cleared, its task cancelled)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date
from typing import Any

import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from authz.enforcer import Authorizer
from models import enums as en
from models.audit import AuditEvent
from models.child import Child
from models.crosscheck import CrosscheckFinding, CrosscheckRun
from models.imports import BaseRecord, ImportJob, ImportSource
from models.names import name_key
from models.school import Enrolment, School
from models.task import Task
from tests.crosscheck_scene import AS_OF, Scene, scene, scene_id, system_ctx
from tests.helpers import SMALL_DISTRICT
from workflow.clock import FixedClock
from workflow.crosscheck import compare, crosscheck_district, crosscheck_province
from workflow.crosscheck import run as crosscheck_run
from workflow.crosscheck.findings import TASK_KIND

F = CrosscheckFinding
OTHER = "370406"  # 山亭区, held by the seed
CODES = [OTHER, SMALL_DISTRICT]
BORN = date(2015, 3, 1)


async def _other_district(session: AsyncSession, s: Scene) -> None:
    """山亭区's own lists: a school-age child on no register, the child enrolled there (on
    its police list, not on its school's in-school list: NOT_AT_SCHOOL there), a pupil on
    the list."""
    school = (await session.execute(select(School).where(
        School.township_code.like(f"{OTHER}%")).order_by(School.id).limit(1))).scalar_one()
    jobs = {}
    for source in (ImportSource.POLICE_HOUSEHOLD, ImportSource.SCHOOL_ROSTER):
        job = ImportJob(source=source, district_code=OTHER, scope_path=f"370000/370400/{OTHER}",
                        period="2026-09", filename=f"{source.value}.csv",
                        content_sha256="1" * 64, status="applied")
        session.add(job)
        await session.flush()
        jobs[source] = job.id
    away = await session.get(Child, s.ids["elsewhere"])
    assert away is not None
    police, roster = jobs[ImportSource.POLICE_HOUSEHOLD], jobs[ImportSource.SCHOOL_ROSTER]
    pupil = Child(name="山亭在校", sex=en.Sex.MALE, birth_date=BORN,
                  register_type=en.RegisterType.ID_CARD, national_id=scene_id(BORN, 23),
                  student_no="TX-pupil", township_code=school.township_code,
                  scope_path=f"370000/370400/{OTHER}", residence_path="")
    session.add(pupil)
    await session.flush()
    session.add(Enrolment(child_id=pupil.id, school_id=school.id, grade=4,
                          status=en.EnrolmentStatus.ENROLLED, status_since=date(2025, 9, 1)))
    rows = [(police, "山亭未入学", scene_id(BORN, 21), None, None, BORN),
            (police, away.name, away.national_id, None, None, away.birth_date),
            (roster, pupil.name, pupil.national_id, pupil.id, school.id, BORN)]
    for job, name, national_id, child_id, school_id, birth in rows:
        source = (ImportSource.POLICE_HOUSEHOLD if job == police
                  else ImportSource.SCHOOL_ROSTER)
        session.add(BaseRecord(
            source=source, district_code=OTHER, person_key=national_id,
            national_id=national_id, name=name, name_key=name_key(name), birth_date=birth,
            township_code=school.township_code, child_id=child_id, school_id=school_id,
            period="2026-09", job_id=job))
    await session.commit()


async def _enrol_the_unregistered(session: AsyncSession, s: Scene) -> None:
    """The unregistered child of 测试区 turns out to be a pupil of A registered without an
    ID number (made before the runs, so its id is the same in both passes): the next run
    matches the record by ID number and clears the finding."""
    record = await session.get(BaseRecord, s.records["unregistered"])
    child = await session.get(Child, s.ids["late"])
    assert record is not None and child is not None
    child.national_id, child.birth_date = record.national_id, record.birth_date
    await session.flush()


async def _state(session: AsyncSession) -> dict[str, Any]:
    """Everything the runs wrote, without ids that depend on the order of the writes."""
    tasks = {t.id: t for t in (await session.execute(select(Task).where(
        Task.kind.like("crosscheck%")).execution_options(populate_existing=True))).scalars()}
    findings = []
    for f in (await session.execute(select(F).where(F.district_code.in_(CODES)).order_by(
            F.district_code, F.kind, F.person_key).execution_options(
            populate_existing=True))).scalars():
        task = tasks.get(f.task_id) if f.task_id is not None else None
        findings.append((
            f.district_code, f.kind, f.person_key, f.status, f.outcome, f.child_id,
            f.base_record_id, f.school_id, f.township_code, f.scope_path, f.poverty,
            f.priority, f.groups, f.candidate_child_ids, f.elsewhere_district_code,
            f.fingerprint, f.case_id, f.version, f.first_seen_on, f.last_seen_on,
            None if task is None else (task.kind, task.title, task.agency_kind,
                                       task.scope_path, task.priority, task.due_on,
                                       task.status, task.evidence["finding_id"] == f.id)))
    closed = sorted((t.status, t.outcome) for t in tasks.values())
    runs = [(r.district_code, r.trigger, r.as_of, r.counts) for r in (await session.execute(
        select(CrosscheckRun).where(CrosscheckRun.district_code.in_(CODES))
        .order_by(CrosscheckRun.district_code, CrosscheckRun.id)
        .execution_options(populate_existing=True))).scalars()]
    audited = sorted(
        (e.change["district"], e.change["tasks_created"], e.change["cleared"])
        for e in (await session.execute(select(AuditEvent).where(
            AuditEvent.operation == "run_crosscheck"))).scalars())
    matched = sorted((r.district_code, r.person_key, r.child_id) for r in (
        await session.execute(select(BaseRecord).where(BaseRecord.district_code.in_(CODES))
                              .execution_options(populate_existing=True))).scalars())
    return {"findings": findings, "tasks": closed, "runs": runs, "audit": audited,
            "matched": matched}


Runner = Callable[[], Awaitable[Any]]


async def _twice(session: AsyncSession, s: Scene, runner: Runner) -> list[dict[str, Any]]:
    """A first run, then one after the data changed; the state after each; rolled back."""
    savepoint = await session.begin_nested()
    try:
        await runner()
        first = await _state(session)
        await _enrol_the_unregistered(session, s)
        await runner()
        return [first, await _state(session)]
    finally:
        await savepoint.rollback()


async def test_one_pass_gives_what_district_by_district_gives(
    session: AsyncSession, authorizer: Authorizer, clock: FixedClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    s = await scene(session)
    late = await s.d.child("A")
    late.national_id = None
    s.ids["late"] = late.id
    await _other_district(session, s)
    ctx = system_ctx(session, authorizer, clock)

    async def one_by_one() -> None:
        for code in CODES:
            await crosscheck_district(ctx, code, AS_OF, "cli")

    async def together() -> None:
        # the plans for many districts (the register hashed, the pupils found first)
        monkeypatch.setattr(compare, "FEW_DISTRICTS", 0)
        runs = await crosscheck_province(ctx, reversed(CODES), AS_OF, "cli")
        assert [r.district_code for r in runs] == CODES

    alone = await _twice(session, s, one_by_one)
    batch = await _twice(session, s, together)
    assert batch == alone
    first, second = batch
    kinds = {(f[0], f[1].value) for f in first["findings"]}
    assert {(OTHER, "unregistered"), (OTHER, "not_at_school"),
            (SMALL_DISTRICT, "unregistered"), (SMALL_DISTRICT, "not_at_school"),
            (SMALL_DISTRICT, "poverty_dropout")} <= kinds
    latest = {run[0]: run[3] for run in second["runs"]}
    assert {code: c["cleared"] for code, c in latest.items()} == {OTHER: 0, SMALL_DISTRICT: 2}
    assert latest[OTHER]["matching"]["school_roster"]["linked"] == 1
    assert en.TaskStatus.CANCELLED in {t[0] for t in second["tasks"]}
    assert len(second["audit"]) == 4


async def test_a_finding_passed_in_meanwhile_leaves_no_task_without_its_finding(
    session: AsyncSession, authorizer: Authorizer, clock: FixedClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A finding another district's verification passes here between the tasks made for
    the new findings and the upsert (``_pass_on`` takes no lock of this district): the
    upsert updates it, and the task made for it is dropped, not left pointing nowhere."""
    await scene(session)
    ctx = system_ctx(session, authorizer, clock)
    real = crosscheck_run.upsert_findings
    slipped: list[int] = []

    async def with_one_passed_in(job: Any) -> None:
        found = job.found()
        if "new_task_id" not in found.c:
            return await real(job)  # SQLite: no tasks are made before the upsert
        # The pass-on, as it would land: one of the new findings already there, no task.
        row = (await session.execute(select(found.c.person_key, found.c.new_id,
                                            found.c.new_task_id)
                                     .where(found.c.new_task_id.is_not(None)).limit(1))).one()
        slipped.append(row.new_task_id)
        keep = found.c.person_key == row.person_key
        await session.execute(update(found).where(keep).values(new_id=None, new_task_id=None))
        await real(job)
        await session.execute(update(found).where(keep).values(
            new_id=row.new_id, new_task_id=row.new_task_id))
        return await real(job)

    monkeypatch.setattr(crosscheck_run, "upsert_findings", with_one_passed_in)
    run = await crosscheck_district(ctx, SMALL_DISTRICT, AS_OF, "cli")
    tasks = (await session.execute(select(Task).where(Task.kind == TASK_KIND))).scalars().all()
    findings = {f.id: f for f in (await session.execute(select(F))).scalars()}
    assert all(int(t.evidence["finding_id"]) in findings for t in tasks)
    assert {t.id for t in tasks} == {f.task_id for f in findings.values() if f.task_id}
    assert run.counts["tasks_created"] == len(tasks)
    if slipped:
        assert slipped[0] not in {t.id for t in tasks}
