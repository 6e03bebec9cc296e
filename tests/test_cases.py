"""Dropout cases end to end over GraphQL: reporting, persuasion, marking, return, closing,
reopening, conflicts and bad input."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from strawberry import relay

from models.audit import AuditEvent
from models.case import DropoutCase
from models.school import Enrolment, RegisterEvent
from tests.helpers import REPORT, Api, gid, pupil_of_principal, report
from workflow import engine
from workflow.calendar import LOCAL
from workflow.clock import FixedClock
from workflow.jobs import SCHEDULED_JOBS


async def test_report_opens_a_case_on_day0(api: Api, clock: FixedClock) -> None:
    today = clock.now().date()
    payload = await report(api, today)
    assert payload["userErrors"] == []
    case = payload["case"]
    assert case["stage"] == "REPORTED" and case["status"] == "OPEN"
    assert case["firstAbsence"] == today.isoformat()
    # The case opens at its first stage: one opening entry, then the first step entered in
    # that stage (no "REPORTED→REPORTED" stage change).
    assert [e["kind"] for e in case["timeline"]] == ["opened", "step_entered"]
    opened, first_step = case["timeline"]
    assert (opened["fromStage"], opened["toStage"]) == (None, "REPORTED")
    assert (first_step["fromStage"], first_step["toStage"]) == (None, None)
    assert not [e for e in case["timeline"] if e["fromStage"] and e["fromStage"] == e["toStage"]]
    assert case["tasks"], "day 0 creates the head teacher's task"
    assert {t["agency"] for t in case["tasks"]} == {"SCHOOL"}
    assert case["nextDueOn"] is not None


async def test_reporting_again_adds_to_the_open_case(api: Api, clock: FixedClock) -> None:
    child = await pupil_of_principal(api)
    first = await report(api, clock.now().date(), child=child)
    again = await report(api, clock.now().date(), user="principal", child=child)
    assert again["case"]["id"] == first["case"]["id"]
    assert [e["kind"] for e in again["case"]["timeline"]][-1] == "absence_reported"


async def test_late_report_catches_up_with_due_steps(api: Api, clock: FixedClock) -> None:
    payload = await report(api, clock.now().date() - timedelta(days=8))
    case = payload["case"]
    changes = [(e["fromStage"], e["toStage"]) for e in case["timeline"]
               if e["kind"] == "stage_change"]
    assert changes == [("REPORTED", "SCHOOL_PERSUASION"),
                       ("SCHOOL_PERSUASION", "DROPOUT_REPORTED")], changes


@pytest.mark.parametrize(
    ("variables", "code", "field"),
    [
        ({"child": gid("Child", 999_999), "day0": "2026-11-01"}, "NOT_FOUND", "childId"),
        ({"child": None, "day0": "2026-12-24"}, "BAD_INPUT", "firstAbsence"),
        ({"child": "not-an-id", "day0": "2026-11-01"}, "BAD_INPUT", "childId"),
    ],
)
async def test_bad_reports_are_refused_and_change_nothing(
    api: Api, session: AsyncSession, variables: dict[str, Any], code: str, field: str
) -> None:
    variables = dict(variables)
    variables["child"] = variables["child"] or await pupil_of_principal(api)
    before = len((await session.execute(select(AuditEvent.id))).all())
    data = await api.gql(REPORT, variables, user="head_teacher")
    payload = data["reportAbsence"]
    assert payload["case"] is None
    assert payload["userErrors"][0]["code"] == code
    assert payload["userErrors"][0]["field"] == field
    assert len((await session.execute(select(AuditEvent.id))).all()) == before


async def test_agencies_without_the_grant_are_forbidden(api: Api, clock: FixedClock) -> None:
    child = await pupil_of_principal(api)
    body = (await api.post(REPORT, {"child": child, "day0": "2026-11-01"},
                           user="civil_affairs")).json()
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    # market supervision cannot even see the child: indistinguishable from absent
    data = await api.gql(REPORT, {"child": child, "day0": "2026-11-01"}, user="market_officer")
    assert data["reportAbsence"]["userErrors"][0]["code"] == "NOT_FOUND"


PERSUADE = """mutation($case: ID!, $at: DateTime!, $outcome: PersuasionOutcome!) {
  recordPersuasion(input: {caseId: $case, method: HOME_VISIT, outcome: $outcome,
  attemptedAt: $at, participants: "班主任、村干部", note: "家长同意下周一返校"}) {
  case { timeline { kind } } userErrors { code: errorCode field } } }"""


async def test_persuasion_is_logged_on_the_timeline(api: Api, clock: FixedClock) -> None:
    case = (await report(api, clock.now().date() - timedelta(days=1)))["case"]
    at = clock.now().isoformat()
    data = await api.gql(PERSUADE, {"case": case["id"], "at": at, "outcome": "PROMISED_RETURN"},
                         user="head_teacher")
    assert data["recordPersuasion"]["userErrors"] == []
    assert data["recordPersuasion"]["case"]["timeline"][-1]["kind"] == "persuasion"
    listed = await api.gql("query($id: ID!) { node(id: $id) { ... on DropoutCase { persuasions"
                           " { method outcome participants agencyKind } } } }",
                           {"id": case["id"]}, user="edu_officer")
    assert listed["node"]["persuasions"] == [{"method": "HOME_VISIT",
                                              "outcome": "PROMISED_RETURN",
                                              "participants": "班主任、村干部",
                                              "agencyKind": "SCHOOL"}]
    future = (clock.now() + timedelta(days=1)).isoformat()
    bad = await api.gql(PERSUADE, {"case": case["id"], "at": future, "outcome": "REFUSED"},
                        user="head_teacher")
    assert bad["recordPersuasion"]["userErrors"][0]["code"] == "BAD_INPUT"


async def test_persuasion_payload_is_read_after_the_commit(
    api: Api, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The case in the payload is read once the persuasion has committed, so the case's row
    lock is released before that read (schema.mutation.ReadAfterCommit)."""
    import workflow.case as case_service

    case = (await report(api, clock.now().date() - timedelta(days=1)))["case"]
    read = case_service.get_cases
    during: list[bool] = []

    async def spy(ctx: Any, ids: Any) -> Any:
        during.append(ctx.session.in_transaction())
        return await read(ctx, ids)

    monkeypatch.setattr(case_service, "get_cases", spy)
    data = await api.gql(PERSUADE, {"case": case["id"], "at": clock.now().isoformat(),
                                    "outcome": "REFUSED"}, user="head_teacher")
    assert data["recordPersuasion"]["case"]["timeline"][-1]["kind"] == "persuasion"
    assert during == [False], "the payload's case was read inside the mutation's transaction"
    # Not asked for, not read (the shipped RecordPersuasion asks only for userErrors); asked
    # for in a fragment, read.
    during.clear()
    only_errors = PERSUADE.replace("case { timeline { kind } }", "")
    data = await api.gql(only_errors, {"case": case["id"], "at": clock.now().isoformat(),
                                       "outcome": "REFUSED"}, user="head_teacher")
    assert data["recordPersuasion"] == {"userErrors": []} and during == []
    in_fragment = PERSUADE.replace("case { timeline { kind } }", "... on RecordPersuasionPayload"
                                   " { ...withCase }") + """
fragment withCase on RecordPersuasionPayload { case { timeline { kind } } }"""
    data = await api.gql(in_fragment, {"case": case["id"], "at": clock.now().isoformat(),
                                       "outcome": "REFUSED"}, user="head_teacher")
    assert [e["kind"] for e in data["recordPersuasion"]["case"]["timeline"]].count(
        "persuasion") == 3
    assert during == [False]
    # The read after the commit fails: the persuasion is kept and reported as kept (the case
    # null, no userErrors), not as an error a client would answer by sending it again.

    async def unreachable(ctx: Any, ids: Any) -> Any:
        raise ConnectionResetError("the database went away after the commit")

    monkeypatch.setattr(case_service, "get_cases", unreachable)
    data = await api.gql(PERSUADE, {"case": case["id"], "at": clock.now().isoformat(),
                                    "outcome": "REFUSED"}, user="head_teacher")
    assert data["recordPersuasion"] == {"case": None, "userErrors": []}
    monkeypatch.setattr(case_service, "get_cases", read)
    data = await api.gql(in_fragment, {"case": case["id"], "at": clock.now().isoformat(),
                                       "outcome": "REFUSED"}, user="head_teacher")
    assert [e["kind"] for e in data["recordPersuasion"]["case"]["timeline"]].count(
        "persuasion") == 5


