"""Legal documents' operations: draft, issue (numbered and frozen), serve, void, reissue.

Each public function is one operation under the policy (``document:<kind>`` at the case's
stage), writing the audit row and the case's timeline in the caller's transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import select

from authz.errors import Forbidden
from authz.masking import mask_name
from models.case import DropoutCase
from models.child import Child
from models.document import LegalDocument
from models.enums import (
    AgencyKind,
    CaseStatus,
    DocumentStatus,
    ServiceMethod,
    StepEntry,
)
from models.ladder import Ladder, LadderStep
from models.reference import Agency
from workflow import audit
from workflow import case as cases
from workflow import task as tasks
from workflow.calendar import local_date
from workflow.common import check_version, fetch_visible
from workflow.context import ServiceContext
from workflow.document import printing
from workflow.document.kinds import (
    LIVE,
    KindConfig,
    _step_for,
    citations,
    config,
    kind_config,
    zh_date,
)
from workflow.document.numbering import assign_number
from workflow.document.query import visible
from workflow.document.rendering import drafted_fields, live_documents, render, render_text
from workflow.errors import Duplicate, InvalidInput, NotFound, WrongStage
from workflow.ladder import current_ladder, get_ladder

# --- changing --------------------------------------------------------------------------


async def _document(
    ctx: ServiceContext, document_id: int, act: str
) -> tuple[LegalDocument, DropoutCase]:
    """The document and its case, both locked (case first, the order every case operation
    takes), if the caller may ``act`` on this kind at the case's stage."""
    found = (
        await ctx.session.execute(
            select(LegalDocument.case_id)
            .outerjoin(DropoutCase, DropoutCase.id == LegalDocument.case_id)
            .where(LegalDocument.id == document_id, visible(ctx.authz, ctx.principal))
        )
    ).one_or_none()
    if found is None:
        raise NotFound("no such document", field="documentId")
    case_id = found[0]
    if case_id is None:
        raise WrongStage(
            "an enforcement document changes through its enforcement action",
            field="documentId",
        )
    case = await cases.lock_case(ctx, case_id)
    # Seen above through the list's filter; now locked, after its case (the order every case
    # operation takes).
    doc = await fetch_visible(
        ctx, LegalDocument, document_id, lock=True, not_found="no such document",
        field="documentId",
    )
    ctx.authz.require(ctx.principal, f"document:{doc.kind}", act, case.scope_path, case.stage)
    return doc, case


def _require_issuer(ctx: ServiceContext) -> int:
    if ctx.principal.agency_id is None:
        raise Forbidden("documents are issued by an agency")
    return ctx.principal.agency_id


async def _default_addressee(
    ctx: ServiceContext, case: DropoutCase, cfg: KindConfig, child: Child
) -> str:
    if cfg.addressee == "guardian":
        return f"{mask_name(child.name)}的父母或者其他法定监护人"
    if cfg.addressee.startswith("agency:"):
        names = [await _agency_name(ctx, case, to) for to in (cfg.addressee, *cfg.copies_to)]
        if all(names):
            return "、".join(n for n in names if n)
    raise InvalidInput("say to whom the document is addressed", field="addressee")


async def _agency_name(ctx: ServiceContext, case: DropoutCase, to: str) -> str | None:
    """The name of the case's agency of kind ``agency:<kind>``: a township is the case's own,
    any other the district's."""
    kind = AgencyKind(to.split(":", 1)[1])
    where = case.township_code if kind is AgencyKind.TOWNSHIP else case.district_code
    name = (
        (
            await ctx.session.execute(
                select(Agency.name)
                .where(Agency.kind == kind, Agency.jurisdiction_code == where)
                .order_by(Agency.id)
            )
        )
        .scalars()
        .first()
    )
    return str(name) if name else None


