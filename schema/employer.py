"""GraphQL for employers (用人单位): the register entry, its history, search and changes."""

from __future__ import annotations

from typing import TYPE_CHECKING

import strawberry

from models import employer as m
from schema.enums import LicenceStatus
from schema.operations import Operation, listing, operations
from schema.shape import RowNode, fetched_by, related, row_field
from workflow import employer as service

if TYPE_CHECKING:
    pass


@fetched_by(service.get_employers)
@strawberry.type(name="Employer")
class EmployerNode(RowNode, columns=("credit_code", "name", "kind", "address",
                                     "legal_representative", "township_code")):
    row: strawberry.Private[m.Employer]
    licence_status = row_field(
        "licence_status", LicenceStatus,
        description="营业执照: revoked only by a licence revocation decision."
    )

    version = row_field(
        "version", int, description="Optimistic version: send it back when updating."
    )

    inspections = related(
        "employer_visits", "row.id", "InspectionVisitType", many=True, lazy="schema.inspection",
        description="Inspections that listed or visited the employer, newest first.",
    )
    findings = related(
        "employer_findings", "row.id", "FindingNode", many=True, lazy="schema.finding",
        description="Children found working there (as far as the caller may see).",
    )
    enforcement_actions = related(
        "employer_actions", "row.id", "EnforcementNode", many=True, lazy="schema.enforcement",
        description="Return orders, fines and revocations against it.",
    )


@strawberry.type
class EmployerQuery:
    employers = listing(
        EmployerNode, service.employers_page, filter=service.EmployerFilter,
    )


@strawberry.type
@operations("employer", EmployerNode, ids={"employer_id": "Employer"})
class EmployerMutation:
    register_employer = Operation(service.register)
    update_employer = Operation(service.update)
