"""GraphQL for the blacklist of illegal substitute schooling (黑名单, ST 10)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date, datetime

import strawberry
from strawberry import relay

from models import prevention as m
from schema.context import Info
from schema.enums import SubstituteKind
from schema.ids import node_id
from schema.mutation import UserError, mutate
from schema.operations import listing
from schema.shape import RowNode, fetched_by, row_field
from workflow import prevention as service
from workflow.context import ServiceContext

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
class SubstituteSchoolingPayload:
    entry: SubstituteSchoolingNode | None
    user_errors: list[UserError]


async def _run(
    info: Info, call: Callable[[ServiceContext], Awaitable[m.SubstituteSchooling]]
) -> SubstituteSchoolingPayload:
    return await mutate(info, SubstituteSchoolingPayload, SubstituteSchoolingNode.from_model,
                        call)


@strawberry.input
class LiftSubstituteSchoolingInput:
    entry_id: strawberry.ID
    reason: str
    expected_version: int | None = None


@strawberry.type
class SubstituteSchoolingMutation:
    @strawberry.mutation(description="Put a place on the blacklist, with its evidence and cases.")
    async def list_substitute_schooling(
        self, info: Info, input: ListSubstituteSchoolingInput
    ) -> SubstituteSchoolingPayload:
        return await _run(info, lambda ctx: service.list_entry(
            ctx, township_code=input.township_code, name=input.name, kind=input.kind,
            address=input.address, evidence=input.evidence, found_on=input.found_on,
            case_ids=[node_id(c, "DropoutCase", "caseIds") for c in input.case_ids]))

    @strawberry.mutation(description="Lift an entry (the place stopped), with the reason.")
    async def lift_substitute_schooling(
        self, info: Info, input: LiftSubstituteSchoolingInput
    ) -> SubstituteSchoolingPayload:
        return await _run(info, lambda ctx: service.lift_entry(
            ctx, entry_id=node_id(input.entry_id, "SubstituteSchooling", "entryId"),
            expected_version=input.expected_version, reason=input.reason))
