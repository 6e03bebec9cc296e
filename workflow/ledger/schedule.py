"""The comparisons of the rules' calendar as scheduled work (ST 2): the end-of-September
comparison, with one verification task per unexplained child, and the end-of-November
district comparison, whose counts the district's periodic report of that month publishes
(``periodic_reports.json``: ``comparison_november``, opened by ``workflow/report``'s job).
The days are data per district (``reference_data/comparison_calendar.json``); the lists
they compare are due at the end of March and September (``workflow/imports/reminders.py``).

A job of the deadline engine (``workflow/jobs.py``): on the day, or within the catch-up days
after it, each district's comparison runs once as of that day; the districts due as of the
same day go together through the province path (``crosscheck_province``: one run each, in
code order, a district whose inputs did not change since its last run one query). Safe to
run twice: a second pass finds the run of that day and does nothing; safe in several
processes: the engine's pass holds its lock on PostgreSQL, and the comparison job its
district's.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import cache

from sqlalchemy import exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from models.crosscheck import CrosscheckRun
from workflow.calendar import local_date
from workflow.common import scheduler_context
from workflow.crosscheck import crosscheck_province
from workflow.engine import TickReport
from workflow.infra import reference_json
from workflow.term_duties import districts

TRIGGER = "schedule"


@dataclass(frozen=True)
class ScheduledComparison:
    code: str
    month: int
    day: int
    catch_up_days: int
    report_kind: str | None

    def due_on(self, today: date) -> date | None:
        """The day of this year's comparison, if it is to run today (on it or catching up)."""
        day = date(today.year, self.month, self.day)
        return day if day <= today <= day + timedelta(days=self.catch_up_days) else None


@cache
def calendar_for(district_code: str) -> tuple[ScheduledComparison, ...]:
    data = reference_json.load("comparison_calendar.json")
    rows = data.get(district_code, data["default"])
    return tuple(ScheduledComparison(r["code"], r["month"], r["day"], r["catch_up_days"],
                                     r.get("report_kind")) for r in rows)


async def _ran(session: AsyncSession, district_code: str, as_of: date) -> bool:
    return bool((await session.execute(select(exists().where(
        CrosscheckRun.district_code == district_code, CrosscheckRun.as_of == as_of,
        CrosscheckRun.trigger == TRIGGER)))).scalar())


async def scheduled_comparisons(session: AsyncSession, now: datetime, report: TickReport) -> None:
    """The engine's job: each district's comparison of the calendar due today, once."""
    today = local_date(now)
    due: dict[date, list[str]] = {}
    for code in await districts(session):
        for entry in calendar_for(code):
            as_of = entry.due_on(today)
            if as_of is not None and not await _ran(session, code, as_of):
                due.setdefault(as_of, []).append(code)
    for as_of, codes in sorted(due.items()):
        ctx = scheduler_context(session, now)
        for run in await crosscheck_province(ctx, codes, as_of, TRIGGER):
            report.tasks_created += int(run.counts.get("tasks_created", 0))
        report.events.extend(ctx.events)
