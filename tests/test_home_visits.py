"""Home visits (ST 5) on the hand-counted district: coverage per school counted against the
pupils by hand, the drill-down to the pupils lacking visits, each school below its minimums
given one task at the term's check point, the task done when coverage is reached, and the
one left open marked breached after the term."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from models.enums import TaskStatus
from models.home_visit import HomeVisitCheck
from models.task import Task
from tests.helpers import NOW, Api, coded_failure, termed_district
from workflow.engine import TickReport, tick
from workflow.home_visit import check_home_visits
from workflow.jobs import SCHEDULED_JOBS

RECORD = """mutation($in: RecordHomeVisitInput!) { recordHomeVisit(input: $in) { visit { id
    version visitedOn followUpNeeded school { name } child { id } } userErrors { code field } } }"""
AMEND = """mutation($in: AmendHomeVisitInput!) { amendHomeVisit(input: $in) { visit { version
    findings } userErrors { code field } } }"""
COVERAGE = """query($in: HomeVisitCoverageInput) { homeVisitCoverage(input: $in) { termName
    termStartsOn pupils covered schools { schoolName pupils covered short visits rate } } }"""
GAPS = """query($in: HomeVisitCoverageInput) { homeVisitGaps(input: $in, first: 10) {
    totalCount edges { node { id } } } }"""
VISITS = """query($f: HomeVisitFilterInput) { homeVisits(filter: $f, first: 10) { totalCount
    edges { node { visitedOn } } } }"""


def visit(child: str, on: str = "2026-10-15", **extra: Any) -> dict[str, Any]:
    return {"childId": child, "visitedOn": on, "visitors": "班主任刘芳、数学老师王强",
            "met": "祖母", "findings": "父母在外务工，祖母照料，学习用品齐全", **extra}


async def record(api: Api, child: str, user: str = "t_principal", **extra: Any) -> dict[str, Any]:
    data = await api.gql(RECORD, {"in": visit(child, **extra)}, user=user)
    payload: dict[str, Any] = data["recordHomeVisit"]
    return payload


def schools(data: dict[str, Any]) -> dict[str, tuple[int, int, int, int]]:
    return {s["schoolName"]: (s["pupils"], s["covered"], s["short"], s["visits"])
            for s in data["homeVisitCoverage"]["schools"]}


async def test_coverage_counted_by_hand(api: Api, session: AsyncSession) -> None:
    # A: c1 (needs 1) and c3 (left-behind, needs 2) on the register; c2 marked dropped out.
    # B: c4 (orphan, needs 2) and c6 (needs 1); c5 deferred, c7 on no register.
    _, kids = await termed_district(session)
    assert (await record(api, kids[1]))["userErrors"] == []
    assert (await record(api, kids[3]))["userErrors"] == []
    # A visit of the summer holiday is outside the autumn term and does not count.
    assert (await record(api, kids[3], on="2026-08-20"))["userErrors"] == []
    seen = await api.gql(COVERAGE, {"in": {"jurisdictionCode": "370499"}}, user="t_edu")
    assert seen["homeVisitCoverage"]["termName"] == "2026年秋季学期"
    assert schools(seen) == {"A镇小学": (2, 1, 1, 2), "B镇中学": (2, 0, 2, 0)}
    assert (seen["homeVisitCoverage"]["pupils"], seen["homeVisitCoverage"]["covered"]) == (4, 1)
    assert (await record(api, kids[3], on="2026-10-30"))["userErrors"] == []
    now = await api.gql(COVERAGE, {"in": {"jurisdictionCode": "370499"}}, user="t_inspector")
    assert schools(now)["A镇小学"] == (2, 2, 0, 3)
    # The township sees its own school only; the principal its school, by default.
    own = await api.gql(COVERAGE, {"in": {"jurisdictionCode": "370499101"}}, user="t_township")
    assert list(schools(own)) == ["A镇小学"]
    mine = await api.gql(COVERAGE, None, user="t_principal")
    assert list(schools(mine)) == ["A镇小学"]
    gaps = (await api.gql(GAPS, {"in": {"jurisdictionCode": "370499"}}, user="t_edu"))
    assert sorted(e["node"]["id"] for e in gaps["homeVisitGaps"]["edges"]) == sorted(
        [kids[4], kids[6]])
    # A holiday between terms has no term to count.
    body = (await api.post(COVERAGE, {"in": {"on": "2027-02-01"}}, user="t_edu")).json()
    assert coded_failure(body) == ["BAD_INPUT"]


async def test_recording_rules(api: Api, session: AsyncSession) -> None:
    _, kids = await termed_district(session)
    future = await record(api, kids[1], on="2026-11-03")
    assert future["userErrors"] == [{"code": "BAD_INPUT", "field": "visitedOn"}]
    vague = await record(api, kids[1], followUpNeeded=True)
    assert vague["userErrors"] == [{"code": "BAD_INPUT", "field": "followUp"}]
    gone = await record(api, kids[2])  # marked dropped out: on no register as a pupil
    assert gone["userErrors"] == [{"code": "BAD_INPUT", "field": "childId"}]
    body = (await api.post(RECORD, {"in": visit(kids[1])}, user="t_township")).json()
    assert coded_failure(body) == ["FORBIDDEN"]
    made = await record(api, kids[1], followUpNeeded=True, followUp="下周电话回访父母")
    assert made["visit"]["school"]["name"] == "A镇小学"
    vid, version = made["visit"]["id"], made["visit"]["version"]
    amended = (await api.gql(AMEND, {"in": {"visitId": vid, "expectedVersion": version,
                                            "findings": "补记：已联系父亲"}},
                             user="t_principal"))["amendHomeVisit"]
    assert amended["visit"] == {"version": version + 1, "findings": "补记：已联系父亲"}
    stale = (await api.gql(AMEND, {"in": {"visitId": vid, "expectedVersion": version,
                                          "findings": "再改"}}, user="t_principal"))
    assert stale["amendHomeVisit"]["userErrors"][0]["code"] == "CONFLICT"
    listed = await api.gql(VISITS, {"f": {"childId": kids[1]}}, user="t_township")
    assert listed["homeVisits"]["totalCount"] == 1
    other = await api.gql(VISITS, None, user="t_township_b")
    assert other["homeVisits"]["totalCount"] == 0


async def _tasks(session: AsyncSession) -> list[tuple[str, str, date, TaskStatus, bool]]:
    rows = (await session.execute(
        select(HomeVisitCheck.scope_path, Task.title, Task.due_on, Task.status,
               Task.breached_at.is_not(None))
        .join(Task, Task.id == HomeVisitCheck.task_id)
        .where(HomeVisitCheck.district_code == "370499").order_by(HomeVisitCheck.school_id)
    )).all()
    return [tuple(r) for r in rows]  # type: ignore[misc]


async def test_tasks_on_schedule_once_closed_on_coverage(
    api: Api, session: AsyncSession
) -> None:
    d, kids = await termed_district(session)
    # The check point is 56 days into the term (2026-10-27): nothing before it.
    await check_home_visits(session, datetime(2026, 10, 20, 2, tzinfo=UTC), TickReport())
    assert await _tasks(session) == []
    first, second = TickReport(), TickReport()
    await check_home_visits(session, NOW, first)
    await check_home_visits(session, NOW, second)  # a second pass makes nothing new
    await session.commit()
    assert first.tasks_created >= 2 and second.tasks_created == 0
    tasks = await _tasks(session)
    assert [(p, title, due, status) for p, title, due, status, _ in tasks] == [
        (d.school_paths["A"], "家访未覆盖：2 名学生本学期家访次数不足（2026年秋季学期，ST 5）",
         date(2027, 1, 22), TaskStatus.OPEN),
        (d.school_paths["B"], "家访未覆盖：2 名学生本学期家访次数不足（2026年秋季学期，ST 5）",
         date(2027, 1, 22), TaskStatus.OPEN),
    ]
    for child, on in ((1, "2026-10-10"), (3, "2026-10-11"), (3, "2026-10-30")):
        assert (await record(api, kids[child], on=on))["userErrors"] == []
    short = (await session.execute(select(HomeVisitCheck.short, HomeVisitCheck.covered_at)
                                   .where(HomeVisitCheck.district_code == "370499")
                                   .order_by(HomeVisitCheck.school_id))).all()
    assert [s for s, _ in short] == [0, 2] and short[0][1] is not None
    assert [t[3] for t in await _tasks(session)] == [TaskStatus.DONE, TaskStatus.OPEN]
    # After the term B's task is overdue: the engine marks it breached, and nothing reopens.
    after = datetime(2027, 1, 25, 2, tzinfo=UTC)
    await tick(session, after, SCHEDULED_JOBS)
    await tick(session, after, SCHEDULED_JOBS)
    assert [(t[3], t[4]) for t in await _tasks(session)] == [
        (TaskStatus.DONE, False), (TaskStatus.OPEN, True)]
