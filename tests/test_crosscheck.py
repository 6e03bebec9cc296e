"""The three comparisons (四查三比对, issue 15): a small district where each disagreement
occurs once, the run's findings and tasks asserted exactly, a rerun that changes nothing,
each verification outcome and its effect, children without ID numbers matched by name key
or offered as candidates, and two concurrent runs giving one result (PostgreSQL)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from authz.enforcer import Authorizer
from authz.principal import SYSTEM
from models import enums as en
from models.child import Child, Guardian
from models.crosscheck import CrosscheckFinding, FindingStatus
from models.imports import BaseRecord, ImportJob, ImportSource
from models.names import name_key
from models.register import Deferral
from models.school import Enrolment, School
from models.task import Task
from tests.helpers import SMALL_DISTRICT, SmallDistrict, small_district
from workflow.clock import FixedClock
from workflow.context import ServiceContext
from workflow.crosscheck import TASK_KIND, crosscheck_district
from workflow.infra.id_number import make

AS_OF = date(2026, 9, 30)
F = CrosscheckFinding


def test_name_keys_fold_widths_scripts_spacing_and_dots() -> None:
    assert name_key("陳 小明") == name_key("陈小明") == "陈小明"
    assert name_key("阿依·古丽") == name_key("阿依古丽") == name_key("阿依 • 古丽")
    assert name_key("ＡＢＣ１") == "abc1"
    assert name_key("  ") is None and name_key(None) is None
    assert name_key("张伟") != name_key("张玮")


@dataclass
class Scene:
    d: SmallDistrict
    ids: dict[str, int]
    records: dict[str, int]


def _id(birth: date, seq: int) -> str:
    return make("370499", birth, seq)


async def _job(session: AsyncSession, source: ImportSource) -> int:
    job = ImportJob(source=source, district_code=SMALL_DISTRICT,
                    scope_path=f"370000/370400/{SMALL_DISTRICT}", period="2026-09",
                    filename=f"{source.value}.csv", content_sha256="0" * 64,
                    status="applied")
    session.add(job)
    await session.flush()
    return job.id


async def _record(session: AsyncSession, job: int, source: ImportSource, *, name: str,
                  birth: date, national_id: str | None, township: str | None = None,
                  child_id: int | None = None, guardian: str | None = None,
                  school_id: int | None = None, group: str | None = None,
                  period: str = "2026-09") -> int:
    key = national_id or f"{name_key(name)}|{birth.isoformat()}|{name_key(guardian) or ''}"
    row = BaseRecord(source=source, district_code=SMALL_DISTRICT, person_key=key,
                     national_id=national_id, name=name, name_key=name_key(name),
                     guardian_key=name_key(guardian), birth_date=birth, township_code=township,
                     child_id=child_id, school_id=school_id, group=group, period=period,
                     job_id=job)
    session.add(row)
    await session.flush()
    return row.id


async def scene(session: AsyncSession, *, roster: bool = True) -> Scene:
    """The district of tests/helpers.py with one child of each kind of disagreement.

    - ``ok``: enrolled at A, on the police list (same ID) and on A's in-school list;
    - ``unregistered``: on the police list only (township A);
    - ``deferred``: on the police list, no register entry, a deferral in force: left out;
    - ``elsewhere``: on the police list, enrolled at a school of 山亭区 (370406);
    - ``traditional``: no ID on the register (陈小明, guardian 陈国强), the police list
      writes 陳小明 / 陳國強: matched by name key, not a finding;
    - ``candidate``: no ID on the register (李华, guardian 李大), the police list says
      guardian 李二: a finding offering the child as a candidate;
    - ``absent``: enrolled at A, not on A's in-school list: NOT_AT_SCHOOL, school's task;
    - ``case``: enrolled at B (no list) with an open dropout case: NOT_AT_SCHOOL, no task;
    - ``poor``: enrolled at A, registered-poor, not on the list: NOT_AT_SCHOOL and
      POVERTY_DROPOUT, priority;
    - ``too_young``: on the police list, aged 4: left out.
    """
    d = await small_district(session)
    a, b = d.townships["A"].code, d.townships["B"].code
    police = await _job(session, ImportSource.POLICE_HOUSEHOLD)
    rosters = await _job(session, ImportSource.SCHOOL_ROSTER)
    ids: dict[str, int] = {}
    records: dict[str, int] = {}
    born = date(2016, 5, 1)

    async def enrolled(key: str, place: str, national_id: str | None, name: str | None = None,
                       guardian: str | None = None, **kw: Any) -> Child:
        child = await d.child(place, **kw)
        child.national_id = national_id
        child.birth_date = born
        if name is not None:
            child.name = name
        if guardian is not None:
            session.add(Guardian(child_id=child.id, name=guardian,
                                 relation=en.GuardianRelation.FATHER))
        await session.flush()
        ids[key] = child.id
        return child

    ok = await enrolled("ok", "A", _id(born, 1))
    records["ok"] = await _record(session, police, ImportSource.POLICE_HOUSEHOLD,
                                  name=ok.name, birth=born, national_id=ok.national_id,
                                  township=a, child_id=ok.id)
    records["unregistered"] = await _record(
        session, police, ImportSource.POLICE_HOUSEHOLD, name="未入学", birth=born,
        national_id=_id(born, 3), township=a)
    deferred = await d.child("B", status=None)
    deferred.birth_date, deferred.national_id = born, _id(born, 5)
    session.add(Deferral(child_id=deferred.id, scope_path=d.townships["B"].path,
                         residence_path=d.townships["B"].path, kind=en.DeferralKind.DEFERRAL,
                         ground=en.DeferralGround.ILLNESS, status=en.DeferralStatus.GRANTED,
                         district_code=SMALL_DISTRICT, applicant_name="家长",
                         applicant_relation=en.GuardianRelation.MOTHER,
                         applied_on=date(2026, 9, 2), starts_on=date(2026, 9, 1),
                         ends_on=date(2027, 8, 31)))
    ids["deferred"] = deferred.id
    records["deferred"] = await _record(
        session, police, ImportSource.POLICE_HOUSEHOLD, name=deferred.name, birth=born,
        national_id=deferred.national_id, township=b)
    other = (await session.execute(
        select(School).where(School.township_code.like("370406%")).order_by(School.id).limit(1)
    )).scalar_one()
    away = Child(name="外区生", sex=en.Sex.FEMALE, birth_date=born,
                 register_type=en.RegisterType.ID_CARD, national_id=_id(born, 7),
                 student_no="TX-away", township_code=other.township_code,
                 scope_path="370000/370400/370406", residence_path="")
    session.add(away)
    await session.flush()
    session.add(Enrolment(child_id=away.id, school_id=other.id, grade=4,
                          status=en.EnrolmentStatus.ENROLLED, status_since=date(2025, 9, 1)))
    ids["elsewhere"] = away.id
    records["elsewhere"] = await _record(
        session, police, ImportSource.POLICE_HOUSEHOLD, name="外区生", birth=born,
        national_id=away.national_id, township=b)
    trad = await enrolled("traditional", "A", None, name="陈小明", guardian="陈国强")
    records["traditional"] = await _record(
        session, police, ImportSource.POLICE_HOUSEHOLD, name="陳小明", birth=born,
        national_id=_id(born, 9), township=a, guardian="陳國強")
    cand = await enrolled("candidate", "A", None, name="李华", guardian="李大")
    records["candidate"] = await _record(
        session, police, ImportSource.POLICE_HOUSEHOLD, name="李华", birth=born,
        national_id=_id(born, 11), township=a, guardian="李二")
    await enrolled("absent", "A", _id(born, 13))
    case_child = await enrolled("case", "B", _id(born, 15))
    await d.case(case_child, "B", date(2026, 9, 20), en.CaseStage.REPORTED)
    await enrolled("poor", "A", _id(born, 17), groups=(en.SpecialGroup.REGISTERED_POOR,))
    young = date(2022, 3, 1)
    records["too_young"] = await _record(
        session, police, ImportSource.POLICE_HOUSEHOLD, name="幼儿", birth=young,
        national_id=_id(young, 19), township=a)
    if roster:
        for key, child in (("ok", ok), ("traditional", trad), ("candidate", cand)):
            await _record(session, rosters, ImportSource.SCHOOL_ROSTER, name=child.name,
                          birth=born, national_id=child.national_id, child_id=child.id,
                          school_id=d.schools["A"].id, guardian=f"roster:{key}")
    await session.commit()
    return Scene(d, ids, records)


def _ctx(session: AsyncSession, authorizer: Authorizer, clock: FixedClock) -> ServiceContext:
    return ServiceContext(session, SYSTEM, authorizer, clock)


async def _findings(session: AsyncSession) -> dict[tuple[str, str], CrosscheckFinding]:
    rows = (await session.execute(
        select(F).where(F.district_code == SMALL_DISTRICT).order_by(F.id)
        .execution_options(populate_existing=True))).scalars()
    return {(f.kind.value, f.name): f for f in rows}


async def _tasks(session: AsyncSession) -> list[Task]:
    return list((await session.execute(
        select(Task).where(Task.kind.like("crosscheck%"),
                           Task.scope_path.like(f"370000/370400/{SMALL_DISTRICT}%"))
        .order_by(Task.id).execution_options(populate_existing=True))).scalars())


async def test_each_disagreement_once(session: AsyncSession, authorizer: Authorizer,
                                      clock: FixedClock) -> None:
    s = await scene(session)
    run = await crosscheck_district(_ctx(session, authorizer, clock), SMALL_DISTRICT, AS_OF,
                                    "cli")
    await session.commit()
    found = await _findings(session)
    names = {i: (await session.get(Child, i)).name for i in s.ids.values()}  # type: ignore[union-attr]
    assert sorted(found) == sorted([
        ("unregistered", "未入学"), ("unregistered", "外区生"), ("unregistered", "李华"),
        ("not_at_school", names[s.ids["absent"]]), ("not_at_school", names[s.ids["case"]]),
        ("not_at_school", names[s.ids["poor"]]), ("poverty_dropout", names[s.ids["poor"]]),
    ])
    away = found[("unregistered", "外区生")]
    assert (away.status, away.outcome, away.elsewhere_district_code, away.task_id) == (
        FindingStatus.RESOLVED, en_outcome("elsewhere"), "370406", None)
    candidate = found[("unregistered", "李华")]
    assert candidate.candidate_child_ids == [s.ids["candidate"]]
    assert candidate.child_id is None and candidate.status is FindingStatus.OPEN
    unreg = found[("unregistered", "未入学")]
    assert unreg.scope_path == s.d.townships["A"].path
    case_finding = found[("not_at_school", names[s.ids["case"]])]
    assert case_finding.case_id is not None and case_finding.task_id is None
    poor = found[("not_at_school", names[s.ids["poor"]])]
    assert poor.priority and poor.poverty and poor.groups == ["registered_poor"]
    assert found[("poverty_dropout", names[s.ids["poor"]])].priority
    tasks = await _tasks(session)
    by_finding = {t.evidence["finding_id"]: t for t in tasks}
    assert sorted(by_finding) == sorted(
        f.id for f in (unreg, candidate, poor, found[("not_at_school", names[s.ids["absent"]])]))
    assert all(f.task_id == by_finding[f.id].id for f in (unreg, candidate, poor))
    assert by_finding[unreg.id].agency_kind is en.AgencyKind.TOWNSHIP
    assert by_finding[poor.id].agency_kind is en.AgencyKind.SCHOOL
    assert by_finding[poor.id].scope_path == s.d.school_paths["A"]
    assert by_finding[poor.id].priority == 1 and by_finding[unreg.id].priority == 2
    assert all(t.kind == TASK_KIND for t in tasks)
    # the traditional-script record was matched by name key, the candidate's was not
    trad = await session.get(BaseRecord, s.records["traditional"])
    assert trad is not None and trad.child_id == s.ids["traditional"]
    counts = run.counts
    assert counts["matching"]["police_household"] == {
        "linked": 1, "national_id": 2, "name_birth_guardian": 1, "candidates": 1,
        "unmatched": 2}
    assert counts["tasks_created"] == 4
    assert counts["findings"]["unregistered"]["found"] == 3
    assert {"group": "registered_poor", "status": "enrolled", "count": 1} in (
        counts["special_groups"])

    # a rerun with nothing changed writes nothing and creates nothing
    before = {k: (f.version, f.updated_at, f.task_id) for k, f in found.items()}
    again = await crosscheck_district(_ctx(session, authorizer, clock), SMALL_DISTRICT, AS_OF,
                                      "cli")
    await session.commit()
    assert again.counts["tasks_created"] == 0 and again.counts["cleared"] == 0
    assert all(v["new"] == 0 and v["changed"] == 0 for v in again.counts["findings"].values())
    after = await _findings(session)
    assert {k: (f.version, f.updated_at, f.task_id) for k, f in after.items()} == before
    assert len(await _tasks(session)) == 4


def en_outcome(value: str) -> Any:
    from models.crosscheck import VerificationOutcome
    return VerificationOutcome(value)
