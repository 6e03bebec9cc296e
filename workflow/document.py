"""Legal documents (法律文书): draft, issue, serve, void, reissue, print, verify.

The kinds — 限期入学通知书 ``enrol_notice``, 责令限期改正通知书 ``township_order``, the
referral to the judicial bureau ``judicial_referral``, the judicial document urging return
``judicial`` (司法文书), the written dropout report ``dropout_report``, the return order for
a child labourer ``return_order`` and the penalty decision ``penalty_decision`` — their titles,
number words and fallback legal basis are data (``reference_data/documents.json``); their
wording is a Jinja2 template per kind, overridable per jurisdiction
(``templates/documents/<district code>/<kind>.txt.j2``).

Issuing is a step of the case: the policy says who may issue which kind from which stage; the
case's ladder says what must exist first. A kind that a ladder *action* step names (the
referral, the judicial document) is issued only as that step, once its gate has passed, and
issuing it enters the step. A kind a *deadline* step names is issued once the case has reached
that step. Serving a document starts the deadlines anchored on it. An issued document is never
edited: it is voided with a reason and reissued under a new number.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any

import jinja2
import jinja2.meta
from sqlalchemy import ColumnElement, Select, and_, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import undefer

from authz.enforcer import Authorizer
from authz.errors import Forbidden
from authz.filters import scope_filter
from authz.masking import SensitiveField, mask_id_number, mask_name
from authz.principal import Principal
from models.case import CasePlan, DropoutCase, PersuasionAttempt
from models.child import Child
from models.document import DocumentSequence, LegalDocument
from models.enums import (
    AgencyKind,
    CaseStage,
    CaseStatus,
    DocumentStatus,
    ServiceMethod,
    StepEntry,
)
from models.ladder import Ladder, LadderStep
from models.reference import Agency
from models.school import School
from workflow import audit
from workflow import case as cases
from workflow import task as tasks
from workflow.calendar import local_date
from workflow.common import check_version, fetch_visible, in_order
from workflow.context import ServiceContext
from workflow.errors import Duplicate, InvalidInput, NotFound, WrongStage
from workflow.infra import pdf, reference_json
from workflow.ladder import get_ladder

TEMPLATES = Path(pdf.__file__).resolve().parent / "templates" / "documents"
LIVE = (DocumentStatus.ISSUED, DocumentStatus.SERVED)
# Crockford's alphabet: no I, L, O, U, so a code read over the phone is not misheard.
CODE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
# ... and, as Crockford decodes, the left-out letters typed by mistake read as the digits they
# look like (U stays out: it resembles V only in some hands and is simply not a code letter).
_LOOKALIKES = str.maketrans({"O": "0", "I": "1", "L": "1"})

STAGE_ZH = {
    CaseStage.REPORTED: "已报告",
    CaseStage.SCHOOL_PERSUASION: "学校劝返",
    CaseStage.DROPOUT_REPORTED: "辍学上报",
    CaseStage.ENROL_NOTICE: "限期入学通知",
    CaseStage.TOWNSHIP_ORDER: "乡镇责令改正",
    CaseStage.REFERRED_TO_JUDICIAL: "移送司法",
    CaseStage.JUDICIAL_DOCUMENT: "司法文书",
    CaseStage.LEGAL_ACTION: "依法追责",
    CaseStage.CLOSED: "已结案",
}
METHOD_ZH = {
    "phone": "电话",
    "home_visit": "家访",
    "joint_visit": "联合家访",
    "school_talk": "到校谈话",
}
OUTCOME_ZH = {
    "promised_return": "承诺返校",
    "refused": "拒绝",
    "unreachable": "未联系上",
    "returned": "已返校",
    "other": "其他",
}
CAUSE_ZH = {
    "learning_difficulty": "学习困难",
    "school_aversion": "厌学",
    "family_poverty": "家庭经济困难",
    "illness_or_disability": "疾病或残疾",
    "working": "外出务工",
    "early_marriage": "早婚早育",
    "religious_instruction": "宗教活动影响",
    "family_neglect": "家庭监护缺失",
    "other": "其他",
}


@dataclass(frozen=True)
class Source:
    """A legal source a document may cite: where it is in force, how it numbers provisions."""

    key: str
    title: str
    in_force: str  # "national", or the GB/T 2260 code of the district or city that issued it
    numbering: str  # "article" (条, 项), "point" (点) or "part" (二（七）)

    @property
    def national(self) -> bool:
        return self.in_force == "national"

    def in_force_in(self, district_code: str) -> bool:
        """National law everywhere; a local rule in its own district, or, for a city's rule,
        in the districts below it (540100 covers 540102: GB/T 2260 codes nest by prefix)."""
        if self.national:
            return True
        prefix = self.in_force
        while prefix.endswith("00"):
            prefix = prefix[:-2]
        return district_code.startswith(prefix)

    def cite(self, article: str) -> str:
        """The provision as the source numbers it: 第七条, 第六条第（八）项, 第10点, 二（七）."""
        if self.numbering == "part":
            return article.replace("(", "（").replace(")", "）")
        found = _PROVISION.fullmatch(article)
        if found is None:
            # A ladder a district defined itself may write the provision out already.
            return article
        number, item = int(found.group(1)), found.group(2)
        head = f"第{zh_numeral(number)}条" if self.numbering == "article" else f"第{number}点"
        return head + (f"第（{zh_numeral(int(item))}）项" if item else "")


_PROVISION = re.compile(r"(\d+)(?:\((\d+)\))?")
_DIGITS = "零一二三四五六七八九"


def zh_numeral(n: int) -> str:
    """1 → 一, 10 → 十, 16 → 十六, 58 → 五十八, 118 → 一百一十八 (how articles are numbered)."""
    if not 0 < n < 1000:
        raise ValueError(f"no article {n}")
    hundreds, rest = divmod(n, 100)
    tens, ones = divmod(rest, 10)
    out = f"{_DIGITS[hundreds]}百" if hundreds else ""
    if tens:
        out += ("" if tens == 1 and not hundreds else _DIGITS[tens]) + "十"
    elif hundreds and ones:
        out += "零"
    return out + (_DIGITS[ones] if ones else "")


@dataclass(frozen=True)
class KindConfig:
    code: str
    title: str
    number_word: str
    addressee: str  # "guardian", "employer" or "agency:<kind>"
    recipient_role: str | None
    # The kind's own citations, per district's rule; cited where the rows given for the
    # document (ladder step, labour rules) include none of the district's own rule.
    basis: tuple[dict[str, str], ...]
    # National law, cited where the district's own rule is silent.
    national: tuple[dict[str, str], ...]
    default_deadline_days: int | None
    # Exists only as a step of a ladder: a district whose ladder has no such step issues none.
    needs_ladder_step: bool
    # Issued as an enforcement action on an employer (workflow/enforcement.py), not on a case.
    via_enforcement: bool
    # Further agencies the document goes to ("agency:<kind>", the case's own township for
    # ``agency:township``) and the roles that read it there: the school's dropout report goes
    # to the bureau *and* the township (SPT 7, ST 4, GH 三(二), YQ 三(一)2).
    copies_to: tuple[str, ...] = ()
    copy_roles: tuple[str, ...] = ()


@dataclass(frozen=True)
class Config:
    sources: dict[str, Source]
    kinds: dict[str, KindConfig]


@cache
def config() -> Config:
    raw = reference_json.load("documents.json")
    sources = {
        key: Source(key=key, title=v["title"], in_force=v["in_force"], numbering=v["numbering"])
        for key, v in raw["sources"].items()
    }
    kinds = {
        code: KindConfig(
            code=code,
            title=k["title"],
            number_word=k["number_word"],
            addressee=k["addressee"],
            recipient_role=k.get("recipient_role"),
            basis=tuple(k["basis"]),
            national=tuple(k["national"]),
            default_deadline_days=k.get("default_deadline_days"),
            needs_ladder_step=bool(k.get("needs_ladder_step", False)),
            via_enforcement=bool(k.get("via_enforcement", False)),
            copies_to=tuple(k.get("copies_to", ())),
            copy_roles=tuple(k.get("copy_roles", ())),
        )
        for code, k in raw["kinds"].items()
    }
    for k in kinds.values():
        for row in (*k.basis, *k.national):
            if row["source_key"] not in sources:
                raise ValueError(f"documents.json: {k.code} cites unknown {row['source_key']}")
            if (row in k.national) != sources[row["source_key"]].national:
                raise ValueError(f"documents.json: {k.code}: national rows cite national law")
    return Config(sources=sources, kinds=kinds)


def citations(
    kind: str, district_code: str, given: Sequence[dict[str, str]]
) -> list[dict[str, Any]]:
    """What a document of ``kind`` issued in ``district_code`` cites: only what is in force
    there. Of the rows given for it (the ladder step's, the district's labour rules), those
    in force; if none is the district's own rule, the kind's rows of that rule; if the local
    rule is silent, the kind's national law. National law first, as its rank has it; each row
    with the source's title and the provision as the source numbers it (``citation``)."""
    cfg = kind_config(kind)
    sources = config().sources

    def source(row: dict[str, str]) -> Source:
        found = sources.get(row["source_key"])
        if found is None:
            raise ValueError(f"{kind}: no legal source {row['source_key']!r}")
        return found

    # A row of a source the data does not know (a ladder a district defined) cannot be shown
    # to be in force here, so it is not cited.
    rows = [r for r in given if r["source_key"] in sources
            and source(r).in_force_in(district_code)]
    if not any(not source(r).national for r in rows):
        rows += [r for r in cfg.basis if source(r).in_force_in(district_code)]
    if not any(not source(r).national for r in rows):
        rows += list(cfg.national)
    seen: set[tuple[str, str, str]] = set()
    out: list[dict[str, Any]] = []
    for r in sorted(rows, key=lambda r: not source(r).national):
        key = (r["source_key"], r["article"], r.get("quote", ""))
        if key in seen:
            continue
        seen.add(key)
        src = source(r)
        out.append({
            "source_key": r["source_key"], "article": r["article"], "quote": r.get("quote", ""),
            "source": src.title, "citation": src.cite(r["article"]),
        })
    if not out:
        raise ValueError(f"documents.json: {kind} has nothing to cite in {district_code}")
    return out


