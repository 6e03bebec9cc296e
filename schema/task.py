"""GraphQL for agency work queues: the task, my tasks, my agency's queue, and the claim /
assign / complete operations."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from datetime import date, datetime
from typing import TYPE_CHECKING, Annotated, Any, cast

import strawberry

from authz.errors import Unauthenticated
from authz.guard import FieldGuard
from models import task as m
from schema.backrefs import builder
from schema.context import Info
from schema.enums import AgencyKind, TaskOrder, TaskStatus, TaskUpdateKind
from schema.loaders import Loaders
from schema.operations import Operation, arguments, filter_input, operations
from schema.pagination import Connection, page_request, selects_total, to_connection
from schema.reference import AgencyNode
from schema.school import SchoolNode
from schema.shape import CodeLabel, RowNode, fetched_by, maybe, row_field
from workflow import case as case_service
from workflow import task as service
from workflow.calendar import local_date
from workflow.case.query import OBJ as CASE_OBJ
from workflow.common import OPEN_TASK_STATUSES
from workflow.context import ServiceContext
from workflow.errors import InvalidInput
from workflow.infra.events import RESYNC

if TYPE_CHECKING:
    from schema.case import CaseNode
    from schema.child import ChildNode
    from schema.document import DocumentNode


@strawberry.type(name="TaskKind", description="A kind of task (a district's ladder may add "
                 "kinds): its code and label.")
class TaskKind(CodeLabel):
    pass


@strawberry.type(name="Assignee")
class Assignee:
    username: str
    display_name: str


@fetched_by(service.get_tasks)
@strawberry.type(name="Task", description="A piece of work for one agency, with a due date.")
class TaskType(RowNode):
    row: strawberry.Private[m.Task]

    kind = row_field("kind", str, deprecation_reason="A bare string: use taskKind.")

    @strawberry.field(description="The kind of work: its code and the label the district's "
                      "ladder gives it.")
    def task_kind(self) -> TaskKind:
        return TaskKind(code=self.row.kind, label=self.row.title)

    title = row_field("title", str)
    agency = row_field(
        "agency_kind", AgencyKind, description="The agency whose queue holds the task.",
        deprecation_reason="The agency's kind only: use agencyKind, or assignedAgency for "
        "the office itself.",
    )
    agency_kind = row_field(
        "agency_kind", AgencyKind, description="The kind of agency whose queue holds the task."
    )
    @strawberry.field(
        description="The office whose queue holds the task: the agency of the task's kind "
        "nearest above the task's domain (a task names a kind and a domain, not an office)."
    )
    async def assigned_agency(self, info: Info) -> AgencyNode | None:
        covering = await info.context.loaders.agencies_covering.load(self.row.scope_path)
        office = next((a for a in covering if a.kind is self.row.agency_kind), None)
        return maybe(AgencyNode.from_model, office)

    due_on = row_field("due_on", date)
    priority = row_field("priority", int, description="1 is the most urgent.")
    status = row_field("status", TaskStatus)

    @strawberry.field(description="Past its due date and not done: derived from now.")
    def overdue(self, info: Info) -> bool:
        return self.row.status in OPEN_TASK_STATUSES and (
            self.row.due_on < local_date(info.context.services.clock.now())
        )

    outcome = row_field("outcome", str | None)
    evidence = row_field(
        "evidence", Any, description="Evidence metadata recorded on completion.",
        graphql_type=strawberry.scalars.JSON,
    )

    step_position = row_field("step_position", int | None)
    created_at = row_field("created_at", datetime)
    updated_at = row_field("updated_at", datetime)
    completed_at = row_field("completed_at", datetime | None)
    version = row_field("version", int)

    @strawberry.field
    async def assignee(self, info: Info) -> Assignee | None:
        if self.row.assignee_id is None:
            return None
        user = await info.context.loaders.user.load(self.row.assignee_id)
        return Assignee(username=user.username, display_name=user.display_name) if user else None

    async def _subject(self, info: Info) -> service.TaskSubject | None:
        """The task's case as the case, child and school fields read it: one row through one
        loader (None for a task without a case)."""
        if self.row.case_id is None:
            return None
        return await info.context.loaders.task_subject.load(self.row.case_id)

    @strawberry.field(description="The case, when the caller may read it.")
    async def case(
        self, info: Info
    ) -> Annotated[CaseNode, strawberry.lazy("schema.case")] | None:
        # The policy decides whether the case itself is shown, as the case list's filter would.
        subject = await self._subject(info)
        if subject is None or not case_service.case_allowed(
            info.context.services, subject.case, CASE_OBJ, "read"
        ):
            return None
        return cast("CaseNode", builder("CaseNode")(subject.case))

    @strawberry.field(description="The legal documents of the task's case the caller may read.")
    async def documents(
        self, info: Info
    ) -> list[Annotated[DocumentNode, strawberry.lazy("schema.document")]]:
        if self.row.case_id is None:
            return []
        rows = await info.context.loaders.case_documents.load(self.row.case_id)
        return cast("list[DocumentNode]", [builder("DocumentNode")(d) for d in rows])

    @strawberry.field(description="The child the task is about, masked as the policy says.")
    async def child(
        self, info: Info
    ) -> Annotated[ChildNode, strawberry.lazy("schema.child")] | None:
        subject = await self._subject(info)
        if subject is None:
            return None
        child = await info.context.loaders.case_child.load(subject.child_id)
        return cast("ChildNode", builder("ChildNode")(child, stage=subject.stage))

    @strawberry.field
    async def school(
        self, info: Info
    ) -> SchoolNode | None:
        subject = await self._subject(info)
        if subject is None or subject.school_id is None:
            return None
        s = await info.context.loaders.school.load(subject.school_id)
        if s is None:
            return None
        return SchoolNode.from_model(s)


# The school condition: a global id, or the deprecated raw key the service filters by.
SCHOOL = {"school": "School"}, {"school": "school_id"}
if TYPE_CHECKING:
    TaskFilterInput = Any
else:
    TaskFilterInput = filter_input(service.TaskFilter, *SCHOOL, hidden=("mine",))


def _queue(mine: bool, description: str) -> Any:
    """A task list: the caller's own tasks (``mine``) or the agency's queue."""

    async def resolve(
        info: Info, filter: TaskFilterInput | None = None, order_by: TaskOrder = TaskOrder.DUE,
        first: int | None = None, after: str | None = None,
    ) -> Connection[TaskType]:
        given = arguments(filter, *SCHOOL)
        page = await service.page(
            info.context.services, service.TaskFilter(**given, mine=mine),
            order_by, page_request(info, first, after), count=selects_total(info))
        return to_connection(page, TaskType.from_model)

    return strawberry.field(resolver=resolve, description=description)


@strawberry.type
class TaskQuery:
    my_tasks = _queue(True, "Tasks assigned to the caller.")
    agency_queue = _queue(
        False, "The caller's agency's queue (its tasks in the caller's domain)."
    )


@strawberry.input
class ClaimTaskInput:
    task_id: strawberry.ID
    expected_version: int


@strawberry.input
class AssignTaskInput:
    task_id: strawberry.ID
    user_id: strawberry.ID = strawberry.field(description="The member's User id.")
    expected_version: int


@strawberry.input
class CompleteTaskInput:
    task_id: strawberry.ID
    expected_version: int
    outcome: str
    # Default null, not {}: graphql-core cannot print an object as a JSON scalar's default,
    # so `= {}` broke the standard introspection query.
    evidence: Any = strawberry.field(
        default=None, graphql_type=strawberry.scalars.JSON | None,
        description="Metadata (a JSON object): photos' hashes, visit notes…; null means {}.")


async def _complete(ctx: ServiceContext, *, evidence: Any, **given: Any) -> m.Task:
    evidence = {} if evidence is None else evidence
    if not isinstance(evidence, dict):
        raise InvalidInput("evidence must be a JSON object", field="evidence")
    return await service.complete(ctx, evidence=evidence, **given)


@strawberry.type
@operations("task", TaskType, ids={"task_id": "Task", "user_id": "User"})
class TaskMutation:
    claim_task = Operation(service.claim, ClaimTaskInput)
    assign_task = Operation(service.assign, AssignTaskInput)
    complete_task = Operation(_complete, CompleteTaskInput)


@strawberry.type(description="A task of the caller's agency appeared, changed, is due soon, "
                 "or became overdue; or RESYNC (task null): the server's event feed was "
                 "interrupted and updates may have been missed, so refetch the queue.")
class TaskUpdate:
    kind: TaskUpdateKind
    task: TaskType | None


@strawberry.type
class TaskSubscription:
    @strawberry.subscription(description="Live updates of the caller's agency queue "
                             "(graphql-transport-ws; send the token in connection_init as "
                             "{\"Authorization\": \"Bearer …\"}).")
    async def task_updates(self, info: Info) -> AsyncGenerator[TaskUpdate, None]:
        context = info.context
        principal = context.services.principal
        if principal.user_id is None or principal.agency_kind is None:
            raise Unauthenticated("sign in with connection_init before subscribing")
        bus, sessions = context.app.bus, context.app.sessions
        if bus is None or sessions is None:
            raise RuntimeError("subscriptions need the app's event bus and session factory")
        authz, clock = context.services.authz, context.services.clock
        async with bus.subscribe() as queue:
            while True:
                event = await queue.get()
                if event.kind == RESYNC.kind:
                    yield TaskUpdate(kind=TaskUpdateKind.RESYNC, task=None)
                    continue
                if event.agency_kind != principal.agency_kind.value:
                    continue
                async with sessions() as session:
                    if context.reauthenticate is not None:
                        # The socket outlives its token and its user's grants: check both
                        # again before anything is read for this event.
                        fresh = await context.reauthenticate(session)
                        if fresh is None:
                            return  # expired or deactivated: the socket is being closed
                        principal = fresh
                        if principal.agency_kind is None or (
                            event.agency_kind != principal.agency_kind.value
                        ):
                            continue
                    services = ServiceContext(session, principal, authz, clock)
                    # The same authorized read as the queue: nothing leaks through events.
                    (task,) = await service.get_tasks(services, [event.task_id])
                    if task is None:
                        continue
                    # The transport writes the access log of this event's unmasked reads
                    # with this session before the result is sent (api/sockets.py).
                    context.services = services
                    context.loaders = Loaders(services)
                    context.guard = FieldGuard(authz, principal, clock.now())
                    yield TaskUpdate(kind=TaskUpdateKind(event.kind),
                                     task=TaskType.from_model(task))
