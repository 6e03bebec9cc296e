"""GraphQL for employers (用人单位): the register entry, its history, search and changes."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, cast

import strawberry
from strawberry import relay

from models import employer as m
from schema.backrefs import builder
from schema.context import Info
from schema.enums import EmployerKind, LicenceStatus
from schema.operations import Operation, listing, operations
from schema.shape import fetched_by, row_field
from workflow import employer as service

if TYPE_CHECKING:
    from schema.enforcement import EnforcementNode
    from schema.finding import FindingNode
    from schema.inspection import InspectionVisitType


@fetched_by(service.get_employers)
@strawberry.type(
    name="Employer",
    description="An enterprise or individual business, keyed by its unified social credit code.",
)
class EmployerNode(relay.Node):
    employer_id: relay.NodeID[int]
    row: strawberry.Private[m.Employer]

    @classmethod
    def from_model(cls, e: m.Employer) -> EmployerNode:
        return cls(employer_id=e.id, row=e)

    credit_code = row_field("credit_code", str, description="统一社会信用代码 (GB 32100).")
    name = row_field("name", str)
    kind = row_field("kind", EmployerKind)
    address = row_field("address", str)
    legal_representative = row_field("legal_representative", str)
    township_code = row_field("township_code", str)
    licence_status = row_field(
        "licence_status", LicenceStatus,
        description="营业执照: revoked only by a licence revocation decision."
    )

    version = row_field(
        "version", int, description="Optimistic version: send it back when updating."
    )

    @strawberry.field(description="Inspections that listed or visited the employer, newest first.")
    async def inspections(
        self, info: Info
    ) -> list[Annotated[InspectionVisitType, strawberry.lazy("schema.inspection")]]:
        rows = await info.context.loaders.employer_visits.load(self.row.id)
        return cast("list[InspectionVisitType]", [builder("InspectionVisitType")(v) for v in rows])

    @strawberry.field(description="Children found working there (as far as the caller may see).")
    async def findings(
        self, info: Info
    ) -> list[Annotated[FindingNode, strawberry.lazy("schema.finding")]]:
        rows = await info.context.loaders.employer_findings.load(self.row.id)
        return cast("list[FindingNode]", [builder("FindingNode")(f) for f in rows])

    @strawberry.field(description="Return orders, fines and revocations against it.")
    async def enforcement_actions(
        self, info: Info
    ) -> list[Annotated[EnforcementNode, strawberry.lazy("schema.enforcement")]]:
        rows = await info.context.loaders.employer_actions.load(self.row.id)
        return cast("list[EnforcementNode]", [builder("EnforcementNode")(a) for a in rows])


@strawberry.input
class EmployerFilterInput:
    search: str | None = strawberry.field(
        default=None, description="Part of the name, or the start of the credit code."
    )
    township_code: str | None = None
    licence_status: LicenceStatus | None = None


@strawberry.type
class EmployerQuery:
    employers = listing(
        EmployerNode, service.employers_page, filter=(EmployerFilterInput, service.EmployerFilter),
        description="Employers in the caller's domains, filtered in SQL.",
    )


@strawberry.input
class RegisterEmployerInput:
    credit_code: str
    name: str
    address: str
    township_code: str
    legal_representative: str = ""
    licence_status: LicenceStatus = LicenceStatus.ACTIVE


@strawberry.input
class UpdateEmployerInput:
    employer_id: strawberry.ID
    expected_version: int | None = None
    name: str | None = None
    address: str | None = None
    legal_representative: str | None = None
    licence_status: LicenceStatus | None = None


@strawberry.type
@operations("employer", EmployerNode, ids={"employer_id": "Employer"})
class EmployerMutation:
    register_employer = Operation(
        service.register, RegisterEmployerInput,
        "Put an employer on the register (credit code checked).",
    )
    update_employer = Operation(
        service.update, UpdateEmployerInput,
        "Correct an employer's name, address or licence status.",
    )
