"""GraphQL for legal documents (法律文书): the document, its PDF link, and its operations."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Annotated, Any, cast

import strawberry
from strawberry import relay

from models import document as m
from schema.backrefs import builder, provides
from schema.context import Info
from schema.enums import AgencyKind, DocumentStatus, ServiceMethod
from schema.ids import node_id, optional_node_id
from schema.mutation import UserError, mutate
from schema.pagination import Connection, page_request, to_connection
from schema.reference import AgencyNode
from schema.shape import fetched_by, maybe, row_field
from workflow import document as service
from workflow.context import ServiceContext

if TYPE_CHECKING:
    from schema.case import CaseNode


@strawberry.type(
    name="DocumentLegalBasis", description="A rule a document cites, with the title of its source."
)
class LegalBasisType:
    source_key: str
    source: str
    article: str
    quote: str
    citation: str = strawberry.field(
        description="The provision as the source numbers it and the document prints it: "
        "第七条, 第六条第（八）项, 第10点, 二（七）."
    )


@provides
@fetched_by(service.get_documents)
@strawberry.type(
    name="LegalDocument",
    description="A numbered legal document on a case (or, for enforcement, on an employer): "
    "drafted, issued, served or voided. "
    "Issued documents are never edited: they are voided and reissued.",
)
class DocumentNode(relay.Node):
    document_id: relay.NodeID[int]
    row: strawberry.Private[m.LegalDocument]

    @classmethod
    def from_model(cls, d: m.LegalDocument) -> DocumentNode:
        return cls(document_id=d.id, row=d)

    kind = row_field(
        "kind", str,
        description="enrol_notice, township_order, judicial_referral, judicial, "
        "dropout_report, return_order, penalty_decision, licence_revocation",
    )

    title = row_field(
        "title", str, description="The title printed on the document, e.g. 限期入学通知书."
    )

    status = row_field("status", DocumentStatus)
    version = row_field(
        "version", int, description="Optimistic version: send it back when issuing."
    )

    number = row_field(
        "number", str | None, description="The issuing agency's number, e.g. 山司教督〔2026〕12号."
    )

    addressee = row_field("addressee", str)

    body = row_field(
        "body", str,
        description="The rendered text; the child appears masked as the "
        "addressee's agency may see it.",
    )

    @strawberry.field
    def legal_basis(self) -> list[LegalBasisType]:
        return [
            LegalBasisType(
                source_key=b["source_key"],
                source=b.get("source", ""),
                article=b["article"],
                quote=b.get("quote", ""),
                citation=service.citation_of(b),
            )
            for b in self.row.legal_basis
        ]

    @strawberry.field(description="Days the addressee is given after serving, if any.")
    def deadline_days(self) -> int | None:
        days: Any = self.row.fields.get("deadline_days")
        return int(days) if days is not None else None

    issuer_agency_kind = row_field("issuer_agency_kind", AgencyKind)

    @strawberry.field
    async def issuer(self, info: Info) -> AgencyNode | None:
        agency = await info.context.loaders.agency.load(self.row.issuer_agency_id)
        return maybe(AgencyNode.from_model, agency)

    @strawberry.field
    async def case(self, info: Info) -> Annotated[CaseNode, strawberry.lazy("schema.case")] | None:
        if self.row.case_id is None:
            return None
        case = await info.context.loaders.case.load(self.row.case_id)
        return cast("CaseNode | None", maybe(builder("CaseNode"), case))

    drafted_at = row_field("drafted_at", datetime)
    issued_on = row_field("issued_on", date | None)
    served_on = row_field("served_on", date | None)
    served_to = row_field("served_to", str | None)
    service_method = row_field("service_method", ServiceMethod | None)
    voided_at = row_field("voided_at", datetime | None)
    void_reason = row_field("void_reason", str | None)

    @strawberry.field(description="The voided document this one replaces.")
    def replaces_id(self) -> strawberry.ID | None:
        if self.row.replaces_id is None:
            return None
        return strawberry.ID(str(relay.GlobalID("LegalDocument", str(self.row.replaces_id))))

    pdf_sha256 = row_field("pdf_sha256", str | None, description="SHA-256 of the issued PDF, hex.")

    @strawberry.field(
        description="Printed on the document (XXXX-XXXX-XXXX): lets anyone signed in check it."
    )
    def verification_code(self) -> str | None:
        return service.printed_code(self.row.verification_code)

    @strawberry.field(description="Where to GET the PDF (send the same bearer token).")
    def pdf_url(self) -> str | None:
        return f"/documents/{self.row.id}/pdf" if self.row.pdf_sha256 else None


@strawberry.type(name="DocumentVerification")
class VerificationType:
    genuine: bool
    number: str | None
    title: str | None
    issuer: str | None
    issued_on: date | None
    status: DocumentStatus | None
    void_reason: str | None
    pdf_sha256: str | None
    hash_matches: bool | None = strawberry.field(
        description="Whether the hash given matches the issued PDF (null if none was given)."
    )

    @strawberry.field(description="Genuine and neither voided nor replaced.")
    def valid(self) -> bool:
        return self.genuine and self.status in (DocumentStatus.ISSUED, DocumentStatus.SERVED)


@strawberry.input
class DocumentFilterInput:
    case_id: strawberry.ID | None = None
    kind: str | None = None
    status: DocumentStatus | None = None
    issued_by_my_agency: bool = strawberry.field(
        default=False, description="Only documents drafted or issued by the caller's agency."
    )


@strawberry.type
class DocumentQuery:
    @strawberry.field(
        description="Documents the caller may read, newest first, by case or "
        "by agency; filtered in SQL."
    )
    async def documents(
        self,
        info: Info,
        filter: DocumentFilterInput | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[DocumentNode]:
        services = info.context.services
        f = filter or DocumentFilterInput()
        if f.kind is not None:
            service.kind_config(f.kind)
        page = await service.documents_page(
            services,
            page_request(info, first, after),
            service.DocumentFilter(
                case_id=optional_node_id(f.case_id, "DropoutCase", "caseId"),
                kind=f.kind,
                status=f.status,
                issued_by_my_agency=f.issued_by_my_agency,
            ),
        )
        return to_connection(page, DocumentNode.from_model)

    @strawberry.field(description="Check a document by the code printed on it.")
    async def verify_document(
        self, info: Info, code: str, pdf_sha256: str | None = None
    ) -> VerificationType:
        v = await service.verify(info.context.services, code, pdf_sha256)
        return VerificationType(
            genuine=v.genuine,
            number=v.number,
            title=v.title,
            issuer=v.issuer,
            issued_on=v.issued_on,
            status=v.status,
            void_reason=v.void_reason,
            pdf_sha256=v.pdf_sha256,
            hash_matches=v.hash_matches,
        )


@strawberry.type
class DocumentPayload:
    document: DocumentNode | None
    user_errors: list[UserError]


@strawberry.input
class DraftDocumentInput:
    case_id: strawberry.ID
    kind: str
    addressee: str | None = strawberry.field(
        default=None, description="Defaults to the child's guardians or the receiving agency."
    )
    facts: str = ""
    deadline_days: int | None = strawberry.field(
        default=None, description="Fixed by the ladder where a step waits on this document."
    )
    amount: int | None = strawberry.field(default=None, description="Yuan (penalties).")


@strawberry.input
class IssueDocumentInput:
    document_id: strawberry.ID
    expected_version: int | None = None


@strawberry.input
class ServeDocumentInput:
    document_id: strawberry.ID
    served_on: date
    method: ServiceMethod
    served_to: str


@strawberry.input
class VoidDocumentInput:
    document_id: strawberry.ID
    reason: str


@strawberry.input
class ReissueDocumentInput:
    document_id: strawberry.ID
    reason: str
    addressee: str | None = None
    facts: str | None = None


@strawberry.type
class DocumentMutation:
    @strawberry.mutation(description="拟稿: draft a document on a case (not numbered yet).")
    async def draft_document(self, info: Info, input: DraftDocumentInput) -> DocumentPayload:
        async def op(ctx: ServiceContext) -> m.LegalDocument:
            return await service.draft(
                ctx,
                case_id=node_id(input.case_id, "DropoutCase", "caseId"),
                kind=input.kind,
                addressee=input.addressee,
                facts=input.facts,
                deadline_days=input.deadline_days,
                amount=input.amount,
            )

        return await mutate(info, DocumentPayload, DocumentNode.from_model, op)

    @strawberry.mutation(
        description="签发: number, render and freeze a draft; an action "
        "step of the ladder (referral, judicial document) is entered."
    )
    async def issue_document(self, info: Info, input: IssueDocumentInput) -> DocumentPayload:
        async def op(ctx: ServiceContext) -> m.LegalDocument:
            return await service.issue(
                ctx,
                document_id=node_id(input.document_id, "LegalDocument", "documentId"),
                expected_version=input.expected_version,
            )

        return await mutate(info, DocumentPayload, DocumentNode.from_model, op)

    @strawberry.mutation(description="送达: record serving; the deadlines anchored on it start.")
    async def serve_document(self, info: Info, input: ServeDocumentInput) -> DocumentPayload:
        async def op(ctx: ServiceContext) -> m.LegalDocument:
            return await service.serve(
                ctx,
                document_id=node_id(input.document_id, "LegalDocument", "documentId"),
                served_on=input.served_on,
                method=input.method,
                served_to=input.served_to,
            )

        return await mutate(info, DocumentPayload, DocumentNode.from_model, op)

    @strawberry.mutation(description="作废: void a draft or an issued document, with a reason.")
    async def void_document(self, info: Info, input: VoidDocumentInput) -> DocumentPayload:
        async def op(ctx: ServiceContext) -> m.LegalDocument:
            return await service.void(
                ctx,
                document_id=node_id(input.document_id, "LegalDocument", "documentId"),
                reason=input.reason,
            )

        return await mutate(info, DocumentPayload, DocumentNode.from_model, op)

    @strawberry.mutation(description="Void an issued document and issue its replacement.")
    async def reissue_document(self, info: Info, input: ReissueDocumentInput) -> DocumentPayload:
        async def op(ctx: ServiceContext) -> m.LegalDocument:
            return await service.reissue(
                ctx,
                document_id=node_id(input.document_id, "LegalDocument", "documentId"),
                reason=input.reason,
                addressee=input.addressee,
                facts=input.facts,
            )

        return await mutate(info, DocumentPayload, DocumentNode.from_model, op)
