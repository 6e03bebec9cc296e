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
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import cache
from typing import Any

from sqlalchemy import ColumnElement, Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from authz.enforcer import Authorizer
from authz.errors import Forbidden
from authz.filters import scope_filter
from authz.masking import mask_id_number, mask_name
from authz.principal import SYSTEM
from models.case import DropoutCase
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
from workflow import case as cases
from workflow import document as documents
from workflow import finding as findings
from workflow import task as task_service
from workflow.calendar import local_date
from workflow.clock import FixedClock
from workflow.common import check_version, fetch_visible, in_order
from workflow.context import ServiceContext
from workflow.employer import visible_employer
from workflow.engine import TickReport
from workflow.errors import Duplicate, InvalidInput, NotFound, WrongStage
from workflow.labour_rules import LabourRules, rules_for
from workflow.task import changed

LIVE = (
    EnforcementStatus.ISSUED,
    EnforcementStatus.SERVED,
    EnforcementStatus.COMPLIED,
    EnforcementStatus.OVERDUE,
    EnforcementStatus.PAID,
)
DOCUMENT_KIND = {
    EnforcementKind.RETURN_ORDER: "return_order",
    EnforcementKind.FINE: "penalty_decision",
    EnforcementKind.LICENCE_REVOCATION: "licence_revocation",
}


def obj(kind: EnforcementKind) -> str:
    return f"enforcement:{kind.value}"


def visible(ctx: ServiceContext) -> ColumnElement[bool]:
    return scope_filter(
        ctx.authz, ctx.principal, "enforcement", "read", EnforcementAction.scope_path
    )


@dataclass(frozen=True)
class EnforcementFilter:
    employer_id: int | None = None
    inspection_id: int | None = None
    kind: EnforcementKind | None = None
    status: EnforcementStatus | None = None


def actions_query(ctx: ServiceContext, f: EnforcementFilter) -> Select[EnforcementAction]:
    stmt = select(EnforcementAction).where(visible(ctx))
    if f.employer_id is not None:
        stmt = stmt.where(EnforcementAction.employer_id == f.employer_id)
    if f.inspection_id is not None:
        stmt = stmt.where(EnforcementAction.inspection_id == f.inspection_id)
    if f.kind is not None:
        stmt = stmt.where(EnforcementAction.kind == f.kind)
    if f.status is not None:
        stmt = stmt.where(EnforcementAction.status == f.status)
    return stmt


async def get_actions(ctx: ServiceContext, ids: Sequence[int]) -> list[EnforcementAction | None]:
    rows = (
        await ctx.session.execute(
            actions_query(ctx, EnforcementFilter()).where(EnforcementAction.id.in_(ids))
        )
    ).scalars()
    return in_order(rows, ids)


async def _by(
    ctx: ServiceContext, column: Any, keys: Sequence[int], stmt: Select[Any] | None = None
) -> list[list[EnforcementAction]]:
    """Visible actions grouped by ``column`` (one statement); ``stmt`` brings the joins."""
    base = stmt if stmt is not None else actions_query(ctx, EnforcementFilter())
    rows = (
        await ctx.session.execute(
            base.add_columns(column)
            .where(column.in_(keys))
            .distinct()
            .order_by(EnforcementAction.id)
        )
    ).all()
    by: dict[int, list[EnforcementAction]] = {k: [] for k in keys}
    for action, key in rows:
        by[key].append(action)
    return [by[k] for k in keys]


async def actions_of_cases(
    ctx: ServiceContext, case_ids: Sequence[int]
) -> list[list[EnforcementAction]]:
    # Through the findings: one order may name two findings of one child.
    via_findings = (
        actions_query(ctx, EnforcementFilter())
        .join(EnforcementFinding, EnforcementFinding.action_id == EnforcementAction.id)
        .join(LabourFinding, LabourFinding.id == EnforcementFinding.finding_id)
    )
    return await _by(ctx, LabourFinding.case_id, case_ids, via_findings)


