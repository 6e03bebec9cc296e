"""GraphQL for dropout cases: the case, its timeline and plan, and the operations on it."""

from __future__ import annotations

from datetime import date, datetime
from functools import partial
from typing import Any

import strawberry

from models import case as m
from schema.backrefs import provides
from schema.child import ChildNode
from schema.context import Info
from schema.document import DocumentNode
from schema.enforcement import EnforcementNode
from schema.enums import (
    AgencyKind,
    CaseStage,
    CaseStatus,
    ClosureReason,
    DropoutCause,
    PersuasionMethod,
    PersuasionOutcome,
)
from schema.finding import FindingNode
from schema.mutation import ReadAfterCommit
from schema.operations import Operation, listing, operations
from schema.shape import Mirror, RowNode, fetched_by, related, row_field
from schema.task import TaskType
from workflow import case as service
from workflow import document as document_service
from workflow.calendar import local_date
from workflow.context import ServiceContext


@strawberry.type(name="CaseEvent", description="One entry of a case's timeline.")
class CaseEventType(Mirror):
    occurred_at: datetime
    kind: str = strawberry.field(
        description="opened, absence_reported, stage_change, step_entered (a step that "
        "keeps the stage), persuasion, note, plan, reminder, breach, closed, reopened…"
    )
    actor_username: str
    actor_agency_kind: AgencyKind | None
    from_stage: CaseStage | None
    to_stage: CaseStage | None
    reason: str
    data: Any = strawberry.field(graphql_type=strawberry.scalars.JSON)


@strawberry.type(name="CasePlan", description="一生一案: cause, measures, who is responsible.")
class CasePlanType(Mirror):
    sources = (("responsible_agency", "responsible_agency_kind"),)
    cause: DropoutCause
    measures: str
    responsible_person: str
    responsible_agency: AgencyKind
    updated_at: datetime
    version: int


@strawberry.type(name="PersuasionAttempt")
class PersuasionType:
    attempted_at: datetime
    method: PersuasionMethod
    outcome: PersuasionOutcome
    agency_kind: AgencyKind | None
    participants: str
    note: str


@strawberry.type(name="CaseAttachment", description="Metadata of a file attached to a case.")
class AttachmentType(Mirror):
    filename: str
    content_type: str
    size_bytes: int
    sha256: str
    uploaded_at: datetime


@provides
@fetched_by(service.get_cases)
@strawberry.type(name="DropoutCase", description="A pupil who stopped coming to school.")
class CaseNode(RowNode):
    row: strawberry.Private[m.DropoutCase]

    version = row_field(
        "version", int, description="Optimistic version: send it back with every change."
    )

    status = row_field("status", CaseStatus)
    stage = row_field("stage", CaseStage)
    first_absence = row_field("day0", date, description="Day 0: the first unexplained absence.")
    step_position = row_field(
        "step_position", int, description="Position of the ladder step the case is on."
    )

    next_due_on = row_field(
        "next_due_on", date | None,
        description="When the next timed step falls due, if one is scheduled."
    )

    opened_at = row_field("opened_at", datetime)
    closed_at = row_field("closed_at", datetime | None)
    closure_reason = row_field("closure_reason", ClosureReason | None)

    @strawberry.field(description="Some open task of the case is past its due date.")
    async def overdue(self, info: Info) -> bool:
        today = local_date(info.context.services.clock.now())
        tasks = await info.context.loaders.case_tasks.load(self.row.id)
        return any(t.status.value in ("open", "claimed") and t.due_on < today for t in tasks)

    @strawberry.field
    async def child(self, info: Info) -> ChildNode:
        child = await info.context.loaders.case_child.load(self.row.child_id)
        return ChildNode.from_model(child, stage=self.row.stage)

    timeline = related("case_events", "row.id", CaseEventType, many=True,
                       description="The timeline, oldest first.")

    @strawberry.field
    async def persuasions(self, info: Info) -> list[PersuasionType]:
        events = await info.context.loaders.case_events.load(self.row.id)
        return [
            PersuasionType(
                attempted_at=datetime.fromisoformat(e.data["attempted_at"]),
                method=PersuasionMethod(e.data["method"]),
                outcome=PersuasionOutcome(e.data["outcome"]),
                agency_kind=e.actor_agency_kind,
                participants=e.data.get("participants", ""),
                note=e.reason,
            )
            for e in events
            if e.kind == "persuasion"
        ]

    plan = related("case_plan", "row.id", CasePlanType)
    attachments = related("case_attachments", "row.id", AttachmentType, many=True)
    documents = related("case_documents", "row.id", DocumentNode, many=True,
                        description="The case's legal documents the caller may read.")
    findings = related("case_findings", "row.id", FindingNode, many=True,
                       description="Child-labour findings that opened or joined the case.")
    enforcement_actions = related(
        "case_actions", "row.id", EnforcementNode, many=True,
        description="Enforcement against the employers of the child (visible).",
    )
    tasks = related("case_tasks", "row.id", TaskType, many=True,
                    description="The case's tasks, all agencies' (the case is visible).")


