"""GraphQL for child-labour inspections: campaigns, the inspection, its visits and roll-up."""

from __future__ import annotations

from datetime import date, datetime

import strawberry
from strawberry import relay

from models import inspection as m
from schema.backrefs import provides
from schema.context import Info
from schema.employer import EmployerNode
from schema.enforcement import EnforcementNode
from schema.enums import AgencyKind, InspectionKind, InspectionStatus
from schema.finding import FindingNode
from schema.ids import node_id, optional_node_id
from schema.mutation import UserError, mutate
from schema.pagination import Connection, page_request, to_connection
from schema.reference import AgencyNode
from schema.shape import fetched_by, maybe, row_field
from workflow import inspection as service
from workflow.context import ServiceContext


@fetched_by(service.campaigns_of)
@strawberry.type(name="InspectionCampaign", description="专项检查: inspections over a period.")
class CampaignNode(relay.Node):
    campaign_id: relay.NodeID[int]
    name: str
    starts_on: date
    ends_on: date

    @classmethod
    def from_model(cls, c: m.Campaign) -> CampaignNode:
        return cls(campaign_id=c.id, name=c.name, starts_on=c.starts_on, ends_on=c.ends_on)


@strawberry.type(name="InspectionParticipant")
class ParticipantType:
    agency_kind: AgencyKind
    officer_name: str
    agency_id: strawberry.Private[int]

    @strawberry.field
    async def agency(self, info: Info) -> AgencyNode | None:
        a = await info.context.loaders.agency.load(self.agency_id)
        return maybe(AgencyNode.from_model, a)


@provides
@strawberry.type(name="InspectionVisit", description="An employer on an inspection's list.")
class InspectionVisitType:
    row: strawberry.Private[m.InspectionVisit]

    @classmethod
    def from_model(cls, v: m.InspectionVisit) -> InspectionVisitType:
        return cls(row=v)

    visited_on = row_field(
        "visited_on", date | None, description="Null until the team has been there."
    )

    note = row_field("note", str)

    @strawberry.field
    async def employer(self, info: Info) -> EmployerNode | None:
        e = await info.context.loaders.employer.load(self.row.employer_id)
        return maybe(EmployerNode.from_model, e)

    @strawberry.field
    async def inspection(self, info: Info) -> InspectionNode | None:
        i = await info.context.loaders.inspection.load(self.row.inspection_id)
        return maybe(InspectionNode.from_model, i)


@strawberry.type(
    name="InspectionAgencyPart",
    description="One agency's share of the tasks that followed from an inspection's findings.",
)
class AgencyPartType:
    agency_kind: AgencyKind
    open: int
    done: int
    cancelled: int
    overdue: int
    next_due_on: date | None


@provides
@fetched_by(service.get_inspections)
@strawberry.type(name="Inspection", description="An inspection of employers for child labour.")
class InspectionNode(relay.Node):
    inspection_id: relay.NodeID[int]
    row: strawberry.Private[m.Inspection]

    @classmethod
    def from_model(cls, i: m.Inspection) -> InspectionNode:
        return cls(inspection_id=i.id, row=i)

    kind = row_field("kind", InspectionKind)
    status = row_field("status", InspectionStatus)
    title = row_field("title", str)
    planned_on = row_field("planned_on", date)
    started_at = row_field("started_at", datetime | None)
    completed_at = row_field("completed_at", datetime | None)
    summary = row_field(
        "summary", str, description="The summary on completion, or the reason it was cancelled."
    )

    version = row_field(
        "version", int, description="Optimistic version: send it back when changing it."
    )

    @strawberry.field
    async def lead_agency(self, info: Info) -> AgencyNode | None:
        a = await info.context.loaders.agency.load(self.row.lead_agency_id)
        return maybe(AgencyNode.from_model, a)

    @strawberry.field
    async def campaign(self, info: Info) -> CampaignNode | None:
        if self.row.campaign_id is None:
            return None
        c = await info.context.loaders.campaign.load(self.row.campaign_id)
        return maybe(CampaignNode.from_model, c)

    @strawberry.field
    async def participants(self, info: Info) -> list[ParticipantType]:
        rows = await info.context.loaders.participants.load(self.row.id)
        return [
            ParticipantType(
                agency_kind=p.agency_kind, officer_name=p.officer_name, agency_id=p.agency_id
            )
            for p in rows
        ]

    @strawberry.field(description="The employers listed and visited.")
    async def visits(self, info: Info) -> list[InspectionVisitType]:
        rows = await info.context.loaders.visits.load(self.row.id)
        return [InspectionVisitType.from_model(v) for v in rows]

    @strawberry.field
    async def findings(self, info: Info) -> list[FindingNode]:
        rows = await info.context.loaders.inspection_findings.load(self.row.id)
        return [FindingNode.from_model(f) for f in rows]

    @strawberry.field
    async def enforcement_actions(self, info: Info) -> list[EnforcementNode]:
        rows = await info.context.loaders.inspection_actions.load(self.row.id)
        return [EnforcementNode.from_model(a) for a in rows]

    @strawberry.field(description="Roll-up: each agency's tasks from the findings, by state.")
    async def progress(self, info: Info) -> list[AgencyPartType]:
        parts = await info.context.loaders.inspection_progress.load(self.row.id)
        return [
            AgencyPartType(
                agency_kind=p.agency_kind,
                open=p.open,
                done=p.done,
                cancelled=p.cancelled,
                overdue=p.overdue,
                next_due_on=p.next_due_on,
            )
            for p in parts
        ]


@strawberry.input
class InspectionFilterInput:
    status: InspectionStatus | None = None
    campaign_id: strawberry.ID | None = None
    employer_id: strawberry.ID | None = None
    planned_from: date | None = None
    planned_to: date | None = None