MARK = """mutation($case: ID!, $v: Int!) { markDropout(input: {caseId: $case,
  expectedVersion: $v, reason: "连续七日未返校"}) {
  case { version stage } userErrors { code: errorCode } } }"""


async def test_mark_dropout_keeps_the_register_entry(
    api: Api, clock: FixedClock, session: AsyncSession
) -> None:
    case = (await report(api, clock.now().date() - timedelta(days=5)))["case"]
    data = await api.gql(MARK, {"case": case["id"], "v": case["version"]}, user="principal")
    assert data["markDropout"]["userErrors"] == []
    assert data["markDropout"]["case"]["stage"] == "DROPOUT_REPORTED"
    enrolments = (await session.execute(select(Enrolment).where(
        Enrolment.status == "dropout_marked"))).scalars().all()
    assert len(enrolments) == 1, "the register entry is kept, marked, not deleted"
    again = await api.gql(MARK, {"case": case["id"],
                                 "v": data["markDropout"]["case"]["version"]}, user="principal")
    assert again["markDropout"]["userErrors"][0]["code"] == "WRONG_STAGE"
    # head teachers may persuade but not mark
    body = (await api.post(MARK, {"case": case["id"], "v": 1}, user="head_teacher")).json()
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def _register_of(
    session: AsyncSession, case_gid: str
) -> tuple[Enrolment | None, list[RegisterEvent]]:
    case = await session.get_one(DropoutCase, int(relay.GlobalID.from_id(case_gid).node_id))
    enrolment = (await session.execute(select(Enrolment).where(
        Enrolment.child_id == case.child_id).execution_options(populate_existing=True))
    ).scalar_one_or_none()
    # The demo child's register history since the import that put it on the register
    # (``seed-demo`` loads the register through the import path: its event comes first).
    events = (await session.execute(select(RegisterEvent).where(
        RegisterEvent.child_id == case.child_id).order_by(RegisterEvent.id))).scalars().all()
    assert events and events[0].reason == "学籍导入：建立学籍", events
    return enrolment, list(events[1:])


