"""The statistics' facts kept on write (issue 16, docs/statistics.md "How the figures are
kept"): a row of facts per child for the current school year, the children touched since
those rows were last brought up to date, and which year and day they were built for.

``stat_tally`` sums the rows of ``stat_child`` by what the breakdowns and the policy filter
read (migration 0024), kept by the same fold and rebuild in the same transaction, so a
table for today sums a few hundred (a province: tens of thousands) rows instead of reading
every child's.

``stat_dirty`` is filled by database triggers (migration 0022) on every table the facts
read, in the writer's own transaction, so every writer (the register work, the cases, the
set-based imports) keeps it without knowing of it. A figure for today is the facts of the
clean children plus the dirty children's facts computed live: exact the moment a write
commits. ``workflow/stats_tally.py`` folds the dirty children in and rebuilds.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, Index, Integer, SmallInteger, String, text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, UTCDateTime, path_index

# The flags of the measures kept per child (all but school age), in column order.
FLAGS = ("enrolled", "deferred_or_exempt", "suspected", "confirmed_dropout", "returned", "base",
         "lost", "retained")
# The flags few children carry: each has a partial index (its children in path order), so a
# drill-down page reads the district's flagged rows only. The others (enrolled, on the base,
# retained) hold nearly every child of a place: ``ix_stat_child_scope`` serves them.
RARE_FLAGS = ("deferred_or_exempt", "suspected", "confirmed_dropout", "returned", "lost")
# ``stat_tally``'s school and grade of a child with no register entry (its key columns are
# its primary key, so they cannot be NULL): read back as no school, no grade.
NO_ENTRY = -1


def flag_index(flag: str) -> Index:
    """The children carrying ``flag``, in path order then id: a drill-down's candidates."""
    return Index(f"ix_stat_child_{flag}", "scope_path", "child_id",
                 postgresql_ops={"scope_path": "varchar_pattern_ops"},
                 postgresql_where=text(f"{flag} = 1"), sqlite_where=text(f"{flag} = 1"))


class StatChild(Base):
    """One child's facts as of the day of the last fold, for the school year in
    ``stat_state``: the columns the breakdowns and the policy filter read, and a 0/1 flag per
    measure. School age is not a flag (it moves with the date); it is computed from the
    birth date at query time."""

    __tablename__ = "stat_child"
    __table_args__ = (
        path_index("ix_stat_child_scope", "scope_path"),
        path_index("ix_stat_child_residence", "residence_path"),
        # the children born in a month where the school-age cut falls (stat_tally keeps
        # months): the over- and under-age, few on a real register
        Index("ix_stat_child_birth", "birth_date"),
        *(flag_index(flag) for flag in RARE_FLAGS),
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


class StatTally(Base):
    """``stat_child`` summed: the children per (school domain, residence domain, township,
    school, grade, month of birth) and, per measure, how many of them carry its flag. Kept
    by the fold (the dirty children's old rows subtracted, their new ones added) and the
    rebuild, in the transaction that changes ``stat_child``; a group without children is
    deleted. School age is summed at query time from the birth months wholly inside the age
    range; the children of the two months the cut falls in are read from ``stat_child``."""

    __tablename__ = "stat_tally"
    __table_args__ = (path_index("ix_stat_tally_scope", "scope_path"),)

    scope_path: Mapped[str] = mapped_column(String(160), primary_key=True)
    residence_path: Mapped[str] = mapped_column(String(160), primary_key=True)
    township_code: Mapped[str] = mapped_column(String(12), primary_key=True)
    school_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    grade: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    birth_month: Mapped[date] = mapped_column(Date, primary_key=True)
    n: Mapped[int] = mapped_column(Integer)
    enrolled: Mapped[int] = mapped_column(Integer)
    deferred_or_exempt: Mapped[int] = mapped_column(Integer)
    suspected: Mapped[int] = mapped_column(Integer)
    confirmed_dropout: Mapped[int] = mapped_column(Integer)
    returned: Mapped[int] = mapped_column(Integer)
    base: Mapped[int] = mapped_column(Integer)
    lost: Mapped[int] = mapped_column(Integer)
    retained: Mapped[int] = mapped_column(Integer)


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