def kind_config(kind: str) -> KindConfig:
    found = config().kinds.get(kind)
    if found is None:
        raise InvalidInput(f"no document kind {kind!r}", field="kind")
    return found


def _printable(value: Any) -> Any:
    """Every ``{{ … }}`` of a template passes here. StrictUndefined catches a name the
    context lacks; this catches one it holds as None or "", which would print "None" or leave
    a gap in a legal text ("自本文书送达之日起None日内"). Optional parts are guarded with
    ``{% if %}`` in the template; anything else printed must have a value."""
    if value is None or (isinstance(value, str) and not value.strip()):
        raise jinja2.UndefinedError("a document template printed an empty value")
    return value


@cache
def _templates() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        undefined=jinja2.StrictUndefined,
        finalize=_printable,
        autoescape=False,  # plain text; the PDF writer escapes for its own markup
        keep_trailing_newline=False,
    )


# Values a drafter supplies (or data defaults), by the name templates use and the input field.
DRAFTED = {"deadline_days": "deadlineDays", "amount": "amount"}


@cache
def template_needs(district_code: str, kind: str) -> frozenset[str]:
    """The names the district's template of ``kind`` (with what it includes) prints or tests."""
    env = _templates()
    template = _template(district_code, kind)
    assert env.loader is not None and template.name is not None
    names: set[str] = set()
    pending, done = [template.name], set()
    while pending:
        name = pending.pop()
        done.add(name)
        ast = env.parse(env.loader.get_source(env, name)[0])
        names |= jinja2.meta.find_undeclared_variables(ast)
        pending += [
            str(ref) for ref in jinja2.meta.find_referenced_templates(ast)
            if ref is not None and ref not in done
        ]
    return frozenset(names)


