"""Imports of the agencies' lists (数据交换) and the base database they build (适龄儿童基础信息
数据库, ST 1): the import job, its staged rows, its rejects, the uncertain matches left for a
person, the base records of each source and the provenance of the values a list set.

A file is parsed and validated into ``import_row`` (staging) when it is uploaded; applying it
is one set-based merge from staging into the register in one transaction, so a crash leaves
either the whole file applied or nothing (workflow/imports/merge.py).
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

from sqlalchemy import Date, ForeignKey, Index, Integer, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, JsonDoc, StrEnumType, UTCDateTime, utcnow


class ImportSource(enum.StrEnum):
    """Whose list a file is (ST 1: police, poverty office, disabled federation, civil
    affairs send theirs each March and September; the school register is the bureau's)."""

    SCHOOL_REGISTER = "school_register"  # 学籍
    POLICE_HOUSEHOLD = "police_household"  # 户籍 (resident children of school age)
    POVERTY_HOUSEHOLD = "poverty_household"  # 脱贫户, 监测户
    DISABLED_FEDERATION = "disabled_federation"  # 残疾儿童
    CIVIL_AFFAIRS = "civil_affairs"  # 孤儿, 事实无人抚养, 低保, 特困
    SCHOOL_ROSTER = "school_roster"  # 在校生名单: the pupils a school has actually in school


class ImportStatus(enum.StrEnum):
    STAGED = "staged"  # parsed and validated, nothing applied
    PREVIEWED = "previewed"  # dry run done: the counts an apply would give
    APPLIED = "applied"
    CANCELLED = "cancelled"


class CandidateStatus(enum.StrEnum):
    OPEN = "open"
    CONFIRMED = "confirmed"
    REJECTED = "rejected"


class ImportJob(Base):
    """One uploaded file of one source for one district and period."""

    __tablename__ = "import_job"
    __table_args__ = (Index("ix_import_job_hash", "source", "district_code", "content_sha256"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source: Mapped[ImportSource] = mapped_column(StrEnumType(ImportSource))
    district_code: Mapped[str] = mapped_column(ForeignKey("jurisdiction.code"))
    # The district's path: who may see the job (the uploading agency's domain).
    scope_path: Mapped[str] = mapped_column(String(160))
    period: Mapped[str] = mapped_column(String(7))  # YYYY-MM: the list's date (March, Sept.)
    filename: Mapped[str] = mapped_column(String(200))
    content_sha256: Mapped[str] = mapped_column(String(64))
    status: Mapped[ImportStatus] = mapped_column(
        StrEnumType(ImportStatus), default=ImportStatus.STAGED
    )
    total_rows: Mapped[int] = mapped_column(Integer, default=0)
    valid_rows: Mapped[int] = mapped_column(Integer, default=0)
    rejected_rows: Mapped[int] = mapped_column(Integer, default=0)
    # What the dry run or the apply found: created, updated, unchanged, candidates, …
    counts: Mapped[dict[str, Any]] = mapped_column(JsonDoc, default=dict)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    applied_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    # Optimistic version: an apply names the version its preview was read at.
    version: Mapped[int] = mapped_column(Integer, default=1)
    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012


class ImportRow(Base):
    """A valid row of a file, in the register's terms (staging; deleted once applied).
    PostgreSQL keeps its pages half full (``fillfactor = 50``, migration 0025) so that the
    merge's write of each matched row's child is a heap-only update."""

    __tablename__ = "import_row"
    # Matching and the duplicate check look rows up by ID number within the job.
    # The no-ID match looks rows without one up by name key and birth date (a partial index:
    # a few percent of a file's rows, next to nothing to maintain while copying).
    __table_args__ = (
        Index("ix_import_row_job_national_id", "job_id", "national_id"),
        Index("ix_import_row_no_id_name_birth", "job_id", "name_key", "birth_date",
              postgresql_where=text("national_id IS NULL"),
              sqlite_where=text("national_id IS NULL")),
    )

    job_id: Mapped[int] = mapped_column(ForeignKey("import_job.id"), primary_key=True)
    row_no: Mapped[int] = mapped_column(Integer, primary_key=True)
    national_id: Mapped[str | None] = mapped_column(String(18), default=None)
    name: Mapped[str] = mapped_column(String(64))
    # Normalised keys of the name and the guardian's name (models/names.py), set when staged.
    name_key: Mapped[str | None] = mapped_column(String(64), default=None)
    guardian_key: Mapped[str | None] = mapped_column(String(64), default=None)
    sex: Mapped[str | None] = mapped_column(String(8), default=None)
    birth_date: Mapped[date] = mapped_column(Date)
    guardian_name: Mapped[str | None] = mapped_column(String(64), default=None)
    guardian_relation: Mapped[str | None] = mapped_column(String(16), default=None)
    guardian_phone: Mapped[str | None] = mapped_column(String(20), default=None)
    school_name: Mapped[str | None] = mapped_column(String(128), default=None)
    grade: Mapped[int | None] = mapped_column(Integer, default=None)
    class_no: Mapped[int | None] = mapped_column(Integer, default=None)
    township_code: Mapped[str | None] = mapped_column(String(12), default=None)
    village: Mapped[str | None] = mapped_column(String(64), default=None)
    household_no: Mapped[str | None] = mapped_column(String(32), default=None)
    # The special group the row's list puts the child in (SpecialGroup value), if any.
    group: Mapped[str | None] = mapped_column(String(32), default=None)
    # Resolved while merging: the child matched or created, and the school; ``outcome`` is
    # new, changed or same (``new`` set beforehand: a rejected candidate is a new child).
    outcome: Mapped[str | None] = mapped_column(String(8), default=None)
    child_id: Mapped[int | None] = mapped_column(Integer, default=None)
    school_id: Mapped[int | None] = mapped_column(Integer, default=None)


class ImportReject(Base):
    """A rejected row: its number in the file, the column and the reason in Chinese."""

    __tablename__ = "import_reject"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("import_job.id"), index=True)
    row_no: Mapped[int] = mapped_column(Integer)
    column: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(String(200))
    value: Mapped[str] = mapped_column(String(200), default="")


class MatchCandidate(Base):
    """A row that may be a known child without an ID number (same name and birth date, but
    the guardian differs, or several children fit): left for a person, never merged."""

    __tablename__ = "match_candidate"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("import_job.id"), index=True)
    row_no: Mapped[int] = mapped_column(Integer)
    child_id: Mapped[int] = mapped_column(ForeignKey("child.id"), index=True)
    scope_path: Mapped[str] = mapped_column(String(160))  # the job's (district) path
    name: Mapped[str] = mapped_column(String(64))
    birth_date: Mapped[date] = mapped_column(Date)
    guardian_name: Mapped[str | None] = mapped_column(String(64), default=None)
    reason: Mapped[str] = mapped_column(String(200))
    status: Mapped[CandidateStatus] = mapped_column(
        StrEnumType(CandidateStatus), default=CandidateStatus.OPEN
    )
    # The staged row, kept so that confirming applies it to the child.
    row: Mapped[dict[str, Any]] = mapped_column(JsonDoc, default=dict)
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"), default=None)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)


class BaseRecord(Base):
    """A person on a source's list (the base database): the police household register's
    resident school-age children, the poverty households' members (脱贫户, 监测户), the
    disabled federation's and civil affairs' lists. Kept per source and person, updated in
    place by the next period's list; ``child_id`` is the register's child when matched."""

    __tablename__ = "base_record"
    __table_args__ = (
        UniqueConstraint("source", "district_code", "person_key"),
        # The comparisons match people without an ID number by these keys.
        Index("ix_base_record_name_key", "name_key", "birth_date"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source: Mapped[ImportSource] = mapped_column(StrEnumType(ImportSource))
    district_code: Mapped[str] = mapped_column(ForeignKey("jurisdiction.code"))
    # The national ID number, or name|birth date|guardian for a person without one.
    person_key: Mapped[str] = mapped_column(String(160))
    national_id: Mapped[str | None] = mapped_column(String(18), index=True, default=None)
    name: Mapped[str] = mapped_column(String(64))
    name_key: Mapped[str | None] = mapped_column(String(64), default=None)
    guardian_key: Mapped[str | None] = mapped_column(String(64), default=None)
    birth_date: Mapped[date] = mapped_column(Date)
    household_no: Mapped[str | None] = mapped_column(String(32), default=None)
    group: Mapped[str | None] = mapped_column(String(32), default=None)
    # The school whose in-school list (在校生名单) names the pupil (source school_roster).
    school_id: Mapped[int | None] = mapped_column(ForeignKey("school.id"), default=None)
    township_code: Mapped[str | None] = mapped_column(String(12), default=None)
    village: Mapped[str | None] = mapped_column(String(64), default=None)
    child_id: Mapped[int | None] = mapped_column(ForeignKey("child.id"), index=True)
    period: Mapped[str] = mapped_column(String(7))
    job_id: Mapped[int] = mapped_column(ForeignKey("import_job.id"))
    # Set when the source's agency applied a police correction to this record (ST 8): the
    # household correction (models/household.py) and when. No foreign key: the correction
    # table refers to this one, and the mark is history, kept if the correction is withdrawn.
    correction_id: Mapped[int | None] = mapped_column(Integer, default=None)
    corrected_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)


class ValueProvenance(Base):
    """Which list said what of a child, for which period, when (``field``: ``register`` for
    the school register's values, ``group:<group>`` for a special group, ``household`` for
    the police register). ``removed_*`` is set when the source's next list left the child
    out: the flag it had set is gone, and this row remembers it."""

    __tablename__ = "value_provenance"

    child_id: Mapped[int] = mapped_column(ForeignKey("child.id"), primary_key=True)
    field: Mapped[str] = mapped_column(String(48), primary_key=True)
    source: Mapped[ImportSource] = mapped_column(StrEnumType(ImportSource), primary_key=True)
    value: Mapped[str] = mapped_column(String(200), default="")
    period: Mapped[str] = mapped_column(String(7))
    job_id: Mapped[int] = mapped_column(ForeignKey("import_job.id"), index=True)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime())
    removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    removed_by_job: Mapped[int | None] = mapped_column(Integer, default=None)
