"""Imports of the agencies' lists into the register and the base database (issue 14):
``reading`` (CSV and XLSX, header mappings), ``validation`` (each row), ``staging`` (batched
into ``import_row``), ``merge`` (set-based into the register), ``operations`` (the job's
operations, what GraphQL and the upload route call) and ``reminders`` (the ST 1 job).
"""

from workflow.imports.operations import (
    JobFilter,
    Uploaded,
    apply,
    cancel,
    candidates_page,
    check_period,
    decide_candidate,
    get_candidates,
    get_jobs,
    jobs_page,
    preview,
    progress_event,
    rejects_page,
    upload,
    visible_jobs,
)
from workflow.imports.reminders import remind_lists

__all__ = [
    "JobFilter",
    "Uploaded",
    "apply",
    "cancel",
    "candidates_page",
    "check_period",
    "decide_candidate",
    "get_candidates",
    "get_jobs",
    "jobs_page",
    "preview",
    "progress_event",
    "rejects_page",
    "remind_lists",
    "upload",
    "visible_jobs",
]