async def draft(
    ctx: ServiceContext,
    *,
    case_id: int,
    kind: str,
    addressee: str | None = None,
    facts: str = "",
    deadline_days: int | None = None,
    amount: int | None = None,
) -> LegalDocument:
    """拟稿: a draft on the case, with what the template needs; nothing is numbered yet."""
    # The case and the caller's right first: judging the kind before told a caller who may
    # not draft here (market supervision asking for a penalty decision) WRONG_STAGE.
    case = await cases.lock_case(ctx, case_id)
    kinds = config().kinds
    if kind not in kinds or kinds[kind].via_enforcement:
        # Only a caller who may draft some document on this case at its stage hears what is
        # wrong with the kind; anyone else is simply not allowed.
        if not any(
            ctx.authz.allowed(ctx.principal, f"document:{k}", "draft", case.scope_path, case.stage)
            for k, c in kinds.items()
            if not c.via_enforcement
        ):
            raise Forbidden()
        kind_config(kind)  # BAD_INPUT for a kind that does not exist
        raise WrongStage(
            f"a {kind} is issued as an enforcement action on the employer", field="kind"
        )
    ctx.authz.require(ctx.principal, f"document:{kind}", "draft", case.scope_path, case.stage)
    cfg = kind_config(kind)
    issuer = _require_issuer(ctx)
    if case.status is not CaseStatus.OPEN:
        raise WrongStage("the case is closed", field="caseId")
    if amount is not None and amount <= 0:
        raise InvalidInput("an amount is a positive number of yuan", field="amount")
    if len(facts) > 4000:
        raise InvalidInput("facts are at most 4,000 characters", field="facts")
    child = await ctx.session.get_one(Child, case.child_id)
    ladder = await get_ladder(ctx.session, case.ladder_id)
    drafted = drafted_fields(
        ladder, cfg, case.district_code, deadline_days=deadline_days, amount=amount
    )
    name = (addressee or "").strip() or await _default_addressee(ctx, case, cfg, child)
    doc = LegalDocument(
        kind=kind,
        case_id=case.id,
        scope_path=case.scope_path,
        status=DocumentStatus.DRAFT,
        title=cfg.title,
        issuer_agency_id=issuer,
        issuer_agency_kind=ctx.principal.agency_kind,
        addressee=name[:200],
        fields={"facts": facts.strip(), **drafted},
        drafted_at=ctx.clock.now(),
        drafted_by=ctx.principal.user_id,
        updated_at=ctx.clock.now(),
    )
    ctx.session.add(doc)
    await ctx.session.flush()
    text = await render(
        ctx, doc, case, ladder, number="〔草稿〕", issued_on=local_date(ctx.clock.now())
    )
    doc.body, doc.legal_basis = text.body, text.basis
    cases.case_event(
        ctx, case, "document_drafted", cfg.title, {"document_id": doc.id, "kind": kind}
    )
    audit.record(
        ctx,
        "draft_document",
        "legal_document",
        [doc.id],
        {"kind": kind, "case_id": case.id, "addressee": doc.addressee},
    )
    await ctx.session.flush()
    return doc


async def issue(
    ctx: ServiceContext, *, document_id: int, expected_version: int | None = None
) -> LegalDocument:
    """签发: number the draft, render its final text and PDF, hash it; enter the ladder step
    it stands for, if it is an action step."""
    doc, case = await _document(ctx, document_id, "issue")
    check_version(doc.version, expected_version, "the document")
    if doc.status is not DocumentStatus.DRAFT:
        raise WrongStage(f"the document is {doc.status.value}, not a draft", field="documentId")
    if case.status is not CaseStatus.OPEN:
        raise WrongStage("the case is closed", field="documentId")
    if doc.issuer_agency_id != ctx.principal.agency_id:
        raise Forbidden("only the drafting agency issues its draft")
    live = (await live_documents(ctx, case.id)).get(doc.kind)
    if live is not None:
        raise Duplicate(f"{live['number']} is in force: void it or reissue it", field="documentId")
    cfg = kind_config(doc.kind)
    ladder = await get_ladder(ctx.session, case.ladder_id)
    step = _step_for(ladder, doc.kind)
    enters: LadderStep | None = None
    if step is not None and step.entry is StepEntry.ACTION:
        if case.step_position >= step.position:
            if doc.replaces_id is None:
                raise WrongStage(
                    f"the case is past {step.code}: reissue the voided document", field="documentId"
                )
        else:
            await cases.check_action_gate(ctx, case, step)
            enters = step
    elif step is not None and case.step_position < step.position:
        raise WrongStage(f"the case has not reached the {step.code} step", field="documentId")
    elif step is None and cfg.needs_ladder_step:
        raise WrongStage(f"this district's ladder has no {doc.kind} step", field="documentId")

    today = local_date(ctx.clock.now())
    agency = await assign_number(ctx, doc, cfg, today)
    assert doc.number is not None
    text = await render(ctx, doc, case, ladder, number=doc.number, issued_on=today)
    doc.body, doc.legal_basis = text.body, text.basis
    layout = printing.layout_for(case.district_code, ladder)
    await printing.freeze(ctx, doc, agency, today, layout, text.served, text.printed_raw)
    await ctx.session.flush()
    cases.case_event(
        ctx,
        case,
        "document_issued",
        f"{doc.title} {doc.number}",
        {"document_id": doc.id, "kind": doc.kind, "number": doc.number},
    )
    if enters is not None:
        await cases.enter_step(ctx, case, enters.position, f"{doc.title} {doc.number}")
    # Issuing answers the tasks it was the work of (the bureau's "issue the notice", the
    # judicial bureau's "review the referral"): closed now, not left to breach.
    await tasks.answer(ctx, case.id, f"document_issued:{doc.kind}", f"{doc.title} {doc.number}",
                       {"document_id": doc.id, "number": doc.number})
    _record_issue(ctx, doc, entered_step=enters.code if enters else None)
    await ctx.session.flush()
    return doc


