"""GraphQL for legal documents (法律文书): the document, its PDF link, and its operations."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Any

import strawberry
from strawberry import relay

from models import document as m
from schema.backrefs import provides
from schema.context import Info
from schema.enums import AgencyKind, DocumentStatus, ServiceMethod
from schema.operations import Operation, listing, operations
from schema.reference import AgencyNode
from schema.shape import CodeLabel, RowNode, copied, fetched_by, related, row_field
from workflow import document as service
from workflow.context import ServiceContext
from workflow.pagination import Page, PageRequest

if TYPE_CHECKING:
    pass


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


@strawberry.type(name="DocumentKind", description="A kind of legal document: code and title.")
class DocumentKind(CodeLabel):
    pass


@provides
@fetched_by(service.get_documents)
@strawberry.type(
    name="LegalDocument",
    description="A numbered legal document on a case (or, for enforcement, on an employer): "
    "drafted, issued, served or voided. "
    "Issued documents are never edited: they are voided and reissued.",
)
class DocumentNode(RowNode):
    row: strawberry.Private[m.LegalDocument]

    kind = row_field(
        "kind", str,
        description="enrol_notice, township_order, judicial_referral, judicial, "
        "dropout_report, return_order, penalty_decision, licence_revocation",
        deprecation_reason="A bare string: use documentKind.",
    )

    @strawberry.field(description="The kind of document: its code (enrol_notice, "
                      "township_order…) and the title the kind prints (限期入学通知书…).")
    def document_kind(self) -> DocumentKind:
        return DocumentKind(code=self.row.kind, label=service.kind_config(self.row.kind).title)

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

    issuer = related("agency", "row.issuer_agency_id", AgencyNode)
    case = related("case", "row.case_id", "CaseNode", lazy="schema.case")

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


async def _documents_page(
    ctx: ServiceContext, given: dict[str, Any], request: PageRequest
) -> Page[m.LegalDocument]:
    if given.get("kind") is not None:
        service.kind_config(given["kind"])
    return await service.documents_page(ctx, request, service.DocumentFilter(**given))


@strawberry.type
class DocumentQuery:
    documents = listing(
        DocumentNode, _documents_page, filter=(DocumentFilterInput, dict),
        ids={"case_id": "DropoutCase"},
    )

    @strawberry.field(description="Check a document by the code printed on it.")
    async def verify_document(
        self, info: Info, code: str, pdf_sha256: str | None = None
    ) -> VerificationType:
        v = await service.verify(info.context.services, code, pdf_sha256)
        return copied(VerificationType, v)


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


@strawberry.type
@operations("document", DocumentNode,
            ids={"document_id": "LegalDocument", "case_id": "DropoutCase"})
class DocumentMutation:
    draft_document = Operation(service.draft, DraftDocumentInput)
    issue_document = Operation(service.issue)
    serve_document = Operation(service.serve)
    void_document = Operation(service.void)
    reissue_document = Operation(service.reissue)
