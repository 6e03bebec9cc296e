"""Document numbers (文号, one sequence per issuing agency and year) and verification codes
(printed on every document, checked by ``verify``).
"""

from __future__ import annotations

import secrets
import unicodedata
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite

from authz.roles import PUBLIC
from models.document import DocumentSequence, LegalDocument
from models.enums import (
    DocumentStatus,
)
from models.reference import Agency
from workflow.context import ServiceContext
from workflow.document.kinds import KindConfig

# Crockford's alphabet: no I, L, O, U, so a code read over the phone is not misheard.
CODE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


# ... and, as Crockford decodes, the left-out letters typed by mistake read as the digits they
# look like (U stays out: it resembles V only in some hands and is simply not a code letter).
_LOOKALIKES = str.maketrans({"O": "0", "I": "1", "L": "1"})


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


@dataclass(frozen=True)
class PublicVerification:
    """What the public page (``/verify``, no account) tells anyone holding a code: whether it
    belongs to a document issued here and still in force, and the document's own public
    face (issuer, number, kind, date). Never the addressee or anything about the child."""

    status: str  # "genuine", "voided" or "unknown"
    number: str | None = None
    title: str | None = None
    issuer: str | None = None
    issued_on: date | None = None


async def _by_code(ctx: ServiceContext, code: str) -> tuple[LegalDocument, dict[str, Any]] | None:
    """The document with this code as typed, and its public face; None if none has it."""
    normalised = normalise_code(code)
    found = (
        await ctx.session.execute(
            select(LegalDocument, Agency.name)
            .join(Agency, Agency.id == LegalDocument.issuer_agency_id)
            .where(LegalDocument.verification_code == normalised)
        )
    ).one_or_none() if normalised else None
    if found is None:
        return None
    doc, issuer = found
    face = {"number": doc.number, "title": doc.title, "issuer": issuer, "issued_on": doc.issued_on}
    return doc, face


async def verify(ctx: ServiceContext, code: str, sha256: str | None = None) -> Verification:
    ctx.authz.require(ctx.principal, "document", "verify", ctx.principal.agency_scope or "*")
    found = await _by_code(ctx, code)
    if found is None:
        return Verification(genuine=False)
    doc, face = found
    matches = None if sha256 is None else sha256.strip().lower() == doc.pdf_sha256
    return Verification(True, **face, status=doc.status, void_reason=doc.void_reason,
                        pdf_sha256=doc.pdf_sha256, hash_matches=matches)


async def verify_public(ctx: ServiceContext, code: str) -> PublicVerification:
    """The public check of a printed code (hyphens, spaces, any case: ``normalise_code``)."""
    found = await _by_code(ctx, code)
    if found is None or not ctx.authz.role_allowed(
        PUBLIC, "document", "verify_public", found[0].scope_path
    ):
        return PublicVerification("unknown")
    doc, face = found
    voided = doc.status is DocumentStatus.VOIDED
    return PublicVerification("voided" if voided else "genuine", **face)


async def assign_number(
    ctx: ServiceContext, doc: LegalDocument, cfg: KindConfig, today: date
) -> Agency:
    """Give the document its agency's next number this year and a verification code."""
    agency = await ctx.session.get_one(Agency, doc.issuer_agency_id)
    seq = await next_number(ctx, doc.issuer_agency_id, today.year)
    doc.number_year, doc.number_seq = today.year, seq
    doc.number = f"{agency.short_name or agency.name}{cfg.number_word}〔{today.year}〕{seq}号"
    doc.verification_code = _new_code()
    return agency


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


def format_code(code: str) -> str:
    """The code as printed and shown: groups of four, ``WF6K-XNHV-8A9Q``."""
    return "-".join(code[i : i + 4] for i in range(0, len(code), 4))


def printed_code(code: str | None) -> str | None:
    return None if code is None else format_code(code)


def normalise_code(text: str) -> str:
    """A code as someone typed it, read back to the stored form; every verification path
    goes through here. What is printed (``WF6K-XNHV-8A9Q``) must verify, and so must what a
    reader types from it: separators of any kind (hyphens, dashes, spaces, dots), either case,
    full-width characters from a Chinese input method (NFKC), and the look-alike letters the
    alphabet leaves out (O for 0, I and L for 1)."""
    folded = unicodedata.normalize("NFKC", text).upper()
    return "".join(ch for ch in folded if ch.isascii() and ch.isalnum()).translate(_LOOKALIKES)
