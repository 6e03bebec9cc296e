"""Child-labour findings (童工查处记录): a child found working at an employer.

Recorded by police or the inspecting officer. The child is matched to the register by ID
number where possible (then ``child_id`` and, if under 16, ``case_id`` are set); a child with
no ID number, or from outside the county, is recorded with what the officer learnt.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Boolean, Date, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, JsonDoc, StrEnumType, UTCDateTime, path_index, utcnow
from models.enums import AgencyKind, Sex


class LabourFinding(Base):
    __tablename__ = "labour_finding"
    __table_args__ = (
        # A retrying client sends the same key: the second request finds the first finding.
        UniqueConstraint("recorded_by", "idempotency_key"),
        path_index("ix_labour_finding_scope", "scope_path"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    inspection_id: Mapped[int | None] = mapped_column(
        ForeignKey("inspection.id"), index=True, default=None
    )
    employer_id: Mapped[int] = mapped_column(ForeignKey("employer.id"), index=True)
    # The employer's path: the agencies of the place where the child was working see it.
    scope_path: Mapped[str] = mapped_column(String(160))
    found_on: Mapped[date] = mapped_column(Date)
    child_id: Mapped[int | None] = mapped_column(ForeignKey("child.id"), index=True)
    case_id: Mapped[int | None] = mapped_column(
        ForeignKey("dropout_case.id"), index=True, default=None
    )
    # What the officer recorded; for a matched child the register's values win on display.
    child_name: Mapped[str] = mapped_column(String(64))
    national_id: Mapped[str | None] = mapped_column(String(18), default=None)
    sex: Mapped[Sex | None] = mapped_column(StrEnumType(Sex), default=None)
    birth_date: Mapped[date | None] = mapped_column(Date, default=None)
    age_at_finding: Mapped[int] = mapped_column(Integer)
    under_16: Mapped[bool] = mapped_column(Boolean)
    employed_since: Mapped[date | None] = mapped_column(Date, default=None)
    work: Mapped[str] = mapped_column(String(200))
    hours_per_day: Mapped[int | None] = mapped_column(Integer, default=None)
    conditions: Mapped[str] = mapped_column(Text, default="")
    hazardous: Mapped[bool] = mapped_column(Boolean, default=False)
    # Metadata of photos, statements and records (the bytes live in the document store).
    evidence: Mapped[list[dict[str, Any]]] = mapped_column(JsonDoc, default=list)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    recorded_by: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    recorded_agency_kind: Mapped[AgencyKind | None] = mapped_column(StrEnumType(AgencyKind))
    idempotency_key: Mapped[str] = mapped_column(String(64))
    # SHA-256 of the request: the same key with a different finding is refused, not merged.
    request_hash: Mapped[str] = mapped_column(String(64))