def drafted_fields(
    ladder: Ladder,
    cfg: KindConfig,
    district_code: str,
    *,
    deadline_days: int | None,
    amount: int | None,
) -> dict[str, int | None]:
    """The drafter's values a document keeps: the period (the ladder's, else the one asked,
    else the kind's configured default) and the amount. A value the district's template
    prints is required: missing, it is refused here with the input field to fill in, rather
    than printed as "None" at issue."""
    values = {"deadline_days": _deadline_days(ladder, cfg, deadline_days), "amount": amount}
    needs = template_needs(district_code, cfg.code)
    for name, input_field in DRAFTED.items():
        if name in needs and values[name] is None:
            raise InvalidInput(
                f"a {cfg.code} states its {input_field}: give one", field=input_field
            )
    return values


def what_follows(ladder: Ladder, kind: str) -> dict[str, bool]:
    """What the district's ladder does after the step this document stands for, so that a
    document warns only of steps the ladder has (no judicial step where there is none)."""
    step = _step_for(ladder, kind)
    after = [s for s in ladder.steps if step is None or s.position > step.position]
    kinds = {s.document_kind for s in after}
    return {
        "township_order": "township_order" in kinds,
        "judicial": bool(kinds & {"judicial_referral", "judicial"}),
        "legal_action": any(s.stage is CaseStage.LEGAL_ACTION for s in after),
    }


