"""Who read which sensitive field of which record, unmasked (PIPL art. 51; kept 3 years)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, BigId, StrEnumType, UTCDateTime, path_index
from models.enums import AgencyKind


class SensitiveAccess(Base):
    __tablename__ = "sensitive_access"
    __table_args__ = (
        path_index("ix_sensitive_access_subject", "subject_scope", "occurred_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime())
    request_id: Mapped[str | None] = mapped_column(String(64), default=None)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"), index=True)
    username: Mapped[str] = mapped_column(String(64))
    agency_id: Mapped[int | None] = mapped_column(ForeignKey("agency.id"))
    agency_kind: Mapped[AgencyKind | None] = mapped_column(StrEnumType(AgencyKind))
    record_type: Mapped[str] = mapped_column(String(32))
    record_id: Mapped[int] = mapped_column()
    field: Mapped[str] = mapped_column(String(32))
    # The record's domain at read time: whose data it is, for the subject agency's queries.
    subject_scope: Mapped[str] = mapped_column(String(160))
