"""The special-needs census (ST 7) on the hand-counted district: one census and task per
school at each term's start, due two weeks in, made once however often the job runs; the
school submits its pupils per category, the task is done, the bureau sees who has not."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from models.enums import TaskStatus
from models.home_visit import SpecialNeedsCensus
from models.task import Task
from tests.helpers import Api, coded_failure, termed_district
from workflow.census import open_census
from workflow.engine import TickReport

CENSUSES = """query($f: CensusFilterInput) { specialNeedsCensuses(filter: $f, first: 10) {
    totalCount edges { node { id termName dueOn version submittedAt school { name }
    categories { code label count } } } } }"""
SUBMIT = """mutation($in: SubmitSpecialNeedsCensusInput!) { submitSpecialNeedsCensus(input: $in)
    { census { version submittedAt categories { code count } } userErrors { code field } } }"""
TERM_START = datetime(2026, 9, 1, 1, tzinfo=UTC)
SPRING_START = datetime(2027, 2, 23, 1, tzinfo=UTC)


async def _opened(session: AsyncSession) -> list[tuple[str, date, date, str, TaskStatus]]:
    rows = (await session.execute(
        select(SpecialNeedsCensus.term_name, SpecialNeedsCensus.term_start, Task.due_on,
               Task.kind, Task.status)
        .join(Task, Task.id == SpecialNeedsCensus.task_id)
        .where(SpecialNeedsCensus.district_code == "370499")
        .order_by(SpecialNeedsCensus.term_start, SpecialNeedsCensus.school_id))).all()
    return [tuple(r) for r in rows]  # type: ignore[misc]


async def test_census_tasks_once_per_term(session: AsyncSession) -> None:
    await termed_district(session)
    await open_census(session, datetime(2026, 8, 25, 1, tzinfo=UTC), TickReport())
    assert await _opened(session) == []  # the summer holiday: no term
    first, again = TickReport(), TickReport()
    await open_census(session, TERM_START, first)
    await open_census(session, datetime(2026, 9, 8, 1, tzinfo=UTC), again)
    assert first.tasks_created >= 2 and again.tasks_created == 0
    autumn = ("2026年秋季学期", date(2026, 9, 1), date(2026, 9, 15), "special_needs_census",
              TaskStatus.OPEN)
    assert await _opened(session) == [autumn, autumn]
    await open_census(session, SPRING_START, TickReport())
    spring = ("2027年春季学期", date(2027, 2, 22), date(2027, 3, 8), "special_needs_census",
              TaskStatus.OPEN)
    assert await _opened(session) == [autumn, autumn, spring, spring]


async def censuses(api: Api, user: str, **f: Any) -> list[dict[str, Any]]:
    data = await api.gql(CENSUSES, {"f": f}, user=user)
    return [e["node"] for e in data["specialNeedsCensuses"]["edges"]]


async def test_submitted_and_seen(api: Api, session: AsyncSession) -> None:
    _, kids = await termed_district(session)
    await open_census(session, TERM_START, TickReport())
    await session.commit()
    (mine,) = await censuses(api, "t_principal")
    assert mine["school"]["name"] == "A镇小学" and mine["submittedAt"] is None
    assert {c["code"]: c["count"] for c in mine["categories"]}["left_behind"] is None
    entry = {"censusId": mine["id"], "expectedVersion": mine["version"],
             "categories": [{"category": "left_behind", "childIds": [kids[3]]},
                            {"category": "learning_difficulty", "childIds": [kids[1], kids[3]]}]}
    body = (await api.post(SUBMIT, {"in": entry}, user="t_edu")).json()
    assert coded_failure(body) == ["FORBIDDEN"]
    unknown = {**entry, "categories": [{"category": "gifted", "childIds": []}]}
    bad = (await api.gql(SUBMIT, {"in": unknown}, user="t_principal"))["submitSpecialNeedsCensus"]
    assert bad["userErrors"] == [{"code": "BAD_INPUT", "field": "category"}]
    foreign = {**entry, "categories": [{"category": "orphan", "childIds": [kids[4]]}]}
    bad = (await api.gql(SUBMIT, {"in": foreign}, user="t_principal"))["submitSpecialNeedsCensus"]
    assert bad["userErrors"] == [{"code": "NOT_FOUND", "field": "childIds"}]
    done = (await api.gql(SUBMIT, {"in": entry}, user="t_principal"))["submitSpecialNeedsCensus"]
    assert done["userErrors"] == [] and done["census"]["submittedAt"] is not None
    counts = {c["code"]: c["count"] for c in done["census"]["categories"]}
    assert counts == {"disabled": 0, "orphan": 0, "left_behind": 1, "registered_poor": 0,
                      "financial_hardship": 0, "learning_difficulty": 2}
    status = (await session.execute(select(Task.status).join(
        SpecialNeedsCensus, SpecialNeedsCensus.task_id == Task.id).where(
        SpecialNeedsCensus.district_code == "370499").order_by(SpecialNeedsCensus.school_id)
    )).scalars().all()
    assert status == [TaskStatus.DONE, TaskStatus.OPEN]
    # The bureau and the inspectorate see who has not submitted; each township its own.
    for user in ("t_edu", "t_inspector"):
        missing = await censuses(api, user, submitted=False, termStart="2026-09-01")
        assert "B镇中学" in [c["school"]["name"] for c in missing]
        assert "A镇小学" not in [c["school"]["name"] for c in missing]
    assert [c["school"]["name"] for c in await censuses(api, "t_township")] == ["A镇小学"]
    assert [c["school"]["name"] for c in await censuses(api, "t_township_b")] == ["B镇中学"]
    # A correction replaces the lists; a stale version is refused.
    fix = {**entry, "expectedVersion": mine["version"] + 1,
           "categories": [{"category": "left_behind", "childIds": [kids[1], kids[3]]}]}
    fixed = (await api.gql(SUBMIT, {"in": fix}, user="t_principal"))["submitSpecialNeedsCensus"]
    assert {c["code"]: c["count"] for c in fixed["census"]["categories"]}["left_behind"] == 2
    stale = (await api.gql(SUBMIT, {"in": fix}, user="t_principal"))["submitSpecialNeedsCensus"]
    assert stale["userErrors"][0]["code"] == "CONFLICT"
