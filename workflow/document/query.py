"""Reading legal documents under the policy: the list filter and the batches the GraphQL
loaders ask for, and the PDF of one document.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import ColumnElement, Select, and_, or_, select
from sqlalchemy.orm import undefer

from authz.enforcer import Authorizer
from authz.filters import scope_filter
from authz.guard import AccessEntry
from authz.masking import SensitiveField
from authz.principal import Principal
from models.case import DropoutCase
from models.document import LegalDocument
from models.enums import (
    DocumentStatus,
)
from models.reference import Agency
from workflow import access_log
from workflow.batch import grouped
from workflow.common import rows_by_ids, where_given
from workflow.context import ServiceContext
from workflow.document.kinds import config
from workflow.errors import NotFound, WrongStage
from workflow.pagination import Page, PageRequest, keyset_page

# --- reading ---------------------------------------------------------------------------


def visible(authz: Authorizer, principal: Principal) -> ColumnElement[bool]:
    """The documents this principal may read, per kind, at the case's current stage."""
    return or_(
        *(
            and_(
                LegalDocument.kind == kind,
                scope_filter(
                    authz,
                    principal,
                    f"document:{kind}",
                    "read",
                    LegalDocument.scope_path,
                    DropoutCase.stage_rank,
                ),
            )
            for kind in config().kinds
        )
    )


@dataclass(frozen=True)
class DocumentFilter:
    """A list's filters, each optional (``documents(filter:)``)."""

    case_id: int | None = None
    kind: str | None = None
    status: DocumentStatus | None = None
    issued_by_my_agency: bool = False


def documents_query(ctx: ServiceContext, f: DocumentFilter | None = None) -> Select[LegalDocument]:
    f = f or DocumentFilter()
    stmt = (
        select(LegalDocument)
        .outerjoin(DropoutCase, DropoutCase.id == LegalDocument.case_id)
        .where(visible(ctx.authz, ctx.principal))
    )
    stmt = where_given(
        stmt,
        (LegalDocument.case_id, f.case_id),
        (LegalDocument.kind, f.kind),
        (LegalDocument.status, f.status),
    )
    if f.issued_by_my_agency:
        stmt = stmt.where(LegalDocument.issuer_agency_id == ctx.principal.agency_id)
    return stmt


async def documents_page(
    ctx: ServiceContext, request: PageRequest, f: DocumentFilter
) -> Page[LegalDocument]:
    """One page of the documents the caller may see, newest first (``documents_query``)."""
    return await keyset_page(
        ctx, documents_query(ctx, f), LegalDocument.id, request, prefix="document",
        descending=True,
    )


async def get_documents(ctx: ServiceContext, ids: Sequence[int]) -> list[LegalDocument | None]:
    return await rows_by_ids(ctx, documents_query(ctx), LegalDocument.id, ids)


async def documents_of_cases(
    ctx: ServiceContext, case_ids: Sequence[int]
) -> list[list[LegalDocument]]:
    """The visible documents of each case, oldest first: one statement for all cases."""
    stmt = documents_query(ctx).where(LegalDocument.case_id.in_(case_ids))
    rows = (await ctx.session.execute(stmt.order_by(LegalDocument.id))).scalars()
    # Every row has a case: the filter asked for these cases' ids.
    return grouped(rows, case_ids, lambda d: d.case_id or 0)


async def issuers(ctx: ServiceContext, agency_ids: Sequence[int]) -> list[Agency | None]:
    return await rows_by_ids(ctx, select(Agency), Agency.id, agency_ids)


async def pdf_of(ctx: ServiceContext, document_id: int) -> LegalDocument:
    """The document with its PDF bytes, if the caller may read it, it was issued, and the
    caller may see unmasked what its served copy prints unmasked (a notice to the guardians
    names the child in full: ``unmask`` on ``field:name`` where the case is). Every download
    is written to the access log, in the caller's transaction."""
    found = (
        await ctx.session.execute(
            documents_query(ctx)
            .add_columns(DropoutCase.stage)
            .where(LegalDocument.id == document_id)
            .options(undefer(LegalDocument.pdf))
        )
    ).one_or_none()
    if found is None:
        raise NotFound("no such document", field="documentId")
    doc: LegalDocument = found[0]
    stage = found[1]
    if doc.pdf is None:
        raise WrongStage("a draft has no PDF: issue it first", field="documentId")
    printed = [SensitiveField(f) for f in doc.fields.get("printed_raw", ())]
    for fld in printed:
        ctx.authz.require(ctx.principal, fld.obj, "unmask", doc.scope_path, stage)
    now = ctx.clock.now()
    await access_log.write(
        ctx.session,
        ctx.principal,
        [
            AccessEntry("legal_document_pdf", doc.id, f, doc.scope_path, now)
            for f in [fld.value for fld in printed] or ["pdf"]
        ],
        ctx.request_id,
    )
    return doc
