"""Enforcement against employers of children (禁止使用童工规定 arts. 6, 9; GH 二(六)(七)).

Three kinds, each issued as a numbered legal document and then tracked by its own state:

- return order (责令限期送回): human resources orders the employer to return the children to
  their guardians within the district's deadline, at its own cost; served → complied, or
  overdue when the deadline passes (the scheduler's ``escalate_overdue``);
- fine (罚款): the national standard per child per month, doubled for an unlicensed employer,
  at the higher rate from the order's date once a return order is ignored, multiplied for a
  repeat offender; served → paid;
- licence revocation (吊销营业执照): after an ignored order or a repeated offence; serving it
  revokes the licence on the register.

Which agency issues which kind, the rates and the deadline are data per district
(``workflow/labour_rules.py``); the policy object is ``enforcement:<kind>``.

The concept's service, in parts: ``query`` (reading under the policy), ``fines`` (the
national standard's amounts), ``issuing``, ``operations`` (serve, comply, pay, void) and
``scheduler`` (the deadline engine's job). This module is its one public surface.
"""

from __future__ import annotations

from workflow.enforcement.fines import (
    fine_for,
    months_between,
)
from workflow.enforcement.issuing import (
    case_events,
    close_tasks,
    issue,
)
from workflow.enforcement.operations import (
    action_findings,
    record_compliance,
    record_payment,
    serve,
    void,
)
from workflow.enforcement.query import (
    DOCUMENT_KIND,
    LIVE,
    EnforcementFilter,
    actions_of_cases,
    actions_of_employers,
    actions_of_inspections,
    actions_page,
    actions_query,
    finding_ids_of,
    get_actions,
    obj,
    visible,
)
from workflow.enforcement.scheduler import (
    escalate_overdue,
)

__all__ = [
    "DOCUMENT_KIND",
    "LIVE",
    "EnforcementFilter",
    "action_findings",
    "actions_of_cases",
    "actions_of_employers",
    "actions_of_inspections",
    "actions_page",
    "actions_query",
    "case_events",
    "close_tasks",
    "escalate_overdue",
    "finding_ids_of",
    "fine_for",
    "get_actions",
    "issue",
    "months_between",
    "obj",
    "record_compliance",
    "record_payment",
    "serve",
    "visible",
    "void",
]
