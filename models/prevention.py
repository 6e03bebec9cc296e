"""The blacklist of illegal substitute schooling (黑名单, ST 10): places that keep children
of compulsory-school age out of school (国学班, 读经班, 私塾, "home study"), with the evidence
and the cases of the children found there."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, StrEnumType, UTCDateTime, utcnow
from models.enums import SubstituteKind


class SubstituteSchooling(Base):
    __tablename__ = "substitute_schooling"
    __table_args__ = (
        Index("ix_substitute_schooling_scope", "scope_path",
              postgresql_ops={"scope_path": "varchar_pattern_ops"}),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    district_code: Mapped[str] = mapped_column(ForeignKey("jurisdiction.code"), index=True)
    township_code: Mapped[str] = mapped_column(ForeignKey("jurisdiction.code"))
    # The township's path: education, police and market supervision of the district see it.
    scope_path: Mapped[str] = mapped_column(String(160))
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[SubstituteKind] = mapped_column(StrEnumType(SubstituteKind))
    address: Mapped[str] = mapped_column(String(300))
    evidence: Mapped[str] = mapped_column(Text)
    found_on: Mapped[date] = mapped_column(Date)
    listed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    listed_by: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"), default=None)
    lifted_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    lift_reason: Mapped[str] = mapped_column(Text, default="")
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012


class SubstituteSchoolingCase(Base):
    """A dropout case of a child found at a blacklisted place."""

    __tablename__ = "substitute_schooling_case"

    entry_id: Mapped[int] = mapped_column(ForeignKey("substitute_schooling.id"), primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("dropout_case.id"), primary_key=True)
