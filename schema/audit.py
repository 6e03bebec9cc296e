"""GraphQL type and query for the audit trail (who changed what, when)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Optional

import strawberry
from strawberry.scalars import JSON

from schema.context import Info
from schema.enums import AgencyKind
from schema.operations import listing
from schema.shape import Mirror
from workflow import audit


@strawberry.type(name="AuditEvent")
class AuditEventType(Mirror):
    occurred_at: datetime
    actor_username: str
    actor_agency_kind: AgencyKind | None
    actor_roles: str
    operation: str
    record_type: str
    record_ids: Any = strawberry.field(graphql_type=JSON)
    change: Any = strawberry.field(graphql_type=JSON)
    request_id: str | None


@strawberry.type
class AuditQuery:
    @strawberry.field(
        description="The newest audit events (administrators and inspectors).",
        deprecation_reason="A plain list of the last few: use auditTrail, a connection.",
    )
    async def audit_events(
        self, info: Info, operation: str | None = None, last: int = 50
    ) -> list[AuditEventType]:
        rows = await audit.latest(info.context.services, operation=operation, last=last)
        return [AuditEventType.from_model(e) for e in rows]

    audit_trail = listing(
        AuditEventType, audit.events_page, operation=(Optional[str], None),  # noqa: UP045
        description="Audit events the caller may read (administrators and inspectors), "
        "newest first.",
    )
