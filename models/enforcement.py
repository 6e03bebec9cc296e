"""Enforcement against an employer of children (禁止使用童工规定 arts. 6, 9).

A return order (责令限期送回), a fine, a licence revocation: each is issued as a numbered
legal document and then has a state of its own (served, complied, overdue, paid). The findings
it covers are listed in ``enforcement_finding``: one order may name several children.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Boolean, Date, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, JsonDoc, StrEnumType, UTCDateTime, Versioned, path_index, utcnow
from models.enums import AgencyKind, EnforcementKind, EnforcementStatus


class EnforcementAction(Versioned, Base):
    __tablename__ = "enforcement_action"
    __table_args__ = (
        path_index("ix_enforcement_action_scope", "scope_path"),
        # The scheduler's question: served return orders whose deadline has passed.
        Index("ix_enforcement_action_due", "status", "due_on"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[EnforcementKind] = mapped_column(StrEnumType(EnforcementKind))
    status: Mapped[EnforcementStatus] = mapped_column(StrEnumType(EnforcementStatus))
    employer_id: Mapped[int] = mapped_column(ForeignKey("employer.id"), index=True)
    inspection_id: Mapped[int | None] = mapped_column(
        ForeignKey("inspection.id"), index=True, default=None
    )
    scope_path: Mapped[str] = mapped_column(String(160))
    district_code: Mapped[str] = mapped_column(ForeignKey("jurisdiction.code"))
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"))
    agency_kind: Mapped[AgencyKind] = mapped_column(StrEnumType(AgencyKind))
    document_id: Mapped[int] = mapped_column(ForeignKey("legal_document.id"), unique=True)
    deadline_days: Mapped[int | None] = mapped_column(Integer, default=None)
    served_on: Mapped[date | None] = mapped_column(Date, default=None)
    due_on: Mapped[date | None] = mapped_column(Date, default=None)
    complied_on: Mapped[date | None] = mapped_column(Date, default=None)
    compliance_note: Mapped[str] = mapped_column(Text, default="")
    amount: Mapped[int | None] = mapped_column(Integer, default=None)
    # How the amount was reached, per child: rate, months, escalation, repeat offence.
    calculation: Mapped[dict[str, Any]] = mapped_column(JsonDoc, default=dict)
    escalated: Mapped[bool] = mapped_column(Boolean, default=False)
    paid_on: Mapped[date | None] = mapped_column(Date, default=None)
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    issued_by: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"), default=None)


class EnforcementFinding(Base):
    __tablename__ = "enforcement_finding"

    action_id: Mapped[int] = mapped_column(ForeignKey("enforcement_action.id"), primary_key=True)
    finding_id: Mapped[int] = mapped_column(
        ForeignKey("labour_finding.id"), primary_key=True, index=True
    )
