"""DataLoaders: one batched statement per relation per request, whatever the page size."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

from strawberry.dataloader import DataLoader

from models.accountability import AccountabilityItem
from models.case import CaseAttachment, CaseEvent, CasePlan, DropoutCase
from models.child import Child, Guardian
from models.crosscheck import CrosscheckFinding
from models.document import LegalDocument
from models.employer import Employer
from models.enforcement import EnforcementAction
from models.finding import LabourFinding
from models.household import HouseholdCorrection
from models.imports import ImportJob
from models.inspection import Campaign, Inspection, InspectionParticipant, InspectionVisit
from models.reference import Agency, Jurisdiction
from models.report import PeriodicReport
from models.school import RegisterEvent, School
from models.supervision import SupervisionFinding
from models.task import Task
from models.user import RoleGrant, User
from schema.enums import CaseStage, SpecialGroup
from workflow import (
    accountability,
    case,
    census,
    child,
    crosscheck,
    document,
    employer,
    enforcement,
    finding,
    imports,
    inspection,
    prevention,
    reference,
    report,
    supervision,
    task,
    user,
)
from workflow.child import EnrolmentView
from workflow.context import ServiceContext
from workflow.household import query as household
from workflow.pagination import Page, PageRequest
from workflow.register import history

K = TypeVar("K")
V = TypeVar("V")


class Loaders:
    """Built per request, so batches never mix callers with different permissions.

    One loader per relation: each wraps one batched service function (``fn(ctx, keys)``
    answering one entry per key, in order), so a relation reached from several types (a
    case's child from the case and from its tasks) is fetched and cached once per request.
    """

    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx
        self._reference_and_children()
        self._cases()
        self._labour()
        self._imports()
        self._prevention()

    def _load(
        self, fn: Callable[[ServiceContext, Sequence[K]], Awaitable[list[V]]]
    ) -> DataLoader[K, V]:
        ctx = self.ctx

        async def batch(keys: Sequence[K]) -> list[V]:
            return await fn(ctx, keys)

        return DataLoader(batch)

    def _reference_and_children(self) -> None:
        """Jurisdictions, agencies, schools and users; children and what hangs off them."""
        load = self._load
        self.jurisdiction: DataLoader[str, Jurisdiction | None] = load(
            reference.get_jurisdictions
        )
        self.jurisdiction_children: DataLoader[str, list[Jurisdiction]] = load(
            reference.children_of
        )
        self.agency: DataLoader[int, Agency | None] = load(reference.get_agencies)
        # The offices whose scope covers a path (a task's: the office its queue is).
        self.agencies_covering: DataLoader[str, list[Agency]] = load(
            reference.agencies_covering
        )
        self.school: DataLoader[int, School | None] = load(child.schools_by_id)
        self.user: DataLoader[int, User | None] = load(task.users_by_id)
        self.role_grants: DataLoader[int, list[RoleGrant]] = load(user.grants_of)
        self.guardians: DataLoader[int, list[Guardian]] = load(child.guardians_of)
        self.child_groups: DataLoader[int, list[SpecialGroup]] = load(child.groups_of)
        self.enrolment: DataLoader[int, EnrolmentView | None] = load(child.enrolments_of)
        # A page of a child's register history, keyed by (child, the page asked for).
        self.register_events: DataLoader[tuple[int, PageRequest], Page[RegisterEvent]] = load(
            history.events_pages
        )
        # A child on the register, as far as the caller may see it (findings name children
        # the caller may not otherwise reach).
        self.registered_child: DataLoader[int, Child | None] = load(child.get_children)
        # A comparisons' finding, as far as the caller may see it (a ledger's person on no
        # register).
        self.crosscheck_finding: DataLoader[int, CrosscheckFinding | None] = load(
            crosscheck.get_findings)
        # The police's household corrections about a child (ST 8).
        self.child_household_corrections: DataLoader[int, list[HouseholdCorrection]] = load(
            household.corrections_of_children
        )

    def _cases(self) -> None:
        """Cases and their relations; tasks and documents as they hang off a case."""
        load = self._load
        self.case: DataLoader[int, DropoutCase | None] = load(case.get_cases)
        # The child of a case the caller may read (the case grants the view), reached from
        # the case itself and from the case's tasks: one loader, one cache.
        self.case_child: DataLoader[int, Child] = load(case.children_of)
        self.case_events: DataLoader[int, list[CaseEvent]] = load(case.timeline)
        self.case_tasks: DataLoader[int, list[Task]] = load(case.tasks_of)
        self.case_plan: DataLoader[int, CasePlan | None] = load(case.plans_of)
        self.case_attachments: DataLoader[int, list[CaseAttachment]] = load(case.attachments_of)
        self.case_documents: DataLoader[int, list[LegalDocument]] = load(
            document.documents_of_cases
        )
        # A task by id (a finding's verification task), as far as the caller may see it.
        self.task: DataLoader[int, Task | None] = load(task.get_tasks)
        self.task_subject: DataLoader[int, task.TaskSubject | None] = load(task.subjects_of)
        self.document: DataLoader[int, LegalDocument | None] = load(document.get_documents)

    def _labour(self) -> None:
        """Employers, inspections, findings and enforcement, and the relations among them."""
        load = self._load
        self.employer: DataLoader[int, Employer | None] = load(employer.get_employers)
        self.inspection: DataLoader[int, Inspection | None] = load(inspection.get_inspections)
        self.campaign: DataLoader[int, Campaign | None] = load(inspection.campaigns_of)
        self.participants: DataLoader[int, list[InspectionParticipant]] = load(
            inspection.participants_of
        )
        self.visits: DataLoader[int, list[InspectionVisit]] = load(inspection.visits_of)
        self.inspection_progress: DataLoader[int, list[inspection.AgencyPart]] = load(
            inspection.progress_of
        )
        self.employer_visits: DataLoader[int, list[InspectionVisit]] = load(
            inspection.visits_of_employers
        )
        self.finding: DataLoader[int, LabourFinding | None] = load(finding.get_findings)
        self.inspection_findings: DataLoader[int, list[LabourFinding]] = load(
            finding.findings_of_inspections
        )
        self.case_findings: DataLoader[int, list[LabourFinding]] = load(finding.findings_of_cases)
        self.employer_findings: DataLoader[int, list[LabourFinding]] = load(
            finding.findings_of_employers
        )
        self.finding_tasks: DataLoader[int, list[Task]] = load(finding.tasks_of)
        self.case_stage: DataLoader[int, CaseStage | None] = load(finding.case_stages)
        self.action: DataLoader[int, EnforcementAction | None] = load(enforcement.get_actions)
        self.inspection_actions: DataLoader[int, list[EnforcementAction]] = load(
            enforcement.actions_of_inspections
        )
        self.case_actions: DataLoader[int, list[EnforcementAction]] = load(
            enforcement.actions_of_cases
        )
        self.employer_actions: DataLoader[int, list[EnforcementAction]] = load(
            enforcement.actions_of_employers
        )
        self.action_finding_ids: DataLoader[int, list[int]] = load(enforcement.finding_ids_of)

    def _imports(self) -> None:
        """The import job a match candidate came in."""
        self.import_job: DataLoader[int, ImportJob | None] = self._load(imports.get_jobs)
        # The cases linked to a blacklist entry of illegal substitute schooling (ST 10).
        self.substitute_cases: DataLoader[int, list[int]] = self._load(prevention.cases_of)
        # A report's figures: the drafts of a page drafted together (issue 16: no N+1).
        self.report_figures: DataLoader[PeriodicReport, dict[str, Any]] = self._load(
            report.figures_of
        )
        # Supervision (督导): a supervision's findings, and the accountability item a
        # finding bears on (read under the accountability policy).
        self.supervision_findings: DataLoader[int, list[SupervisionFinding]] = self._load(
            supervision.findings_of
        )
        self.accountability_item: DataLoader[int, AccountabilityItem | None] = self._load(
            accountability.get_items
        )

    def _prevention(self) -> None:
        """Home visits and the special-needs census (ST 5, 7)."""
        self.census_counts: DataLoader[int, list[census.CategoryCount]] = self._load(
            census.counts_of
        )