async def actions_of_inspections(
    ctx: ServiceContext, ids: Sequence[int]
) -> list[list[EnforcementAction]]:
    return await _by(ctx, EnforcementAction.inspection_id, ids)


async def actions_of_employers(
    ctx: ServiceContext, ids: Sequence[int]
) -> list[list[EnforcementAction]]:
    return await _by(ctx, EnforcementAction.employer_id, ids)


async def finding_ids_of(ctx: ServiceContext, action_ids: Sequence[int]) -> list[list[int]]:
    rows = (
        await ctx.session.execute(
            select(EnforcementFinding.action_id, EnforcementFinding.finding_id)
            .where(EnforcementFinding.action_id.in_(action_ids))
            .order_by(EnforcementFinding.finding_id)
        )
    ).all()
    by: dict[int, list[int]] = {i: [] for i in action_ids}
    for action_id, finding_id in rows:
        by[action_id].append(finding_id)
    return [by[i] for i in action_ids]


# --- the fine ---------------------------------------------------------------------------


def months_between(start: date, end: date) -> int:
    """Months of use, each started month counted whole (30 days to a month), at least one."""
    return max(1, math.ceil(((end - start).days + 1) / 30))


def fine_for(
    rules: LabourRules,
    employer: Employer,
    rows: Sequence[LabourFinding],
    orders: dict[int, EnforcementAction],
    repeat: bool,
    today: date,
) -> tuple[int, dict[str, Any]]:
    """The fine the national standard sets (禁止使用童工规定 arts. 6, 9), with its workings."""
    unlicensed = employer.licence_status in (LicenceStatus.UNLICENSED, LicenceStatus.REVOKED)
    factor = (rules.unlicensed_multiplier if unlicensed else 1) * (
        rules.repeat_multiplier if repeat else 1
    )
    children = []
    total = 0
    for f in rows:
        months = months_between(f.employed_since or f.found_on, f.found_on)
        part = months * rules.fine_per_child_month
        overdue_months = 0
        order = orders.get(f.id)
        if order is not None and order.escalated and order.served_on is not None:
            overdue_months = months_between(order.served_on, order.complied_on or today)
            part += overdue_months * rules.overdue_per_child_month
        total += part * factor
        children.append(
            {
                "finding_id": f.id,
                "months": months,
                "rate": rules.fine_per_child_month,
                "overdue_months": overdue_months,
                "overdue_rate": rules.overdue_per_child_month,
                "amount": part * factor,
            }
        )
    return total, {
        "children": children,
        "unlicensed": unlicensed,
        "repeat_offence": repeat,
        "factor": factor,
        "minimum": total,
    }


# --- issuing ----------------------------------------------------------------------------


async def _findings_for(
    ctx: ServiceContext, employer: Employer, finding_ids: Sequence[int], kind: EnforcementKind
) -> list[LabourFinding]:
    if len(set(finding_ids)) != len(finding_ids):
        raise InvalidInput("a finding is listed twice", field="findingIds")
    rows = [f for f in await findings.get_findings(ctx, finding_ids) if f is not None]
    if len(rows) != len(finding_ids):
        raise NotFound("no such finding", field="findingIds")
    for f in rows:
        if f.employer_id != employer.id:
            raise InvalidInput("a finding is of another employer", field="findingIds")
        if not f.under_16:
            raise InvalidInput(
                "a finding of a person over the age limit is not child labour", field="findingIds"
            )
    taken = (
        (
            await ctx.session.execute(
                select(LabourFinding.id)
                .join(EnforcementFinding, EnforcementFinding.finding_id == LabourFinding.id)
                .join(EnforcementAction, EnforcementAction.id == EnforcementFinding.action_id)
                .where(
                    LabourFinding.id.in_(finding_ids),
                    EnforcementAction.kind == kind,
                    EnforcementAction.status.in_(LIVE),
                )
            )
        )
        .scalars()
        .first()
    )
    if taken is not None:
        raise Duplicate(f"finding {taken} already has a {kind.value} in force", field="findingIds")
    return rows