def zh_date(day: date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


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


def documents_query(
    ctx: ServiceContext,
    *,
    case_id: int | None = None,
    kind: str | None = None,
    status: DocumentStatus | None = None,
    issued_by_my_agency: bool = False,
) -> Select[LegalDocument]:
    stmt = (
        select(LegalDocument)
        .outerjoin(DropoutCase, DropoutCase.id == LegalDocument.case_id)
        .where(visible(ctx.authz, ctx.principal))
    )
    if case_id is not None:
        stmt = stmt.where(LegalDocument.case_id == case_id)
    if kind is not None:
        stmt = stmt.where(LegalDocument.kind == kind)
    if status is not None:
        stmt = stmt.where(LegalDocument.status == status)
    if issued_by_my_agency:
        stmt = stmt.where(LegalDocument.issuer_agency_id == ctx.principal.agency_id)
    return stmt


async def get_documents(ctx: ServiceContext, ids: Sequence[int]) -> list[LegalDocument | None]:
    rows = (
        (await ctx.session.execute(documents_query(ctx).where(LegalDocument.id.in_(ids))))
        .scalars()
        .all()
    )
    return in_order(rows, ids)


async def documents_of_cases(
    ctx: ServiceContext, case_ids: Sequence[int]
) -> list[list[LegalDocument]]:
    """The visible documents of each case, oldest first: one statement for all cases."""
    rows = (
        (
            await ctx.session.execute(
                documents_query(ctx)
                .where(LegalDocument.case_id.in_(case_ids))
                .order_by(LegalDocument.id)
            )
        )
        .scalars()
        .all()
    )
    by_case: dict[int, list[LegalDocument]] = {i: [] for i in case_ids}
    for d in rows:
        if d.case_id is not None:
            by_case[d.case_id].append(d)
    return [by_case[i] for i in case_ids]


async def issuers(ctx: ServiceContext, agency_ids: Sequence[int]) -> list[Agency | None]:
    rows = (await ctx.session.execute(select(Agency).where(Agency.id.in_(agency_ids)))).scalars()
    return in_order(rows, agency_ids)


async def pdf_of(ctx: ServiceContext, document_id: int) -> LegalDocument:
    """The document with its PDF bytes, if the caller may read it and it was issued."""
    doc = (
        await ctx.session.execute(
            documents_query(ctx)
            .where(LegalDocument.id == document_id)
            .options(undefer(LegalDocument.pdf))
        )
    ).scalar_one_or_none()
    if doc is None:
        raise NotFound("no such document", field="documentId")
    if doc.pdf is None:
        raise WrongStage("a draft has no PDF: issue it first", field="documentId")
    return doc


@dataclass(frozen=True)
class Verification:
    """What anyone signed in learns from a verification code: enough to tell a genuine,
    valid document from a forged or voided one, and nothing about the child."""

    genuine: bool
    number: str | None = None
    title: str | None = None
    issuer: str | None = None
    issued_on: date | None = None
    status: DocumentStatus | None = None
    void_reason: str | None = None
    pdf_sha256: str | None = None
    hash_matches: bool | None = None


async def verify(ctx: ServiceContext, code: str, sha256: str | None = None) -> Verification:
    ctx.authz.require(ctx.principal, "document", "verify", ctx.principal.agency_scope or "*")
    normalised = normalise_code(code)
    doc = (
        await ctx.session.execute(
            select(LegalDocument).where(LegalDocument.verification_code == normalised)
        )
    ).scalar_one_or_none()
    if doc is None:
        return Verification(genuine=False)
    (agency,) = await issuers(ctx, [doc.issuer_agency_id])
    return Verification(
        genuine=True,
        number=doc.number,
        title=doc.title,
        issuer=agency.name if agency else None,
        issued_on=doc.issued_on,
        status=doc.status,
        void_reason=doc.void_reason,
        pdf_sha256=doc.pdf_sha256,
        hash_matches=None if sha256 is None else sha256.strip().lower() == doc.pdf_sha256,
    )


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


def _step_for(ladder: Ladder, kind: str) -> LadderStep | None:
    return next((s for s in ladder.steps if s.document_kind == kind), None)


def _deadline_days(ladder: Ladder, cfg: KindConfig, requested: int | None) -> int | None:
    """The days the addressee is given: fixed by the ladder where a step waits on this
    document being served (the notice must say what the engine will count), else asked."""
    anchored = next((s for s in ladder.steps if s.anchor == f"served:{cfg.code}"), None)
    if anchored is not None:
        if requested is not None and requested != anchored.offset_days:
            raise InvalidInput(
                f"this district's ladder gives {anchored.offset_days} days after serving",
                field="deadlineDays",
            )
        return anchored.offset_days
    if requested is not None:
        if not 1 <= requested <= 90:
            raise InvalidInput("a deadline is 1 to 90 days", field="deadlineDays")
        return requested
    return cfg.default_deadline_days


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
    doc.body, doc.legal_basis = await _render(
        ctx, doc, case, ladder, number="〔草稿〕", issued_on=local_date(ctx.clock.now())
    )
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
    live = (
        (
            await ctx.session.execute(
                select(LegalDocument.number).where(
                    LegalDocument.case_id == case.id,
                    LegalDocument.kind == doc.kind,
                    LegalDocument.status.in_(LIVE),
                )
            )
        )
        .scalars()
        .first()
    )
    if live is not None:
        raise Duplicate(f"{live} is in force: void it or reissue it", field="documentId")
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
    agency = await _number(ctx, doc, cfg, today)
    assert doc.number is not None
    doc.body, doc.legal_basis = await _render(
        ctx, doc, case, ladder, number=doc.number, issued_on=today
    )
    await _freeze(ctx, doc, agency, today)
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
    audit.record(
        ctx,
        "issue_document",
        "legal_document",
        [doc.id],
        {
            "number": doc.number,
            "sha256": doc.pdf_sha256,
            "entered_step": enters.code if enters else None,
        },
    )
    await ctx.session.flush()
    return doc


async def _number(ctx: ServiceContext, doc: LegalDocument, cfg: KindConfig, today: date) -> Agency:
    """Give the document its agency's next number this year and a verification code."""
    agency = await ctx.session.get_one(Agency, doc.issuer_agency_id)
    seq = await next_number(ctx, doc.issuer_agency_id, today.year)
    doc.number_year, doc.number_seq = today.year, seq
    doc.number = f"{agency.short_name or agency.name}{cfg.number_word}〔{today.year}〕{seq}号"
    doc.verification_code = _new_code()
    return agency


async def _freeze(ctx: ServiceContext, doc: LegalDocument, agency: Agency, today: date) -> None:
    """Print the numbered, rendered document, hash the PDF, and mark it issued."""
    assert doc.number is not None and doc.verification_code is not None
    doc.pdf = await pdf.render_async(
        pdf.Printable(
            issuer=agency.name,
            title=doc.title,
            number=doc.number,
            body=doc.body,
            issued_on=zh_date(today),
            verification_code=_format_code(doc.verification_code),
            basis=_basis_line(doc.legal_basis),
        )
    )
    doc.pdf_sha256 = hashlib.sha256(doc.pdf).hexdigest()
    doc.status = DocumentStatus.ISSUED
    doc.issued_at, doc.issued_on, doc.issued_by = ctx.clock.now(), today, ctx.principal.user_id
    doc.updated_at = ctx.clock.now()


def _template(district_code: str, kind: str) -> jinja2.Template:
    """The district's wording of a kind, else the default one."""
    return _templates().select_template([f"{district_code}/{kind}.txt.j2", f"{kind}.txt.j2"])


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
    agency = await _number(ctx, doc, cfg, today)
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
    await _freeze(ctx, doc, agency, today)
    ctx.session.add(doc)
    await ctx.session.flush()
    audit.record(
        ctx,
        "issue_document",
        "legal_document",
        [doc.id],
        {"kind": kind, "number": doc.number, "sha256": doc.pdf_sha256, "addressee": doc.addressee},
    )
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
    doc.status = DocumentStatus.VOIDED
    doc.voided_at, doc.voided_by = ctx.clock.now(), ctx.principal.user_id
    doc.void_reason = reason.strip()
    doc.updated_at = ctx.clock.now()


async def next_number(ctx: ServiceContext, agency_id: int, year: int) -> int:
    """The agency's next number this year, gapless: the counter row is incremented in the
    issuing transaction, so concurrent issuers queue on its row lock and a rolled-back issue
    takes its number back with it."""
    dialect = ctx.session.get_bind().dialect.name
    insert_ = postgresql.insert if dialect == "postgresql" else sqlite.insert
    await ctx.session.execute(
        insert_(DocumentSequence)
        .values(agency_id=agency_id, year=year, last_number=0)
        .on_conflict_do_nothing(index_elements=["agency_id", "year"])
    )
    number = (
        await ctx.session.execute(
            update(DocumentSequence)
            .where(DocumentSequence.agency_id == agency_id, DocumentSequence.year == year)
            .values(last_number=DocumentSequence.last_number + 1)
            .returning(DocumentSequence.last_number)
        )
    ).scalar_one()
    return int(number)


def _new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(12))


