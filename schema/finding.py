"""GraphQL for child-labour findings (童工查处记录): the finding, its child, what followed."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Any

import strawberry

from authz.masking import SensitiveField
from models import finding as m
from schema.backrefs import provides
from schema.child import ChildNode
from schema.context import Info
from schema.employer import EmployerNode
from schema.enums import Sex
from schema.operations import Operation, arguments, listing, operations
from schema.sensitive import SensitiveValue, row_value
from schema.shape import RowNode, fetched_by, related, row_field
from schema.task import TaskType
from workflow import finding as service
from workflow.context import ServiceContext

if TYPE_CHECKING:
    pass


@strawberry.type(name="FindingEvidence", description="Metadata of a photo, statement or record.")
class EvidenceType:
    kind: str
    description: str
    filename: str | None
    sha256: str | None
    taken_at: str | None


@provides
@fetched_by(service.get_findings)
@strawberry.type(
    name="LabourFinding",
    description="A child found working at an employer. The child's name and ID number are "
    "masked for agencies without need-to-know (market supervision never sees the ID number).",
)
class FindingNode(RowNode):
    row: strawberry.Private[m.LabourFinding]

    async def _show(self, info: Info, fld: SensitiveField, value: str | None) -> SensitiveValue:
        stage = (
            await info.context.loaders.case_stage.load(self.row.case_id)
            if self.row.case_id
            else None
        )
        return row_value(info, fld, value, self.row, "labour_finding", stage=stage)

    @strawberry.field
    async def child_name(self, info: Info) -> SensitiveValue:
        return await self._show(info, SensitiveField.NAME, self.row.child_name)

    @strawberry.field(description="Null when the child had none (or gave none).")
    async def national_id(self, info: Info) -> SensitiveValue:
        return await self._show(info, SensitiveField.NATIONAL_ID, self.row.national_id)

    sex = row_field("sex", Sex | None)
    age_at_finding = row_field(
        "age_at_finding", int,
        description="Age on the day found (from the ID number where there is one)."
    )

    under_16 = row_field(
        "under_16", bool, description="Below the district's child-labour age limit (16)."
    )

    found_on = row_field("found_on", date)
    employed_since = row_field("employed_since", date | None)
    work = row_field("work", str)
    hours_per_day = row_field("hours_per_day", int | None)
    conditions = row_field("conditions", str)
    hazardous = row_field("hazardous", bool)

    @strawberry.field
    def evidence(self) -> list[EvidenceType]:
        return [
            EvidenceType(
                kind=e.get("kind", ""),
                description=e.get("description", ""),
                filename=e.get("filename"),
                sha256=e.get("sha256"),
                taken_at=e.get("taken_at"),
            )
            for e in self.row.evidence
        ]

    recorded_at = row_field("recorded_at", datetime)

    @strawberry.field(description="Whether the child was matched to the register.")
    def on_register(self) -> bool:
        return self.row.child_id is not None

    child = related(
        "registered_child", "row.child_id", ChildNode,
        description="The register entry, for agencies that may read children.",
    )
    employer = related("employer", "row.employer_id", EmployerNode)
    inspection = related("inspection", "row.inspection_id", "InspectionNode",
                         lazy="schema.inspection")
    case = related("case", "row.case_id", "CaseNode", lazy="schema.case",
                   description="The dropout case the finding opened or joined.")
    tasks = related("finding_tasks", "row.id", TaskType, many=True,
                    description="Tasks that followed from it, in the caller's queue.")


@strawberry.type
class FindingQuery:
    findings = listing(
        FindingNode, service.findings_page, filter=service.FindingFilter,
        ids={"inspection_id": "Inspection", "employer_id": "Employer", "case_id": "DropoutCase"},
    )


@strawberry.input
class EvidenceInput:
    kind: str = strawberry.field(description="photo, statement, payroll, contract, video…")
    description: str = ""
    filename: str | None = None
    sha256: str | None = None
    taken_at: str | None = None


@strawberry.input
class RecordFindingInput:
    idempotency_key: str = strawberry.field(
        description="Chosen by the client (8–64 characters) and resent on retry: "
        "a retried request returns the finding already recorded."
    )
    employer_id: strawberry.ID
    found_on: date
    work: str
    inspection_id: strawberry.ID | None = None
    national_id: str | None = strawberry.field(
        default=None, description="Matched against the register when given."
    )
    child_name: str | None = strawberry.field(
        default=None, description="Required when the child is not matched by ID number."
    )
    sex: Sex | None = None
    birth_date: date | None = None
    age: int | None = strawberry.field(
        default=None, description="An estimate, when neither ID number nor birth date is known."
    )
    employed_since: date | None = None
    hours_per_day: int | None = None
    conditions: str = ""
    hazardous: bool = False
    absent_since: date | None = strawberry.field(
        default=None,
        description="Day 0 of the dropout case if one opens; the finding's date by default.",
    )
    evidence: list[EvidenceInput] = strawberry.field(default_factory=list)


async def _record(
    ctx: ServiceContext, *, evidence: list[EvidenceInput], **given: Any
) -> m.LabourFinding:
    items = tuple(service.Evidence(**arguments(e)) for e in evidence)
    return await service.record(ctx, service.FindingIn(evidence=items, **given))


@strawberry.type
@operations("finding", FindingNode, ids={"employer_id": "Employer", "inspection_id": "Inspection"})
class FindingMutation:
    record_finding = Operation(_record, RecordFindingInput)
