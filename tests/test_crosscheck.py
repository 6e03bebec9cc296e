"""The three comparisons (四查三比对, issue 15): a small district where each disagreement
occurs once, the run's findings and tasks asserted exactly, a rerun that changes nothing,
each verification outcome and its effect, children without ID numbers matched by name key
or offered as candidates, and two concurrent runs giving one result (PostgreSQL)."""

from __future__ import annotations

import asyncio
import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from authz.enforcer import Authorizer
from models import enums as en
from models.case import DropoutCase
from models.child import Child
from models.crosscheck import CrosscheckFinding, CrosscheckRun, FindingKind, FindingStatus
from models.imports import BaseRecord, ImportSource
from models.names import name_key
from models.register import Deferral
from models.school import Enrolment, School
from models.task import Task
from tests.crosscheck_scene import (
    AS_OF,
    list_job,
    list_record,
    scene,
    system_ctx,
)
from tests.helpers import (
    IMPORT_APPLY,
    SMALL_DISTRICT,
    Api,
    first_school_name,
    gid,
    scratch_postgres,
    staged_list,
)
from workflow.clock import FixedClock
from workflow.context import ServiceContext
from workflow.crosscheck import TASK_KIND, crosscheck_district
from workflow.imports.reading import csv_bytes

F = CrosscheckFinding