def _format_code(code: str) -> str:
    """The code as printed and shown: groups of four, ``WF6K-XNHV-8A9Q``."""
    return "-".join(code[i : i + 4] for i in range(0, len(code), 4))


def printed_code(code: str | None) -> str | None:
    return None if code is None else _format_code(code)


def normalise_code(text: str) -> str:
    """A code as someone typed it, read back to the stored form; every verification path
    goes through here. What is printed (``WF6K-XNHV-8A9Q``) must verify, and so must what a
    reader types from it: separators of any kind (hyphens, dashes, spaces, dots), either case,
    full-width characters from a Chinese input method (NFKC), and the look-alike letters the
    alphabet leaves out (O for 0, I and L for 1)."""
    folded = unicodedata.normalize("NFKC", text).upper()
    return "".join(ch for ch in folded if ch.isascii() and ch.isalnum()).translate(_LOOKALIKES)


def citation_of(row: dict[str, Any]) -> str:
    """A stored row's provision as printed (rows frozen before ``citation`` was kept)."""
    if row.get("citation"):
        return str(row["citation"])
    found = config().sources.get(row["source_key"])
    return found.cite(row["article"]) if found else str(row["article"])


def _basis_line(basis: list[dict[str, Any]]) -> str:
    return "；".join(f"{b['source']}{b['citation']}" for b in basis)


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
    if not reason.strip():
        raise InvalidInput("say why the document is voided", field="reason")
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
    audit.record(
        ctx,
        "void_document",
        "legal_document",
        [doc.id],
        {
            "status": [was.value, "voided"],
            "reason": doc.void_reason,
            "deadlines_withdrawn": withdrawn,
        },
    )
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


