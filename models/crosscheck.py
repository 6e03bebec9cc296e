"""The three comparisons (四查三比对) and their verification (铁脚板摸排): a run of the job per
district and as-of date, and the findings it keeps.

A finding is one person one comparison disagrees about, kept across runs: its key is
(district, kind, person), so a rerun finds the row it made before and only moves its
``last_seen``. ``fingerprint`` is a hash of the data the finding was made from; a resolved
finding is reopened only when that changes. The verification task is linked from here
(``task_id``): the ``task`` table is not altered.
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, JsonDoc, StrEnumType, UTCDateTime, path_index, utcnow


class FindingKind(enum.StrEnum):
    """Which comparison found the person."""

    UNREGISTERED = "unregistered"  # 适龄未入学/失学: household register, no school register
    NOT_AT_SCHOOL = "not_at_school"  # 名在人不在: on a register, not at school
    POVERTY_DROPOUT = "poverty_dropout"  # a dropout of a poor or monitored household


class FindingStatus(enum.StrEnum):
    OPEN = "open"
    RESOLVED = "resolved"  # the verification said what became of the child
    CLEARED = "cleared"  # a later run no longer finds the disagreement (the data changed)


class VerificationOutcome(enum.StrEnum):
    """What the door-to-door check found (铁脚板摸排)."""

    ENROLLED = "enrolled"
    ELSEWHERE = "elsewhere"
    DEFERRED = "deferred"
    MOVED_AWAY = "moved_away"
    DECEASED = "deceased"
    NOT_FOUND = "not_found"
    DROPOUT_CONFIRMED = "dropout_confirmed"


class CrosscheckRun(Base):
    """One run of the comparisons for one district as of a date: what started it and what
    it counted (per comparison, per matching rule, special groups × schooling status)."""

    __tablename__ = "crosscheck_run"
    __table_args__ = (
        Index("ix_crosscheck_run_district", "district_code", "as_of"),
        path_index("ix_crosscheck_run_scope", "scope_path"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    district_code: Mapped[str] = mapped_column(ForeignKey("jurisdiction.code"))
    scope_path: Mapped[str] = mapped_column(String(160))  # the district's path
    as_of: Mapped[date] = mapped_column(Date)
    # api, cli or schedule; the user when a person started it.
    trigger: Mapped[str] = mapped_column(String(16))
    started_by: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"), default=None)
    counts: Mapped[dict[str, Any]] = mapped_column(JsonDoc, default=dict)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    # The rules' hash and the PostgreSQL snapshot the run read its inputs from: a rerun with
    # the same rules and as-of date whose inputs no transaction changed since is skipped
    # (``workflow/crosscheck/inputs.py``). None on SQLite and before migration 0023.
    input_stamp: Mapped[str | None] = mapped_column(Text, default=None)


class CrosscheckInputChange(Base):
    """A transaction that wrote a table the comparisons read (PostgreSQL: a statement
    trigger per input table, migration 0023; the comparison job's own writes stay out)."""

    __tablename__ = "crosscheck_input_change"

    xid: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)


class CrosscheckFinding(Base):
    """A person a comparison disagrees about, with the identity the lists gave, where the
    child lives (``scope_path``: the township's path, the domain whose staff check it), and
    what the verification found."""

    __tablename__ = "crosscheck_finding"
    __table_args__ = (
        UniqueConstraint("district_code", "kind", "person_key"),
        Index("ix_crosscheck_finding_status", "district_code", "status", "kind"),
        path_index("ix_crosscheck_finding_scope", "scope_path", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    district_code: Mapped[str] = mapped_column(ForeignKey("jurisdiction.code"))
    scope_path: Mapped[str] = mapped_column(String(160))
    township_code: Mapped[str | None] = mapped_column(String(12), default=None)
    kind: Mapped[FindingKind] = mapped_column(StrEnumType(FindingKind))
    # The national ID number, else the normalised name|birth date|guardian (base_record's key).
    person_key: Mapped[str] = mapped_column(String(160))
    child_id: Mapped[int | None] = mapped_column(ForeignKey("child.id"), index=True, default=None)
    base_record_id: Mapped[int | None] = mapped_column(
        ForeignKey("base_record.id"), index=True, default=None
    )
    school_id: Mapped[int | None] = mapped_column(ForeignKey("school.id"), default=None)
    # The identity as the lists gave it when found (a snapshot: the lists change).
    name: Mapped[str] = mapped_column(String(64))
    national_id: Mapped[str | None] = mapped_column(String(18), default=None)
    birth_date: Mapped[date | None] = mapped_column(Date, default=None)
    household_no: Mapped[str | None] = mapped_column(String(32), default=None)
    # Poverty or monitored household (the poverty office's rows) and the special groups.
    poverty: Mapped[bool] = mapped_column(Boolean, default=False)
    priority: Mapped[bool] = mapped_column(Boolean, default=False)
    groups: Mapped[list[str]] = mapped_column(JsonDoc, default=list)
    # Children on the register who may be this person (same normalised name and birth date,
    # the guardian differs or several fit): offered to the verifier, never merged.
    candidate_child_ids: Mapped[list[int]] = mapped_column(JsonDoc, default=list)
    # Registered in another district of this database: where (the task says so).
    elsewhere_district_code: Mapped[str | None] = mapped_column(String(12), default=None)
    first_run_id: Mapped[int] = mapped_column(ForeignKey("crosscheck_run.id"))
    last_run_id: Mapped[int] = mapped_column(ForeignKey("crosscheck_run.id"))
    first_seen_on: Mapped[date] = mapped_column(Date)
    last_seen_on: Mapped[date] = mapped_column(Date)
    fingerprint: Mapped[str] = mapped_column(String(64))
    status: Mapped[FindingStatus] = mapped_column(
        StrEnumType(FindingStatus), default=FindingStatus.OPEN
    )
    outcome: Mapped[VerificationOutcome | None] = mapped_column(
        StrEnumType(VerificationOutcome), default=None
    )
    # What the outcome links: school_id, child_id, deferral_id, district_code, case_id, note.
    outcome_detail: Mapped[dict[str, Any]] = mapped_column(JsonDoc, default=dict)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    resolved_by: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"), default=None)
    task_id: Mapped[int | None] = mapped_column(ForeignKey("task.id"), index=True, default=None)
    case_id: Mapped[int | None] = mapped_column(
        ForeignKey("dropout_case.id"), index=True, default=None
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012
