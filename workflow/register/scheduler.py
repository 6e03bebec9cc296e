"""The register's scheduled job (``workflow/jobs.py``), run by the deadline engine each pass.

- A transfer out of the county sent and not received within the district's days is marked
  once (``flagged_at``), an event of the child's history, and the sending school gets a task
  to find out where the child is (the cross-checks count it as a suspected dropout).
- A suspension whose end date has passed without resumption gives the school a task
  (resume, or a new request), once.
- A granted deferral or exemption whose end date has passed ends: the child is expected at
  school again, and the school (or, for a child on no register, the bureau) gets a task.

Safe to run twice and in several processes: each row changes once (``flagged_at`` set,
status ``ended``) and the due rows are taken ``FOR UPDATE SKIP LOCKED``.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from functools import cache
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from authz.enforcer import Authorizer
from authz.principal import SYSTEM
from models.base import Base
from models.enums import (
    AgencyKind,
    DeferralStatus,
    EnrolmentStatus,
    RegisterChangeKind,
    RegisterChangeStatus,
)
from models.register import Deferral, RegisterChange
from models.school import Enrolment
from models.task import Task
from workflow import audit
from workflow.calendar import local_date
from workflow.clock import FixedClock
from workflow.context import ServiceContext
from workflow.engine import TickReport
from workflow.register import history, tasks
from workflow.register.rules import rules_for

M = TypeVar("M", bound=Base)


@cache
def _no_rules() -> Authorizer:
    # The job acts on the rules' own dates and checks no policy; a context still needs an
    # authorizer, and this one allows nothing.
    return Authorizer(())


async def _due(session: AsyncSession, model: type[M], key: Any, *where: Any) -> list[M]:
    stmt = select(model).where(*where).order_by(key).with_for_update(skip_locked=True)
    return list((await session.execute(stmt)).scalars().all())


async def register_deadlines(session: AsyncSession, now: datetime, report: TickReport) -> None:
    """One pass over the register's dates (see the module's docstring)."""
    ctx = ServiceContext(session, SYSTEM, _no_rules(), FixedClock(now), request_id="scheduler")
    today = local_date(now)
    made = await _unreceived(ctx, today)
    made += await _suspensions(ctx, today)
    made += await _deferrals(ctx, today)
    if made:
        await tasks.publish(ctx, made)
    report.tasks_created += len(made)
    report.events.extend(ctx.events)


async def _unreceived(ctx: ServiceContext, today: date) -> list[Task]:
    made = []
    rows = await _due(ctx.session, RegisterChange, RegisterChange.id,
                      RegisterChange.kind == RegisterChangeKind.TRANSFER,
                      RegisterChange.status == RegisterChangeStatus.SENT,
                      RegisterChange.flagged_at.is_(None))
    for change in rows:
        days = rules_for(change.from_district_code).transfer_receive_days
        if change.decided_on is None or change.decided_on + timedelta(days=days) >= today:
            continue
        change.flagged_at = ctx.clock.now()
        made.append(tasks.open_task(ctx, "transfer_not_received",
                                    f"转出{days}日未见转入回执：核实学生去向",
                                    AgencyKind.SCHOOL, change.scope_path,
                                    {"change_id": change.id, "child_id": change.child_id}))
        history.record(ctx, change.child_id, "transfer_not_received", f"转出{days}日未见接收",
                       school_id=change.from_school_id,
                       detail={"change": change.id, "to_district": change.to_district_code})
        audit.record(ctx, "flag_transfer_not_received", "register_change", [change.id],
                     {"days": days})
    return made


async def _suspensions(ctx: ServiceContext, today: date) -> list[Task]:
    made = []
    rows = await _due(ctx.session, RegisterChange, RegisterChange.id,
                      RegisterChange.kind == RegisterChangeKind.SUSPENSION,
                      RegisterChange.status == RegisterChangeStatus.APPROVED,
                      RegisterChange.flagged_at.is_(None), RegisterChange.ends_on < today)
    for change in rows:
        change.flagged_at = ctx.clock.now()
        made.append(tasks.open_task(ctx, "suspension_ended", "休学期满：办理复学",
                                    AgencyKind.SCHOOL, change.scope_path,
                                    {"change_id": change.id, "child_id": change.child_id}))
        history.record(ctx, change.child_id, "suspension_due", "休学期满",
                       school_id=change.from_school_id, detail={"change": change.id})
        audit.record(ctx, "flag_suspension_ended", "register_change", [change.id],
                     {"ends_on": change.ends_on})
    return made


async def _deferrals(ctx: ServiceContext, today: date) -> list[Task]:
    made = []
    rows = await _due(ctx.session, Deferral, Deferral.id,
                      Deferral.status == DeferralStatus.GRANTED, Deferral.ends_on < today)
    for d in rows:
        d.status, d.ended_at, d.updated_at = DeferralStatus.ENDED, ctx.clock.now(), ctx.clock.now()
        entry = (await ctx.session.execute(
            select(Enrolment.status).where(Enrolment.child_id == d.child_id))).scalar_one_or_none()
        at_school = entry in (EnrolmentStatus.DEFERRED, EnrolmentStatus.EXEMPT)
        made.append(tasks.open_task(
            ctx, "deferral_ended", "缓学/免学期满：通知监护人送子女入学",
            AgencyKind.SCHOOL if at_school else AgencyKind.EDUCATION, d.scope_path,
            {"deferral_id": d.id, "child_id": d.child_id}))
        history.record(ctx, d.child_id, "deferral_ended", "缓学/免学期满", on=today,
                       detail={"deferral": d.id, "ends_on": d.ends_on})
        audit.record(ctx, "end_deferral", "deferral", [d.id], {"ends_on": d.ends_on})
    return made