# --- rendering -------------------------------------------------------------------------


def _recipient_may(
    authz: Authorizer, roles: Sequence[str], fld: SensitiveField, case: DropoutCase
) -> bool:
    """Whether every agency a document goes to may see ``fld`` of this child: the text shows
    no more than its least entitled reader is entitled to, whoever prints it."""
    if not roles:
        return False
    return all(
        authz.role_allowed(role, fld.obj, "unmask", case.scope_path, case.stage)
        for role in roles
    )


async def _render(
    ctx: ServiceContext,
    doc: LegalDocument,
    case: DropoutCase,
    ladder: Ladder,
    *,
    number: str,
    issued_on: date,
) -> tuple[str, list[dict[str, Any]]]:
    cfg = kind_config(doc.kind)
    child = await ctx.session.get_one(Child, case.child_id)
    school = await ctx.session.get(School, case.school_id) if case.school_id else None
    role = (cfg.recipient_role, *cfg.copy_roles) if cfg.recipient_role else ()
    name = (
        child.name
        if _recipient_may(ctx.authz, role, SensitiveField.NAME, case)
        else mask_name(child.name)
    )
    if child.national_id is None:
        national_id = "无"
    elif _recipient_may(ctx.authz, role, SensitiveField.NATIONAL_ID, case):
        national_id = child.national_id
    else:
        national_id = mask_id_number(child.national_id)
    step = _step_for(ladder, doc.kind)
    basis_rows = (
        [{"source_key": step.basis_key, "article": step.basis_article, "quote": step.basis_quote}]
        if step is not None and step.basis_quote
        else []
    )
    basis = citations(doc.kind, case.district_code, basis_rows)
    persuasions = (
        (
            await ctx.session.execute(
                select(PersuasionAttempt)
                .where(PersuasionAttempt.case_id == case.id)
                .order_by(PersuasionAttempt.attempted_at)
            )
        )
        .scalars()
        .all()
    )
    attempts = [
        {
            "date": zh_date(local_date(p.attempted_at)),
            "agency": _AGENCY_ZH.get(p.agency_kind, "有关部门") if p.agency_kind else "有关部门",
            "method": METHOD_ZH.get(p.method.value, p.method.value),
            "outcome": OUTCOME_ZH.get(p.outcome.value, p.outcome.value),
        }
        for p in persuasions
    ]
    plan = (
        await ctx.session.execute(select(CasePlan).where(CasePlan.case_id == case.id))
    ).scalar_one_or_none()
    earlier = await _served_documents(ctx, case.id)
    referral = earlier.get("judicial_referral")
    context = {
        "number": number,
        "title": doc.title,
        "issued_on": zh_date(issued_on),
        "addressee": doc.addressee,
        "child": {"name": name, "national_id": national_id},
        "school_name": school.name if school else "原就读学校",
        "case": {"first_absence": zh_date(case.day0), "stage": STAGE_ZH[case.stage]},
        "deadline_days": doc.fields.get("deadline_days"),
        "amount": doc.fields.get("amount"),
        "facts": doc.fields.get("facts") or "",
        "basis": basis,
        "persuasions": attempts,
        "plan": {
            "cause": CAUSE_ZH.get(plan.cause.value, plan.cause.value),
            "measures": plan.measures,
            "responsible_person": plan.responsible_person,
        }
        if plan
        else None,
        "served_notice": earlier.get("enrol_notice"),
        "served_order": earlier.get("township_order"),
        "referral": referral,
        "then": what_follows(ladder, doc.kind),
    }
    return render_text(case.district_code, doc.kind, context), basis


