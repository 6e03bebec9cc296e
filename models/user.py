"""Users and their role grants. A user belongs to one agency and holds roles in domains."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, UTCDateTime, utcnow
from models.reference import Agency, Jurisdiction


class User(Base):
    __tablename__ = "app_user"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(64))
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"), index=True)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    agency: Mapped[Agency] = relationship(lazy="raise")


class RoleGrant(Base):
    """A role held in a domain.

    ``domain`` is a jurisdiction path, or an agency's scope path for roles limited to one school
    or village committee; it is what Casbin's ``g`` lines carry.
    """

    __tablename__ = "role_grant"
    __table_args__ = (UniqueConstraint("user_id", "role", "domain"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"), index=True)
    role: Mapped[str] = mapped_column(String(48))
    jurisdiction_code: Mapped[str] = mapped_column(ForeignKey("jurisdiction.code"))
    domain: Mapped[str] = mapped_column(String(160))
    granted_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    granted_by: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"), default=None)

    jurisdiction: Mapped[Jurisdiction] = relationship(lazy="raise")