async def test_the_engine_marks_the_register_on_day_7_and_keeps_the_entry(
    api: Api, clock: FixedClock, session: AsyncSession,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """SPT 7: the dropout mark is made however the case reaches the dropout stage — here by
    the deadline engine, not by markDropout — and the register entry is kept."""
    day0 = clock.now().date()
    case = (await report(api, day0))["case"]
    enrolment, events = await _register_of(session, case["id"])
    assert enrolment is not None and enrolment.status == "enrolled" and events == []
    seventh = day0 + timedelta(days=7)
    for _ in range(2):  # a second pass at the same moment marks nothing twice
        async with sessions() as s:
            await engine.tick(s, datetime(seventh.year, seventh.month, seventh.day, 2,
                                          tzinfo=LOCAL), SCHEDULED_JOBS)
            await s.commit()
    clock.current = datetime(seventh.year, seventh.month, seventh.day, 3, tzinfo=LOCAL)
    node = (await api.gql("query($id: ID!) { node(id: $id) { ... on DropoutCase { stage "
                          "version } } }", {"id": case["id"]}, user="principal"))["node"]
    assert node["stage"] == "DROPOUT_REPORTED"
    enrolment, events = await _register_of(session, case["id"])
    assert enrolment is not None, "the register entry is kept, not deleted"
    assert enrolment.status == "dropout_marked" and enrolment.status_since == seventh
    assert [(e.from_status, e.to_status, e.on_date) for e in events] == [
        ("enrolled", "dropout_marked", seventh)]
    # the mark is made: markDropout has nothing left to do
    again = await api.gql(MARK, {"case": case["id"], "v": node["version"]}, user="principal")
    assert again["markDropout"]["userErrors"][0]["code"] == "WRONG_STAGE"


async def test_a_late_report_marks_the_register_as_it_catches_up(
    api: Api, clock: FixedClock, session: AsyncSession
) -> None:
    case = (await report(api, clock.now().date() - timedelta(days=9)))["case"]
    assert case["stage"] == "DROPOUT_REPORTED"
    enrolment, events = await _register_of(session, case["id"])
    assert enrolment is not None and enrolment.status == "dropout_marked"
    assert [e.to_status for e in events] == ["dropout_marked"]


async def test_stale_version_is_a_conflict_and_nothing_is_lost(
    api: Api, clock: FixedClock
) -> None:
    case = (await report(api, clock.now().date() - timedelta(days=4)))["case"]
    first = await api.gql(MARK, {"case": case["id"], "v": case["version"]}, user="principal")
    assert first["markDropout"]["userErrors"] == []
    note = await api.gql("""mutation($case: ID!, $v: Int!) { recordReturn(input: {caseId: $case,
        expectedVersion: $v, returnedOn: "2026-11-02"}) {
        case { status } userErrors { code: errorCode } } }""",
                         {"case": case["id"], "v": case["version"]}, user="principal")
    assert note["recordReturn"]["userErrors"][0]["code"] == "CONFLICT"
    current = await api.gql("query($id: ID!) { node(id: $id) { ... on DropoutCase { stage status"
                            " } } }", {"id": case["id"]}, user="principal")
    assert current["node"] == {"stage": "DROPOUT_REPORTED", "status": "OPEN"}


RETURN = """mutation($case: ID!, $v: Int!, $on: Date!) { recordReturn(input: {caseId: $case,
  expectedVersion: $v, returnedOn: $on}) { case { version status stage closureReason
  tasks { kind agency: agencyKind status dueOn } } userErrors { code: errorCode } } }"""


async def test_return_closes_with_follow_up_and_reopen(api: Api, clock: FixedClock) -> None:
    case = (await report(api, clock.now().date() - timedelta(days=2)))["case"]
    plan = await api.gql("""mutation($case: ID!) { setCasePlan(input: {caseId: $case,
        cause: FAMILY_POVERTY, measures: "协调民政救助，班主任每周家访", responsiblePerson: "刘芳",
        responsibleAgency: SCHOOL}) { case { version } userErrors { code: errorCode } } }""",
                         {"case": case["id"]}, user="principal")
    assert plan["setCasePlan"]["userErrors"] == []
    version = plan["setCasePlan"]["case"]["version"]
    data = await api.gql(RETURN, {"case": case["id"], "v": version,
                                  "on": clock.now().date().isoformat()}, user="principal")
    closed = data["recordReturn"]["case"]
    assert closed["status"] == "CLOSED" and closed["closureReason"] == "RETURNED"
    live = {(t["kind"], t["agency"]) for t in closed["tasks"] if t["status"] == "OPEN"}
    assert live == {("counselling", "SCHOOL"), ("follow_up_visit", "SCHOOL"),
                    ("assistance_referral", "CIVIL_AFFAIRS")}
    assert all(t["status"] == "CANCELLED" for t in closed["tasks"]
               if t["kind"] not in {k for k, _ in live})
    reopened = await api.gql("""mutation($case: ID!, $v: Int!) { reopenCase(input: {caseId: $case,
        expectedVersion: $v, reason: "复学三天后再次缺课"}) { case { status stage } userErrors
        { code: errorCode } } }""",
        {"case": case["id"], "v": closed["version"]}, user="edu_officer")
    assert reopened["reopenCase"]["case"] == {"status": "OPEN", "stage": "REPORTED"}


CLOSE = """mutation($case: ID!, $v: Int!, $reason: ClosureReason!, $dest: String, $police: String)
 { closeCase(input: {caseId: $case, expectedVersion: $v, reason: $reason,
 destinationCode: $dest, policeReference: $police}) { case { status closureReason tasks
 { kind agency: agencyKind status } } userErrors { code: errorCode field } } }"""


async def test_closing_reasons_and_their_requirements(api: Api, clock: FixedClock) -> None:
    case = (await report(api, clock.now().date() - timedelta(days=1)))["case"]
    v = {"case": case["id"], "v": case["version"]}
    missing = await api.gql(CLOSE, {**v, "reason": "DECEASED"}, user="principal")
    assert missing["closeCase"]["userErrors"] == [{"code": "BAD_INPUT",
                                                   "field": "policeReference"}]
    nowhere = await api.gql(CLOSE, {**v, "reason": "MOVED_AWAY", "dest": "999999"},
                            user="principal")
    assert nowhere["closeCase"]["userErrors"][0]["field"] == "destinationCode"
    moved = await api.gql(CLOSE, {**v, "reason": "MOVED_AWAY", "dest": "330382"},
                          user="principal")
    closed = moved["closeCase"]["case"]
    assert closed["closureReason"] == "MOVED_AWAY"
    assert ("receive_transferred_case", "EDUCATION", "OPEN") in {
        (t["kind"], t["agency"], t["status"]) for t in closed["tasks"]}
