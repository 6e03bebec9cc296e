"""Periodic reports (四个一 reporting; GH 三(二); ST 末段): the kinds as data per district
(``kinds``), drafting from the data (``drafting``), the job, submission and review
(``operations``), and the outputs (``xlsx``, ``pdf``). The package's one public surface."""

from workflow.report.kinds import ExportFormat, ReportKind, kinds_for, period_for
from workflow.report.operations import (
    XLSX_TYPE,
    Decision,
    ReportFile,
    ReportFilter,
    export,
    figures,
    figures_of,
    get_reports,
    open_reports,
    reports_page,
    review,
    submit,
)

__all__ = [
    "XLSX_TYPE",
    "Decision",
    "ExportFormat",
    "ReportFile",
    "ReportFilter",
    "ReportKind",
    "export",
    "figures",
    "figures_of",
    "get_reports",
    "kinds_for",
    "open_reports",
    "period_for",
    "reports_page",
    "review",
    "submit",
]
