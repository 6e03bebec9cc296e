"""The three comparisons (四查三比对) and their door-to-door verification (铁脚板摸排):
matching the base database to the register (``matching``), the set-based job per district
(``run``), many districts at once (``province``), whether a district's inputs changed
(``inputs``), its rules per district (``rules``) and the services (``operations``)."""

from workflow.crosscheck.operations import (
    FindingFilter,
    RunFilter,
    findings_page,
    get_findings,
    get_runs,
    resolve_verification,
    run_crosscheck,
    runs_page,
)
from workflow.crosscheck.province import crosscheck_province, district_codes
from workflow.crosscheck.run import TASK_KIND, crosscheck_district

__all__ = ["TASK_KIND", "FindingFilter", "RunFilter", "crosscheck_district",
           "crosscheck_province", "district_codes", "findings_page", "get_findings", "get_runs",
           "resolve_verification", "run_crosscheck", "runs_page"]
