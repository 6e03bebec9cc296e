"""The small district of tests/helpers.py with one child of each kind of disagreement the
three comparisons find (``scene``), shared by the comparisons' tests (test_crosscheck.py,
test_crosscheck_batch.py)."""

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
from models.imports import BaseRecord, ImportJob, ImportSource
from models.names import name_key
from models.register import Deferral
from models.school import Enrolment, School
from tests.helpers import SMALL_DISTRICT, SmallDistrict, small_district
from workflow.clock import FixedClock
from workflow.context import ServiceContext
from workflow.infra.id_number import make
from workflow.ladder import template_ladder

AS_OF = date(2026, 9, 30)


@dataclass
class Scene:
    d: SmallDistrict
    ids: dict[str, int]
    records: dict[str, int]


def scene_id(birth: date, seq: int) -> str:
    return make("370499", birth, seq)


async def list_job(session: AsyncSession, source: ImportSource) -> int:
    job = ImportJob(source=source, district_code=SMALL_DISTRICT,
                    scope_path=f"370000/370400/{SMALL_DISTRICT}", period="2026-09",
                    filename=f"{source.value}.csv", content_sha256="0" * 64,
                    status="applied")
    session.add(job)
    await session.flush()
    return job.id


async def list_record(session: AsyncSession, job: int, source: ImportSource, *, name: str,
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
    police = await list_job(session, ImportSource.POLICE_HOUSEHOLD)
    rosters = await list_job(session, ImportSource.SCHOOL_ROSTER)
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

    ok = await enrolled("ok", "A", scene_id(born, 1))
    records["ok"] = await list_record(session, police, ImportSource.POLICE_HOUSEHOLD,
                                  name=ok.name, birth=born, national_id=ok.national_id,
                                  township=a, child_id=ok.id)
    records["unregistered"] = await list_record(
        session, police, ImportSource.POLICE_HOUSEHOLD, name="未入学", birth=born,
        national_id=scene_id(born, 3), township=a)
    deferred = await d.child("B", status=None)
    deferred.birth_date, deferred.national_id = born, scene_id(born, 5)
    session.add(Deferral(child_id=deferred.id, scope_path=d.townships["B"].path,
                         residence_path=d.townships["B"].path, kind=en.DeferralKind.DEFERRAL,
                         ground=en.DeferralGround.ILLNESS, status=en.DeferralStatus.GRANTED,
                         district_code=SMALL_DISTRICT, applicant_name="家长",
                         applicant_relation=en.GuardianRelation.MOTHER,
                         applied_on=date(2026, 9, 2), starts_on=date(2026, 9, 1),
                         ends_on=date(2027, 8, 31)))
    ids["deferred"] = deferred.id
    records["deferred"] = await list_record(
        session, police, ImportSource.POLICE_HOUSEHOLD, name=deferred.name, birth=born,
        national_id=deferred.national_id, township=b)
    other = (await session.execute(
        select(School).where(School.township_code.like("370406%")).order_by(School.id).limit(1)
    )).scalar_one()
    away = Child(name="外区生", sex=en.Sex.FEMALE, birth_date=born,
                 register_type=en.RegisterType.ID_CARD, national_id=scene_id(born, 7),
                 student_no="TX-away", township_code=other.township_code,
                 scope_path="370000/370400/370406", residence_path="")
    session.add(away)
    await session.flush()
    session.add(Enrolment(child_id=away.id, school_id=other.id, grade=4,
                          status=en.EnrolmentStatus.ENROLLED, status_since=date(2025, 9, 1)))
    ids["elsewhere"] = away.id
    records["elsewhere"] = await list_record(
        session, police, ImportSource.POLICE_HOUSEHOLD, name="外区生", birth=born,
        national_id=away.national_id, township=b)
    trad = await enrolled("traditional", "A", None, name="陈小明", guardian="陈国强")
    records["traditional"] = await list_record(
        session, police, ImportSource.POLICE_HOUSEHOLD, name="陳小明", birth=born,
        national_id=scene_id(born, 9), township=a, guardian="陳國強")
    cand = await enrolled("candidate", "A", None, name="李华", guardian="李大")
    records["candidate"] = await list_record(
        session, police, ImportSource.POLICE_HOUSEHOLD, name="李华", birth=born,
        national_id=scene_id(born, 11), township=a, guardian="李二")
    await enrolled("absent", "A", scene_id(born, 13))
    case_child = await enrolled("case", "B", scene_id(born, 15))
    await d.case(case_child, "B", date(2026, 9, 20), en.CaseStage.REPORTED)
    await enrolled("poor", "A", scene_id(born, 17), groups=(en.SpecialGroup.REGISTERED_POOR,))
    young = date(2022, 3, 1)
    records["too_young"] = await list_record(
        session, police, ImportSource.POLICE_HOUSEHOLD, name="幼儿", birth=young,
        national_id=scene_id(young, 19), township=a)
    # The district's own ladder (a copy of 山亭区's), for the cases a verification opens.
    copy = template_ladder("ST")
    copy.jurisdiction_code = SMALL_DISTRICT
    session.add(copy)
    if roster:
        for key, child in (("ok", ok), ("traditional", trad), ("candidate", cand)):
            await list_record(session, rosters, ImportSource.SCHOOL_ROSTER, name=child.name,
                          birth=born, national_id=child.national_id, child_id=child.id,
                          school_id=d.schools["A"].id, guardian=f"roster:{key}")
    await session.commit()
    return Scene(d, ids, records)


def system_ctx(session: AsyncSession, authorizer: Authorizer, clock: FixedClock) -> ServiceContext:
    return ServiceContext(session, SYSTEM, authorizer, clock)
