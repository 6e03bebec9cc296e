"""DataLoaders: one batched statement per relation per request, whatever the page size."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

from strawberry.dataloader import DataLoader

from models.case import CaseAttachment, CaseEvent, CasePlan, DropoutCase
from models.child import Child, Guardian
from models.document import LegalDocument
from models.employer import Employer
from models.enforcement import EnforcementAction
from models.finding import LabourFinding
from models.inspection import Campaign, Inspection, InspectionParticipant, InspectionVisit
from models.reference import Agency, Jurisdiction
from models.school import School
from models.task import Task
from models.user import RoleGrant, User
from schema.enums import CaseStage, SpecialGroup
from workflow import (
    case,
    child,
    document,
    employer,
    enforcement,
    finding,
    inspection,
    reference,
    task,
    user,
)
from workflow.child import EnrolmentView
from workflow.context import ServiceContext

K = TypeVar("K")
V = TypeVar("V")


class Loaders:
    """Built per request, so batches never mix callers with different permissions."""

    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx

        async def jurisdictions(codes: Sequence[str]) -> list[Jurisdiction | None]:
            return await reference.get_jurisdictions(ctx, codes)

        async def jurisdiction_children(codes: Sequence[str]) -> list[list[Jurisdiction]]:
            return await reference.children_of(ctx, codes)

        async def agencies(ids: Sequence[int]) -> list[Agency | None]:
            return await reference.get_agencies(ctx, ids)

        async def guardians(ids: Sequence[int]) -> list[list[Guardian]]:
            return await child.guardians_of(ctx, ids)

        async def groups(ids: Sequence[int]) -> list[list[SpecialGroup]]:
            return await child.groups_of(ctx, ids)

        async def enrolments(ids: Sequence[int]) -> list[EnrolmentView | None]:
            return await child.enrolments_of(ctx, ids)

        async def case_events(ids: Sequence[int]) -> list[list[CaseEvent]]:
            return await case.timeline(ctx, ids)

        async def case_tasks(ids: Sequence[int]) -> list[list[Task]]:
            return await case.tasks_of(ctx, ids)

        async def case_plans(ids: Sequence[int]) -> list[CasePlan | None]:
            return await case.plans_of(ctx, ids)

        async def case_children(ids: Sequence[int]) -> list[Child]:
            return await case.children_of(ctx, ids)

        async def case_attachments(ids: Sequence[int]) -> list[list[CaseAttachment]]:
            return await case.attachments_of(ctx, ids)

        async def case_documents(ids: Sequence[int]) -> list[list[LegalDocument]]:
            return await document.documents_of_cases(ctx, ids)

        self.case_attachments: DataLoader[int, list[CaseAttachment]] = DataLoader(
            case_attachments
        )
        self.case_documents: DataLoader[int, list[LegalDocument]] = DataLoader(case_documents)
        async def cases(ids: Sequence[int]) -> list[DropoutCase | None]:
            return await case.get_cases(ctx, ids)

        async def subjects(ids: Sequence[int]) -> list[task.TaskSubject | None]:
            return await task.subjects_of(ctx, ids)

        async def children(ids: Sequence[int]) -> list[Child]:
            return await case.children_of(ctx, ids)

        async def users(ids: Sequence[int]) -> list[User | None]:
            return await task.users_by_id(ctx, ids)

        async def role_grants(ids: Sequence[int]) -> list[list[RoleGrant]]:
            return await user.grants_of(ctx, ids)

        async def schools(ids: Sequence[int]) -> list[School | None]:
            return await child.schools_by_id(ctx, ids)

        self.case: DataLoader[int, DropoutCase | None] = DataLoader(cases)
        self.task_subject: DataLoader[int, task.TaskSubject | None] = DataLoader(subjects)
        self.child: DataLoader[int, Child] = DataLoader(children)
        self.user: DataLoader[int, User | None] = DataLoader(users)
        self.school: DataLoader[int, School | None] = DataLoader(schools)
        self.role_grants: DataLoader[int, list[RoleGrant]] = DataLoader(role_grants)
        self.case_events: DataLoader[int, list[CaseEvent]] = DataLoader(case_events)
        self.case_tasks: DataLoader[int, list[Task]] = DataLoader(case_tasks)
        self.case_plan: DataLoader[int, CasePlan | None] = DataLoader(case_plans)
        self.case_child: DataLoader[int, Child] = DataLoader(case_children)
        self.jurisdiction: DataLoader[str, Jurisdiction | None] = DataLoader(jurisdictions)
        self.jurisdiction_children: DataLoader[str, list[Jurisdiction]] = DataLoader(
            jurisdiction_children
        )
        self.agency: DataLoader[int, Agency | None] = DataLoader(agencies)
        self.guardians: DataLoader[int, list[Guardian]] = DataLoader(guardians)
        self.child_groups: DataLoader[int, list[SpecialGroup]] = DataLoader(groups)
        self.enrolment: DataLoader[int, EnrolmentView | None] = DataLoader(enrolments)
        self._labour(ctx)

    def _labour(self, ctx: ServiceContext) -> None:
        """Employers, inspections, findings and enforcement, and the relations among them."""

        def load(
            fn: Callable[[ServiceContext, Sequence[K]], Awaitable[list[V]]],
        ) -> DataLoader[K, V]:
            async def batch(keys: Sequence[K]) -> list[V]:
                return await fn(ctx, keys)

            return DataLoader(batch)

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
        self.registered_child: DataLoader[int, Child | None] = load(child.get_children)
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
        self.document: DataLoader[int, LegalDocument | None] = load(document.get_documents)
