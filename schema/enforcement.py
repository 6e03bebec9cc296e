"""GraphQL for enforcement against employers: return orders, fines, licence revocations."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Any

import strawberry

from models import enforcement as m
from schema.backrefs import provides
from schema.context import Info
from schema.document import DocumentNode
from schema.employer import EmployerNode
from schema.enums import AgencyKind, EnforcementKind, ServiceMethod
from schema.finding import FindingNode
from schema.operations import Operation, listing, operations
from schema.shape import RowNode, fetched_by, related, row_field
from workflow import enforcement as service

if TYPE_CHECKING:
    pass


@provides
@fetched_by(service.get_actions)
@strawberry.type(
    name="EnforcementAction",
    description="A return order, fine or licence revocation: a numbered document with a state.",
)
class EnforcementNode(RowNode, columns=("kind", "status")):
    row: strawberry.Private[m.EnforcementAction]
    version = row_field(
        "version", int, description="Optimistic version: send it back when changing it."
    )

    agency_kind = row_field("agency_kind", AgencyKind, description="The agency that issued it.")

    employer = related("employer", "row.employer_id", EmployerNode)
    inspection = related("inspection", "row.inspection_id", "InspectionNode",
                         lazy="schema.inspection")
    document = related(
        "document", "row.document_id", DocumentNode,
        description="The numbered document, if the caller may read its kind.",
    )

    @strawberry.field(description="The children it covers, as far as the caller may see them.")
    async def findings(self, info: Info) -> list[FindingNode]:
        ids = await info.context.loaders.action_finding_ids.load(self.row.id)
        rows = await info.context.loaders.finding.load_many(ids)
        return [FindingNode.from_model(f) for f in rows if f is not None]

    deadline_days = row_field(
        "deadline_days", int | None,
        description="Days given to return the children (return orders)."
    )

    served_on = row_field("served_on", date | None)
    due_on = row_field(
        "due_on", date | None,
        description="The last day to return the children (served return orders)."
    )

    complied_on = row_field("complied_on", date | None)
    compliance_note = row_field("compliance_note", str)
    amount = row_field("amount", int | None, description="Yuan (fines).")

    calculation = row_field(
        "calculation", Any,
        description="How the fine was reached: months and rate per child, escalation, "
        "unlicensed and repeat-offence factors.",
        graphql_type=strawberry.scalars.JSON,
    )

    escalated = row_field(
        "escalated", bool, description="A return order whose deadline passed without compliance."
    )

    paid_on = row_field("paid_on", date | None)
    issued_at = row_field("issued_at", datetime)


@strawberry.type
class EnforcementQuery:
    enforcement_actions = listing(
        EnforcementNode, service.actions_page, filter=service.EnforcementFilter,
        ids={"employer_id": "Employer", "inspection_id": "Inspection"},
    )


@strawberry.input
class IssueEnforcementInput:
    kind: EnforcementKind
    employer_id: strawberry.ID
    finding_ids: list[strawberry.ID] = strawberry.field(
        default_factory=list, description="The children it covers (optional for a revocation)."
    )
    facts: str = ""
    amount: int | None = strawberry.field(
        default=None,
        description="Fines: defaults to the national standard; more may be set, never less.",
    )


@strawberry.input
class ServeEnforcementInput:
    action_id: strawberry.ID
    served_on: date
    method: ServiceMethod
    served_to: str


@strawberry.input
class RecordComplianceInput:
    action_id: strawberry.ID
    complied_on: date
    note: str
    expected_version: int | None = None


@strawberry.input
class RecordPaymentInput:
    action_id: strawberry.ID
    paid_on: date
    expected_version: int | None = None


@strawberry.input
class VoidEnforcementInput:
    action_id: strawberry.ID
    reason: str


@strawberry.type
@operations("action", EnforcementNode, ids={
    "action_id": "EnforcementAction", "employer_id": "Employer", "finding_ids": "LabourFinding"
})
class EnforcementMutation:
    issue_enforcement_action = Operation(service.issue, IssueEnforcementInput)
    serve_enforcement_action = Operation(service.serve, ServeEnforcementInput)
    record_return_compliance = Operation(service.record_compliance, RecordComplianceInput)
    record_fine_payment = Operation(service.record_payment, RecordPaymentInput)
    void_enforcement_action = Operation(service.void, VoidEnforcementInput)
