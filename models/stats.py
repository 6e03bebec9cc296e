"""The statistics' facts kept on write (issue 16, docs/statistics.md "How the figures are
kept"): a row of facts per child for the current school year, the children touched since
those rows were last brought up to date, and which year and day they were built for.

``stat_dirty`` is filled by database triggers (migration 0022) on every table the facts
read, in the writer's own transaction, so every writer (the register work, the cases, the
set-based imports) keeps it without knowing of it. A figure for today is the facts of the
clean children plus the dirty children's facts computed live: exact the moment a write
commits. ``workflow/stats_tally.py`` folds the dirty children in and rebuilds.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, Integer, SmallInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, UTCDateTime, path_index


class StatChild(Base):
    """One child's facts as of the day of the last fold, for the school year in
    ``stat_state``: the columns the breakdowns and the policy filter read, and a 0/1 flag per
    measure. School age is not a flag (it moves with the date); it is computed from the
    birth date at query time."""

    __tablename__ = "stat_child"
    __table_args__ = (
        path_index("ix_stat_child_scope", "scope_path"),
        path_index("ix_stat_child_residence", "residence_path"),
    )

    child_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    scope_path: Mapped[str] = mapped_column(String(160))
    residence_path: Mapped[str] = mapped_column(String(160))
    township_code: Mapped[str] = mapped_column(String(12))
    school_id: Mapped[int | None] = mapped_column(Integer)
    grade: Mapped[int | None] = mapped_column(Integer)
    birth_date: Mapped[date] = mapped_column(Date)
    enrolled: Mapped[int] = mapped_column(SmallInteger)
    deferred_or_exempt: Mapped[int] = mapped_column(SmallInteger)
    suspected: Mapped[int] = mapped_column(SmallInteger)
    confirmed_dropout: Mapped[int] = mapped_column(SmallInteger)
    returned: Mapped[int] = mapped_column(SmallInteger)
    base: Mapped[int] = mapped_column(SmallInteger)
    lost: Mapped[int] = mapped_column(SmallInteger)
    retained: Mapped[int] = mapped_column(SmallInteger)


class StatDirty(Base):
    """A child whose facts changed since its ``stat_child`` row was computed (or that has a
    row dated after that day). ``n`` counts the touches: a fold deletes a row only if ``n``
    is still what it read, so a write committing during the fold keeps its child dirty."""

    __tablename__ = "stat_dirty"

    child_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    n: Mapped[int] = mapped_column(Integer, default=0)


class StatState(Base):
    """Which school year (its first day) and which day the facts were last brought up to;
    one row (id 1), absent until the first build: the figures are then all live."""

    __tablename__ = "stat_state"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    period_start: Mapped[date] = mapped_column(Date)
    as_of: Mapped[date] = mapped_column(Date)
    built_at: Mapped[datetime] = mapped_column(UTCDateTime())
