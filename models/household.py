"""The police household-register clean-up (户籍清理, ST 8): the police record that a person on
their household list is a duplicate, has died, has moved away or is missing, and the
education bureau, the poverty office, the disabled federation and civil affairs correct their
own records from it.

A correction keeps a snapshot of the person's identity (ID number, name, birth date) because
the base record it names is replaced by the next period's list, and because the comparisons
(models/crosscheck.py) read this table to leave the person out: a base record with a
``DECEASED`` or ``MOVED_AWAY`` correction effective by the as-of date is not a child out of
school, and a ``DUPLICATE``'s person counts once.
"""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, StrEnumType, UTCDateTime, Versioned, path_index, utcnow


class HouseholdCorrectionKind(enum.StrEnum):
    """What the police found (ST 8: 户籍重复、死亡、迁出注销、失踪失联)."""

    DUPLICATE = "duplicate"  # 重复户籍: the same person registered twice
    DECEASED = "deceased"  # 死亡注销
    MOVED_AWAY = "moved_away"  # 迁出注销
    MISSING = "missing"  # 失踪失联


class HouseholdCorrectionStatus(enum.StrEnum):
    RECORDED = "recorded"
    WITHDRAWN = "withdrawn"  # recorded in error; the comparisons no longer use it


class HouseholdCorrection(Versioned, Base):
    """One correction of the police household register about one person."""

    __tablename__ = "household_correction"
    __table_args__ = (
        # The comparisons' NOT EXISTS probes: by base record, by child.
        Index("ix_household_correction_base_record", "base_record_id", "kind", "status"),
        Index("ix_household_correction_child", "child_id", "kind", "status"),
        Index("ix_household_correction_district", "district_code", "kind", "effective_on"),
        path_index("ix_household_correction_scope", "scope_path"),
        # One recorded correction of a kind per base record and per child: two recordings
        # racing past the service's check are refused here (DUPLICATE), migration 0021.
        Index("uq_household_correction_recorded_base", "base_record_id", "kind", unique=True,
              postgresql_where=text("status = 'recorded'"),
              sqlite_where=text("status = 'recorded'")),
        Index("uq_household_correction_recorded_child", "child_id", "kind", unique=True,
              postgresql_where=text("status = 'recorded'"),
              sqlite_where=text("status = 'recorded'")),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    district_code: Mapped[str] = mapped_column(ForeignKey("jurisdiction.code"))
    # The person's domain: the township's path where known, else the district's.
    scope_path: Mapped[str] = mapped_column(String(160))
    base_record_id: Mapped[int | None] = mapped_column(
        ForeignKey("base_record.id"), default=None
    )
    child_id: Mapped[int | None] = mapped_column(ForeignKey("child.id"), default=None)
    # Identity snapshot (sensitive: masked as the child's).
    national_id: Mapped[str | None] = mapped_column(String(18), index=True, default=None)
    name: Mapped[str] = mapped_column(String(64))
    birth_date: Mapped[date] = mapped_column(Date)
    kind: Mapped[HouseholdCorrectionKind] = mapped_column(StrEnumType(HouseholdCorrectionKind))
    # For DUPLICATE: the base record that stays (the person's one true entry).
    duplicate_of_base_record_id: Mapped[int | None] = mapped_column(
        ForeignKey("base_record.id"), default=None
    )
    # For MOVED_AWAY: where to (a GB/T 2260 district code when known, else text).
    moved_to: Mapped[str] = mapped_column(Text, default="")
    effective_on: Mapped[date] = mapped_column(Date)
    note: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[HouseholdCorrectionStatus] = mapped_column(
        StrEnumType(HouseholdCorrectionStatus), default=HouseholdCorrectionStatus.RECORDED
    )
    withdrawn_reason: Mapped[str] = mapped_column(Text, default="")
    recorded_by: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"), default=None)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
