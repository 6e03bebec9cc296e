"""Register changes that need a request and an approval (学籍变动: transfers, suspensions) and
deferrals and exemptions from school (缓学/免学, ST 2, 3).

Both are authorized by place: ``scope_path`` is the domain of the side that asks (the sending
school; the child's school or home township for a deferral), ``target_path`` that of the side
that approves a transfer (the receiving school, or the receiving district when no school is
named). ``residence_path`` is the child's, so whoever may read the child may read them.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Boolean, Date, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, declared_attr, mapped_column

from models.base import Base, StrEnumType, UTCDateTime, utcnow
from models.enums import (
    DeferralGround,
    DeferralKind,
    DeferralStatus,
    GuardianRelation,
    RegisterChangeKind,
    RegisterChangeStatus,
)


class _Decided:
    """What a register change and a deferral share: the child and its two domains, the
    decision and who made it, the times, and the optimistic version."""

    child_id: Mapped[int] = mapped_column(ForeignKey("child.id"), index=True)
    scope_path: Mapped[str] = mapped_column(String(160))
    residence_path: Mapped[str] = mapped_column(String(160), default="")
    decided_on: Mapped[date | None] = mapped_column(Date, default=None)
    decision_reason: Mapped[str] = mapped_column(Text, default="")
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    version: Mapped[int] = mapped_column(Integer, default=1)

    @declared_attr.directive
    def __mapper_args__(cls) -> dict[str, Any]:
        return {"version_id_col": cls.version}


class RegisterChange(_Decided, Base):
    """A transfer (转学) or a suspension (休学) of one child, from request to its end."""

    __tablename__ = "register_change"
    __table_args__ = (
        Index("ix_register_change_status", "kind", "status", "requested_on"),
        Index(
            "ix_register_change_scope",
            "scope_path",
            postgresql_ops={"scope_path": "varchar_pattern_ops"},
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[RegisterChangeKind] = mapped_column(StrEnumType(RegisterChangeKind))
    status: Mapped[RegisterChangeStatus] = mapped_column(StrEnumType(RegisterChangeStatus))
    from_school_id: Mapped[int] = mapped_column(ForeignKey("school.id"))
    to_school_id: Mapped[int | None] = mapped_column(ForeignKey("school.id"), default=None)
    from_district_code: Mapped[str] = mapped_column(String(12))
    # Another county's GB/T 2260 code; it need not be a jurisdiction Lianbao holds.
    to_district_code: Mapped[str | None] = mapped_column(String(12), default=None)
    target_path: Mapped[str] = mapped_column(String(160), default="")
    requested_on: Mapped[date] = mapped_column(Date)
    starts_on: Mapped[date | None] = mapped_column(Date, default=None)
    ends_on: Mapped[date | None] = mapped_column(Date, default=None)
    reason: Mapped[str] = mapped_column(Text, default="")
    received_on: Mapped[date | None] = mapped_column(Date, default=None)
    ended_on: Mapped[date | None] = mapped_column(Date, default=None)
    # Set once by the scheduled job: a transfer out not received in time (a suspected
    # dropout for the cross-checks), or a suspension whose end date passed.
    flagged_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    requested_by: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"), default=None)


class Deferral(_Decided, Base):
    """A guardian's written application to defer (缓学) or be exempted from (免学) school,
    its evidence, the disabled federation's assessment where needed, and the decision."""

    __tablename__ = "deferral"
    __table_args__ = (
        Index("ix_deferral_status", "district_code", "status", "ends_on"),
        Index(
            "ix_deferral_scope", "scope_path", postgresql_ops={"scope_path": "varchar_pattern_ops"}
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[DeferralKind] = mapped_column(StrEnumType(DeferralKind))
    ground: Mapped[DeferralGround] = mapped_column(StrEnumType(DeferralGround))
    status: Mapped[DeferralStatus] = mapped_column(StrEnumType(DeferralStatus))
    district_code: Mapped[str] = mapped_column(String(12))
    applicant_name: Mapped[str] = mapped_column(String(64))
    applicant_relation: Mapped[GuardianRelation] = mapped_column(StrEnumType(GuardianRelation))
    applied_on: Mapped[date] = mapped_column(Date)
    # Health details (a doctor's certificate, the disability): sensitive, field:health.
    evidence: Mapped[str] = mapped_column(Text, default="")
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)
    assessment_needed: Mapped[bool] = mapped_column(Boolean, default=False)
    assessed_on: Mapped[date | None] = mapped_column(Date, default=None)
    assessment_confirmed: Mapped[bool | None] = mapped_column(Boolean, default=None)
    assessment_note: Mapped[str] = mapped_column(Text, default="")
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    applied_by: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"), default=None)
