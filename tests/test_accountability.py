"""Accountability rules (SPT 8; GH 三(六); ST 10) on a small district: each fires at its
threshold and not below, in the right month, once; the inspectorate reviews the items."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from models.accountability import AccountabilityItem
from models.audit import AuditEvent
from models.enums import AgencyKind, CaseStage, EnrolmentStatus, TaskStatus
from models.task import Task
from tests.helpers import NOW, Api, SmallDistrict, coded_failure, gid, small_district
from workflow.accountability import lapse_unfounded, scan_accountability, scan_district
from workflow.engine import TickReport

MARKED = ((date(2026, 9, 27), EnrolmentStatus.ENROLLED, EnrolmentStatus.DROPOUT_MARKED),)
RECENTLY = datetime(2026, 10, 30, 2, 0, tzinfo=UTC)  # persuaded: not idle


async def dropout(
    d: SmallDistrict, place: str, *, overdue: AgencyKind | None = AgencyKind.TOWNSHIP,
    persuaded: datetime | None = RECENTLY, day0: date = date(2026, 9, 20), grade: int = 3,
) -> tuple[int, int | None]:
    """A pupil marked dropped out, its case at the dropout stage, and an overdue task."""
    child = await d.child(place, grade=grade, status=EnrolmentStatus.DROPOUT_MARKED,
                          since=date(2026, 9, 27), events=MARKED)
    case = await d.case(child, place, day0, CaseStage.DROPOUT_REPORTED, persuaded=persuaded)
    task_id = None
    if overdue is not None:
        task = Task(kind="persuasion", title="劝返", case_id=case.id, agency_kind=overdue,
                    scope_path=case.scope_path, due_on=date(2026, 10, 10))
        d.session.add(task)
        await d.session.flush()
        task_id = task.id
    return case.id, task_id


async def items(session: AsyncSession, rule: str) -> list[AccountabilityItem]:
    rows = await session.execute(
        select(AccountabilityItem).where(AccountabilityItem.rule_code == rule,
                                         AccountabilityItem.district_code == "370499")
        .order_by(AccountabilityItem.month, AccountabilityItem.id))
    return list(rows.scalars())


async def scan(session: AsyncSession, when: datetime = NOW) -> None:
    await scan_accountability(session, when, TickReport())
    await session.commit()


async def test_township_with_more_than_two_unacted_dropouts_month_by_month(
    session: AsyncSession,
) -> None:
    d = await small_district(session)
    for _ in range(2):
        await dropout(d, "A")
    await dropout(d, "B")
    await scan(session)
    assert await items(session, "township_not_acted") == []  # two is not more than two
    await dropout(d, "A")
    await scan(session)
    assert await items(session, "township_not_acted") == []  # November was scanned already
    await scan(session, datetime(2026, 12, 1, 1, 0, tzinfo=UTC))
    await scan(session, datetime(2026, 12, 15, 1, 0, tzinfo=UTC))
    await scan(session, datetime(2027, 1, 4, 1, 0, tzinfo=UTC))
    await scan(session, datetime(2027, 2, 1, 1, 0, tzinfo=UTC))
    raised = await items(session, "township_not_acted")
    assert [(i.subject_name, i.month, i.month_in_row, i.consequence) for i in raised] == [
        ("A镇", date(2026, 12, 1), 1, "约谈分管领导"),
        ("A镇", date(2027, 1, 1), 2, "对分管领导通报批评"),
        ("A镇", date(2027, 2, 1), 3, "建议给予分管领导行政处分，并对乡镇主要领导问责"),
    ]
    evidence = raised[0].evidence
    assert evidence["count"] == 3 and len(evidence["cases"]) == 3
    assert evidence["cases"][0]["overdue_tasks"][0]["due_on"] == "2026-10-10"
    assert raised[0].since == date(2026, 10, 10)
    assert evidence["basis"][0]["source_key"] == "SPT"


async def test_idle_cases_count_for_a_township_and_agencies_answer_for_their_tasks(
    session: AsyncSession,
) -> None:
    d = await small_district(session)
    for _ in range(3):  # no overdue task, but nobody persuaded for over 30 days
        await dropout(d, "B", overdue=None, persuaded=datetime(2026, 9, 25, tzinfo=UTC))
    for _ in range(3):
        await dropout(d, "A", overdue=AgencyKind.POLICE)
    await scan_district(session, d.district, NOW)
    township = await items(session, "township_not_acted")
    assert {i.subject_name for i in township} == {"A镇", "B镇"}
    agency = await items(session, "agency_not_acted")
    assert [(i.subject_path, i.evidence["count"]) for i in agency] == [
        ("370000/370400/370499/agency:police", 3)]


async def test_school_without_persuasion_primary_one_junior_two(session: AsyncSession) -> None:
    d = await small_district(session)
    await dropout(d, "A", persuaded=None, overdue=None)
    await dropout(d, "B", persuaded=None, overdue=None, grade=8)
    await dropout(d, "B", persuaded=RECENTLY, overdue=None, grade=8)
    await scan_district(session, d.district, NOW)
    assert [i.subject_name for i in await items(session, "school_unpersuaded")] == ["A镇小学"]
    await dropout(d, "B", persuaded=None, overdue=None, grade=9)
    await scan_district(session, d.district, NOW)
    await scan_district(session, d.district, datetime(2026, 12, 1, tzinfo=UTC))
    raised = await items(session, "school_unpersuaded")
    assert [(i.subject_name, i.month) for i in raised] == [
        ("A镇小学", date(2026, 9, 1)), ("B镇中学", date(2026, 9, 1))]  # once a school year
    assert raised[0].consequence.startswith("学校当年年终考核为最低档次")


async def test_district_losing_more_than_one_percent(session: AsyncSession) -> None:
    d = await small_district(session)
    for _ in range(99):
        await d.child("A")
    await dropout(d, "A", overdue=None)  # 1 of 100: not more than 1 %
    await scan_district(session, d.district, NOW)
    assert await items(session, "district_loss") == []
    await d.child("A", status=EnrolmentStatus.DROPOUT_MARKED,
                  events=((date(2026, 10, 1), EnrolmentStatus.ENROLLED,
                           EnrolmentStatus.DROPOUT_MARKED),))
    await scan_district(session, d.district, NOW)
    (item,) = await items(session, "district_loss")
    assert (item.subject_kind, item.evidence["base"], item.evidence["lost"]) == ("district", 101, 2)
    assert item.consequence == "对教育部门主要负责人进行问责，分管负责人予以行政处分"


async def test_no_item_rests_on_a_task_that_was_done(api: Api, session: AsyncSession) -> None:
    d = await small_district(session)
    made = [await dropout(d, "A") for _ in range(4)]
    await scan(session)
    (item,) = await items(session, "township_not_acted")
    first = await session.get(Task, made[0][1])
    assert first is not None
    first.status = TaskStatus.DONE
    await session.commit()
    body = (await api.post(REVIEW, {"in": {"itemId": gid("AccountabilityItem", item.id),
                                           "decision": "CONFIRM"}}, user="t_inspector")).json()
    assert coded_failure(body) == ["WRONG_STAGE"]
    assert await lapse_unfounded(session, NOW) == 0  # three still stand: more than two
    second = await session.get(Task, made[1][1])
    assert second is not None
    second.status = TaskStatus.DONE
    await session.flush()
    assert await lapse_unfounded(session, NOW) == 1
    await session.refresh(item)
    assert item.status.value == "lapsed"


REVIEW = """mutation($in: ReviewAccountabilityItemInput!) { reviewAccountabilityItem(input: $in)
    { item { status reviewNote version } userErrors { code field } } }"""
LIST = """{ accountabilityItems(first: 50) { totalCount edges { node { id ruleCode subjectName
    status evidence } } } }"""


async def review(api: Api, item: str, decision: str, note: str = "",
                 user: str = "t_inspector") -> dict[str, Any]:
    data = await api.gql(REVIEW, {"in": {"itemId": item, "decision": decision, "note": note}},
                         user=user)
    payload: dict[str, Any] = data["reviewAccountabilityItem"]
    return payload


async def test_inspectorate_reviews_township_sees_its_own(api: Api, session: AsyncSession) -> None:
    d = await small_district(session)
    for place in ("A", "A", "A", "B", "B", "B"):
        await dropout(d, place)
    await scan(session)
    seen = (await api.gql(LIST, user="t_inspector"))["accountabilityItems"]
    mine = [e["node"] for e in seen["edges"] if e["node"]["ruleCode"] == "township_not_acted"]
    assert sorted(n["subjectName"] for n in mine) == ["A镇", "B镇"]
    own = (await api.gql(LIST, user="t_township"))["accountabilityItems"]["edges"]
    assert {e["node"]["subjectName"] for e in own} == {"A镇"}
    a, b = sorted(mine, key=lambda n: n["subjectName"])
    body = (await api.post(REVIEW, {"in": {"itemId": a["id"], "decision": "CONFIRM"}},
                           user="t_township")).json()
    assert coded_failure(body) == ["FORBIDDEN"]
    assert (await review(api, a["id"], "DISMISS"))["userErrors"] == [
        {"code": "BAD_INPUT", "field": "note"}]
    assert (await review(api, a["id"], "CONFIRM"))["item"]["status"] == "CONFIRMED"
    acted = await review(api, a["id"], "ACT", "已约谈分管副镇长")
    assert acted["item"] == {"status": "ACTED_ON", "reviewNote": "已约谈分管副镇长", "version": 3}
    assert (await review(api, a["id"], "CONFIRM"))["userErrors"][0]["code"] == "WRONG_STAGE"
    dismissed = await review(api, b["id"], "DISMISS", "已于十月劝返，系统未及时录入")
    assert dismissed["item"]["status"] == "DISMISSED"
    trail = (await session.execute(
        select(AuditEvent.operation, AuditEvent.actor_username)
        .where(AuditEvent.record_type == "accountability_item",
               AuditEvent.actor_username != "system")
        .order_by(AuditEvent.id))).all()
    assert [tuple(r) for r in trail] == [
        ("confirm_accountability_item", "t_inspector"), ("act_accountability_item", "t_inspector"),
        ("dismiss_accountability_item", "t_inspector")]
