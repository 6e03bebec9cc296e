"""GraphQL type and query for the access log: unmasked reads of sensitive fields."""

from __future__ import annotations

from datetime import datetime

import strawberry

from models import access_log as ma
from schema.context import Info
from schema.enums import AgencyKind
from schema.pagination import Connection, page_request, to_connection
from schema.shape import copied
from workflow import access_log


@strawberry.type(name="AccessLogEntry", description="An unmasked read of a sensitive field.")
class AccessLogEntry:
    occurred_at: datetime
    username: str
    agency_kind: AgencyKind | None
    record_type: str
    record_id: int
    field: str
    request_id: str | None

    @classmethod
    def from_model(cls, a: ma.SensitiveAccess) -> AccessLogEntry:
        return copied(cls, a)


@strawberry.type
class AccessLogQuery:
    @strawberry.field(description="Unmasked reads of sensitive data the caller may review.")
    async def access_log(
        self,
        info: Info,
        record_type: str | None = None,
        record_id: int | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[AccessLogEntry]:
        services = info.context.services
        page = await access_log.access_log_page(
            services, page_request(info, first, after), record_type=record_type, record_id=record_id
        )
        return to_connection(page, AccessLogEntry.from_model)