def _record_issue(ctx: ServiceContext, doc: LegalDocument, **extra: Any) -> None:
    """The audit row of an issue, a case's document or an enforcement action's."""
    audit.record(ctx, "issue_document", "legal_document", [doc.id],
                 {"number": doc.number, "sha256": doc.pdf_sha256, **extra})


async def issue_standalone(
    ctx: ServiceContext,
    *,
    kind: str,
    scope_path: str,
    district_code: str,
    addressee: str,
    basis_rows: Sequence[dict[str, str]],
    context: dict[str, Any],
    fields: dict[str, Any],
) -> LegalDocument:
    """Number, render and freeze a document that belongs to no case (an enforcement action
    on an employer): the caller has checked the policy for its own object."""
    cfg = kind_config(kind)
    today = local_date(ctx.clock.now())
    doc = LegalDocument(
        kind=kind,
        case_id=None,
        scope_path=scope_path,
        title=cfg.title,
        issuer_agency_id=_require_issuer(ctx),
        issuer_agency_kind=ctx.principal.agency_kind,
        addressee=addressee[:200],
        fields=fields,
        legal_basis=citations(kind, district_code, basis_rows),
        drafted_at=ctx.clock.now(),
        drafted_by=ctx.principal.user_id,
    )
    agency = await assign_number(ctx, doc, cfg, today)
    doc.body = render_text(
        district_code,
        kind,
        {
            **context,
            "number": doc.number,
            "title": cfg.title,
            "issued_on": zh_date(today),
            "addressee": doc.addressee,
            "basis": doc.legal_basis,
        },
    )
    try:
        ladder: Ladder | None = await current_ladder(ctx.session, district_code)
    except NotFound:
        ladder = None
    layout = printing.layout_for(district_code, ladder)
    await printing.freeze(ctx, doc, agency, today, layout, doc.body)
    ctx.session.add(doc)
    await ctx.session.flush()
    _record_issue(ctx, doc, kind=kind, addressee=doc.addressee)
    return doc


def mark_served(
    ctx: ServiceContext, doc: LegalDocument, served_on: date, method: ServiceMethod, served_to: str
) -> None:
    """送达 of a document without a case: the same checks and fields as ``serve``."""
    if doc.status is not DocumentStatus.ISSUED:
        raise WrongStage(
            f"the document is {doc.status.value}; only an issued one is served",
            field="documentId",
        )
    assert doc.issued_on is not None
    if served_on > local_date(ctx.clock.now()):
        raise InvalidInput("the serving date cannot be in the future", field="servedOn")
    if served_on < doc.issued_on:
        raise InvalidInput(
            "a document is served on or after the day it was issued", field="servedOn"
        )
    if not served_to.strip():
        raise InvalidInput("say to whom the document was served", field="servedTo")
    doc.status = DocumentStatus.SERVED
    doc.served_on, doc.service_method = served_on, method
    doc.served_to, doc.served_recorded_by = served_to.strip()[:200], ctx.principal.user_id
    doc.updated_at = ctx.clock.now()


def mark_voided(ctx: ServiceContext, doc: LegalDocument, reason: str) -> None:
    """作废 of any document: a reason is required, the number stays used."""
    if not reason.strip():
        raise InvalidInput("say why the document is voided", field="reason")
    doc.status = DocumentStatus.VOIDED
    doc.voided_at, doc.voided_by = ctx.clock.now(), ctx.principal.user_id
    doc.void_reason = reason.strip()
    doc.updated_at = ctx.clock.now()


