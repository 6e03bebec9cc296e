"""The authorization policy as data: rules administrators change through the API.

``policy_version`` is one row bumped in the same transaction as every rule or grant change;
server processes compare it (and listen for PostgreSQL NOTIFY) to reload within seconds.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, UTCDateTime, utcnow


class AuthzRule(Base):
    __tablename__ = "authz_rule"
    __table_args__ = (UniqueConstraint("role", "domain", "obj", "act", "stage", "effect"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    role: Mapped[str] = mapped_column(String(48), index=True)
    domain: Mapped[str] = mapped_column(String(160))
    obj: Mapped[str] = mapped_column(String(64))
    act: Mapped[str] = mapped_column(String(32))
    stage: Mapped[str] = mapped_column(String(32))
    effect: Mapped[str] = mapped_column(String(8))
    source: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"), default=None)


class PolicyVersion(Base):
    __tablename__ = "policy_version"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[int] = mapped_column(Integer, default=0)
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
