"""Child-labour inspections (劳动保障监察) and the campaigns (专项检查) that group them.

Human resources leads; police, market supervision, civil affairs and the township join
(SPT 6(8), GH 二(六)(七), ST 8). An inspection visits employers; what it finds is in
``models/finding.py``.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, StrEnumType, UTCDateTime, Versioned, path_index, utcnow
from models.enums import AgencyKind, InspectionKind, InspectionStatus


class Campaign(Base):
    """专项检查: a named drive over a period (e.g. the summer-holiday child-labour campaign)."""

    __tablename__ = "inspection_campaign"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    district_code: Mapped[str] = mapped_column(ForeignKey("jurisdiction.code"))
    scope_path: Mapped[str] = mapped_column(String(160))
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)
    lead_agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"), default=None)


class Inspection(Versioned, Base):
    __tablename__ = "inspection"
    __table_args__ = (
        path_index("ix_inspection_scope", "scope_path", "planned_on"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    campaign_id: Mapped[int | None] = mapped_column(
        ForeignKey("inspection_campaign.id"), index=True, default=None
    )
    kind: Mapped[InspectionKind] = mapped_column(StrEnumType(InspectionKind))
    status: Mapped[InspectionStatus] = mapped_column(
        StrEnumType(InspectionStatus), default=InspectionStatus.PLANNED
    )
    title: Mapped[str] = mapped_column(String(200))
    lead_agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"))
    district_code: Mapped[str] = mapped_column(ForeignKey("jurisdiction.code"))
    # The district's path, or a township's when the inspection stays in one township.
    scope_path: Mapped[str] = mapped_column(String(160))
    planned_on: Mapped[date] = mapped_column(Date)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    summary: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"), default=None)


class InspectionParticipant(Base):
    """An agency (and, where named, its officer) taking part in an inspection."""

    __tablename__ = "inspection_participant"
    __table_args__ = (UniqueConstraint("inspection_id", "agency_id", "officer_name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    inspection_id: Mapped[int] = mapped_column(ForeignKey("inspection.id"), index=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"))
    agency_kind: Mapped[AgencyKind] = mapped_column(StrEnumType(AgencyKind))
    officer_name: Mapped[str] = mapped_column(String(64), default="")


class InspectionVisit(Base):
    """An employer on the inspection's list; ``visited_on`` once the team has been there."""

    __tablename__ = "inspection_visit"
    __table_args__ = (UniqueConstraint("inspection_id", "employer_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    inspection_id: Mapped[int] = mapped_column(ForeignKey("inspection.id"))
    employer_id: Mapped[int] = mapped_column(ForeignKey("employer.id"), index=True)
    visited_on: Mapped[date | None] = mapped_column(Date, default=None)
    note: Mapped[str] = mapped_column(Text, default="")
