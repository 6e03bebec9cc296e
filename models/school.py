"""Schools and the pupil register (学籍)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Boolean, Date, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, JsonDoc, StrEnumType, UTCDateTime, utcnow
from models.enums import EnrolmentStatus, SchoolKind
from models.reference import Agency


class School(Base):
    """A school; its staff are members of the school's agency row (kind ``school``)."""

    __tablename__ = "school"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"), unique=True)
    name: Mapped[str] = mapped_column(String(128))
    kind: Mapped[SchoolKind] = mapped_column(StrEnumType(SchoolKind))
    township_code: Mapped[str] = mapped_column(ForeignKey("jurisdiction.code"), index=True)
    grade_from: Mapped[int] = mapped_column(Integer)
    grade_to: Mapped[int] = mapped_column(Integer)
    # A teaching point (教学点) belongs to its central school.
    parent_school_id: Mapped[int | None] = mapped_column(ForeignKey("school.id"), default=None)
    address: Mapped[str] = mapped_column(String(200), server_default="", default="")

    agency: Mapped[Agency] = relationship(lazy="raise")


class Enrolment(Base):
    """A child's current register entry. A dropout mark keeps it (SPT 7); it is never deleted."""

    __tablename__ = "enrolment"
    # A school's pupils on the register come from the index alone (migration 0020): coverage,
    # the census, the ledgers and the statistics ask for them by school and status.
    __table_args__ = (
        Index("ix_enrolment_school_status_child", "school_id", "status", "child_id"),
        # The ledgers probe each child's entry for its status: index-only (migration 0026).
        Index("ix_enrolment_child_status", "child_id", "status"),
        # The entries of one status (dropped out) as one range, hash-joined to the children a
        # ledger gathers (migration 0027).
        Index("ix_enrolment_status_child", "status", "child_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    child_id: Mapped[int] = mapped_column(ForeignKey("child.id"), unique=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("school.id"))
    grade: Mapped[int] = mapped_column(Integer)
    class_no: Mapped[int] = mapped_column(Integer, default=1)
    status: Mapped[EnrolmentStatus] = mapped_column(
        StrEnumType(EnrolmentStatus), default=EnrolmentStatus.ENROLLED
    )
    status_since: Mapped[date] = mapped_column(Date)
    # The first day of the child's compulsory schooling on this register, carried along on
    # transfers: the graduation check counts the years from it (LS 10(5)).
    started_on: Mapped[date | None] = mapped_column(Date, default=None)
    # A junior-school pupil who went to a vocational school in the spring of the last year
    # (ST 6): the junior school keeps following the child.
    spring_entrant: Mapped[bool] = mapped_column(Boolean, server_default="0", default=False)
    previous_school_id: Mapped[int | None] = mapped_column(ForeignKey("school.id"), default=None)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class RegisterEvent(Base):
    """A dated change of a child's register history: a status change of the entry (enrolled,
    dropout mark, return, transfer…) or a change of the register data (the child's details,
    guardians, a deferral), told by ``kind`` and ``detail``."""

    __tablename__ = "register_event"
    # A child's events by day: the statistics look up the one nearest to a date per child
    # (workflow/stats.py, issue 16); every other lookup by child uses it too (migration 0025).
    __table_args__ = (Index("ix_register_event_child_day", "child_id", "on_date", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    child_id: Mapped[int] = mapped_column(ForeignKey("child.id"))
    school_id: Mapped[int | None] = mapped_column(ForeignKey("school.id"))
    on_date: Mapped[date] = mapped_column(Date)
    from_status: Mapped[EnrolmentStatus | None] = mapped_column(StrEnumType(EnrolmentStatus))
    to_status: Mapped[EnrolmentStatus | None] = mapped_column(StrEnumType(EnrolmentStatus))
    reason: Mapped[str] = mapped_column(String(200), default="")
    kind: Mapped[str] = mapped_column(String(48), server_default="status", default="status")
    detail: Mapped[dict[str, Any]] = mapped_column(JsonDoc, default=dict)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    recorded_by: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"), default=None)
