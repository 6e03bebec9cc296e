"""Periodic reports (定期报告, the national 四个一 reporting; GH 三(二); ST 1, 2).

A report is a row per reporting unit, kind and period. Its figures are drafted from the
data and frozen in ``figures`` when the unit submits it, so what was reported in March is
what the row shows in June (the snapshot), whatever changed since.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, JsonDoc, StrEnumType, UTCDateTime, utcnow
from models.enums import AgencyKind, ReportStatus


def once_per_period(table: str, *columns: str, path: str) -> tuple[Any, ...]:
    """A row per ``columns`` (the scheduled job that writes them may run twice, or in two
    processes at once), and the prefix index on the row's domain the policy filters by."""
    return (
        UniqueConstraint(*columns, name=f"uq_{table}_period"),
        Index(f"ix_{table}_scope", path, postgresql_ops={path: "varchar_pattern_ops"}),
    )


class Reviewed:
    """Who reviewed a row (the level above, the inspectorate), when, with what note; and the
    optimistic version a reviewer sends back."""

    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    reviewed_by: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"), default=None)
    review_note: Mapped[str] = mapped_column(Text, default="")
    version: Mapped[int] = mapped_column(Integer, default=1)


class PeriodicReport(Reviewed, Base):
    __tablename__ = "periodic_report"
    __table_args__ = once_per_period("periodic_report", "kind", "unit_path", "period_start",
                                     path="unit_path")

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # The kind's code in reference_data/periodic_reports.json (school_monthly, …).
    kind: Mapped[str] = mapped_column(String(48))
    district_code: Mapped[str] = mapped_column(ForeignKey("jurisdiction.code"), index=True)
    # The reporting unit: its kind and its scope path (a school's, or the district's).
    unit_kind: Mapped[AgencyKind] = mapped_column(StrEnumType(AgencyKind))
    unit_path: Mapped[str] = mapped_column(String(160))
    unit_name: Mapped[str] = mapped_column(String(128))
    school_id: Mapped[int | None] = mapped_column(ForeignKey("school.id"), default=None)
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date)
    due_on: Mapped[date] = mapped_column(Date)
    status: Mapped[ReportStatus] = mapped_column(
        StrEnumType(ReportStatus), default=ReportStatus.DRAFT
    )
    # The figures as drafted (refreshed until submission) and then as submitted.
    figures: Mapped[dict[str, Any]] = mapped_column(JsonDoc, default=dict)
    drafted_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    task_id: Mapped[int | None] = mapped_column(ForeignKey("task.id"), default=None)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    submitted_by: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"), default=None)

    __mapper_args__ = {"version_id_col": Reviewed.version}  # noqa: RUF012