async def _orders_by_finding(
    ctx: ServiceContext, finding_ids: Sequence[int]
) -> dict[int, EnforcementAction]:
    rows = (
        await ctx.session.execute(
            select(EnforcementFinding.finding_id, EnforcementAction)
            .join(EnforcementAction, EnforcementAction.id == EnforcementFinding.action_id)
            .where(
                EnforcementFinding.finding_id.in_(finding_ids),
                EnforcementAction.kind == EnforcementKind.RETURN_ORDER,
                EnforcementAction.status.in_(LIVE),
            )
        )
    ).all()
    return {finding_id: action for finding_id, action in rows}


async def _prior_fine(ctx: ServiceContext, employer: Employer, finding_ids: Sequence[int]) -> bool:
    """A repeated offence: a fine in force on this employer for other children found before."""
    found = (
        await ctx.session.execute(
            select(EnforcementAction.id)
            .join(EnforcementFinding, EnforcementFinding.action_id == EnforcementAction.id)
            .where(
                EnforcementAction.employer_id == employer.id,
                EnforcementAction.kind == EnforcementKind.FINE,
                EnforcementAction.status.in_(LIVE),
                EnforcementFinding.finding_id.not_in(finding_ids),
            )
        )
    ).first()
    return found is not None


def _children_context(rows: Sequence[LabourFinding]) -> list[dict[str, Any]]:
    # The employer is the addressee: it learns no more of a child than a masked name and ID.
    return [
        {
            "name": mask_name(f.child_name),
            "national_id": mask_id_number(f.national_id) if f.national_id else "无",
            "age": f.age_at_finding,
            "work": f.work,
            "found_on": documents.zh_date(f.found_on),
        }
        for f in rows
    ]


