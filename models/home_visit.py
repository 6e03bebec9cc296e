"""Prevention the rules make routine: teachers' home visits (家访, ST 5) with each school's
coverage check per term, and the special-needs census within two weeks of each term
(特殊需要学生情况普查, ST 7).

A term is stored by its dates and name, not by a key of ``school_term``: a district's
calendar is replaced as a whole (``workflow/school_calendar.replace``), so its rows come and
go, while a check or a census of a past term must stay as it was.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, UTCDateTime, path_index, utcnow


class HomeVisit(Base):
    """A home visit (家访) a school's teacher made to a pupil's family, recorded outside any
    case: ST 5 asks for one per pupil each semester, more for special groups."""

    __tablename__ = "home_visit"
    __table_args__ = (
        path_index("ix_home_visit_scope", "scope_path"),
        # Coverage counts a term's visits per child; the list pages a school's by date.
        Index("ix_home_visit_child_date", "child_id", "visited_on"),
        Index("ix_home_visit_school_date", "school_id", "visited_on"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    child_id: Mapped[int] = mapped_column(ForeignKey("child.id"))
    school_id: Mapped[int] = mapped_column(ForeignKey("school.id"))
    # The school's scope path when the visit was recorded: the school, its township and the
    # bureau above read it there, whichever school the child attends later.
    scope_path: Mapped[str] = mapped_column(String(160))
    visited_on: Mapped[date] = mapped_column(Date)
    visitors: Mapped[str] = mapped_column(String(200))
    met: Mapped[str] = mapped_column(String(200))
    findings: Mapped[str] = mapped_column(Text)
    follow_up_needed: Mapped[bool] = mapped_column(Boolean, default=False)
    follow_up: Mapped[str] = mapped_column(Text, default="")
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    recorded_by: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"), default=None)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012


class HomeVisitCheck(Base):
    """A school found below its home-visit minimums at the term's check point: how many of
    its pupils lacked visits, and the school's task, closed when coverage is reached (one row
    per school and term, so a second pass or another process makes no second task)."""

    __tablename__ = "home_visit_check"
    __table_args__ = (UniqueConstraint("school_id", "term_start"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("school.id"))
    district_code: Mapped[str] = mapped_column(ForeignKey("jurisdiction.code"), index=True)
    scope_path: Mapped[str] = mapped_column(String(160))
    term_name: Mapped[str] = mapped_column(String(64))
    term_start: Mapped[date] = mapped_column(Date)
    term_end: Mapped[date] = mapped_column(Date)
    pupils: Mapped[int] = mapped_column(Integer)
    short: Mapped[int] = mapped_column(Integer)
    task_id: Mapped[int | None] = mapped_column(ForeignKey("task.id"), default=None)
    checked_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    covered_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)


class SpecialNeedsCensus(Base):
    """A school's census of its special-needs pupils for one term (ST 7: 每学期开学两周内),
    opened with a task by the scheduled job, submitted by the school."""

    __tablename__ = "special_needs_census"
    __table_args__ = (
        UniqueConstraint("school_id", "term_start"),
        path_index("ix_special_needs_census_scope", "scope_path"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("school.id"))
    district_code: Mapped[str] = mapped_column(ForeignKey("jurisdiction.code"), index=True)
    scope_path: Mapped[str] = mapped_column(String(160))
    term_name: Mapped[str] = mapped_column(String(64))
    term_start: Mapped[date] = mapped_column(Date)
    due_on: Mapped[date] = mapped_column(Date)
    task_id: Mapped[int | None] = mapped_column(ForeignKey("task.id"), default=None)
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    submitted_by: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"), default=None)
    note: Mapped[str] = mapped_column(Text, default="")
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012


class CensusEntry(Base):
    """A pupil the school counted in one census category (a category per ST 7, as data)."""

    __tablename__ = "special_needs_census_entry"

    census_id: Mapped[int] = mapped_column(
        ForeignKey("special_needs_census.id"), primary_key=True
    )
    category: Mapped[str] = mapped_column(String(48), primary_key=True)
    child_id: Mapped[int] = mapped_column(ForeignKey("child.id"), primary_key=True)
