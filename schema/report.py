"""GraphQL for periodic reports (四个一): the reports a caller may see, their figures and
exports, submission by the unit and review by the level above."""

from __future__ import annotations

import base64
from datetime import date, datetime
from typing import Any

import strawberry

from models import report as m
from schema.context import Info
from schema.enums import AgencyKind, ExportFormat, ReportStatus
from schema.operations import Operation, listing, operations
from schema.shape import RowNode, attr_field, fetched_by, row_field
from workflow import report as service

REPORT = ("A periodic report of a school or a district for one period: drafted from the data, "
          "submitted (its figures frozen), approved or returned by the level above.")


@strawberry.type(name="ReportFile", description="An export of a report's figures.")
class ReportFileType:
    file: strawberry.Private[service.ReportFile]

    filename = attr_field("file.filename", str)
    content_type = attr_field("file.content_type", str)

    @strawberry.field
    def size_bytes(self) -> int:
        return len(self.file.content)

    sha256 = attr_field("file.sha256", str, description="SHA-256 of the bytes, hex.")

    @strawberry.field(name="base64", description="The file's bytes, base64.")
    def content_base64(self) -> str:
        return base64.b64encode(self.file.content).decode()


@fetched_by(service.get_reports)
@strawberry.type(name="PeriodicReport", description=REPORT)
class ReportNode(RowNode):
    row: strawberry.Private[m.PeriodicReport]

    kind = row_field("kind", str, description="The kind's code in periodic_reports.json.")
    unit_kind, unit_name = row_field("unit_kind", AgencyKind), row_field("unit_name", str)
    period_start, period_end, due_on = (
        row_field(c, date) for c in ("period_start", "period_end", "due_on")
    )
    status = row_field("status", ReportStatus)
    @strawberry.field(
        graphql_type=strawberry.scalars.JSON,
        description="title, unit, as_of, table (rows, total: the StatsFigures counts and "
        "rates), trend (month by month): drafted from the data as it stands until submitted, "
        "then as submitted.",
    )
    async def figures(self, info: Info) -> Any:
        return await info.context.loaders.report_figures.load(self.row)
    submitted_at = row_field("submitted_at", datetime | None)
    reviewed_at = row_field("reviewed_at", datetime | None)
    review_note = row_field("review_note", str)
    version = row_field("version", int)

    @strawberry.field(description="The figures as XLSX (native charts) or a printable PDF.")
    async def export(self, info: Info, format: ExportFormat) -> ReportFileType:
        return ReportFileType(file=await service.export(info.context.services, self.row, format))


@strawberry.type
class ReportQuery:
    reports = listing(
        ReportNode, service.reports_page, filter=service.ReportFilter,
        description="Periodic reports the caller may see (its unit's, or those it reviews).",
    )


@strawberry.type
@operations("report", ReportNode, ids={"report_id": "PeriodicReport"})
class ReportMutation:
    submit_report = Operation(
        service.submit, description="Submit the unit's report (its figures are frozen)."
    )
    review_report = Operation(
        service.review,
        description="Approve a submitted report, or return it with a reason.",
    )