async def issue(
    ctx: ServiceContext,
    *,
    kind: EnforcementKind,
    employer_id: int,
    finding_ids: Sequence[int],
    facts: str = "",
    amount: int | None = None,
) -> EnforcementAction:
    """Issue a return order, a fine or a licence revocation as a numbered document."""
    employer = await visible_employer(ctx, employer_id, lock=True)
    ctx.authz.require(ctx.principal, obj(kind), "issue", employer.scope_path)
    rules = rules_for(employer.district_code)
    acting = rules.action(kind)
    if ctx.principal.agency_kind is not acting.agency or ctx.principal.agency_id is None:
        raise Forbidden(f"in this district a {kind.value} is issued by {acting.agency.value}")
    if len(facts) > 4000:
        raise InvalidInput("facts are at most 4,000 characters", field="facts")
    if not finding_ids and kind is not EnforcementKind.LICENCE_REVOCATION:
        raise InvalidInput("name the findings the action covers", field="findingIds")
    rows = await _findings_for(ctx, employer, finding_ids, kind)
    today = local_date(ctx.clock.now())
    orders = await _orders_by_finding(ctx, [f.id for f in rows])
    repeat = await _prior_fine(ctx, employer, [f.id for f in rows])
    calculation: dict[str, Any] = {}
    basis = list(acting.basis)
    deadline_days: int | None = None
    if kind is EnforcementKind.RETURN_ORDER:
        deadline_days = rules.return_deadline_days
        if amount is not None:
            raise InvalidInput("a return order has no amount", field="amount")
    elif kind is EnforcementKind.FINE:
        minimum, calculation = fine_for(rules, employer, rows, orders, repeat, today)
        if amount is None:
            amount = minimum
        elif amount < minimum:
            raise InvalidInput(
                f"the national standard sets at least {minimum} yuan here", field="amount"
            )
        if any(o.escalated for o in orders.values()):
            basis += list(rules.overdue_basis)
    else:
        if amount is not None:
            raise InvalidInput("a revocation has no amount", field="amount")
        if employer.licence_status is LicenceStatus.REVOKED:
            raise WrongStage("the licence is already revoked", field="employerId")
        ignored = (
            await ctx.session.execute(
                select(EnforcementAction.id).where(
                    EnforcementAction.employer_id == employer.id,
                    EnforcementAction.kind == EnforcementKind.RETURN_ORDER,
                    EnforcementAction.escalated.is_(True),
                    EnforcementAction.status != EnforcementStatus.VOIDED,
                )
            )
        ).first()
        if ignored is None and not repeat:
            raise WrongStage(
                "a licence is revoked after an ignored return order or a repeated offence",
                field="employerId",
            )
        calculation = {"licence_before": employer.licence_status.value, "repeat_offence": repeat}
    inspection_ids = {f.inspection_id for f in rows if f.inspection_id is not None}
    doc = await documents.issue_standalone(
        ctx,
        kind=DOCUMENT_KIND[kind],
        scope_path=employer.scope_path,
        district_code=employer.district_code,
        addressee=employer.name,
        basis_rows=basis,
        context={
            "employer": {
                "name": employer.name,
                "credit_code": employer.credit_code,
                "address": employer.address,
            },
            "children": _children_context(rows),
            "deadline_days": deadline_days,
            "amount": amount,
            "calculation": calculation,
            "facts": facts.strip(),
        },
        fields={"facts": facts.strip(), "deadline_days": deadline_days, "amount": amount},
    )
    action = EnforcementAction(
        kind=kind,
        status=EnforcementStatus.ISSUED,
        employer_id=employer.id,
        inspection_id=min(inspection_ids) if len(inspection_ids) == 1 else None,
        scope_path=employer.scope_path,
        district_code=employer.district_code,
        agency_id=ctx.principal.agency_id,
        agency_kind=acting.agency,
        document_id=doc.id,
        deadline_days=deadline_days,
        amount=amount,
        calculation=calculation,
        issued_at=ctx.clock.now(),
        issued_by=ctx.principal.user_id,
        updated_at=ctx.clock.now(),
    )
    ctx.session.add(action)
    await ctx.session.flush()
    ctx.session.add_all(EnforcementFinding(action_id=action.id, finding_id=f.id) for f in rows)
    done = await _close_tasks(
        ctx,
        [f.id for f in rows] or await _employer_finding_ids(ctx, employer),
        rules.task_kinds_completed_by(kind),
        f"已下达{doc.number}",
    )
    await _case_events(ctx, rows, "enforcement_issued", f"{doc.title} {doc.number}", action)
    await ctx.session.flush()
    audit.record(
        ctx,
        "issue_enforcement",
        "enforcement_action",
        [action.id],
        {
            "kind": kind.value,
            "employer_id": employer.id,
            "findings": [f.id for f in rows],
            "document": doc.number,
            "amount": amount,
            "tasks_completed": done,
        },
    )
    return action


async def _employer_finding_ids(ctx: ServiceContext, employer: Employer) -> list[int]:
    return list(
        (
            await ctx.session.execute(
                select(LabourFinding.id).where(LabourFinding.employer_id == employer.id)
            )
        ).scalars()
    )


async def _close_tasks(
    ctx: ServiceContext,
    finding_ids: Sequence[int],
    kinds: set[str],
    outcome: str,
    status: TaskStatus = TaskStatus.DONE,
) -> list[int]:
    """Close the open tasks of these kinds on these findings (workflow/task.py: close_tasks,
    the one closing mechanism): the action answered them (done) or withdrew their reason."""
    if not finding_ids:
        return []
    rows = await task_service.close_tasks(
        ctx, Task.finding_id.in_(finding_ids), kinds, outcome, status
    )
    return [t.id for t in rows]


async def _case_events(
    ctx: ServiceContext,
    rows: Sequence[LabourFinding],
    kind: str,
    reason: str,
    action: EnforcementAction,
) -> None:
    case_ids = sorted({f.case_id for f in rows if f.case_id is not None})
    for case_id in case_ids:
        case = await ctx.session.get_one(DropoutCase, case_id)
        cases.case_event(
            ctx,
            case,
            kind,
            reason,
            {"enforcement_id": action.id, "kind": action.kind.value, "status": action.status.value},
        )


