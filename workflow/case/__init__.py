"""Dropout cases (辍学个案): report, persuade, mark, return, close, reopen, plan, read.

The concept's service, in four parts: ``query`` (reading under the policy, the locked
fetch), ``timeline`` (events, notes, attachments), ``progression`` (opening, the ladder's
steps, escalation, the register) and ``operations`` (what a user does to a case). This
module is the concept's one public surface: the schema and other features import
``workflow.case`` and never a part's private helpers.
"""

from __future__ import annotations

from workflow.case.operations import (
    ASSISTANCE_BY_CAUSE,
    FOLLOW_UP,
    REGISTER_AFTER_CLOSE,
    close_case,
    record_persuasion,
    record_return,
    reopen_case,
    report_absence,
    set_plan,
)
from workflow.case.page import CASE_TYPE
from workflow.case.page import statement as timeline_statement
from workflow.case.progression import (
    anchor_served,
    check_action_gate,
    enter_step,
    escalate,
    mark_dropout,
    open_or_join,
    set_register,
    unanchor_served,
)
from workflow.case.query import (
    OBJ,
    CaseFilter,
    case_allowed,
    cases_page,
    cases_query,
    children_of,
    count_open,
    get_cases,
    lock_case,
    overdue_clause,
    plans_of,
    require_on_case,
    tasks_of,
    visible,
)
from workflow.case.timeline import (
    add_attachment,
    add_note,
    attachments_of,
    case_event,
    timeline,
)

__all__ = [
    "ASSISTANCE_BY_CAUSE",
    "CASE_TYPE",
    "FOLLOW_UP",
    "OBJ",
    "REGISTER_AFTER_CLOSE",
    "CaseFilter",
    "add_attachment",
    "add_note",
    "anchor_served",
    "attachments_of",
    "case_allowed",
    "case_event",
    "cases_page",
    "cases_query",
    "check_action_gate",
    "children_of",
    "close_case",
    "count_open",
    "enter_step",
    "escalate",
    "get_cases",
    "lock_case",
    "mark_dropout",
    "open_or_join",
    "overdue_clause",
    "plans_of",
    "record_persuasion",
    "record_return",
    "reopen_case",
    "report_absence",
    "require_on_case",
    "set_plan",
    "set_register",
    "tasks_of",
    "timeline",
    "timeline_statement",
    "unanchor_served",
    "visible",
]
