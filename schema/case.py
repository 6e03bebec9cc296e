"""GraphQL for dropout cases: the case, its timeline and plan, and the operations on it."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import strawberry
from strawberry import relay

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
    SpecialGroup,
)
from schema.finding import FindingNode
from schema.ids import node_id
from schema.mutation import UserError, mutate
from schema.pagination import Connection, page_request, to_connection
from schema.school import school_key
from schema.shape import fetched_by, maybe, row_field
from schema.task import TaskType
from workflow import case as service
from workflow import document as document_service
from workflow.calendar import local_date
from workflow.context import ServiceContext


@strawberry.type(name="CaseEvent", description="One entry of a case's timeline.")
class CaseEventType:
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

    @classmethod
    def from_model(cls, e: m.CaseEvent) -> CaseEventType:
        return cls(
            occurred_at=e.occurred_at,
            kind=e.kind,
            actor_username=e.actor_username,
            actor_agency_kind=e.actor_agency_kind,
            from_stage=e.from_stage,
            to_stage=e.to_stage,
            reason=e.reason,
            data=e.data,
        )


@strawberry.type(name="CasePlan", description="一生一案: cause, measures, who is responsible.")
class CasePlanType:
    cause: DropoutCause
    measures: str
    responsible_person: str
    responsible_agency: AgencyKind
    updated_at: datetime
    version: int

    @classmethod
    def from_model(cls, p: m.CasePlan) -> CasePlanType:
        return cls(
            cause=p.cause,
            measures=p.measures,
            responsible_person=p.responsible_person,
            responsible_agency=p.responsible_agency_kind,
            updated_at=p.updated_at,
            version=p.version,
        )


@strawberry.type(name="PersuasionAttempt")
class PersuasionType:
    attempted_at: datetime
    method: PersuasionMethod
    outcome: PersuasionOutcome
    agency_kind: AgencyKind | None
    participants: str
    note: str


@strawberry.type(name="CaseAttachment", description="Metadata of a file attached to a case.")
class AttachmentType:
    filename: str
    content_type: str
    size_bytes: int
    sha256: str
    uploaded_at: datetime

    @classmethod
    def from_model(cls, a: m.CaseAttachment) -> AttachmentType:
        return cls(
            filename=a.filename,
            content_type=a.content_type,
            size_bytes=a.size_bytes,
            sha256=a.sha256,
            uploaded_at=a.uploaded_at,
        )


@provides
@fetched_by(service.get_cases)
@strawberry.type(name="DropoutCase", description="A pupil who stopped coming to school.")
class CaseNode(relay.Node):
    case_id: relay.NodeID[int]
    row: strawberry.Private[m.DropoutCase]

    @classmethod
    def from_model(cls, c: m.DropoutCase) -> CaseNode:
        return cls(case_id=c.id, row=c)

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

    @strawberry.field(description="The timeline, oldest first.")
    async def timeline(self, info: Info) -> list[CaseEventType]:
        events = await info.context.loaders.case_events.load(self.row.id)
        return [CaseEventType.from_model(e) for e in events]

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

    @strawberry.field
    async def plan(self, info: Info) -> CasePlanType | None:
        plan = await info.context.loaders.case_plan.load(self.row.id)
        return maybe(CasePlanType.from_model, plan)

    @strawberry.field
    async def attachments(self, info: Info) -> list[AttachmentType]:
        rows = await info.context.loaders.case_attachments.load(self.row.id)
        return [AttachmentType.from_model(a) for a in rows]

    @strawberry.field(description="The case's legal documents the caller may read.")
    async def documents(self, info: Info) -> list[DocumentNode]:
        rows = await info.context.loaders.case_documents.load(self.row.id)
        return [DocumentNode.from_model(d) for d in rows]

    @strawberry.field(description="Child-labour findings that opened or joined the case.")
    async def findings(self, info: Info) -> list[FindingNode]:
        rows = await info.context.loaders.case_findings.load(self.row.id)
        return [FindingNode.from_model(f) for f in rows]

    @strawberry.field(description="Enforcement against the employers of the child (visible).")
    async def enforcement_actions(self, info: Info) -> list[EnforcementNode]:
        rows = await info.context.loaders.case_actions.load(self.row.id)
        return [EnforcementNode.from_model(a) for a in rows]

    @strawberry.field(description="The case's tasks, all agencies' (the case is visible).")
    async def tasks(self, info: Info) -> list[TaskType]:
        return [
            TaskType.from_model(t) for t in await info.context.loaders.case_tasks.load(self.row.id)
        ]


@strawberry.input
class CaseFilterInput:
    status: CaseStatus | None = None
    stage: CaseStage | None = None
    overdue: bool | None = None
    township_code: str | None = None
    school: strawberry.ID | None = strawberry.field(
        default=None, description="The School's global id."
    )
    school_id: int | None = strawberry.field(
        default=None, deprecation_reason="A raw database key: use school, the School's global id."
    )
    special_group: SpecialGroup | None = None


@strawberry.type
class CaseQuery:
    @strawberry.field(description="Dropout cases the caller may see, filtered in SQL.")
    async def cases(
        self,
        info: Info,
        filter: CaseFilterInput | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[CaseNode]:
        services = info.context.services
        f = filter or CaseFilterInput()
        page = await service.cases_page(
            services,
            service.CaseFilter(
                status=f.status,
                stage=f.stage,
                overdue=f.overdue,
                township_code=f.township_code,
                school_id=school_key(f.school, f.school_id, "school"),
                special_group=f.special_group,
            ),
            page_request(info, first, after),
        )
        return to_connection(page, CaseNode.from_model)


@strawberry.type
class CasePayload:
    case: CaseNode | None
    user_errors: list[UserError]


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


@strawberry.type
class CaseMutation:
    @strawberry.mutation(description="A school (or village, police…) reports an absence.")
    async def report_absence(self, info: Info, input: ReportAbsenceInput) -> CasePayload:
        async def op(ctx: ServiceContext) -> m.DropoutCase:
            return await service.report_absence(
                ctx,
                child_id=node_id(input.child_id, "Child", "childId"),
                first_absence=input.first_absence,
                note=input.note,
            )

        return await mutate(info, CasePayload, CaseNode.from_model, op)

    @strawberry.mutation(description="Log a persuasion attempt (劝返).")
    async def record_persuasion(self, info: Info, input: RecordPersuasionInput) -> CasePayload:
        async def op(ctx: ServiceContext) -> m.DropoutCase:
            case_id = node_id(input.case_id, "DropoutCase", "caseId")
            await service.record_persuasion(
                ctx,
                case_id=case_id,
                method=input.method,
                outcome=input.outcome,
                attempted_at=input.attempted_at,
                participants=input.participants,
                note=input.note,
            )
            (case,) = await service.get_cases(ctx, [case_id])
            assert case is not None
            return case

        return await mutate(info, CasePayload, CaseNode.from_model, op)

    @strawberry.mutation(description="Mark the pupil as dropped out; the register entry stays.")
    async def mark_dropout(self, info: Info, input: MarkDropoutInput) -> CasePayload:
        async def op(ctx: ServiceContext) -> m.DropoutCase:
            return await service.mark_dropout(
                ctx,
                case_id=node_id(input.case_id, "DropoutCase", "caseId"),
                expected_version=input.expected_version,
                reason=input.reason,
            )

        return await mutate(info, CasePayload, CaseNode.from_model, op)

    @strawberry.mutation(description="复学: the pupil is back; closes the case.")
    async def record_return(self, info: Info, input: RecordReturnInput) -> CasePayload:
        async def op(ctx: ServiceContext) -> m.DropoutCase:
            return await service.record_return(
                ctx,
                case_id=node_id(input.case_id, "DropoutCase", "caseId"),
                expected_version=input.expected_version,
                returned_on=input.returned_on,
                note=input.note,
            )

        return await mutate(info, CasePayload, CaseNode.from_model, op)

    @strawberry.mutation(description="Close a case for a reason other than a return.")
    async def close_case(self, info: Info, input: CloseCaseInput) -> CasePayload:
        async def op(ctx: ServiceContext) -> m.DropoutCase:
            return await service.close_case(
                ctx,
                case_id=node_id(input.case_id, "DropoutCase", "caseId"),
                expected_version=input.expected_version,
                reason=input.reason,
                note=input.note,
                destination_code=input.destination_code,
                police_reference=input.police_reference,
            )

        return await mutate(info, CasePayload, CaseNode.from_model, op)

    @strawberry.mutation
    async def reopen_case(self, info: Info, input: ReopenCaseInput) -> CasePayload:
        async def op(ctx: ServiceContext) -> m.DropoutCase:
            return await service.reopen_case(
                ctx,
                case_id=node_id(input.case_id, "DropoutCase", "caseId"),
                expected_version=input.expected_version,
                reason=input.reason,
            )

        return await mutate(info, CasePayload, CaseNode.from_model, op)

    @strawberry.mutation
    async def add_case_note(self, info: Info, input: AddCaseNoteInput) -> CasePayload:
        async def op(ctx: ServiceContext) -> m.DropoutCase:
            case_id = node_id(input.case_id, "DropoutCase", "caseId")
            await service.add_note(ctx, case_id=case_id, text=input.text)
            (case,) = await service.get_cases(ctx, [case_id])
            assert case is not None
            return case

        return await mutate(info, CasePayload, CaseNode.from_model, op)

    @strawberry.mutation(description="一生一案: write or revise the case plan.")
    async def set_case_plan(self, info: Info, input: SetCasePlanInput) -> CasePayload:
        async def op(ctx: ServiceContext) -> m.DropoutCase:
            case_id = node_id(input.case_id, "DropoutCase", "caseId")
            await service.set_plan(
                ctx,
                case_id=case_id,
                cause=input.cause,
                measures=input.measures,
                responsible_person=input.responsible_person,
                responsible_agency=input.responsible_agency,
                expected_version=input.expected_version,
            )
            (case,) = await service.get_cases(ctx, [case_id])
            assert case is not None
            return case

        return await mutate(info, CasePayload, CaseNode.from_model, op)

    @strawberry.mutation(
        description="A document was served: starts the deadlines anchored on it.",
        deprecation_reason="Use serveDocument: it records the numbered document served.",
    )
    async def record_document_served(
        self, info: Info, input: RecordDocumentServedInput
    ) -> CasePayload:
        async def op(ctx: ServiceContext) -> m.DropoutCase:
            return await document_service.serve_by_kind(
                ctx,
                case_id=node_id(input.case_id, "DropoutCase", "caseId"),
                document_kind=input.document_kind,
                served_on=input.served_on,
                served_to=input.served_to,
                method=input.method,
            )

        return await mutate(info, CasePayload, CaseNode.from_model, op)

    @strawberry.mutation(
        description="Enter the ladder's next action step (referral, judicial "
        "document, legal action) once its deadline has passed."
    )
    async def escalate_case(self, info: Info, input: EscalateCaseInput) -> CasePayload:
        async def op(ctx: ServiceContext) -> m.DropoutCase:
            return await service.escalate(
                ctx,
                case_id=node_id(input.case_id, "DropoutCase", "caseId"),
                expected_version=input.expected_version,
                step_code=input.step_code,
                reason=input.reason,
            )

        return await mutate(info, CasePayload, CaseNode.from_model, op)

    @strawberry.mutation(description="Record a file attached to the case (metadata only).")
    async def add_case_attachment(self, info: Info, input: AddCaseAttachmentInput) -> CasePayload:
        async def op(ctx: ServiceContext) -> m.DropoutCase:
            case_id = node_id(input.case_id, "DropoutCase", "caseId")
            await service.add_attachment(
                ctx,
                case_id=case_id,
                filename=input.filename,
                content_type=input.content_type,
                size_bytes=input.size_bytes,
                sha256=input.sha256,
            )
            (case,) = await service.get_cases(ctx, [case_id])
            assert case is not None
            return case

        return await mutate(info, CasePayload, CaseNode.from_model, op)
