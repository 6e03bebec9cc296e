"""The monthly accountability scan: a scheduled job of the deadline engine
(``workflow/jobs.py``), safe to run twice and in several processes.

From the district's scan day on, the first pass of a month claims the district's scan by
inserting its ``accountability_scan`` row (a second process, or a later pass, finds the row
and does nothing), evaluates every rule and inserts one item per rule, unit and period (the
unique key refuses a second). Each pass also lets the items nobody reviewed yet lapse once
their basis is gone: a case of the evidence closed or persuaded, its overdue tasks done.
"""

from __future__ import annotations

from datetime import date, datetime
from functools import cache
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from authz.enforcer import Authorizer
from authz.principal import SYSTEM
from models.accountability import AccountabilityItem, AccountabilityScan
from models.case import DropoutCase, PersuasionAttempt
from models.enums import AccountabilityStatus, CaseStatus
from models.reference import Jurisdiction
from models.task import Task
from workflow import audit
from workflow.accountability.rules import EVALUATORS, Finding, Rule, rules_for, scan_day
from workflow.calendar import local_date
from workflow.clock import FixedClock
from workflow.common import open_task
from workflow.context import ServiceContext
from workflow.engine import TickReport

# What a passed-over review leaves standing: an item dismissed or lapsed starts the count
# of months in a row again.
CONTINUES = (AccountabilityStatus.RAISED, AccountabilityStatus.CONFIRMED,
             AccountabilityStatus.ACTED_ON)


@cache
def _no_rules() -> Authorizer:
    # The scan checks no policy (it acts on the rules' own calendar); a context still needs
    # an authorizer, and this one allows nothing.
    return Authorizer(())


def _insert(session: AsyncSession, model: type[Any]) -> Any:
    dialect = session.get_bind().dialect.name
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(model)


async def _claim(session: AsyncSession, district: str, month: date, now: datetime) -> bool:
    claimed = await session.execute(
        _insert(session, AccountabilityScan)
        .values(district_code=district, month=month, scanned_at=now, items=0)
        .on_conflict_do_nothing(index_elements=["district_code", "month"])
        .returning(AccountabilityScan.district_code)
    )
    return claimed.first() is not None


async def _month_in_row(session: AsyncSession, rule: Rule, path: str, period: date) -> int:
    before = (await session.execute(
        select(AccountabilityItem.month_in_row).where(
            AccountabilityItem.rule_code == rule.code, AccountabilityItem.subject_path == path,
            AccountabilityItem.month == rule.previous(period),
            AccountabilityItem.status.in_(CONTINUES))
    )).scalar_one_or_none()
    return (before or 0) + 1


async def _raise(
    session: AsyncSession, district: str, rule: Rule, found: Finding, today: date,
    now: datetime,
) -> int | None:
    period = rule.period_of(today)
    n = await _month_in_row(session, rule, found.subject_path, period)
    row = await session.execute(
        _insert(session, AccountabilityItem).values(
            district_code=district, rule_code=rule.code, subject_kind=found.subject_kind,
            subject_path=found.subject_path, subject_name=found.subject_name[:128],
            month=period, month_in_row=n,
            consequence=rule.consequences[min(n, len(rule.consequences)) - 1][:200],
            since=found.since, evidence={"count": found.count, **found.evidence,
                                         "basis": list(rule.basis)},
            status=AccountabilityStatus.RAISED, raised_at=now, review_note="", version=1,
        )
        .on_conflict_do_nothing(index_elements=["rule_code", "subject_path", "month"])
        .returning(AccountabilityItem.id)
    )
    return row.scalar_one_or_none()


async def scan_district(session: AsyncSession, district: Jurisdiction, now: datetime) -> list[int]:
    """Evaluate every rule of the district today; the ids of the items raised."""
    today = local_date(now)
    raised = []
    for rule in rules_for(district.code):
        for found in await EVALUATORS[rule.kind](session, district, rule, today):
            item = await _raise(session, district.code, rule, found, today, now)
            if item is not None:
                raised.append(item)
    return raised


async def scan_accountability(session: AsyncSession, now: datetime, report: TickReport) -> None:
    """The engine's job: each district with dropout cases, once a month from the scan day."""
    await lapse_unfounded(session, now)
    today = local_date(now)
    if today.day < scan_day():
        return
    codes = (await session.execute(select(DropoutCase.district_code).distinct())).scalars()
    districts = (await session.execute(
        select(Jurisdiction).where(Jurisdiction.code.in_(list(codes))).order_by(Jurisdiction.code)
    )).scalars().all()
    ctx = ServiceContext(session, SYSTEM, _no_rules(), FixedClock(now), request_id="scheduler")
    for district in districts:
        if not await _claim(session, district.code, today.replace(day=1), now):
            continue
        raised = await scan_district(session, district, now)
        scan = await session.get(AccountabilityScan, (district.code, today.replace(day=1)))
        assert scan is not None
        scan.items = len(raised)
        audit.record(ctx, "scan_accountability", "accountability_item", raised,
                     {"district": district.code, "month": today.replace(day=1)})
    await session.flush()


async def lapse_unfounded(session: AsyncSession, now: datetime) -> int:
    """Unreviewed 'not acted on' items whose cases have since been acted on (closed,
    persuaded after the item was raised, or every overdue task listed done) lapse, once
    no more than the rule's number remain: no item may rest on a task that was done."""
    items = (await session.execute(
        select(AccountabilityItem)
        .where(AccountabilityItem.status == AccountabilityStatus.RAISED)
        .with_for_update(skip_locked=True)
    )).scalars().all()
    lapsed = 0
    for item in items:
        rule = next((r for r in rules_for(item.district_code) if r.code == item.rule_code), None)
        if rule is None or rule.kind != "unit_not_acted":
            continue
        standing = await _still_unacted(session, item)
        if not rule.fires(len(standing)):
            item.status = AccountabilityStatus.LAPSED
            item.review_note = f"依据已不成立：仍未处理的辍学学生 {len(standing)} 名"
            item.reviewed_at = now
            lapsed += 1
    await session.flush()
    return lapsed


async def _still_unacted(session: AsyncSession, item: AccountabilityItem) -> list[int]:
    """The evidence's cases still open and not acted on since the item was raised."""
    lines = item.evidence.get("cases", [])
    case_ids = [line["case_id"] for line in lines]
    open_cases = set((await session.execute(
        select(DropoutCase.id).where(DropoutCase.id.in_(case_ids),
                                     DropoutCase.status == CaseStatus.OPEN)
    )).scalars())
    persuaded = set((await session.execute(
        select(PersuasionAttempt.case_id).where(PersuasionAttempt.case_id.in_(case_ids),
                                                PersuasionAttempt.attempted_at > item.raised_at)
    )).scalars())
    task_ids = [t["task_id"] for line in lines for t in line.get("overdue_tasks", [])]
    still_open = set((await session.execute(
        select(Task.id).where(Task.id.in_(task_ids), open_task())
    )).scalars())

    def unacted(line: dict[str, Any]) -> bool:
        if line["case_id"] not in open_cases or line["case_id"] in persuaded:
            return False
        tasks = line.get("overdue_tasks", [])
        if not tasks:  # idle only (a township's case): persuasion is what would answer it
            return True
        return any(t["task_id"] in still_open for t in tasks)

    return [line["case_id"] for line in lines if unacted(line)]
