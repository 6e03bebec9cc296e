"""The deadline engine: ladders walked with an injected clock, school days, idempotence,
concurrent ticks, reminders and breaches, ladder versions."""

from __future__ import annotations

import asyncio
import base64
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm.exc import StaleDataError

from authz.enforcer import Authorizer
from models.case import CaseEvent, DropoutCase
from models.child import Child
from models.enums import ClosureReason, DayKind
from models.session import session_factory
from models.task import Task
from tests.helpers import MONDAY_MORNING, Api, acting_as, report, scratch_postgres
from workflow import case as case_service
from workflow import engine, ladder
from workflow.calendar import LOCAL, SchoolCalendar
from workflow.clock import FixedClock
from workflow.errors import Conflict
from workflow.jobs import SCHEDULED_JOBS

LADDER = """query { ladder(jurisdictionCode: "370406") { version code steps { position code stage
  entry anchor offsetDays dayKind documentKind tasks { agency kind dueDays }
  legalBasis { citation } } } }"""
CASE = """query($id: ID!) { node(id: $id) { ... on DropoutCase { stage version stepPosition
  timeline { kind toStage reason } tasks { agency: agencyKind kind dueOn stepPosition } } } }"""


async def _tick(sessions: async_sessionmaker[AsyncSession], now: datetime) -> engine.TickReport:
    async with sessions() as s:
        result = await engine.tick(s, now, SCHEDULED_JOBS)
        await s.commit()
    return result


# Who drafts, issues and serves each kind in the walk (the policy's issuers).
ISSUERS = {"enrol_notice": "township_officer", "township_order": "township_officer",
           "judicial_referral": "township_officer", "judicial": "judicial_officer"}
DRAFT = """mutation($case: ID!, $kind: String!) { draftDocument(input: {caseId: $case,
  kind: $kind}) { document { id } userErrors { code: errorCode field message } } }"""
ISSUE = """mutation($doc: ID!) { issueDocument(input: {documentId: $doc})
  { document { id title number } userErrors { code: errorCode field message } } }"""
SERVE = """mutation($doc: ID!, $on: Date!) { serveDocument(input: {documentId: $doc,
  servedOn: $on, method: IN_PERSON, servedTo: "监护人 张某"})
  { document { id } userErrors { code: errorCode field message } } }"""
ESCALATE = """mutation($case: ID!, $v: Int!, $step: String!) { escalateCase(input: {caseId: $case,
  expectedVersion: $v, stepCode: $step, reason: "期限届满仍未复学"}) { case { version stage }
  userErrors { code: errorCode field message } } }"""


async def _draft(api: Api, case_id: str, kind: str) -> str:
    data = await api.gql(DRAFT, {"case": case_id, "kind": kind}, user=ISSUERS[kind])
    assert data["draftDocument"]["userErrors"] == [], (kind, data)
    doc_id: str = data["draftDocument"]["document"]["id"]
    return doc_id


async def _issue(api: Api, doc_id: str, kind: str) -> dict[str, Any]:
    data = await api.gql(ISSUE, {"doc": doc_id}, user=ISSUERS[kind])
    payload: dict[str, Any] = data["issueDocument"]
    return payload


def _actor(template: str, step: dict[str, Any]) -> str:
    """Who enters an action step that rests on no document (legal action)."""
    return "police_officer" if template == "GH" else "township_officer"