def test_name_keys_fold_widths_scripts_spacing_and_dots() -> None:
    assert name_key("陳 小明") == name_key("陈小明") == "陈小明"
    assert name_key("阿依·古丽") == name_key("阿依古丽") == name_key("阿依 • 古丽")
    assert name_key("ＡＢＣ１") == "abc1"
    assert name_key("  ") is None and name_key(None) is None
    assert name_key("张伟") != name_key("张玮")


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
    run = await crosscheck_district(system_ctx(session, authorizer, clock), SMALL_DISTRICT, AS_OF,
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
    again = await crosscheck_district(system_ctx(session, authorizer, clock), SMALL_DISTRICT, AS_OF,
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


RUN = """mutation($d: String!, $on: Date!) { runCrosscheck(input: {districtCode: $d, asOf: $on})
  { crosscheckRun { id tasksCreated findings { kind found new open }
    matching { source nationalId nameBirthGuardian candidates } }
    userErrors { code field message } } }"""
FINDINGS = """query($f: CrosscheckFindingFilterInput) { crosscheckFindings(filter: $f, first: 50) {
  totalCount edges { node { id kind status outcome name version priority
  candidates { id } task { id status } case { id } } } } }"""
RESOLVE = """mutation($i: ResolveVerificationInput!) { resolveVerification(input: $i) {
  crosscheckFinding { id status outcome version outcomeDetail case { id } }
  userErrors { code field message } } }"""


async def _listed(api: Api, user: str, **f: Any) -> dict[tuple[str, str], dict[str, Any]]:
    data = await api.gql(FINDINGS, {"f": {"districtCode": SMALL_DISTRICT, **f}}, user=user)
    return {(e["node"]["kind"].lower(), e["node"]["name"]): e["node"]
            for e in data["crosscheckFindings"]["edges"]}


async def _resolve(api: Api, user: str, fid: str, **given: Any) -> dict[str, Any]:
    data = await api.gql(RESOLVE, {"i": {"crosscheckFindingId": fid, **given}}, user=user)
    return data["resolveVerification"]  # type: ignore[no-any-return]


async def test_runs_over_graphql_and_each_outcome(
    api: Api, sessions: async_sessionmaker[AsyncSession]
) -> None:
    async with sessions() as session:
        s = await scene(session)
        names = {k: (await session.get(Child, i)).name  # type: ignore[union-attr]
                 for k, i in s.ids.items()}
    # only the bureau runs the comparisons
    refused = await api.errors(RUN, {"d": SMALL_DISTRICT, "on": "2026-09-30"}, user="t_township")
    assert refused[0]["extensions"]["code"] == "FORBIDDEN"
    ran = (await api.gql(RUN, {"d": SMALL_DISTRICT, "on": "2026-09-30"}, user="t_edu")
           )["runCrosscheck"]["crosscheckRun"]
    assert ran["tasksCreated"] == 4
    future = (await api.gql(RUN, {"d": SMALL_DISTRICT, "on": "2027-01-01"}, user="t_edu")
              )["runCrosscheck"]["userErrors"]
    assert future[0]["code"] == "BAD_INPUT"
    # a township sees the children living in it; the school its pupils; the bureau all
    in_a = await _listed(api, "t_township")
    in_b = await _listed(api, "t_township_b")
    assert ("unregistered", "未入学") in in_a and ("not_at_school", names["case"]) in in_b
    assert not set(in_a) & set(in_b)
    everything = await _listed(api, "t_edu")
    assert len(everything) == 7 and set(in_a) | set(in_b) <= set(everything)
    principal = (await api.gql(FINDINGS, {"f": {}}, user="t_principal")
                 )["crosscheckFindings"]["edges"]
    assert sorted(e["node"]["id"] for e in principal) == sorted(
        everything[k]["id"] for k in (("not_at_school", names["absent"]),
                                      ("not_at_school", names["poor"]),
                                      ("poverty_dropout", names["poor"])))
    candidate = in_a[("unregistered", "李华")]
    assert [c["id"] for c in candidate["candidates"]] == [gid("Child", s.ids["candidate"])]

    # ENROLLED: the candidate is the child; the police record is linked to it
    done = await _resolve(api, "t_township", fid=candidate["id"], outcome="ENROLLED",
                          childId=gid("Child", s.ids["candidate"]),
                          expectedVersion=candidate["version"])
    assert done["crosscheckFinding"]["status"] == "RESOLVED", done
    stale = await _resolve(api, "t_township", fid=candidate["id"], outcome="NOT_FOUND")
    assert stale["userErrors"][0]["code"] == "WRONG_STAGE"
    # ELSEWHERE: passed to 山亭区, where the bureau gets a finding and a task
    unreg = in_a[("unregistered", "未入学")]
    wrong = await _resolve(api, "t_township", fid=unreg["id"], outcome="ELSEWHERE",
                           expectedVersion=unreg["version"] - 1, districtCode="370406")
    assert wrong["userErrors"][0]["code"] == "CONFLICT"
    needs = await _resolve(api, "t_township", fid=unreg["id"], outcome="ELSEWHERE")
    assert needs["userErrors"][0]["field"] == "districtCode"
    passed = await _resolve(api, "t_township", fid=unreg["id"], outcome="ELSEWHERE",
                            districtCode="370406")
    assert passed["crosscheckFinding"]["outcome"] == "ELSEWHERE"
    there = {(e["node"]["kind"].lower(), e["node"]["name"]): e["node"] for e in (await api.gql(
        FINDINGS, {"f": {"districtCode": "370406"}}, user="edu_officer")
    )["crosscheckFindings"]["edges"]}
    moved = there[("unregistered", "未入学")]
    assert moved["status"] == "OPEN" and moved["task"]["status"] == "OPEN"
    # … and 山亭区 finds it moved on again
    away = await _resolve(api, "edu_officer", fid=moved["id"], outcome="MOVED_AWAY")
    assert away["crosscheckFinding"]["status"] == "RESOLVED"
    # DEFERRED: the deferral in force is linked
    absent = s.ids["absent"]
    async with sessions() as session:
        deferral = Deferral(child_id=absent, scope_path=s.d.school_paths["A"],
                            residence_path=s.d.townships["A"].path,
                            kind=en.DeferralKind.DEFERRAL, ground=en.DeferralGround.ILLNESS,
                            status=en.DeferralStatus.GRANTED, district_code=SMALL_DISTRICT,
                            applicant_name="家长", applicant_relation=en.GuardianRelation.MOTHER,
                            applied_on=date(2026, 9, 2), starts_on=date(2026, 9, 1),
                            ends_on=date(2027, 8, 31))
        session.add(deferral)
        await session.commit()
        deferral_id = deferral.id
    absent_finding = in_a[("not_at_school", names["absent"])]
    deferred_ = await _resolve(api, "t_principal", fid=absent_finding["id"],
                               outcome="DEFERRED", deferralId=gid("Deferral", deferral_id))
    assert deferred_["crosscheckFinding"]["status"] == "RESOLVED", deferred_
    # DROPOUT_CONFIRMED: a case opens and the ladder starts
    poor = in_a[("not_at_school", names["poor"])]
    confirmed = await _resolve(api, "t_township", fid=poor["id"],
                               outcome="DROPOUT_CONFIRMED", firstAbsence="2026-09-28")
    assert confirmed["crosscheckFinding"] is not None, confirmed
    assert confirmed["crosscheckFinding"]["case"] is not None, confirmed
    # NOT_FOUND
    gone = await _resolve(api, "t_township", fid=in_a[("poverty_dropout", names["poor"])]
                          ["id"], outcome="NOT_FOUND", note="查无此人")
    assert gone["crosscheckFinding"]["status"] == "RESOLVED"
    # DECEASED: open until the police confirm; a police task
    case_finding = in_b[("not_at_school", names["case"])]
    dead = await _resolve(api, "t_township_b", fid=case_finding["id"], outcome="DECEASED")
    assert (dead["crosscheckFinding"]["status"], dead["crosscheckFinding"]["outcome"]) == (
        "OPEN", "DECEASED")
    again = await _resolve(api, "t_township_b", fid=case_finding["id"],
                           outcome="NOT_FOUND")
    assert again["userErrors"][0]["code"] == "WRONG_STAGE"

    async with sessions() as session:
        case_of_poor = (await session.execute(select(DropoutCase).where(
            DropoutCase.child_id == s.ids["poor"], DropoutCase.status == en.CaseStatus.OPEN)
        )).scalar_one()
        assert case_of_poor.day0 == date(2026, 9, 28)
        record = await session.get(BaseRecord, s.records["candidate"])
        assert record is not None and record.child_id == s.ids["candidate"]
        kinds = dict((await session.execute(
            select(Task.kind, func.count()).where(
                Task.kind.in_(("crosscheck_verification", "crosscheck_passed_on",
                               "confirm_death")), Task.status == en.TaskStatus.OPEN)
            .group_by(Task.kind))).all())
        # open: 未入学's moved on and resolved; the police's confirmation; nothing else
        assert kinds == {"confirm_death": 1}
        before = dict((await session.execute(
            select(F.id, F.version).where(F.district_code == SMALL_DISTRICT))).all())

    # a rerun reopens nothing that was resolved and creates nothing
    rerun = (await api.gql(RUN, {"d": SMALL_DISTRICT, "on": "2026-09-30"}, user="t_edu")
             )["runCrosscheck"]["crosscheckRun"]
    assert rerun["tasksCreated"] == 0
    async with sessions() as session:
        after = dict((await session.execute(
            select(F.id, F.version).where(F.district_code == SMALL_DISTRICT))).all())
    assert after == before


async def test_data_changes_clear_and_reopen(session: AsyncSession, authorizer: Authorizer,
                                            clock: FixedClock) -> None:
    s = await scene(session)
    ctx = system_ctx(session, authorizer, clock)
    await crosscheck_district(ctx, SMALL_DISTRICT, AS_OF, "cli")
    await session.commit()
    absent = (await session.execute(select(F).where(
        F.child_id == s.ids["absent"], F.kind == FindingKind.NOT_AT_SCHOOL))).scalar_one()
    first_task = absent.task_id
    # the school's next list has the pupil: the finding clears, its task is cancelled
    rosters = await list_job(session, ImportSource.SCHOOL_ROSTER)
    listed = await list_record(session, rosters, ImportSource.SCHOOL_ROSTER, name="在校",
                           birth=date(2016, 5, 1), national_id=None, child_id=s.ids["absent"],
                           school_id=s.d.schools["A"].id, guardian="x")
    await session.commit()
    run = await crosscheck_district(ctx, SMALL_DISTRICT, AS_OF, "cli")
    await session.commit()
    assert run.counts["cleared"] == 1 and run.counts["tasks_created"] == 0
    await session.refresh(absent)
    task = await session.get(Task, first_task)
    await session.refresh(task)  # type: ignore[arg-type]
    assert absent.status is FindingStatus.CLEARED
    assert task is not None and task.status is en.TaskStatus.CANCELLED
    # and gone from the list again: the finding reopens with a new task
    await session.delete(await session.get(BaseRecord, listed))
    await session.commit()
    run = await crosscheck_district(ctx, SMALL_DISTRICT, AS_OF, "cli")
    await session.commit()
    await session.refresh(absent)
    assert absent.status is FindingStatus.OPEN and run.counts["tasks_created"] == 1
    assert absent.task_id not in (None, first_task)
    # a police record whose township changes: its open finding follows, same task
    unreg = (await session.execute(select(F).where(
        F.base_record_id == s.records["unregistered"]))).scalar_one()
    record = await session.get(BaseRecord, s.records["unregistered"])
    assert record is not None
    record.township_code = s.d.townships["B"].code
    await session.commit()
    run = await crosscheck_district(ctx, SMALL_DISTRICT, AS_OF, "cli")
    await session.commit()
    await session.refresh(unreg)
    assert unreg.scope_path == s.d.townships["B"].path
    assert run.counts["findings"]["unregistered"]["changed"] == 1
    # an open case for a found child takes over from the verification
    child = await session.get(Child, s.ids["absent"])
    assert child is not None
    await s.d.case(child, "A", date(2026, 9, 29), en.CaseStage.REPORTED)
    await session.commit()
    run = await crosscheck_district(ctx, SMALL_DISTRICT, AS_OF, "cli")
    await session.commit()
    await session.refresh(absent)
    assert run.counts["cases_linked"] == 1 and absent.case_id is not None
    done = await session.get(Task, absent.task_id)
    await session.refresh(done)  # type: ignore[arg-type]
    assert done is not None and done.status is en.TaskStatus.DONE


@pytest.mark.parametrize("database", ["postgresql"], indirect=True)
async def test_two_runs_at_once_give_one_result(
    database: Any, tmp_path: Path, authorizer: Authorizer, clock: FixedClock
) -> None:
    """Two sessions (two processes, as far as the database can tell) run the same district
    at the same moment, on a PostgreSQL database of their own: the advisory lock queues
    them, and the second finds the first's findings and creates nothing."""
    async with scratch_postgres(tmp_path, 40) as engine:
        sessions = async_sessionmaker(engine, expire_on_commit=False)
        async with sessions() as session:
            await scene(session)

        async def one() -> CrosscheckRun:
            async with sessions() as session:
                run = await crosscheck_district(system_ctx(session, authorizer, clock),
                                                SMALL_DISTRICT, AS_OF, "cli")
                await session.commit()
                return run

        first, second = await asyncio.gather(one(), one())
        async with sessions() as session:
            findings = (await session.execute(select(func.count()).select_from(F).where(
                F.district_code == SMALL_DISTRICT))).scalar_one()
            tasks = len(await _tasks(session))
        assert findings == 7 and tasks == 4
        assert sorted([first.counts["tasks_created"], second.counts["tasks_created"]]) == [0, 4]


async def test_police_corrections_take_people_off(session: AsyncSession, authorizer: Authorizer,
                                                 clock: FixedClock) -> None:
    """ST 8: a person the police record as moved away (or deceased) by the as-of date is not a
    child out of school; a duplicate entry counts once; a reported death the police confirm
    resolves the finding."""
    from models.household import (
        HouseholdCorrection,
        HouseholdCorrectionKind,
        HouseholdCorrectionStatus,
    )

    s = await scene(session)
    police = await list_job(session, ImportSource.POLICE_HOUSEHOLD)
    born = date(2016, 5, 1)
    twice = await list_record(session, police, ImportSource.POLICE_HOUSEHOLD, name="未入学",
                          birth=born, national_id=None, township=s.d.townships["A"].code,
                          guardian="某")
    path = s.d.townships["A"].path

    def correction(kind: HouseholdCorrectionKind, record: int, on: date, **kw: Any
                   ) -> HouseholdCorrection:
        return HouseholdCorrection(district_code=SMALL_DISTRICT, scope_path=path,
                                   base_record_id=record, name="x", birth_date=born,
                                   kind=kind, effective_on=on, **kw)

    # moved away, but only after the as-of date: still compared
    moved_later = correction(HouseholdCorrectionKind.MOVED_AWAY, s.records["candidate"],
                             date(2026, 10, 15))
    session.add_all([
        correction(HouseholdCorrectionKind.DUPLICATE, twice, date(2026, 9, 1),
                   duplicate_of_base_record_id=s.records["unregistered"]),
        moved_later,
    ])
    await session.commit()
    ctx = system_ctx(session, authorizer, clock)
    await crosscheck_district(ctx, SMALL_DISTRICT, AS_OF, "cli")
    await session.commit()
    found = await _findings(session)
    assert [k for k in found if k[0] == "unregistered"] == [
        ("unregistered", "未入学"), ("unregistered", "外区生"), ("unregistered", "李华")]
    # the verifier reports 未入学 dead: a police task, the finding open until they confirm
    unreg = found[("unregistered", "未入学")]
    from workflow.crosscheck import resolve_verification

    officer = await _principal(session, "t_township")
    await resolve_verification(ServiceContext(session, officer, authorizer, clock),
                               crosscheck_finding_id=unreg.id, outcome=en_outcome("deceased"))
    await session.commit()
    police_task = (await session.execute(select(Task).where(
        Task.kind == "confirm_death", Task.evidence["finding_id"].as_integer() == unreg.id))
    ).scalar_one()
    assert police_task.agency_kind is en.AgencyKind.POLICE
    assert police_task.evidence["base_record_id"] == s.records["unregistered"]
    # the police withdraw the move dated after the as-of day and record it with its real
    # date (one recorded correction of a kind per person: migration 0021)
    moved_later.status = HouseholdCorrectionStatus.WITHDRAWN
    await session.flush()
    session.add_all([
        correction(HouseholdCorrectionKind.DECEASED, s.records["unregistered"],
                   date(2026, 9, 20)),
        correction(HouseholdCorrectionKind.MOVED_AWAY, s.records["candidate"],
                   date(2026, 9, 25)),
    ])
    await session.commit()
    run = await crosscheck_district(ctx, SMALL_DISTRICT, AS_OF, "cli")
    await session.commit()
    found = await _findings(session)
    assert (found[("unregistered", "未入学")].status, found[("unregistered", "李华")].status) == (
        FindingStatus.RESOLVED, FindingStatus.CLEARED)
    assert run.counts["findings"]["unregistered"]["found"] == 1  # 外区生 only


async def _principal(session: AsyncSession, username: str) -> Any:
    from workflow.user import load_principal

    return await load_principal(session, username)


async def test_an_in_school_list_comes_through_the_imports(
    api: Api, sessions: async_sessionmaker[AsyncSession]
) -> None:
    """A school's in-school list (在校生名单) is an import source: its rows are matched to
    the pupils (traditional script and a middle dot folded by the name key) and kept in the
    base database with the school that sent the list."""
    school = await first_school_name(api)
    async with sessions() as session:
        pupil = (await session.execute(
            select(Child).join(Enrolment, Enrolment.child_id == Child.id)
            .join(School, School.id == Enrolment.school_id)
            .where(School.name == school, Child.national_id.is_not(None)).limit(1)
        )).scalar_one()
        school_id = (await session.execute(select(School.id).where(School.name == school))
                     ).scalar_one()
    rows = [["学生姓名", "出生日期", "身份证件号", "学校名称"],
            [pupil.name, pupil.birth_date.isoformat(), pupil.national_id, school]]
    job = await staged_list(api, "school_roster", csv_bytes(rows))
    applied = await api.gql(IMPORT_APPLY, {"id": job})
    assert applied["applyImport"]["userErrors"] == []
    async with sessions() as session:
        record = (await session.execute(select(BaseRecord).where(
            BaseRecord.source == ImportSource.SCHOOL_ROSTER))).scalar_one()
    assert (record.child_id, record.school_id, record.name_key) == (
        pupil.id, school_id, name_key(pupil.name))


OWN = """query($f: CrosscheckFindingFilterInput) { crosscheckFindings(filter: $f, first: 50) {
  edges { node { id kind name householdNo nationalId { value masked } } } } }"""


async def test_verification_is_tied_to_the_finding_and_bounded(
    api: Api, sessions: async_sessionmaker[AsyncSession]
) -> None:
    """The child a verifier names must be visible and be the finding's person; the note is
    bounded; a reopened finding elsewhere is audited; the household number is masked."""
    from models.audit import AuditEvent

    async with sessions() as session:
        s = await scene(session)
    await api.gql(RUN, {"d": SMALL_DISTRICT, "on": "2026-09-30"}, user="t_edu")
    in_a = await _listed(api, "t_township")
    unreg = in_a[("unregistered", "未入学")]
    async with sessions() as session:
        unreg_id = (await session.execute(select(F.id).where(
            F.district_code == SMALL_DISTRICT, F.name == "未入学"))).scalar_one()

    async def state() -> tuple[Any, ...]:
        async with sessions() as session:
            f = await session.get(F, unreg_id)
            assert f is not None
            cases = (await session.execute(select(func.count()).select_from(DropoutCase)
                                           )).scalar_one()
            events = (await session.execute(select(func.count()).select_from(AuditEvent)
                                            )).scalar_one()
            return f.status, f.version, f.child_id, cases, events

    before = await state()
    # another district's child: not found, whatever the outcome
    for outcome in ("ENROLLED", "DROPOUT_CONFIRMED"):
        hidden = await _resolve(api, "t_township", fid=unreg["id"], outcome=outcome,
                                childId=gid("Child", s.ids["elsewhere"]),
                                firstAbsence="2026-09-28")
        assert (hidden["userErrors"][0]["code"], hidden["userErrors"][0]["field"]) == (
            "NOT_FOUND", "childId"), hidden
    # a visible child who is not this person
    for outcome in ("ENROLLED", "DROPOUT_CONFIRMED"):
        other = await _resolve(api, "t_township", fid=unreg["id"], outcome=outcome,
                               childId=gid("Child", s.ids["ok"]), firstAbsence="2026-09-28")
        assert (other["userErrors"][0]["code"], other["userErrors"][0]["field"]) == (
            "BAD_INPUT", "childId"), other
    # an oversized note
    long = await _resolve(api, "t_township", fid=unreg["id"], outcome="NOT_FOUND",
                          note="查" * 2001)
    assert (long["userErrors"][0]["code"], long["userErrors"][0]["field"]) == (
        "BAD_INPUT", "note"), long
    assert await state() == before

    # DEFERRED on a finding with neither ID number nor child needs the child
    async with sessions() as session:
        f = await session.get(F, unreg_id)
        assert f is not None
        f.national_id, f.household_no = None, "370499123456"
        await session.commit()
    async with sessions() as session:
        deferral_id = (await session.execute(select(Deferral.id).where(
            Deferral.child_id == s.ids["deferred"]))).scalar_one()
    needs = await _resolve(api, "t_township", fid=unreg["id"], outcome="DEFERRED",
                           deferralId=gid("Deferral", deferral_id))
    assert (needs["userErrors"][0]["code"], needs["userErrors"][0]["field"]) == (
        "BAD_INPUT", "childId"), needs

    # the household number is masked like the ID number for a reader without the grant
    shown = {e["node"]["id"]: e["node"] for e in (await api.gql(
        OWN, {"f": {"districtCode": SMALL_DISTRICT}}, user="t_township")
    )["crosscheckFindings"]["edges"]}[unreg["id"]]
    assert shown["householdNo"] == "3704****3456"
    full = {e["node"]["id"]: e["node"] for e in (await api.gql(
        OWN, {"f": {"districtCode": SMALL_DISTRICT}}, user="t_edu")
    )["crosscheckFindings"]["edges"]}[unreg["id"]]
    assert full["householdNo"] == "370499123456"

    # passed on, resolved there, passed on again: the reopening is audited
    assert (await _resolve(api, "t_township", fid=unreg["id"], outcome="ELSEWHERE",
                           districtCode="370406"))["crosscheckFinding"]
    async with sessions() as session:
        there = (await session.execute(select(F).where(
            F.district_code == "370406", F.person_key == (await session.get(F, unreg_id))
            .person_key))).scalar_one()  # type: ignore[union-attr]
        there_id = there.id
    assert (await _resolve(api, "edu_officer", fid=gid("CrosscheckFinding", there_id),
                           outcome="MOVED_AWAY"))["crosscheckFinding"]
    async with sessions() as session:
        f = await session.get(F, unreg_id)
        assert f is not None
        f.status, f.outcome = FindingStatus.OPEN, None
        await session.commit()
    assert (await _resolve(api, "t_township", fid=unreg["id"], outcome="ELSEWHERE",
                           districtCode="370406"))["crosscheckFinding"]
    async with sessions() as session:
        reopened = (await session.execute(select(AuditEvent).where(
            AuditEvent.operation == "reopen_finding",
            AuditEvent.record_type == "crosscheck_finding"))).scalars().all()
        assert [e.record_ids for e in reopened] == [[there_id]]
        assert reopened[0].change["from"] == unreg_id

    # … and with the child named (one of the finding's candidates) the deferral is linked
    async with sessions() as session:
        f = await session.get(F, unreg_id)
        assert f is not None
        f.status, f.outcome, f.candidate_child_ids = (
            FindingStatus.OPEN, None, [s.ids["deferred"]])
        await session.commit()
    wrong = await _resolve(api, "t_edu", fid=unreg["id"], outcome="DEFERRED",
                           deferralId=gid("Deferral", deferral_id),
                           childId=gid("Child", s.ids["ok"]))
    assert (wrong["userErrors"][0]["code"], wrong["userErrors"][0]["field"]) == (
        "BAD_INPUT", "childId"), wrong
    linked = await _resolve(api, "t_edu", fid=unreg["id"], outcome="DEFERRED",
                            deferralId=gid("Deferral", deferral_id),
                            childId=gid("Child", s.ids["deferred"]))
    assert linked["crosscheckFinding"]["status"] == "RESOLVED", linked
    detail = linked["crosscheckFinding"]["outcomeDetail"]
    assert json.loads(detail)["deferral_id"] == deferral_id, detail
