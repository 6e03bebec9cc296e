"""Issuing an enforcement action (a return order, a fine, a licence revocation) against an
employer for its findings, with the document it rests on and the follow-up tasks.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from authz.errors import Forbidden
from authz.masking import mask_id_number, mask_name
from models.case import DropoutCase
from models.document import LegalDocument
from models.employer import Employer
from models.enforcement import EnforcementAction, EnforcementFinding
from models.enums import (
    EnforcementKind,
    EnforcementStatus,
    LicenceStatus,
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
from workflow.context import ServiceContext
from workflow.employer import visible_employer
from workflow.enforcement.fines import fine_for
from workflow.enforcement.query import DOCUMENT_KIND, LIVE, obj
from workflow.errors import Duplicate, InvalidInput, NotFound, WrongStage
from workflow.labour_rules import LabourRules, rules_for

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


@dataclass
class _Terms:
    """What an action decides, by kind: the amount, its workings, the rules cited and the
    deadline."""

    amount: int | None
    calculation: dict[str, Any]
    basis: list[dict[str, Any]]
    deadline_days: int | None


async def _check_revocable(ctx: ServiceContext, employer: Employer, repeat: bool) -> None:
    """A licence is revoked only after an ignored return order or a repeated offence."""
    if employer.licence_status is LicenceStatus.REVOKED:
        raise WrongStage("the licence is already revoked", field="employerId")
    ignored = await ctx.session.scalar(
        select(EnforcementAction.id)
        .where(
            EnforcementAction.employer_id == employer.id,
            EnforcementAction.kind == EnforcementKind.RETURN_ORDER,
            EnforcementAction.escalated.is_(True),
            EnforcementAction.status != EnforcementStatus.VOIDED,
        )
        .limit(1)
    )
    if ignored is None and not repeat:
        raise WrongStage(
            "a licence is revoked after an ignored return order or a repeated offence",
            field="employerId",
        )


async def _terms(
    ctx: ServiceContext,
    kind: EnforcementKind,
    rules: LabourRules,
    employer: Employer,
    rows: list[LabourFinding],
    amount: int | None,
) -> _Terms:
    """The kind's own terms, checked against the district's rules."""
    today = local_date(ctx.clock.now())
    orders = await _orders_by_finding(ctx, [f.id for f in rows])
    repeat = await _prior_fine(ctx, employer, [f.id for f in rows])
    basis = list(rules.action(kind).basis)
    if kind is EnforcementKind.RETURN_ORDER:
        if amount is not None:
            raise InvalidInput("a return order has no amount", field="amount")
        return _Terms(None, {}, basis, rules.return_deadline_days)
    if kind is EnforcementKind.FINE:
        minimum, calculation = fine_for(rules, employer, rows, orders, repeat, today)
        if amount is None:
            amount = minimum
        elif amount < minimum:
            raise InvalidInput(
                f"the national standard sets at least {minimum} yuan here", field="amount"
            )
        if any(o.escalated for o in orders.values()):
            basis += list(rules.overdue_basis)
        return _Terms(amount, calculation, basis, None)
    if amount is not None:
        raise InvalidInput("a revocation has no amount", field="amount")
    await _check_revocable(ctx, employer, repeat)
    calculation = {"licence_before": employer.licence_status.value, "repeat_offence": repeat}
    return _Terms(None, calculation, basis, None)


async def _document_for(
    ctx: ServiceContext,
    kind: EnforcementKind,
    employer: Employer,
    rows: list[LabourFinding],
    terms: _Terms,
    facts: str,
) -> LegalDocument:
    """The numbered document the action rests on."""
    return await documents.issue_standalone(
        ctx,
        kind=DOCUMENT_KIND[kind],
        scope_path=employer.scope_path,
        district_code=employer.district_code,
        addressee=employer.name,
        basis_rows=terms.basis,
        context={
            "employer": {
                "name": employer.name,
                "credit_code": employer.credit_code,
                "address": employer.address,
            },
            "children": _children_context(rows),
            "deadline_days": terms.deadline_days,
            "amount": terms.amount,
            "calculation": terms.calculation,
            "facts": facts.strip(),
        },
        fields={
            "facts": facts.strip(),
            "deadline_days": terms.deadline_days,
            "amount": terms.amount,
        },
    )


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
    terms = await _terms(ctx, kind, rules, employer, rows, amount)
    doc = await _document_for(ctx, kind, employer, rows, terms, facts)
    inspection_ids = {f.inspection_id for f in rows if f.inspection_id is not None}
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
        deadline_days=terms.deadline_days,
        amount=terms.amount,
        calculation=terms.calculation,
        issued_at=ctx.clock.now(),
        issued_by=ctx.principal.user_id,
        updated_at=ctx.clock.now(),
    )
    ctx.session.add(action)
    await ctx.session.flush()
    ctx.session.add_all(EnforcementFinding(action_id=action.id, finding_id=f.id) for f in rows)
    done = await close_tasks(
        ctx,
        [f.id for f in rows] or await _employer_finding_ids(ctx, employer),
        rules.task_kinds_completed_by(kind),
        f"已下达{doc.number}",
    )
    await case_events(ctx, rows, "enforcement_issued", f"{doc.title} {doc.number}", action)
    await ctx.session.flush()
    audit.record_row(ctx, "issue_enforcement", action, {
        "kind": kind.value,
        "employer_id": employer.id,
        "findings": [f.id for f in rows],
        "document": doc.number,
        "amount": terms.amount,
        "tasks_completed": done,
    })
    return action


async def _employer_finding_ids(ctx: ServiceContext, employer: Employer) -> list[int]:
    return list(
        (
            await ctx.session.execute(
                select(LabourFinding.id).where(LabourFinding.employer_id == employer.id)
            )
        ).scalars()
    )


async def close_tasks(
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


async def case_events(
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
