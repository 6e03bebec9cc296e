"""GraphQL type and query for the access log: unmasked reads of sensitive fields."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Optional

import strawberry
from strawberry import relay

from models import access_log as ma
from schema.enums import AgencyKind
from schema.ids import global_or_raw_id, parse_global_id
from schema.operations import listing
from schema.shape import Mirror
from workflow import access_log
from workflow.context import ServiceContext
from workflow.errors import InvalidInput
from workflow.pagination import Page, PageRequest


@strawberry.type(name="AccessLogEntry", description="An unmasked read of a sensitive field.")
class AccessLogEntry(Mirror):
    occurred_at: datetime
    username: str
    agency_kind: AgencyKind | None
    record_type: str
    record_id: int = strawberry.field(
        deprecation_reason="A raw database key: use record, the record's global id."
    )
    field: str
    request_id: str | None

    @strawberry.field(description="The global id of the record read (a Child or a "
                      "LabourFinding); null for a record that is no Node (a guardian).")
    def record(self) -> strawberry.ID | None:
        type_name = RECORD_TYPES.get(self.record_type)
        return None if type_name is None else strawberry.ID(
            relay.to_base64(type_name, self.record_id))


# The records an unmasked read can be of, as the access log names them and as GraphQL does.
RECORD_TYPES = {"child": "Child", "labour_finding": "LabourFinding"}


async def _entries_page(
    ctx: ServiceContext, request: PageRequest, *, record_type: str | None,
    record: strawberry.ID | None, record_id: int | None,
) -> Page[ma.SensitiveAccess]:
    if record is not None:
        parsed = parse_global_id(record, "record")
        named = {v: k for k, v in RECORD_TYPES.items()}.get(parsed.type_name)
        if named is None or record_type not in (None, named):
            raise InvalidInput("not the id of a record the access log names", field="record")
        record_type = named
        record_id = global_or_raw_id(record, record_id, parsed.type_name, "record")
    return await access_log.access_log_page(
        ctx, request, record_type=record_type, record_id=record_id
    )


@strawberry.type
class AccessLogQuery:
    access_log = listing(
        AccessLogEntry, _entries_page,
        record_type=(Optional[str], None),  # noqa: UP045
        record=(Optional[strawberry.ID], None),  # noqa: UP045
        record_id=(Annotated[Optional[int], strawberry.argument(  # noqa: UP045
            deprecation_reason="A raw database key: use record, the record's global id.")],
            None),
        description="Unmasked reads of sensitive data the caller may review.",
    )
