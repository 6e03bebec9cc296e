"""Enforcement actions' operations after issue: serve, record compliance and payment, void.
"""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select

from authz.errors import Forbidden
from models.document import LegalDocument
from models.employer import Employer
from models.enforcement import EnforcementAction, EnforcementFinding
from models.enums import (
    EnforcementKind,
    EnforcementStatus,
    LicenceStatus,
    ServiceMethod,
    TaskStatus,
)
from models.finding import LabourFinding
from models.task import Task
from workflow import audit
from workflow import document as documents
from workflow.calendar import local_date
from workflow.common import check_version, check_voidable, fetch_readable
from workflow.context import ServiceContext
from workflow.enforcement.issuing import case_events, close_tasks
from workflow.enforcement.query import obj
from workflow.errors import InvalidInput, WrongStage
from workflow.labour_rules import rules_for
from workflow.task import changed

# --- after issue --------------------------------------------------------------------------


async def _action(
    ctx: ServiceContext, action_id: int, act: str, expected_version: int | None = None
) -> tuple[EnforcementAction, LegalDocument]:
    action = await fetch_readable(ctx, EnforcementAction, action_id, "enforcement", lock=True,
                                  not_found="no such enforcement action", field="actionId")
    ctx.authz.require(ctx.principal, obj(action.kind), act, action.scope_path)
    # The policy lets both labour and market officers act on fines (which one fines is the
    # district's rule, child_labour.json); only the agency that issued an action carries it on.
    if ctx.principal.agency_kind is not action.agency_kind:
        raise Forbidden(f"this {action.kind.value} was issued by {action.agency_kind.value}")
    check_version(action.version, expected_version, "the enforcement action")
    doc = await ctx.session.get_one(LegalDocument, action.document_id, with_for_update=True)
    return action, doc


async def action_findings(ctx: ServiceContext, action: EnforcementAction) -> list[LabourFinding]:
    return list(
        (
            await ctx.session.execute(
                select(LabourFinding)
                .join(EnforcementFinding, EnforcementFinding.finding_id == LabourFinding.id)
                .where(EnforcementFinding.action_id == action.id)
                .order_by(LabourFinding.id)
            )
        ).scalars()
    )


async def serve(
    ctx: ServiceContext,
    *,
    action_id: int,
    served_on: date,
    method: ServiceMethod,
    served_to: str,
) -> EnforcementAction:
    """送达: a return order's deadline starts; a revocation takes the licence off the register."""
    action, doc = await _action(ctx, action_id, "serve")
    if action.status is not EnforcementStatus.ISSUED:
        raise WrongStage(f"the action is {action.status.value}", field="actionId")
    documents.mark_served(ctx, doc, served_on, method, served_to)
    action.status = EnforcementStatus.SERVED
    action.served_on = served_on
    action.updated_at = ctx.clock.now()
    rows = await action_findings(ctx, action)
    if action.kind is EnforcementKind.RETURN_ORDER:
        assert action.deadline_days is not None
        action.due_on = served_on + timedelta(days=action.deadline_days)
        rules = rules_for(action.district_code)
        kind, title = rules.compliance_task
        employer = await ctx.session.get_one(Employer, action.employer_id)
        now = ctx.clock.now()
        checks = [
            Task(
                kind=kind,
                title=f"{title}：{employer.name}",
                case_id=f.case_id,
                finding_id=f.id,
                agency_kind=action.agency_kind,
                scope_path=action.scope_path,
                due_on=action.due_on,
                priority=1,
                status=TaskStatus.OPEN,
                created_at=now,
                updated_at=now,
            )
            for f in rows
        ]
        ctx.session.add_all(checks)
        await ctx.session.flush()
        ctx.events.extend(changed(t, "created") for t in checks)
    elif action.kind is EnforcementKind.LICENCE_REVOCATION:
        employer = await ctx.session.get_one(Employer, action.employer_id, with_for_update=True)
        employer.licence_status = LicenceStatus.REVOKED
        employer.updated_at = ctx.clock.now()
    await ctx.session.flush()
    await case_events(ctx, rows, "enforcement_served", f"{doc.number} 已送达", action)
    audit.record_row(ctx, "serve_enforcement", action,
                     {"served_on": served_on, "method": method.value, "due_on": action.due_on})
    return action