@pytest.mark.parametrize("template", sorted(ladder.templates()))
async def test_walk_each_ladder_variant(
    api: Api, clock: FixedClock, sessions: async_sessionmaker[AsyncSession], template: str
) -> None:
    """From the first absence to the last step, with the clock moved to each deadline."""
    adopted = await api.gql(
        """mutation($t: String!) { adoptLadder(input: {jurisdictionCode: "370406",
        template: $t}) { ladder { version code } userErrors { code: errorCode message } } }""",
        {"t": template}, user="edu_admin")
    assert adopted["adoptLadder"]["userErrors"] == []
    steps = (await api.gql(LADDER))["ladder"]["steps"]
    day0 = clock.now().date()
    case = (await report(api, day0))["case"]
    calendar = await _calendar(sessions)
    today = day0
    for step in steps[1:]:
        kind = DayKind(step["dayKind"].lower())
        anchor = step["anchor"]
        if anchor.startswith("served:"):
            # The deadline runs from the serving of a real, issued document.
            document = anchor.split(":", 1)[1]
            issued = await _issue(api, await _draft(api, case["id"], document), document)
            assert issued["userErrors"] == [], (template, step["code"], issued)
            served = await api.gql(SERVE, {"doc": issued["document"]["id"],
                                           "on": today.isoformat()}, user=ISSUERS[document])
            assert served["serveDocument"]["userErrors"] == [], (template, step["code"])
            due = calendar.add(today, step["offsetDays"], kind)
        elif anchor == "previous":
            due = calendar.add(today, step["offsetDays"], kind)
        else:
            due = calendar.add(day0, step["offsetDays"], kind)
        if step["entry"] == "ACTION" and step["documentKind"]:
            # An action step that rests on a document is entered by issuing it.
            document = step["documentKind"]
            doc_id = await _draft(api, case["id"], document)
            if due > today:
                clock.current = _at(due - timedelta(days=1))
                early = await _issue(api, doc_id, document)
                assert early["userErrors"][0]["code"] == "WRONG_STAGE"
            clock.current = _at(due)
            version = (await api.gql(CASE, {"id": case["id"]}))["node"]["version"]
            without = await api.gql(ESCALATE, {"case": case["id"], "v": version,
                                               "step": step["code"]}, user=ISSUERS[document])
            assert without["escalateCase"]["userErrors"][0]["code"] == "WRONG_STAGE", (
                "no step that rests on a document is entered without it")
            issued = await _issue(api, doc_id, document)
            assert issued["userErrors"] == [], (template, step["code"], issued)
            reason = f"{issued['document']['title']} {issued['document']['number']}"
        elif step["entry"] == "ACTION":
            if due > today:
                clock.current = _at(due - timedelta(days=1))
                version = (await api.gql(CASE, {"id": case["id"]}))["node"]["version"]
                early = await api.gql(ESCALATE, {"case": case["id"], "v": version,
                                                 "step": step["code"]},
                                      user=_actor(template, step))
                assert early["escalateCase"]["userErrors"][0]["code"] == "WRONG_STAGE"
            clock.current = _at(due)
            version = (await api.gql(CASE, {"id": case["id"]}))["node"]["version"]
            done = await api.gql(ESCALATE, {"case": case["id"], "v": version,
                                            "step": step["code"]}, user=_actor(template, step))
            assert done["escalateCase"]["userErrors"] == [], (template, step["code"])
            reason = "期限届满仍未复学"
        else:
            if due > today:
                clock.current = _at(due - timedelta(days=1))
                await _tick(sessions, clock.now())
                before = (await api.gql(CASE, {"id": case["id"]}))["node"]
                assert before["stepPosition"] < step["position"], "entered before its deadline"
            clock.current = _at(due)
            assert (await _tick(sessions, clock.now())).steps_entered >= 1
            reason = "deadline passed"
        node = (await api.gql(CASE, {"id": case["id"]}))["node"]
        assert node["stepPosition"] == step["position"], (template, step["code"])
        assert node["stage"] == step["stage"]
        new_tasks = [t for t in node["tasks"] if t["stepPosition"] == step["position"]]
        assert sorted((t["agency"], t["kind"], t["dueOn"]) for t in new_tasks) == sorted(
            (t["agency"], t["kind"], calendar.add(due, t["dueDays"], kind).isoformat())
            for t in step["tasks"])
        changes = [e for e in node["timeline"] if e["kind"] == "stage_change"]
        assert changes[-1]["toStage"] == step["stage"] and changes[-1]["reason"] == reason
        today = due
    assert node["stepPosition"] == steps[-1]["position"], f"{template} stopped early"


def _at(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 2, 0, tzinfo=LOCAL)


async def _calendar(sessions: async_sessionmaker[AsyncSession]) -> SchoolCalendar:
    async with sessions() as s:
        return await engine.Calendars(s).of("370406")