def render_text(district_code: str, kind: str, context: dict[str, Any]) -> str:
    """The district's wording of ``kind`` filled in; a missing or empty value fails here."""
    return _template(district_code, kind).render(context).strip()


_AGENCY_ZH = {
    AgencyKind.SCHOOL: "学校",
    AgencyKind.TOWNSHIP: "乡镇（街道）",
    AgencyKind.EDUCATION: "教育部门",
    AgencyKind.VILLAGE: "村（居）委会",
    AgencyKind.POLICE: "公安机关",
    AgencyKind.JUDICIAL: "司法行政部门",
    AgencyKind.CIVIL_AFFAIRS: "民政部门",
}


async def _served_documents(ctx: ServiceContext, case_id: int) -> dict[str, dict[str, str]]:
    """The live documents already on the case, by kind: later documents cite them."""
    rows = (
        await ctx.session.execute(
            select(LegalDocument.kind, LegalDocument.number, LegalDocument.served_on, Agency.name)
            .join(Agency, Agency.id == LegalDocument.issuer_agency_id)
            .where(LegalDocument.case_id == case_id, LegalDocument.status.in_(LIVE))
        )
    ).all()
    return {
        kind: {
            "number": number or "",
            "issuer": issuer,
            "served_on": zh_date(served) if served else "（未送达）",
        }
        for kind, number, served, issuer in rows
    }