async def serve(
    ctx: ServiceContext,
    *,
    document_id: int,
    served_on: date,
    method: ServiceMethod,
    served_to: str,
) -> LegalDocument:
    """送达: record date, manner and recipient; the deadlines anchored on this kind start."""
    doc, case = await _document(ctx, document_id, "serve")
    mark_served(ctx, doc, served_on, method, served_to)
    await ctx.session.flush()
    anchored = 0
    if case.status is CaseStatus.OPEN:
        anchored = await cases.anchor_served(ctx, case, doc.kind, served_on)
        await tasks.answer(ctx, case.id, f"document_served:{doc.kind}",
                           f"{doc.number} served on {doc.served_to} ({served_on.isoformat()})",
                           {"document_id": doc.id, "number": doc.number,
                            "served_on": served_on.isoformat()})
    cases.case_event(
        ctx,
        case,
        "document_served",
        f"{doc.number} served on {doc.served_to}",
        {
            "document_id": doc.id,
            "document_kind": doc.kind,
            "number": doc.number,
            "served_on": served_on.isoformat(),
            "served_to": doc.served_to,
            "method": method.value,
        },
    )
    audit.record(
        ctx,
        "serve_document",
        "legal_document",
        [doc.id],
        {"served_on": served_on, "method": method.value, "steps_started": anchored},
    )
    await ctx.session.flush()
    return doc


# The deprecated ``recordDocumentServed`` names its method in free text.
_METHOD_ALIASES = {"post": ServiceMethod.POSTAL, "left_at_home": ServiceMethod.LEFT_AT_RESIDENCE}


async def serve_by_kind(
    ctx: ServiceContext,
    *,
    case_id: int,
    document_kind: str,
    served_on: date,
    served_to: str,
    method: str,
) -> DropoutCase:
    """The deprecated ``recordDocumentServed``: serves the case's issued document of this
    kind through ``serve``. A deadline anchored on a served document starts only from a
    document that exists, was issued, and was served on or after its issue date: without one
    the legal chain would move on a notice the parents never received."""
    case = await cases.lock_case(ctx, case_id)
    ctx.authz.require(
        ctx.principal, f"document:{document_kind}", "serve", case.scope_path, case.stage
    )
    kind_config(document_kind)
    if case.status is not CaseStatus.OPEN:
        raise WrongStage("the case is closed", field="caseId")
    try:
        how = _METHOD_ALIASES.get(method) or ServiceMethod(method)
    except ValueError as exc:
        raise InvalidInput(
            f"a method is one of {', '.join(m.value for m in ServiceMethod)}", field="method"
        ) from exc
    issued = (
        (
            await ctx.session.execute(
                select(LegalDocument.id)
                .where(
                    LegalDocument.case_id == case.id,
                    LegalDocument.kind == document_kind,
                    LegalDocument.status == DocumentStatus.ISSUED,
                )
                .order_by(LegalDocument.id.desc())
            )
        )
        .scalars()
        .first()
    )
    if issued is None:
        raise WrongStage(
            f"the case has no issued {document_kind} to serve: draft and issue it first",
            field="documentKind",
        )
    await serve(ctx, document_id=issued, served_on=served_on, method=how, served_to=served_to)
    await ctx.session.refresh(case)
    return case


async def void(ctx: ServiceContext, *, document_id: int, reason: str) -> LegalDocument:
    """作废: never deleted, never edited; its number stays used. A served document's
    deadlines are withdrawn until a reissued one is served."""
    doc, case = await _document(ctx, document_id, "void")
    if doc.status is DocumentStatus.VOIDED:
        raise WrongStage("the document is already void", field="documentId")
    was = doc.status
    mark_voided(ctx, doc, reason)
    await ctx.session.flush()
    withdrawn = 0
    if was is DocumentStatus.SERVED and case.status is CaseStatus.OPEN:
        withdrawn = await cases.unanchor_served(ctx, case, doc.kind)
    cases.case_event(
        ctx,
        case,
        "document_voided",
        f"{doc.number or doc.title}: {doc.void_reason}",
        {"document_id": doc.id, "number": doc.number, "was": was.value},
    )
    changes = {"status": [was.value, "voided"], "reason": doc.void_reason,
               "deadlines_withdrawn": withdrawn}
    audit.record(ctx, "void_document", "legal_document", [doc.id], changes)
    await ctx.session.flush()
    return doc


async def reissue(
    ctx: ServiceContext,
    *,
    document_id: int,
    reason: str,
    addressee: str | None = None,
    facts: str | None = None,
) -> LegalDocument:
    """Void an issued document and issue its replacement under a new number, at once."""
    old, _ = await _document(ctx, document_id, "issue")
    if old.status not in LIVE:
        raise WrongStage("only an issued or served document is reissued", field="documentId")
    await void(ctx, document_id=document_id, reason=reason)
    assert old.case_id is not None
    new = await draft(
        ctx,
        case_id=old.case_id,
        kind=old.kind,
        addressee=addressee if addressee is not None else old.addressee,
        facts=facts if facts is not None else str(old.fields.get("facts") or ""),
        deadline_days=old.fields.get("deadline_days"),
        amount=old.fields.get("amount"),
    )
    new.replaces_id = old.id
    await ctx.session.flush()
    return await issue(ctx, document_id=new.id)
