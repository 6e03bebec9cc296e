"""A school year of 山亭区 (370406) walked with the injectable clock and the deadline engine
(issue 15): the register list arrives in March through the imports, the school's in-school
list in September; the end-of-September comparison (the calendar's) finds three children;
the township's visits resolve them (one at school after all, one moved away, one a dropout
whose case then climbs the ladder); the ledgers follow at each step, and the November report
counts them."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from models.crosscheck import CrosscheckFinding as F
from models.enums import AgencyKind, TaskStatus
from models.task import Task
from tests.helpers import IMPORT_APPLY, Api, csv_bytes, staged_list
from workflow import engine
from workflow.clock import FixedClock
from workflow.infra.id_number import make
from workflow.jobs import SCHEDULED_JOBS

REGISTER = ["学生姓名", "性别", "出生日期", "身份证件号", "学校名称", "年级", "班级", "监护人姓名",
            "与学生关系", "联系电话"]
ROSTER = ["姓名", "出生日期", "身份证号", "学校名称", "年级"]
BORN = date(2016, 4, 2)
PUPILS = {"甲一": 901, "乙二": 903, "丙三": 905, "丁四": 907, "戊五": 909}
AWAY = ("甲一", "乙二", "丙三")
FINDINGS = """query($f: CrosscheckFindingFilterInput) { crosscheckFindings(filter: $f, first: 100)
  { edges { node { id name kind status version school { name } child { id } } } } }"""
RESOLVE = """mutation($in: ResolveVerificationInput!) { resolveVerification(input: $in) {
  userErrors { code field message } } }"""
SCHOOL_AGE = """query($f: SchoolAgeLedgerFilter) { schoolAgeLedger(filter: $f, first: 50) {
  edges { node { child { name } status } } } }"""
SUSPECTED = """query($f: SuspectedLedgerFilter) { suspectedLedger(filter: $f, first: 50) {
  edges { node { child { name } reasons } } } }"""
DROPOUTS = """query($f: DropoutLedgerFilter) { dropoutLedger(filter: $f, first: 50) {
  edges { node { child { name } stage closed } } } }"""
REPORTS = """query { reports(filter: {kind: "comparison_november"}, first: 5) { edges { node {
  unitName periodEnd figures } } } }"""


def at(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 2, tzinfo=UTC)


async def tick(sessions: async_sessionmaker[AsyncSession], clock: FixedClock, day: date) -> None:
    clock.current = at(day)
    async with sessions() as s:
        await engine.tick(s, clock.now(), SCHEDULED_JOBS)
        await s.commit()


async def ledger(api: Api, query: str, school: str, key: str) -> dict[str, Any]:
    name = query.split("{", 2)[1].split("(")[0].strip()
    data = await api.gql(query, {"f": {"school": school}})
    return {e["node"]["child"]["name"]: e["node"][key] for e in data[name]["edges"]}


async def test_a_year_of_the_three_ledgers(
    api: Api, sessions: async_sessionmaker[AsyncSession], clock: FixedClock
) -> None:
    me = await api.gql("{ me { agency { jurisdiction { code } } } }", user="township_officer")
    township = me["me"]["agency"]["jurisdiction"]["code"]
    made = await api.gql("""mutation($t: String!) { createSchool(input: {name: "比对试点小学",
        kind: PRIMARY, townshipCode: $t}) { school { id name } userErrors { code } } }""",
                         {"t": township})
    school = made["createSchool"]["school"]
    ids = {name: make(township[:6], BORN, seq) for name, seq in PUPILS.items()}

    # March: the school register's list arrives through the imports (ST 1)
    clock.current = at(date(2026, 3, 25))
    rows = [[n, "男", BORN.isoformat(), ids[n], school["name"], "4", "1", "家长", "父亲", ""]
            for n in PUPILS]
    job = await staged_list(api, "school_register", csv_bytes([REGISTER, *rows]),
                            period="2026-03")
    assert (await api.gql(IMPORT_APPLY, {"id": job}))["applyImport"]["userErrors"] == []
    assert set((await ledger(api, SCHOOL_AGE, school["id"], "status")).values()) == {
        "ENROLLED"}

    # September: the school's in-school list names two of the five (名在人不在 for three)
    clock.current = at(date(2026, 9, 25))
    present = [[n, BORN.isoformat(), ids[n], school["name"], "4"] for n in ("丁四", "戊五")]
    roster = await staged_list(api, "school_roster", csv_bytes([ROSTER, *present]),
                               period="2026-09")
    assert (await api.gql(IMPORT_APPLY, {"id": roster}))["applyImport"]["userErrors"] == []
    await tick(sessions, clock, date(2026, 9, 29))
    assert await ledger(api, SUSPECTED, school["id"], "reasons") == {}
    await tick(sessions, clock, date(2026, 9, 30))  # the calendar's comparison (ST 2)
    found = [e["node"] for e in (await api.gql(
        FINDINGS, {"f": {"kind": "NOT_AT_SCHOOL", "status": "OPEN"}},
        user="township_officer"))["crosscheckFindings"]["edges"]
        if e["node"]["school"] and e["node"]["school"]["name"] == school["name"]]
    assert sorted(f["name"] for f in found) == sorted(AWAY)
    # one verification each, in the school's queue (370406's data: the school checks 名在人不在)
    async with sessions() as s:
        queued = (await s.execute(
            select(Task.agency_kind, Task.status).join(F, F.task_id == Task.id)
            .where(F.name.in_(AWAY)))).all()
    assert sorted(tuple(q) for q in queued) == [(AgencyKind.SCHOOL, TaskStatus.OPEN)] * 3
    assert await ledger(api, SUSPECTED, school["id"], "reasons") == {
        n: ["NOT_AT_SCHOOL"] for n in AWAY}
    await tick(sessions, clock, date(2026, 10, 1))  # the engine again: nothing twice
    again = (await api.gql(FINDINGS, {"f": {"kind": "NOT_AT_SCHOOL"}},
                           user="township_officer"))["crosscheckFindings"]["edges"]
    assert len([e for e in again if e["node"]["name"] in AWAY]) == 3

    # October: the township's visits
    clock.current = at(date(2026, 10, 8))
    by_name = {f["name"]: f for f in found}
    answers = {
        "甲一": {"outcome": "ENROLLED", "childId": by_name["甲一"]["child"]["id"]},
        "乙二": {"outcome": "MOVED_AWAY", "districtCode": "110101"},
        "丙三": {"outcome": "DROPOUT_CONFIRMED", "childId": by_name["丙三"]["child"]["id"],
                 "firstAbsence": "2026-10-08"},
    }
    for name, answer in answers.items():
        f = by_name[name]
        done = await api.gql(RESOLVE, {"in": {"crosscheckFindingId": f["id"], "expectedVersion":
                                              f["version"], **answer}}, user="township_officer")
        assert done["resolveVerification"]["userErrors"] == [], (name, done)
    statuses = await ledger(api, SCHOOL_AGE, school["id"], "status")
    assert (statuses["甲一"], statuses["乙二"], statuses["丙三"]) == (
        "ENROLLED", "MOVED_AWAY", "SUSPECTED")
    assert await ledger(api, SUSPECTED, school["id"], "reasons") == {"丙三": ["LONG_ABSENCE"]}

    # the case climbs the ladder as the days pass (ST: persuasion by day 3, report by day 7)
    for day in (date(2026, 10, 11), date(2026, 10, 15)):
        await tick(sessions, clock, day)
    assert await ledger(api, DROPOUTS, school["id"], "stage") == {"丙三": "DROPOUT_REPORTED"}
    assert (await ledger(api, SCHOOL_AGE, school["id"], "status"))["丙三"] == "DROPOUT"
    assert await ledger(api, SUSPECTED, school["id"], "reasons") == {}

    # November: the district comparison and its public report (ST 2: 11 月底前…并全区通报)
    for day in (date(2026, 11, 1), date(2026, 11, 20)):
        await tick(sessions, clock, day)
    reports = [r["node"] for r in (await api.gql(REPORTS))["reports"]["edges"]
               if r["node"]["periodEnd"] == "2026-11-30"]
    assert len(reports) == 1  # the district's report of this November, once
    rows = {r["key"]: r for r in reports[0]["figures"]["table"]["rows"]}
    assert rows[township]["confirmed_dropout"] >= 1
    listed = (await api.gql("""{ statisticsChildren(measure: CONFIRMED_DROPOUT, input:
        {jurisdictionCode: "370406"}, first: 100) { edges { node { name } } } }"""))
    assert "丙三" in {e["node"]["name"] for e in listed["statisticsChildren"]["edges"]}