async def record_compliance(
    ctx: ServiceContext, *, action_id: int, complied_on: date, note: str,
    expected_version: int | None = None,
) -> EnforcementAction:
    """复查: the children were returned to their guardians (on time, or late)."""
    action, _ = await _action(ctx, action_id, "check", expected_version)
    if action.kind is not EnforcementKind.RETURN_ORDER:
        raise WrongStage("only a return order is complied with", field="actionId")
    if action.status not in (EnforcementStatus.SERVED, EnforcementStatus.OVERDUE):
        raise WrongStage(f"the order is {action.status.value}", field="actionId")
    assert action.served_on is not None
    if not action.served_on <= complied_on <= local_date(ctx.clock.now()):
        raise InvalidInput("compliance falls between serving and today", field="compliedOn")
    if not note.strip():
        raise InvalidInput("say how the return was checked", field="note")
    action.status = EnforcementStatus.COMPLIED
    action.complied_on = complied_on
    action.compliance_note = note.strip()[:4000]
    action.updated_at = ctx.clock.now()
    rules = rules_for(action.district_code)
    rows = await action_findings(ctx, action)
    await close_tasks(ctx, [f.id for f in rows], {rules.compliance_task[0]}, note.strip())
    await ctx.session.flush()
    late = action.due_on is not None and complied_on > action.due_on
    await case_events(
        ctx, rows, "enforcement_complied", "童工已送回监护人" + ("（逾期）" if late else ""), action
    )
    audit.record_row(ctx, "record_compliance", action, {"complied_on": complied_on, "late": late})
    return action


async def record_payment(
    ctx: ServiceContext, *, action_id: int, paid_on: date, expected_version: int | None = None
) -> EnforcementAction:
    action, _ = await _action(ctx, action_id, "settle", expected_version)
    if action.kind is not EnforcementKind.FINE:
        raise WrongStage("only a fine is paid", field="actionId")
    if action.status is not EnforcementStatus.SERVED:
        raise WrongStage(
            f"the fine is {action.status.value}; a served one is paid", field="actionId"
        )
    assert action.served_on is not None
    if not action.served_on <= paid_on <= local_date(ctx.clock.now()):
        raise InvalidInput("payment falls between serving and today", field="paidOn")
    action.status = EnforcementStatus.PAID
    action.paid_on = paid_on
    action.updated_at = ctx.clock.now()
    await ctx.session.flush()
    audit.record_row(ctx, "record_payment", action, {"paid_on": paid_on})
    return action


async def void(ctx: ServiceContext, *, action_id: int, reason: str) -> EnforcementAction:
    """作废 with a reason: the document too; a served revocation gives the licence back."""
    action, doc = await _action(ctx, action_id, "void")
    check_voidable(action.status is EnforcementStatus.VOIDED, "action", "actionId", reason)
    was = action.status
    documents.mark_voided(ctx, doc, reason)
    action.status = EnforcementStatus.VOIDED
    action.updated_at = ctx.clock.now()
    if action.kind is EnforcementKind.LICENCE_REVOCATION and was is EnforcementStatus.SERVED:
        employer = await ctx.session.get_one(Employer, action.employer_id, with_for_update=True)
        employer.licence_status = LicenceStatus(action.calculation.get("licence_before", "active"))
        employer.updated_at = ctx.clock.now()
    if action.kind is EnforcementKind.RETURN_ORDER:
        rules = rules_for(action.district_code)
        rows = await action_findings(ctx, action)
        await close_tasks(
            ctx,
            [f.id for f in rows],
            {rules.compliance_task[0]},
            "责令通知书已作废",
            TaskStatus.CANCELLED,
        )
    await ctx.session.flush()
    audit.record_row(
        ctx,
        "void_enforcement",
        action,
        {"status": [was.value, "voided"], "reason": reason.strip(), "document": doc.number},
    )
    return action
