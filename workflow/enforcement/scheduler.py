"""The enforcement job the deadline engine runs each pass (``workflow/jobs.py``).
"""

from __future__ import annotations

from datetime import datetime
from functools import cache

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from authz.enforcer import Authorizer
from authz.principal import SYSTEM
from models.enforcement import EnforcementAction
from models.enums import (
    EnforcementKind,
    EnforcementStatus,
)
from workflow import audit
from workflow import finding as findings
from workflow.calendar import local_date
from workflow.clock import FixedClock
from workflow.context import ServiceContext
from workflow.enforcement.issuing import case_events
from workflow.enforcement.operations import action_findings
from workflow.engine import TickReport
from workflow.labour_rules import rules_for

# --- the scheduler ------------------------------------------------------------------------


@cache
def _no_rules() -> Authorizer:
    # The scheduler checks no policy (it acts on the rules' own deadlines); a context still
    # needs an authorizer, and this one allows nothing.
    return Authorizer(())


async def escalate_overdue(session: AsyncSession, now: datetime, report: TickReport) -> None:
    """Served return orders whose deadline has passed without compliance become overdue: the
    fine rises to the higher rate from the order's date and market supervision is asked to
    penalise and consider revoking the licence. Safe to run twice: an order escalates once.

    A scheduled job of the deadline engine (``workflow/jobs.py``); counts go on its report."""
    today = local_date(now)
    due = (
        (
            await session.execute(
                select(EnforcementAction)
                .where(
                    EnforcementAction.kind == EnforcementKind.RETURN_ORDER,
                    EnforcementAction.status == EnforcementStatus.SERVED,
                    EnforcementAction.due_on < today,
                )
                .order_by(EnforcementAction.id)
                .with_for_update(skip_locked=True)
            )
        )
        .scalars()
        .all()
    )
    if not due:
        return
    ctx = ServiceContext(session, SYSTEM, _no_rules(), FixedClock(now), request_id="scheduler")
    for action in due:
        action.status = EnforcementStatus.OVERDUE
        action.escalated = True
        action.updated_at = now
        rows = await action_findings(ctx, action)
        tasks = await findings.create_follow_ups(
            ctx, rows, rules_for(action.district_code).on_overdue
        )
        report.tasks_created += len(tasks)
        await case_events(ctx, rows, "enforcement_overdue", "逾期未将童工送回监护人", action)
        audit.record_row(ctx, "escalate_enforcement", action, {
            "status": ["served", "overdue"],
            "due_on": action.due_on,
            "tasks": [t.id for t in tasks],
        })
        report.orders_escalated += 1
    await session.flush()
    report.events.extend(ctx.events)
