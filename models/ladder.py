"""Escalation ladders as data: per district, versioned, each step citing its legal basis.

A case keeps the ladder version that was in force when it opened (``dropout_case.ladder_id``),
so a district changing its ladder later never moves the goalposts of a running case.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, StrEnumType, UTCDateTime, utcnow
from models.enums import AgencyKind, CalendarDayKind, CaseStage, DayKind, StepEntry


class Ladder(Base):
    __tablename__ = "ladder"
    __table_args__ = (UniqueConstraint("jurisdiction_code", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    jurisdiction_code: Mapped[str] = mapped_column(ForeignKey("jurisdiction.code"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    code: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(128))
    description: Mapped[str] = mapped_column(Text, default="")
    based_on: Mapped[str | None] = mapped_column(String(32), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"), default=None)

    steps: Mapped[list[LadderStep]] = relationship(
        lazy="raise", order_by="LadderStep.position", cascade="all, delete-orphan"
    )


class LadderStep(Base):
    __tablename__ = "ladder_step"
    __table_args__ = (UniqueConstraint("ladder_id", "position"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ladder_id: Mapped[int] = mapped_column(ForeignKey("ladder.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    code: Mapped[str] = mapped_column(String(48))
    stage: Mapped[CaseStage] = mapped_column(StrEnumType(CaseStage))
    entry: Mapped[StepEntry] = mapped_column(StrEnumType(StepEntry))
    # "day0", "previous", or "served:<document kind>"
    anchor: Mapped[str] = mapped_column(String(48))
    offset_days: Mapped[int] = mapped_column(Integer, default=0)
    day_kind: Mapped[DayKind] = mapped_column(StrEnumType(DayKind), default=DayKind.CALENDAR)
    document_kind: Mapped[str | None] = mapped_column(String(32), default=None)
    basis_key: Mapped[str] = mapped_column(String(8))
    basis_article: Mapped[str] = mapped_column(String(32))
    basis_quote: Mapped[str] = mapped_column(Text, default="")

    tasks: Mapped[list[LadderTask]] = relationship(
        lazy="raise", order_by="LadderTask.id", cascade="all, delete-orphan"
    )


class LadderTask(Base):
    """A task a step creates for one agency, due ``due_days`` after the step is entered."""

    __tablename__ = "ladder_task"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    step_id: Mapped[int] = mapped_column(ForeignKey("ladder_step.id"), index=True)
    agency_kind: Mapped[AgencyKind] = mapped_column(StrEnumType(AgencyKind))
    kind: Mapped[str] = mapped_column(String(48))
    title: Mapped[str] = mapped_column(String(200))
    due_days: Mapped[int] = mapped_column(Integer, default=1)


class _CalendarPeriod:
    """A named stretch of a district's school calendar, first and last day included."""

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    jurisdiction_code: Mapped[str] = mapped_column(ForeignKey("jurisdiction.code"), index=True)
    name: Mapped[str] = mapped_column(String(64))
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)


class SchoolTerm(_CalendarPeriod, Base):
    """A term of a district's school calendar: school days are term weekdays not on holiday."""

    __tablename__ = "school_term"


class SchoolHoliday(_CalendarPeriod, Base):
    """A holiday period of a district's school calendar (no school days in it)."""

    __tablename__ = "school_holiday"


class NationalCalendarDay(Base):
    """The State Council's holiday schedule, one row per day that differs from the plain
    week: a public-holiday day off, or a make-up working day (调休补班) on a weekend. Seeded
    on every ``lianbao migrate`` from the maintained ``chinese-calendar`` package (its
    version is in ``source``), never typed in by hand."""

    __tablename__ = "national_calendar_day"

    on_date: Mapped[date] = mapped_column(Date, primary_key=True)
    kind: Mapped[CalendarDayKind] = mapped_column(StrEnumType(CalendarDayKind))
    name: Mapped[str] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(String(64))


class SchoolCalendarDay(Base):
    """A district's own day: a local holiday, or an extra school day. It overrides the
    national schedule for that date in the district and the jurisdictions below it."""

    __tablename__ = "school_calendar_day"

    jurisdiction_code: Mapped[str] = mapped_column(
        ForeignKey("jurisdiction.code"), primary_key=True
    )
    on_date: Mapped[date] = mapped_column(Date, primary_key=True)
    kind: Mapped[CalendarDayKind] = mapped_column(StrEnumType(CalendarDayKind))
    name: Mapped[str] = mapped_column(String(64))
