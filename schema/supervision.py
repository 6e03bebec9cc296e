"""GraphQL for supervision (督导检查, LS 9; GH 三(六); ST 10): the supervisions a caller may
see with their findings, recording one, the unit's rectification and the inspectorate's
review of it, and the results report to the government."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import strawberry

from models import supervision as m
from schema.accountability import AccountabilityItemNode
from schema.context import Info
from schema.enums import (
    ExportFormat,
    SupervisionStatus,
)
from schema.ids import node_id
from schema.operations import Operation, listing, operations
from schema.reference import AgencyNode
from schema.report import ReportFileType
from schema.shape import RowNode, fetched_by, related, row_field
from workflow import supervision as service
from workflow.context import ServiceContext

SUPERVISION = ("A supervision (督导检查) of a township, school or agency by the inspectorate, "
               "with its findings to rectify (LS 9; GH 三(六); ST 10).")
FINDING = ("A problem a supervision found: the rectification the unit owes by its deadline, "
           "the unit's report and the inspectorate's acceptance or return (ST 10 限期整改).")


@fetched_by(service.get_findings)
@strawberry.type(name="SupervisionFinding", description=FINDING)
class SupervisionFindingNode(RowNode, columns=("description", "due_on", "status", "rectification",
                                               "reported_at", "reviewed_at", "review_note",
                                               "version")):
    row: strawberry.Private[m.SupervisionFinding]
    accountability_item = related(
        "accountability_item", "row.accountability_item_id", AccountabilityItemNode,
        description="The accountability item of the same unit the finding bears on.")


@fetched_by(service.get_supervisions)
@strawberry.type(name="Supervision", description=SUPERVISION)
class SupervisionNode(RowNode, columns=("subject_kind", "subject_name")):
    row: strawberry.Private[m.Supervision]
    subject_agency = related("agency", "row.subject_agency_id", AgencyNode,
                             description="The supervised unit.")
    title = row_field("title", str)
    visited_on = row_field("visited_on", date)
    inspectors = row_field("inspectors", str, description="The inspection group (督导组).")
    summary = row_field("summary", str)
    status = row_field("status", SupervisionStatus)
    recorded_at = row_field("recorded_at", datetime)
    closed_at = row_field("closed_at", datetime | None)
    version = row_field("version", int)
    findings = related("supervision_findings", "row.id", SupervisionFindingNode, many=True,
                       description="The findings, in the order recorded.")


@strawberry.input
class SupervisionResultsInput:
    jurisdiction_code: str | None = strawberry.field(
        default=None, description="The district (the caller's own when absent).")
    period_start: date
    period_end: date


@strawberry.type
class SupervisionQuery:
    supervisions = listing(
        SupervisionNode, service.supervisions_page,
        filter=service.SupervisionFilter,
        description="Supervisions the caller may see (the district's, or its own unit's).",
    )

    @strawberry.field(description="The results report to the government (督导检查结果报告): "
                      "the district's supervisions of a period and where their findings stand, "
                      "as XLSX (native charts) or a printable PDF.")
    async def supervision_results(
        self, info: Info, input: SupervisionResultsInput, format: ExportFormat
    ) -> ReportFileType:
        file = await service.results_report(
            info.context.services, jurisdiction_code=input.jurisdiction_code,
            period_start=input.period_start, period_end=input.period_end, format=format)
        return ReportFileType(file=file)


@strawberry.input
class SupervisionFindingInput:
    description: str
    accountability_item_id: strawberry.ID | None = strawberry.field(
        default=None, description="An AccountabilityItem of the same unit it bears on.")


@strawberry.input
class RecordSupervisionInput:
    subject_agency_id: strawberry.ID
    title: str
    visited_on: date
    inspectors: str
    summary: str = ""
    findings: list[SupervisionFindingInput] = strawberry.field(
        default_factory=list, description="What was found; each is a rectification task.")


async def _record(ctx: ServiceContext, *, findings: list[SupervisionFindingInput],
                  **given: Any) -> m.Supervision:
    """The findings' ids decoded (nested in the input) before the service is called."""
    drafts = [service.FindingDraft(
        f.description,
        None if f.accountability_item_id is None
        else node_id(f.accountability_item_id, "AccountabilityItem", "accountabilityItemId"))
        for f in findings]
    return await service.record(ctx, findings=drafts, **given)


@strawberry.type
@operations("supervision", SupervisionNode, ids={"subject_agency_id": "Agency"})
class SupervisionMutation:
    record_supervision = Operation(
        _record, RecordSupervisionInput,
        "Record a supervision of a unit with its findings (each a rectification task).",
    )


@strawberry.type
@operations("finding", SupervisionFindingNode,
            ids={"supervision_finding_id": "SupervisionFinding"})
class RectificationMutation:
    report_rectification = Operation(
        service.report_rectification,
        description="The supervised unit reports a finding rectified.",
    )
    review_rectification = Operation(
        service.review_rectification,
        description="Accept a reported rectification, or return it with the reason.",
    )