@strawberry.type
class CaseQuery:
    cases = listing(CaseNode, service.cases_page, filter=service.CaseFilter,
                    ids={"school": "School"}, raw={"school": "school_id"})


@strawberry.input
class ReportAbsenceInput:
    child_id: strawberry.ID
    first_absence: date = strawberry.field(description="Day 0 of the ladder.")
    note: str = ""


@strawberry.input
class RecordPersuasionInput:
    case_id: strawberry.ID
    method: PersuasionMethod
    outcome: PersuasionOutcome
    attempted_at: datetime
    participants: str = ""
    note: str = ""


@strawberry.input
class MarkDropoutInput:
    case_id: strawberry.ID
    expected_version: int
    reason: str = ""


@strawberry.input
class RecordReturnInput:
    case_id: strawberry.ID
    expected_version: int
    returned_on: date
    note: str = ""


@strawberry.input
class CloseCaseInput:
    case_id: strawberry.ID
    expected_version: int
    reason: ClosureReason
    note: str = ""
    destination_code: str | None = strawberry.field(
        default=None, description="Moved away: the county the file passes to."
    )
    police_reference: str | None = strawberry.field(
        default=None, description="Deceased: the police confirmation's reference."
    )


@strawberry.input
class ReopenCaseInput:
    case_id: strawberry.ID
    expected_version: int
    reason: str


@strawberry.input
class AddCaseNoteInput:
    case_id: strawberry.ID
    text: str


@strawberry.input
class SetCasePlanInput:
    case_id: strawberry.ID
    cause: DropoutCause
    measures: str
    responsible_person: str
    responsible_agency: AgencyKind
    expected_version: int | None = strawberry.field(
        default=None, description="The plan's version when revising it."
    )


@strawberry.input
class RecordDocumentServedInput:
    case_id: strawberry.ID
    document_kind: str = strawberry.field(
        description="enrol_notice, township_order, judicial_referral or judicial."
    )
    served_on: date
    served_to: str = strawberry.field(description="Who received it (a guardian's name).")
    method: str = strawberry.field(
        default="in_person", description="in_person, post, left_at_home…"
    )


@strawberry.input
class EscalateCaseInput:
    case_id: strawberry.ID
    expected_version: int
    step_code: str = strawberry.field(description="The ladder's next action step.")
    reason: str


@strawberry.input
class AddCaseAttachmentInput:
    case_id: strawberry.ID
    filename: str
    content_type: str
    size_bytes: int
    sha256: str = strawberry.field(description="Hex SHA-256 of the file's bytes.")


async def _and_case(ctx: ServiceContext, name: str, **kwargs: Any) -> ReadAfterCommit:
    """Run the service ``name`` that answers what it added (an event, a plan); the payload
    then answers the case itself, read after the commit (``ReadAfterCommit``: the case's
    row lock is not held for that read). Looked up by name at each call, as a call written
    out would be: a service patched in a test (a fault injected) is the one called."""
    await getattr(service, name)(ctx, **kwargs)
    case_id = kwargs["case_id"]

    async def read(ctx: ServiceContext) -> m.DropoutCase | None:
        (case,) = await service.get_cases(ctx, [case_id])
        return case

    return ReadAfterCommit(read)


def _then_case(name: str) -> Any:
    return partial(_and_case, name=name)


@strawberry.type
@operations("case", CaseNode, ids={"case_id": "DropoutCase", "child_id": "Child"})
class CaseMutation:
    report_absence = Operation(service.report_absence, ReportAbsenceInput)
    record_persuasion = Operation(_then_case("record_persuasion"), RecordPersuasionInput)
    mark_dropout = Operation(service.mark_dropout, MarkDropoutInput)
    record_return = Operation(service.record_return, RecordReturnInput)
    close_case = Operation(service.close_case, CloseCaseInput)
    reopen_case = Operation(service.reopen_case, ReopenCaseInput)
    add_case_note = Operation(_then_case("add_note"), AddCaseNoteInput)
    set_case_plan = Operation(_then_case("set_plan"), SetCasePlanInput)
    record_document_served = Operation(
        document_service.serve_by_kind, RecordDocumentServedInput,
        deprecation_reason="Use serveDocument: it records the numbered document served.",
    )
    escalate_case = Operation(service.escalate, EscalateCaseInput)
    add_case_attachment = Operation(_then_case("add_attachment"), AddCaseAttachmentInput)
