"""The append-only audit trail.

Rows are only ever inserted: the ORM refuses updates and deletes (below) and the migration
installs database triggers that refuse them too, so not even a hand-written SQL statement can
rewrite history.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, event
from sqlalchemy.orm import Mapped, Mapper, mapped_column

from models.base import Base, BigId, JsonDoc, StrEnumType, UTCDateTime, utcnow
from models.enums import AgencyKind


class AuditEvent(Base):
    __tablename__ = "audit_event"
    __table_args__ = (Index("ix_audit_event_record", "record_type", "occurred_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    request_id: Mapped[str | None] = mapped_column(String(64), default=None)
    actor_user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"), index=True)
    actor_username: Mapped[str] = mapped_column(String(64))
    actor_agency_id: Mapped[int | None] = mapped_column(ForeignKey("agency.id"))
    actor_agency_kind: Mapped[AgencyKind | None] = mapped_column(StrEnumType(AgencyKind))
    actor_roles: Mapped[str] = mapped_column(String(512), default="")
    operation: Mapped[str] = mapped_column(String(64), index=True)
    record_type: Mapped[str] = mapped_column(String(48))
    record_ids: Mapped[list[Any]] = mapped_column(JsonDoc, default=list)
    change: Mapped[dict[str, Any]] = mapped_column(JsonDoc, default=dict)


class AuditIsAppendOnly(RuntimeError):
    pass


@event.listens_for(AuditEvent, "before_update")
@event.listens_for(AuditEvent, "before_delete")
def _refuse(mapper: Mapper[AuditEvent], connection: Any, target: AuditEvent) -> None:
    raise AuditIsAppendOnly("audit_event rows are append-only")
