"""GraphQL type of a task (the queue operations live with the task service)."""

from __future__ import annotations

from datetime import date, datetime

import strawberry
from strawberry import relay

from models import task as m
from models.enums import AgencyKind, TaskStatus
from schema.context import Info
from workflow.calendar import local_date

strawberry.enum(TaskStatus)


@strawberry.type(name="Task", description="A piece of work for one agency, with a due date.")
class TaskType(relay.Node):
    task_id: relay.NodeID[int]
    row: strawberry.Private[m.Task]

    @classmethod
    def from_model(cls, t: m.Task) -> TaskType:
        return cls(task_id=t.id, row=t)

    @strawberry.field
    def kind(self) -> str:
        return self.row.kind

    @strawberry.field
    def title(self) -> str:
        return self.row.title

    @strawberry.field(description="The agency whose queue holds the task.")
    def agency(self) -> AgencyKind:
        return self.row.agency_kind

    @strawberry.field
    def due_on(self) -> date:
        return self.row.due_on

    @strawberry.field
    def priority(self) -> int:
        return self.row.priority

    @strawberry.field
    def status(self) -> TaskStatus:
        return self.row.status

    @strawberry.field(description="Past its due date and not done: derived from now.")
    def overdue(self, info: Info) -> bool:
        return self.row.status in (TaskStatus.OPEN, TaskStatus.CLAIMED) and (
            self.row.due_on < local_date(info.context.services.clock.now())
        )

    @strawberry.field
    def outcome(self) -> str | None:
        return self.row.outcome

    @strawberry.field
    def step_position(self) -> int | None:
        return self.row.step_position

    @strawberry.field
    def created_at(self) -> datetime:
        return self.row.created_at

    @strawberry.field
    def updated_at(self) -> datetime:
        return self.row.updated_at

    @strawberry.field
    def version(self) -> int:
        return self.row.version
