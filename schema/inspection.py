"""GraphQL for child-labour inspections: campaigns, the inspection, its visits and roll-up."""

from __future__ import annotations

from datetime import date
from typing import Any

import strawberry

from models import inspection as m
from schema.backrefs import provides
from schema.context import Info
from schema.employer import EmployerNode
from schema.enforcement import EnforcementNode
from schema.enums import AgencyKind, InspectionKind
from schema.finding import FindingNode
from schema.ids import node_id
from schema.operations import Operation, listing, operations
from schema.reference import AgencyNode
from schema.shape import MirrorNode, RowNode, copied, fetched_by, related, row_field
from workflow import inspection as service
from workflow.context import ServiceContext


@fetched_by(service.campaigns_of)
@strawberry.type(name="InspectionCampaign", description="专项检查: inspections over a period.")
class CampaignNode(MirrorNode):
    name: str
    starts_on: date
    ends_on: date


@strawberry.type(name="InspectionParticipant")
class ParticipantType:
    agency_kind: AgencyKind
    officer_name: str
    agency_id: strawberry.Private[int]

    agency = related("agency", "agency_id", AgencyNode)


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

    employer = related("employer", "row.employer_id", EmployerNode)
    inspection = related("inspection", "row.inspection_id", "InspectionNode",
                         lazy="schema.inspection")


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
class InspectionNode(RowNode, columns=("kind", "status", "title", "planned_on", "started_at",
                                         "completed_at")):
    row: strawberry.Private[m.Inspection]

    summary = row_field(
        "summary", str, description="The summary on completion, or the reason it was cancelled."
    )

    version = row_field(
        "version", int, description="Optimistic version: send it back when changing it."
    )

    lead_agency = related("agency", "row.lead_agency_id", AgencyNode)
    campaign = related("campaign", "row.campaign_id", CampaignNode)

    @strawberry.field
    async def participants(self, info: Info) -> list[ParticipantType]:
        rows = await info.context.loaders.participants.load(self.row.id)
        return [copied(ParticipantType, p) for p in rows]

    visits = related("visits", "row.id", InspectionVisitType, many=True,
                     description="The employers listed and visited.")
    findings = related("inspection_findings", "row.id", FindingNode, many=True)
    enforcement_actions = related("inspection_actions", "row.id", EnforcementNode, many=True)

    @strawberry.field(description="Roll-up: each agency's tasks from the findings, by state.")
    async def progress(self, info: Info) -> list[AgencyPartType]:
        parts = await info.context.loaders.inspection_progress.load(self.row.id)
        return [copied(AgencyPartType, p) for p in parts]


@strawberry.type
class InspectionQuery:
    inspections = listing(
        InspectionNode, service.inspections_page,
        filter=service.InspectionFilter,
        ids={"campaign_id": "InspectionCampaign", "employer_id": "Employer"},
    )


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


async def _plan(
    ctx: ServiceContext, *, participants: list[ParticipantInput], **given: Any
) -> m.Inspection:
    joining = [
        service.ParticipantIn(agency_id=node_id(p.agency_id, "Agency", "participants"),
                              officer_name=p.officer_name)
        for p in participants
    ]
    return await service.plan(ctx, participants=joining, **given)


@strawberry.type
@operations("inspection", InspectionNode, ids={
    "inspection_id": "Inspection", "employer_id": "Employer", "employer_ids": "Employer",
    "campaign_id": "InspectionCampaign",
})
class InspectionMutation:
    create_campaign = Operation(
        service.create_campaign, subject="campaign", node=CampaignNode,
    )
    plan_inspection = Operation(_plan, PlanInspectionInput)
    start_inspection = Operation(service.start, InspectionVersionInput)
    record_inspection_visit = Operation(service.record_visit, RecordVisitInput)
    complete_inspection = Operation(service.complete)
    cancel_inspection = Operation(service.cancel)
