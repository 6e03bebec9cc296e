"""GraphQL for the blacklist of illegal substitute schooling (黑名单, ST 10)."""

from __future__ import annotations

from datetime import date, datetime

import strawberry
from strawberry import relay

from models import prevention as m
from schema.context import Info
from schema.enums import SubstituteKind
from schema.operations import Operation, listing, operations
from schema.shape import RowNode, fetched_by, row_field
from workflow import prevention as service

ENTRY = ("A place of illegal substitute schooling on the blacklist (国学班, 读经班, 私塾; ST 10), "
         "seen by education, police and market supervision of the district.")


@strawberry.input
class ListSubstituteSchoolingInput:
    township_code: str
    name: str
    kind: SubstituteKind
    address: str
    evidence: str = strawberry.field(description="What was found, by whom, when.")
    found_on: date
    case_ids: list[strawberry.ID] = strawberry.field(
        default_factory=list, description="DropoutCase ids of the children found there."
    )


@fetched_by(service.get_entries)
@strawberry.type(name="SubstituteSchooling", description=ENTRY)
class SubstituteSchoolingNode(RowNode):
    name, address, township_code, evidence, lift_reason = (
        row_field(c, str) for c in ("name", "address", "township_code", "evidence", "lift_reason")
    )
    kind, found_on = row_field("kind", SubstituteKind), row_field("found_on", date)
    listed_at, lifted_at = row_field("listed_at", datetime), row_field("lifted_at", datetime | None)
    version = row_field("version", int, description="Send it back when lifting the entry.")
    row: strawberry.Private[m.SubstituteSchooling]

    @strawberry.field(description="Global ids of the linked DropoutCases.")
    async def case_ids(self, info: Info) -> list[strawberry.ID]:
        ids = await info.context.loaders.substitute_cases.load(self.row.id)
        return [strawberry.ID(relay.to_base64("DropoutCase", i)) for i in ids]


@strawberry.type
class SubstituteSchoolingQuery:
    substitute_schooling = listing(
        SubstituteSchoolingNode, service.entries_page,
        description="The blacklist entries of the caller's district.",
    )


@strawberry.type
@operations("entry", SubstituteSchoolingNode,
            ids={"entry_id": "SubstituteSchooling", "case_ids": "DropoutCase"})
class SubstituteSchoolingMutation:
    list_substitute_schooling = Operation(
        service.list_entry, ListSubstituteSchoolingInput,
        "Put a place on the blacklist, with its evidence and cases.",
    )
    lift_substitute_schooling = Operation(
        service.lift_entry,
        description="Lift an entry (the place stopped), with the reason.",
    )
