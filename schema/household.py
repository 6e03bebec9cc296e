"""GraphQL for the police household-register clean-up (户籍清理, ST 8): the corrections, their
list, recording one or a clean-up list of many, withdrawing, and an agency applying its task."""

from __future__ import annotations

from datetime import date
from typing import Any

import strawberry
from strawberry import relay

from authz.masking import SensitiveField
from models import household as m
from schema.backrefs import provides
from schema.child import ChildNode
from schema.context import Info
from schema.enums import HouseholdCorrectionKind, HouseholdCorrectionStatus
from schema.ids import optional_node_id
from schema.operations import Operation, listing, operations
from schema.sensitive import SensitiveValue, row_value
from schema.shape import RowNode, fetched_by, related
from workflow.context import ServiceContext
from workflow.household import corrections, query

BASE_RECORD = "BaseRecord"  # a person on an agency's list (the base database), by global id


def _base_gid(key: int | None) -> strawberry.ID | None:
    return None if key is None else strawberry.ID(str(relay.GlobalID(BASE_RECORD, str(key))))


@provides
@fetched_by(query.get_corrections)
@strawberry.type(name="HouseholdCorrection", description="A correction of the police "
                 "household register (户籍清理, ST 8): a duplicate, death, move or missing "
                 "person, with the person's identity as recorded.")
class HouseholdCorrectionNode(RowNode, columns=("kind", "status", "district_code", "birth_date",
                                                "effective_on", "moved_to", "note",
                                                "withdrawn_reason", "recorded_at", "version")):
    row: strawberry.Private[m.HouseholdCorrection]

    def _show(self, info: Info, fld: SensitiveField, value: str | None) -> SensitiveValue:
        return row_value(info, fld, value, self.row, "household_correction")

    @strawberry.field
    def name(self, info: Info) -> str:
        return self._show(info, SensitiveField.NAME, self.row.name).value or ""

    @strawberry.field
    def national_id(self, info: Info) -> SensitiveValue:
        return self._show(info, SensitiveField.NATIONAL_ID, self.row.national_id)

    @strawberry.field
    def base_record_id(self) -> strawberry.ID | None:
        return _base_gid(self.row.base_record_id)

    @strawberry.field
    def duplicate_of_base_record_id(self) -> strawberry.ID | None:
        return _base_gid(self.row.duplicate_of_base_record_id)

    child = related("registered_child", "row.child_id", ChildNode)


@strawberry.input
class HouseholdCorrectionFilterInput:
    district_code: str | None = None
    kind: HouseholdCorrectionKind | None = None
    status: HouseholdCorrectionStatus | None = None
    child: strawberry.ID | None = None
    effective_by: date | None = None


def _filter(child: int | None = None, **given: Any) -> query.CorrectionFilter:
    return query.CorrectionFilter(child_id=child, **given)


@strawberry.type
class HouseholdQuery:
    household_corrections = listing(
        HouseholdCorrectionNode, query.corrections_page,
        filter=(HouseholdCorrectionFilterInput, _filter), ids={"child": "Child"},
    )


@strawberry.input
class RecordHouseholdCorrectionInput:
    kind: HouseholdCorrectionKind
    effective_on: date
    base_record_id: strawberry.ID | None = None
    child_id: strawberry.ID | None = None
    national_id: str | None = None
    duplicate_of_base_record_id: strawberry.ID | None = None
    moved_to: str = ""
    note: str = ""


@strawberry.type(description="What a clean-up list did.")
class HouseholdCorrectionBatch:
    recorded: int
    tasks_opened: int
    deaths_confirmed: int
    correction_ids: list[strawberry.ID]

    @classmethod
    def from_model(cls, done: corrections.Recorded) -> HouseholdCorrectionBatch:
        return cls(
            recorded=len(done.ids), tasks_opened=done.tasks_opened,
            deaths_confirmed=done.deaths_confirmed,
            correction_ids=[strawberry.ID(str(relay.GlobalID("HouseholdCorrection", str(i))))
                            for i in done.ids],
        )


def _row(r: RecordHouseholdCorrectionInput, at: str) -> corrections.CorrectionRow:
    """A row of the input, its global ids decoded (named by the row's position on error)."""
    return corrections.CorrectionRow(
        kind=r.kind, effective_on=r.effective_on,
        base_record_id=optional_node_id(r.base_record_id, BASE_RECORD, f"{at}baseRecordId"),
        child_id=optional_node_id(r.child_id, "Child", f"{at}childId"),
        national_id=r.national_id,
        duplicate_of_base_record_id=optional_node_id(
            r.duplicate_of_base_record_id, BASE_RECORD, f"{at}duplicateOfBaseRecordId"),
        moved_to=r.moved_to, note=r.note,
    )


async def _record_one(ctx: ServiceContext, **given: Any) -> m.HouseholdCorrection:
    row = _row(RecordHouseholdCorrectionInput(**given), "")
    return await corrections.record(ctx, **vars(row))


async def _record_list(
    ctx: ServiceContext, *, district_code: str, rows: list[RecordHouseholdCorrectionInput],
) -> corrections.Recorded:
    return await corrections.record_many(
        ctx, [_row(r, f"rows.{i}.") for i, r in enumerate(rows)], district_code=district_code)


@strawberry.type
@operations("correction", HouseholdCorrectionNode,
            ids={"correction_id": "HouseholdCorrection", "task_id": "Task"})
class HouseholdMutation:
    # Descriptions in schema/descriptions.toml ("Household register clean-up (issue 15)").
    record_household_correction = Operation(_record_one, RecordHouseholdCorrectionInput)
    record_household_corrections = Operation(
        _record_list, subject="batch",
        node=HouseholdCorrectionBatch)
    withdraw_household_correction = Operation(
        corrections.withdraw)
    apply_household_correction = Operation(corrections.apply)
