"""Employers (用人单位): enterprises and individual businesses inspected for child labour.

Keyed by the Unified Social Credit Code (GB 32100). Their history — inspections visited,
findings, enforcement — is in those tables; the licence status is kept here because market
supervision changes it (a revocation) and every other agency reads it.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, StrEnumType, UTCDateTime, Versioned, path_index, utcnow
from models.enums import EmployerKind, LicenceStatus


class Employer(Versioned, Base):
    __tablename__ = "employer"
    __table_args__ = (
        path_index("ix_employer_scope", "scope_path"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    credit_code: Mapped[str] = mapped_column(String(18), unique=True)
    name: Mapped[str] = mapped_column(String(200), index=True)
    kind: Mapped[EmployerKind] = mapped_column(StrEnumType(EmployerKind))
    address: Mapped[str] = mapped_column(String(300))
    legal_representative: Mapped[str] = mapped_column(String(64), default="")
    township_code: Mapped[str] = mapped_column(ForeignKey("jurisdiction.code"), index=True)
    district_code: Mapped[str] = mapped_column(ForeignKey("jurisdiction.code"))
    # The Casbin domain: the path of the township the premises are in.
    scope_path: Mapped[str] = mapped_column(String(160))
    licence_status: Mapped[LicenceStatus] = mapped_column(StrEnumType(LicenceStatus))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"), default=None)