async def test_tick_twice_changes_nothing_the_second_time(
    api: Api, clock: FixedClock, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await report(api, clock.now().date() - timedelta(days=1))
    later = clock.now() + timedelta(days=20)
    first = await _tick(sessions, later)
    assert first.steps_entered >= 1
    async with sessions() as s:
        counts = ((await s.execute(select(func.count()).select_from(CaseEvent))).scalar_one(),
                  (await s.execute(select(func.count()).select_from(Task))).scalar_one())
    second = await _tick(sessions, later)
    assert (second.steps_entered, second.tasks_created, second.reminders,
            second.breaches) == (0, 0, 0, 0)
    async with sessions() as s:
        assert counts == ((await s.execute(select(func.count()).select_from(CaseEvent)))
                          .scalar_one(),
                          (await s.execute(select(func.count()).select_from(Task))).scalar_one())


async def test_reminders_then_breaches_each_once(
    api: Api, clock: FixedClock, sessions: async_sessionmaker[AsyncSession]
) -> None:
    case = (await report(api, clock.now().date()))["case"]
    due = min(date.fromisoformat(t["dueOn"]) for t in case["tasks"])
    r1 = await _tick(sessions, _at(due))
    r2 = await _tick(sessions, _at(due))
    assert r1.reminders >= 1 and r2.reminders == 0
    b1 = await _tick(sessions, _at(due + timedelta(days=1)))
    b2 = await _tick(sessions, _at(due + timedelta(days=1)))
    assert b1.breaches >= 1 and b2.breaches == 0
    node = (await api.gql(CASE, {"id": case["id"]}))["node"]
    kinds = [e["kind"] for e in node["timeline"]]
    assert "reminder" in kinds and "breach" in kinds
    assert await _overdue(api) == 0  # as of the report's day nothing is late yet
    clock.current = _at(due + timedelta(days=1))
    assert await _overdue(api) >= 1


async def _overdue(api: Api) -> int:
    data = await api.gql("{ cases(filter: {overdue: true}) { totalCount } }")
    total: int = data["cases"]["totalCount"]
    return total


async def test_a_running_case_keeps_its_ladder_version(
    api: Api, clock: FixedClock, sessions: async_sessionmaker[AsyncSession]
) -> None:
    case = (await report(api, clock.now().date()))["case"]
    async with sessions() as s:
        row = await s.get(DropoutCase, int(_key(case["id"])))
        assert row is not None
        original = row.ladder_id
    await api.gql("""mutation { adoptLadder(input: {jurisdictionCode: "370406",
        template: "LS"}) { userErrors { code: errorCode } } }""", user="edu_admin")
    await _tick(sessions, clock.now() + timedelta(days=30))
    async with sessions() as s:
        row = await s.get(DropoutCase, int(_key(case["id"])), populate_existing=True)
        assert row is not None and row.ladder_id == original


def _key(gid: str) -> str:
    return base64.b64decode(gid).decode().split(":")[1]


async def test_only_education_admins_change_ladders(api: Api) -> None:
    for user in ("edu_officer", "principal", "township_officer", "admin"):
        body = (await api.post("""mutation { adoptLadder(input: {jurisdictionCode: "370406",
            template: "SPT"}) { userErrors { code: errorCode } } }""", user=user)).json()
        assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN", user
    steps = [
        {"code": "a", "stage": "enrol_notice", "anchor": "day0",
         "legal_basis": {"source_key": "ST", "article": "4"}},
        {"code": "b", "stage": "reported", "anchor": "previous",
         "legal_basis": {"source_key": "ST", "article": "4"}},
    ]
    bad = await api.gql("""mutation($steps: JSON!) { defineLadder(input: {jurisdictionCode:
        "370406", name: "x", steps: $steps}) { ladder { version }
        userErrors { code: errorCode field } } }""",
                        {"steps": steps}, user="edu_admin")
    assert bad["defineLadder"]["userErrors"] == [{"code": "BAD_INPUT", "field": "steps"}]


@pytest.mark.postgres_only
async def test_concurrent_ticks_on_postgres_create_nothing_twice(
    tmp_path: Path, authorizer: Authorizer
) -> None:
    async with scratch_postgres(tmp_path, children=120) as db:
        now = MONDAY_MORNING
        async with AsyncSession(db, expire_on_commit=False) as s:
            ctx = await acting_as(s, "edu_officer", authorizer, FixedClock(now))
            ids = (await s.execute(select(Child.id).limit(40))).scalars().all()
            for child_id in ids:
                await case_service.report_absence(ctx, child_id=child_id, first_absence=now.date())
            await s.commit()

        later = now + timedelta(days=25)

        async def one() -> Any:
            async with AsyncSession(db) as s:
                r = await engine.tick(s, later, SCHEDULED_JOBS)
                await asyncio.sleep(0.2)  # hold the lock while the other tries
                await s.commit()
                return r

        reports = await asyncio.gather(one(), one(), one())
        assert sum(r.skipped for r in reports) >= 1
        async with AsyncSession(db) as s:
            dupes = (await s.execute(
                select(Task.case_id, Task.step_position, Task.kind, Task.agency_kind, func.count())
                .where(Task.case_id.is_not(None))  # a case's tasks (reports' are per unit)
                .group_by(Task.case_id, Task.step_position, Task.kind, Task.agency_kind)
                .having(func.count() > 1))).all()
            assert dupes == []
            entered = (await s.execute(
                select(func.count()).select_from(CaseEvent)
                .where(CaseEvent.kind == "stage_change"))).scalar_one()
            opened_at_first_step = (await s.execute(
                select(func.count()).select_from(CaseEvent)
                .where(CaseEvent.kind == "step_entered"))).scalar_one()
        assert entered == sum(r.steps_entered for r in reports)
        assert opened_at_first_step == len(ids), "each case entered its first step on opening"
        # and a tick after them finds nothing left to do
        async with AsyncSession(db) as s:
            again = await engine.tick(s, later, SCHEDULED_JOBS)
            await s.commit()
        assert again.steps_entered == 0


async def test_school_day_offsets_follow_the_district_calendar(
    api: Api, clock: FixedClock, sessions: async_sessionmaker[AsyncSession]
) -> None:
    steps = [
        {"code": "contact", "stage": "reported", "anchor": "day0",
         "tasks": [{"agency": "school", "kind": "contact", "title": "联系家长", "due_days": 1}],
         "legal_basis": {"source_key": "SPT", "article": "7"}},
        {"code": "persuade", "stage": "school_persuasion", "anchor": "day0", "offset_days": 3,
         "day_kind": "school",
         "tasks": [{"agency": "school", "kind": "persuade", "title": "学校劝返", "due_days": 1}],
         "legal_basis": {"source_key": "SPT", "article": "7"}},
    ]
    defined = await api.gql("""mutation($s: JSON!) { defineLadder(input: {jurisdictionCode:
        "370406", name: "按教学日计算", steps: $s}) { ladder { version }
        userErrors { code: errorCode } } }""",
                            {"s": steps}, user="edu_admin")
    assert defined["defineLadder"]["userErrors"] == []
    # The national schedule of 2026: 国庆 1–7 Oct off, Sat 10 Oct a make-up working day.
    tuesday = date(2026, 9, 29)  # then 30 Sep, the National Day week off, Thu 8 and Fri 9 Oct
    clock.current = _at(tuesday)
    case = (await report(api, tuesday))["case"]
    assert case["nextDueOn"] == "2026-10-09"
    await _tick(sessions, _at(date(2026, 10, 8)))
    assert (await api.gql(CASE, {"id": case["id"]}))["node"]["stage"] == "REPORTED"
    await _tick(sessions, _at(date(2026, 10, 9)))
    node = (await api.gql(CASE, {"id": case["id"]}))["node"]
    assert node["stage"] == "SCHOOL_PERSUASION"
    # one school day after Friday 9 Oct: the make-up Saturday
    assert {t["dueOn"] for t in node["tasks"] if t["stepPosition"] == 2} == {"2026-10-10"}


CALENDAR = """query($start: Date!) { schoolCalendar(jurisdictionCode: "370406") {
  days { day kind name } addSchoolDays(start: $start, days: 7)
  nationalDays(year: 2026) { day kind name } } }"""
SET_DAYS = """mutation($days: [CalendarDayInput!]) { setSchoolCalendar(input: {jurisdictionCode:
  "370406", terms: [{name: "2026年秋季学期", startsOn: "2026-09-01", endsOn: "2027-01-22"}],
  holidays: [], days: $days}) { calendar { days { day kind name } }
  userErrors { code: errorCode field } }
  }"""


async def test_a_district_adds_its_own_days_over_the_national_schedule(api: Api) -> None:
    start = {"start": "2026-09-28"}
    cal = (await api.gql(CALENDAR, start))["schoolCalendar"]
    assert cal["addSchoolDays"] == "2026-10-13", "the national schedule, as the State Council set"
    national = {(d["day"], d["kind"]) for d in cal["nationalDays"]}
    assert {("2026-09-20", "SCHOOL_DAY"), ("2026-10-10", "SCHOOL_DAY"),
            ("2026-10-01", "HOLIDAY")} <= national
    assert next(d["name"] for d in cal["nationalDays"] if d["day"] == "2026-10-01") == "国庆节"
    # A district holiday of its own (a sports day) moves the count on by one…
    own = await api.gql(SET_DAYS, {"days": [{"day": "2026-10-12", "kind": "HOLIDAY",
                                              "name": "全区中小学运动会"}]}, user="edu_admin")
    assert own["setSchoolCalendar"]["userErrors"] == []
    assert (await api.gql(CALENDAR, start))["schoolCalendar"]["addSchoolDays"] == "2026-10-14"
    # …an extra school day on a Sunday, and a district holiday on the make-up Saturday.
    own = await api.gql(SET_DAYS, {"days": [
        {"day": "2026-10-11", "kind": "SCHOOL_DAY", "name": "补上运动会停课"},
        {"day": "2026-10-10", "kind": "HOLIDAY", "name": "本区不调休"}]}, user="edu_admin")
    assert own["setSchoolCalendar"]["calendar"]["days"] == [
        {"day": "2026-10-10", "kind": "HOLIDAY", "name": "本区不调休"},
        {"day": "2026-10-11", "kind": "SCHOOL_DAY", "name": "补上运动会停课"}]
    assert (await api.gql(CALENDAR, start))["schoolCalendar"]["addSchoolDays"] == "2026-10-13"
    # omitting days keeps them; a day twice, or without a name, is refused
    kept = await api.gql(SET_DAYS.replace(", days: $days", "").replace(
        "($days: [CalendarDayInput!])", ""), {}, user="edu_admin")
    assert len(kept["setSchoolCalendar"]["calendar"]["days"]) == 2
    bad = await api.gql(SET_DAYS, {"days": [{"day": "2026-10-11", "kind": "HOLIDAY",
                                             "name": " "}]}, user="edu_admin")
    assert bad["setSchoolCalendar"]["userErrors"] == [{"code": "BAD_INPUT", "field": "days"}]
    refused = (await api.post(SET_DAYS, {"days": []}, user="principal")).json()
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_two_agencies_at_once_one_wins_one_conflicts(
    tmp_path: Path, authorizer: Authorizer
) -> None:
    """Truly concurrent writes (two connections) on PostgreSQL: no lost update."""
    async with scratch_postgres(tmp_path, children=60) as db:
        make = session_factory(db)
        now = MONDAY_MORNING
        async with make() as s:
            ctx = await acting_as(s, "edu_officer", authorizer, FixedClock(now))
            child_id = (await s.execute(select(Child.id).limit(1))).scalar_one()
            opened = await case_service.report_absence(ctx, child_id=child_id,
                                                       first_absence=now.date())
            await s.commit()
            case_id, version = opened.id, opened.version

        async def act(kind: str) -> str:
            async with make() as s:
                ctx = await acting_as(s, "edu_officer", authorizer, FixedClock(now))
                try:
                    if kind == "mark":
                        await case_service.mark_dropout(ctx, case_id=case_id,
                                                        expected_version=version)
                    else:
                        await case_service.close_case(
                            ctx, case_id=case_id, expected_version=version,
                            reason=ClosureReason.STUDYING_ELSEWHERE)
                    await s.commit()
                    return "ok"
                except (Conflict, StaleDataError):
                    await s.rollback()
                    return "conflict"

        outcomes = await asyncio.gather(act("mark"), act("close"))
        assert sorted(outcomes) == ["conflict", "ok"], outcomes
        async with make() as s:
            row = await s.get(DropoutCase, case_id)
            assert row is not None and row.version == version + 1
            kinds = (await s.execute(select(CaseEvent.kind).where(
                CaseEvent.case_id == case_id))).scalars().all()
            assert ("closed" in kinds) != (row.stage.value == "dropout_reported")