@strawberry.type
class InspectionQuery:
    @strawberry.field(description="Inspections the caller may read, latest planned first.")
    async def inspections(
        self,
        info: Info,
        filter: InspectionFilterInput | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[InspectionNode]:
        services = info.context.services
        f = filter or InspectionFilterInput()
        page = await service.inspections_page(
            services,
            service.InspectionFilter(
                status=f.status,
                campaign_id=optional_node_id(f.campaign_id, "InspectionCampaign", "campaignId"),
                employer_id=optional_node_id(f.employer_id, "Employer", "employerId"),
                planned_from=f.planned_from,
                planned_to=f.planned_to,
            ),
            page_request(info, first, after),
        )
        return to_connection(page, InspectionNode.from_model)


@strawberry.type
class InspectionPayload:
    inspection: InspectionNode | None
    user_errors: list[UserError]


@strawberry.type
class CampaignPayload:
    campaign: CampaignNode | None
    user_errors: list[UserError]


def _inspection_id(gid: strawberry.ID) -> int:
    return node_id(gid, "Inspection", "inspectionId")


@strawberry.input
class CreateCampaignInput:
    name: str
    starts_on: date
    ends_on: date


@strawberry.input
class ParticipantInput:
    agency_id: strawberry.ID
    officer_name: str = ""


@strawberry.input
class PlanInspectionInput:
    kind: InspectionKind
    title: str
    planned_on: date
    employer_ids: list[strawberry.ID]
    participants: list[ParticipantInput] = strawberry.field(default_factory=list)
    campaign_id: strawberry.ID | None = None
    township_code: str | None = strawberry.field(
        default=None, description="Keep the inspection (and who sees it) within one township."
    )


@strawberry.input
class InspectionVersionInput:
    inspection_id: strawberry.ID
    expected_version: int | None = None


@strawberry.input
class RecordVisitInput:
    inspection_id: strawberry.ID
    employer_id: strawberry.ID
    visited_on: date
    note: str = ""


@strawberry.input
class CompleteInspectionInput:
    inspection_id: strawberry.ID
    summary: str
    expected_version: int | None = None


@strawberry.input
class CancelInspectionInput:
    inspection_id: strawberry.ID
    reason: str
    expected_version: int | None = None


@strawberry.type
class InspectionMutation:
    @strawberry.mutation(description="专项检查: a campaign of inspections over a period.")
    async def create_campaign(self, info: Info, input: CreateCampaignInput) -> CampaignPayload:
        async def op(ctx: ServiceContext) -> m.Campaign:
            return await service.create_campaign(
                ctx, name=input.name, starts_on=input.starts_on, ends_on=input.ends_on
            )

        return await mutate(info, CampaignPayload, CampaignNode.from_model, op)

    @strawberry.mutation(description="Plan an inspection: employers, agencies joining the lead.")
    async def plan_inspection(self, info: Info, input: PlanInspectionInput) -> InspectionPayload:
        async def op(ctx: ServiceContext) -> m.Inspection:
            return await service.plan(
                ctx,
                kind=input.kind,
                title=input.title,
                planned_on=input.planned_on,
                employer_ids=[node_id(e, "Employer", "employerIds") for e in input.employer_ids],
                participants=[
                    service.ParticipantIn(
                        agency_id=node_id(p.agency_id, "Agency", "participants"),
                        officer_name=p.officer_name,
                    )
                    for p in input.participants
                ],
                campaign_id=optional_node_id(input.campaign_id, "InspectionCampaign", "campaignId"),
                township_code=input.township_code,
            )

        return await mutate(info, InspectionPayload, InspectionNode.from_model, op)

    @strawberry.mutation(description="The team sets out: planned → in progress.")
    async def start_inspection(
        self, info: Info, input: InspectionVersionInput
    ) -> InspectionPayload:
        async def op(ctx: ServiceContext) -> m.Inspection:
            return await service.start(
                ctx,
                inspection_id=_inspection_id(input.inspection_id),
                expected_version=input.expected_version,
            )

        return await mutate(info, InspectionPayload, InspectionNode.from_model, op)

    @strawberry.mutation(description="Record a visit (an unplanned employer is added).")
    async def record_inspection_visit(
        self, info: Info, input: RecordVisitInput
    ) -> InspectionPayload:
        async def op(ctx: ServiceContext) -> m.Inspection:
            return await service.record_visit(
                ctx,
                inspection_id=_inspection_id(input.inspection_id),
                employer_id=node_id(input.employer_id, "Employer", "employerId"),
                visited_on=input.visited_on,
                note=input.note,
            )

        return await mutate(info, InspectionPayload, InspectionNode.from_model, op)

    @strawberry.mutation(description="Close an inspection under way, with its summary.")
    async def complete_inspection(
        self, info: Info, input: CompleteInspectionInput
    ) -> InspectionPayload:
        async def op(ctx: ServiceContext) -> m.Inspection:
            return await service.complete(
                ctx,
                inspection_id=_inspection_id(input.inspection_id),
                expected_version=input.expected_version,
                summary=input.summary,
            )

        return await mutate(info, InspectionPayload, InspectionNode.from_model, op)

    @strawberry.mutation(description="Cancel a planned inspection, with the reason.")
    async def cancel_inspection(
        self, info: Info, input: CancelInspectionInput
    ) -> InspectionPayload:
        async def op(ctx: ServiceContext) -> m.Inspection:
            return await service.cancel(
                ctx,
                inspection_id=_inspection_id(input.inspection_id),
                expected_version=input.expected_version,
                reason=input.reason,
            )

        return await mutate(info, InspectionPayload, InspectionNode.from_model, op)