# --- after issue --------------------------------------------------------------------------


async def _action(
    ctx: ServiceContext, action_id: int, act: str, expected_version: int | None = None
) -> tuple[EnforcementAction, LegalDocument]:
    action = await fetch_visible(
        ctx,
        EnforcementAction,
        action_id,
        visible=lambda a: ctx.authz.allowed(ctx.principal, "enforcement", "read", a.scope_path),
        lock=True,
        not_found="no such enforcement action",
        field="actionId",
    )
    ctx.authz.require(ctx.principal, obj(action.kind), act, action.scope_path)
    # The policy lets both labour and market officers act on fines (which one fines is the
    # district's rule, child_labour.json); only the agency that issued an action carries it on.
    if ctx.principal.agency_kind is not action.agency_kind:
        raise Forbidden(f"this {action.kind.value} was issued by {action.agency_kind.value}")
    check_version(action.version, expected_version, "the enforcement action")
    doc = await ctx.session.get_one(LegalDocument, action.document_id, with_for_update=True)
    return action, doc


async def _action_findings(ctx: ServiceContext, action: EnforcementAction) -> list[LabourFinding]:
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
    rows = await _action_findings(ctx, action)
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
    await _case_events(ctx, rows, "enforcement_served", f"{doc.number} 已送达", action)
    audit.record(
        ctx,
        "serve_enforcement",
        "enforcement_action",
        [action.id],
        {"served_on": served_on, "method": method.value, "due_on": action.due_on},
    )
    return action


async def record_compliance(
    ctx: ServiceContext,
    *,
    action_id: int,
    complied_on: date,
    note: str,
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
    rows = await _action_findings(ctx, action)
    await _close_tasks(ctx, [f.id for f in rows], {rules.compliance_task[0]}, note.strip())
    await ctx.session.flush()
    late = action.due_on is not None and complied_on > action.due_on
    await _case_events(
        ctx, rows, "enforcement_complied", "童工已送回监护人" + ("（逾期）" if late else ""), action
    )
    audit.record(
        ctx,
        "record_compliance",
        "enforcement_action",
        [action.id],
        {"complied_on": complied_on, "late": late},
    )
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
    audit.record(ctx, "record_payment", "enforcement_action", [action.id], {"paid_on": paid_on})
    return action


async def void(ctx: ServiceContext, *, action_id: int, reason: str) -> EnforcementAction:
    """作废 with a reason: the document too; a served revocation gives the licence back."""
    action, doc = await _action(ctx, action_id, "void")
    if action.status is EnforcementStatus.VOIDED:
        raise WrongStage("the action is already void", field="actionId")
    if not reason.strip():
        raise InvalidInput("say why the action is voided", field="reason")
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
        rows = await _action_findings(ctx, action)
        await _close_tasks(
            ctx,
            [f.id for f in rows],
            {rules.compliance_task[0]},
            "责令通知书已作废",
            TaskStatus.CANCELLED,
        )
    await ctx.session.flush()
    audit.record(
        ctx,
        "void_enforcement",
        "enforcement_action",
        [action.id],
        {"status": [was.value, "voided"], "reason": reason.strip(), "document": doc.number},
    )
    return action


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
        rows = await _action_findings(ctx, action)
        tasks = await findings.create_follow_ups(
            ctx, rows, rules_for(action.district_code).on_overdue
        )
        report.tasks_created += len(tasks)
        await _case_events(ctx, rows, "enforcement_overdue", "逾期未将童工送回监护人", action)
        audit.record(
            ctx,
            "escalate_enforcement",
            "enforcement_action",
            [action.id],
            {
                "status": ["served", "overdue"],
                "due_on": action.due_on,
                "tasks": [t.id for t in tasks],
            },
        )
        report.orders_escalated += 1
    await session.flush()
    report.events.extend(ctx.events)
