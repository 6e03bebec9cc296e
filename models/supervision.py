"""Supervision (督导检查, LS 9; GH 三(六); ST 10).

The inspectorate inspects a township, a school or an agency and records what it found; each
finding is a rectification the supervised unit owes by a deadline (限期整改, a task in the
unit's queue), which the unit reports done and the inspectorate accepts or returns. The
results go to the government level above as a report (``workflow/supervision.py``).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, StrEnumType, UTCDateTime, utcnow
from models.enums import AgencyKind, RectificationStatus, SupervisionStatus
from models.report import Reviewed


class Supervision(Base):
    __tablename__ = "supervision"
    __table_args__ = (
        Index("ix_supervision_scope", "subject_path",
              postgresql_ops={"subject_path": "varchar_pattern_ops"}),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    district_code: Mapped[str] = mapped_column(ForeignKey("jurisdiction.code"), index=True)
    # The supervised unit: its agency (a township's government, a school, an office), kind
    # and scope path, the supervision's domain (the unit sees its own, the inspectorate all).
    subject_agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"), index=True)
    subject_kind: Mapped[AgencyKind] = mapped_column(StrEnumType(AgencyKind))
    subject_path: Mapped[str] = mapped_column(String(160))
    subject_name: Mapped[str] = mapped_column(String(128))
    title: Mapped[str] = mapped_column(String(200))
    visited_on: Mapped[date] = mapped_column(Date)
    # Who made up the inspection group (督导组), as the inspectorate writes it.
    inspectors: Mapped[str] = mapped_column(String(300))
    summary: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[SupervisionStatus] = mapped_column(
        StrEnumType(SupervisionStatus), default=SupervisionStatus.RECTIFYING
    )
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    recorded_by: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"), default=None)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012


class SupervisionFinding(Reviewed, Base):
    """A problem found, the rectification the unit owes by ``due_on`` and its follow-up; an
    accountability item of the same unit it bears on, when there is one."""

    __tablename__ = "supervision_finding"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    supervision_id: Mapped[int] = mapped_column(ForeignKey("supervision.id"), index=True)
    description: Mapped[str] = mapped_column(Text)
    due_on: Mapped[date] = mapped_column(Date)
    status: Mapped[RectificationStatus] = mapped_column(
        StrEnumType(RectificationStatus), default=RectificationStatus.OPEN
    )
    # The unit's current task for it (a returned rectification gets a new one).
    task_id: Mapped[int | None] = mapped_column(ForeignKey("task.id"), default=None)
    accountability_item_id: Mapped[int | None] = mapped_column(
        ForeignKey("accountability_item.id"), default=None, index=True
    )
    rectification: Mapped[str] = mapped_column(Text, default="")
    reported_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    reported_by: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"), default=None)

    __mapper_args__ = {"version_id_col": Reviewed.version}  # noqa: RUF012
