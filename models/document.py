"""Legal documents (法律文书) and the per-agency, per-year number sequences they draw from.

A document is drafted, then issued (numbered, rendered, its PDF hashed and frozen), then
served; it is never edited after issue, only voided with a reason and reissued under a new
number. The PDF bytes live in the row so that a document and its printable form commit (or
roll back) together.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, deferred, mapped_column

from models.base import Base, JsonDoc, StrEnumType, UTCDateTime, utcnow
from models.enums import AgencyKind, DocumentStatus, ServiceMethod


class LegalDocument(Base):
    __tablename__ = "legal_document"
    __table_args__ = (
        UniqueConstraint("issuer_agency_id", "number_year", "number_seq"),
        Index(
            "ix_legal_document_scope",
            "scope_path",
            postgresql_ops={"scope_path": "varchar_pattern_ops"},
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    case_id: Mapped[int | None] = mapped_column(ForeignKey("dropout_case.id"), index=True)
    # The Casbin domain: the case's path, so whoever may see the case's documents sees these.
    scope_path: Mapped[str] = mapped_column(String(160))
    status: Mapped[DocumentStatus] = mapped_column(
        StrEnumType(DocumentStatus), default=DocumentStatus.DRAFT
    )
    title: Mapped[str] = mapped_column(String(100))
    issuer_agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"), index=True)
    issuer_agency_kind: Mapped[AgencyKind] = mapped_column(StrEnumType(AgencyKind))
    addressee: Mapped[str] = mapped_column(String(200))
    # What the drafter supplied (deadline days, facts, …); the template renders from these.
    fields: Mapped[dict[str, Any]] = mapped_column(JsonDoc, default=dict)
    body: Mapped[str] = mapped_column(Text, default="")
    legal_basis: Mapped[list[dict[str, Any]]] = mapped_column(JsonDoc, default=list)
    number_year: Mapped[int | None] = mapped_column(Integer, default=None)
    number_seq: Mapped[int | None] = mapped_column(Integer, default=None)
    number: Mapped[str | None] = mapped_column(String(64), unique=True, default=None)
    verification_code: Mapped[str | None] = mapped_column(String(16), unique=True, default=None)
    pdf_sha256: Mapped[str | None] = mapped_column(String(64), default=None)
    pdf: Mapped[bytes | None] = deferred(mapped_column(LargeBinary, default=None))
    drafted_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    drafted_by: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"), default=None)
    issued_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    issued_on: Mapped[date | None] = mapped_column(Date, default=None)
    issued_by: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"), default=None)
    served_on: Mapped[date | None] = mapped_column(Date, default=None)
    served_to: Mapped[str | None] = mapped_column(String(200), default=None)
    service_method: Mapped[ServiceMethod | None] = mapped_column(
        StrEnumType(ServiceMethod), default=None
    )
    served_recorded_by: Mapped[int | None] = mapped_column(
        ForeignKey("app_user.id"), default=None
    )
    voided_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    voided_by: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"), default=None)
    void_reason: Mapped[str | None] = mapped_column(Text, default=None)
    replaces_id: Mapped[int | None] = mapped_column(
        ForeignKey("legal_document.id"), index=True, default=None
    )
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012


class DocumentSequence(Base):
    """The last number an agency issued in a year (发文编号).

    Issuing increments the row inside the issuing transaction: the row lock orders concurrent
    issuers, and a rolled-back issue rolls its number back, so numbers stay gapless.
    """

    __tablename__ = "document_sequence"

    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    last_number: Mapped[int] = mapped_column(Integer, default=0)
