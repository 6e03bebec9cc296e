"""The scheduled jobs each feature hands the deadline engine.

The engine (``workflow/engine.py``) sits below the features built on it (cases, documents,
enforcement), so it cannot import their jobs without closing an import circle. Whoever
starts the engine (``api/app.py``'s background loop, ``lianbao tick``, the demo seeding)
passes this registry to ``engine.tick``. A new feature with timed work adds its job here.
"""

from __future__ import annotations

from workflow.accountability import scan_accountability
from workflow.census import open_census
from workflow.enforcement.scheduler import escalate_overdue
from workflow.engine import ScheduledJob
from workflow.home_visit import check_home_visits
from workflow.imports import remind_lists
from workflow.ledger.schedule import scheduled_comparisons
from workflow.register.scheduler import register_deadlines
from workflow.report import open_reports
from workflow.stats_tally import fold_statistics
from workflow.task import compact_tallies

# Run in this order after the ladders' timed steps and the task reminders of each pass.
SCHEDULED_JOBS: tuple[ScheduledJob, ...] = (
    # Served return orders past their deadline become overdue (LS 14, 禁止使用童工规定 第六条).
    escalate_overdue,
    # The task tally's deltas folded per queue scope (issue 19: totalCount at province scale).
    compact_tallies,
    # The statistics' dirty children folded into their kept facts; a new school year
    # rebuilds them (issue 16: a district's table in tens of ms at province scale).
    fold_statistics,
    # Transfers out not received, suspensions and deferrals past their end (ST 2, 3).
    register_deadlines,
    # The source agencies' lists are due at the end of March and September (ST 1).
    remind_lists,
    # The end-of-September and end-of-November comparisons, once per district (ST 2).
    scheduled_comparisons,
    # The monthly accountability scan (SPT 8; GH 三(六); ST 10), once per district and month.
    scan_accountability,
    # Periodic reports (四个一; GH 三(二); ST 末段): each unit's report and task, once a period.
    open_reports,
    # The special-needs census of each school, once per term, due two weeks in (ST 7).
    open_census,
    # Home-visit coverage from the term's check point: a task per school below it (ST 5).
    check_home_visits,
)
