"""GraphQL for employers (用人单位): the register entry, its history, search and changes."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, cast

import strawberry
from strawberry import relay

from models import employer as m
from schema.backrefs import builder
from schema.context import Info
from schema.enums import EmployerKind, LicenceStatus
from schema.ids import node_id
from schema.mutation import UserError, mutate
from schema.pagination import Connection, page_request, to_connection
from schema.shape import fetched_by, row_field
from workflow import employer as service
from workflow.context import ServiceContext

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
    @strawberry.field(description="Employers in the caller's domains, filtered in SQL.")
    async def employers(
        self,
        info: Info,
        filter: EmployerFilterInput | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[EmployerNode]:
        services = info.context.services
        f = filter or EmployerFilterInput()
        page = await service.employers_page(
            services,
            service.EmployerFilter(
                search=f.search, township_code=f.township_code, licence_status=f.licence_status
            ),
            page_request(info, first, after),
        )
        return to_connection(page, EmployerNode.from_model)


@strawberry.type
class EmployerPayload:
    employer: EmployerNode | None
    user_errors: list[UserError]


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
class EmployerMutation:
    @strawberry.mutation(description="Put an employer on the register (credit code checked).")
    async def register_employer(self, info: Info, input: RegisterEmployerInput) -> EmployerPayload:
        async def op(ctx: ServiceContext) -> m.Employer:
            return await service.register(
                ctx,
                credit_code=input.credit_code,
                name=input.name,
                address=input.address,
                township_code=input.township_code,
                legal_representative=input.legal_representative,
                licence_status=input.licence_status,
            )

        return await mutate(info, EmployerPayload, EmployerNode.from_model, op)

    @strawberry.mutation(description="Correct an employer's name, address or licence status.")
    async def update_employer(self, info: Info, input: UpdateEmployerInput) -> EmployerPayload:
        async def op(ctx: ServiceContext) -> m.Employer:
            return await service.update(
                ctx,
                employer_id=node_id(input.employer_id, "Employer", "employerId"),
                expected_version=input.expected_version,
                name=input.name,
                address=input.address,
                legal_representative=input.legal_representative,
                licence_status=input.licence_status,
            )

        return await mutate(info, EmployerPayload, EmployerNode.from_model, op)
