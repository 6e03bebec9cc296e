"""The task page as one statement that builds its JSON in PostgreSQL (issue 19): the persisted
``AgencyQueue`` operation (``workflow/reference_data/persisted/AgencyQueue.graphql``).

It answers what the normal path answers for that operation, byte for byte
(``tests/test_persisted.py``), from the same sources:

- which tasks: ``workflow.task.visible`` (own agency kind, the compiled ``task``/``read``
  policy filter), in the queue's due order, the page's ids chosen from the index first as
  ``workflow.task.page`` does; the count from the task tally (``tally_total``);
- the case: shown when the policy lets the caller read it (``workflow.case.visible``, the
  SQL form of ``case_allowed`` that ``TaskType.case`` asks), else null;
- the child's name: raw where the caller holds ``unmask`` on ``field:name`` for the child's
  domain or residence at the case's stage (the same policy, compiled by
  ``authz.filters.scope_filter``, as ``FieldGuard.show`` decides), else masked by
  ``authz.masking.mask_name_sql``, the SQL twin of ``mask_name``. Names are not access-logged
  (``SensitiveField.logged``), so the page writes no log, as on the normal path;
- the school: reference data, by the case's school.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Select, Text, and_, case, cast, null, or_, select

from authz.filters import scope_filter
from authz.masking import SensitiveField, mask_name_sql
from models.case import DropoutCase
from models.child import Child
from models.enums import CaseStage, TaskStatus
from models.school import School
from models.task import Task
from workflow import case as case_service
from workflow.context import ServiceContext
from workflow.json_sql import Spelling, agg, global_id, obj
from workflow.task import tally_total, visible

# The GraphQL type names whose global ids the page carries.
TASK_TYPE = "Task"


def name_unmasked(ctx: ServiceContext) -> ColumnElement[bool]:
    """The caller may see the child's name raw: a grant on the child's domain, or on where it
    lives (the guard's ``also``, only when a residence is known), at the case's stage."""
    authz, principal, obj_ = ctx.authz, ctx.principal, SensitiveField.NAME.obj
    return or_(
        scope_filter(authz, principal, obj_, "unmask", Child.scope_path, DropoutCase.stage_rank),
        and_(Child.residence_path != "",
             scope_filter(authz, principal, obj_, "unmask", Child.residence_path,
                          DropoutCase.stage_rank)),
    )


def statement(ctx: ServiceContext, first: int, spell: Spelling) -> Select[Any]:
    """The whole response of ``AgencyQueue(first)``: ``{"data": {"agencyQueue": …}}``.
    The caller has an agency kind (``workflow.task.visible`` admits nothing otherwise, and the
    count would not come from the tally: the API keeps such callers on the normal path)."""
    chosen = (select(Task.id).where(visible(ctx)).order_by(Task.due_on, Task.id).limit(first)
              .subquery("chosen"))
    child_name = mask_name_sql(Child.name, unmasked=name_unmasked(ctx))
    node = obj(
        ("id", global_id(TASK_TYPE, Task.id)),
        ("kind", Task.kind),
        ("title", Task.title),
        ("dueOn", Task.due_on),
        ("priority", Task.priority),
        ("status", spell.enum(Task.status, TaskStatus)),
        ("case", _when(and_(DropoutCase.id.is_not(None), case_service.visible(ctx)),
                       obj(("stage", spell.enum(DropoutCase.stage, CaseStage))))),
        ("child", _when(Child.id.is_not(None), obj(("name", child_name)))),
        ("school", _when(School.id.is_not(None), obj(("name", School.name)))),
    )
    edges = (
        select(agg(obj(("node", node)), Task.due_on, Task.id))
        .select_from(chosen)
        .join(Task, Task.id == chosen.c.id)
        .outerjoin(DropoutCase, DropoutCase.id == Task.case_id)
        .outerjoin(Child, Child.id == DropoutCase.child_id)
        .outerjoin(School, School.id == DropoutCase.school_id)
        .scalar_subquery()
    )
    queue = obj(("totalCount", tally_total(ctx).scalar_subquery()), ("edges", edges))
    return select(cast(obj(("data", obj(("agencyQueue", queue)))), Text))


def _when(condition: ColumnElement[bool], value: Any) -> Any:
    """``value`` where ``condition`` holds, else JSON null (a nullable object field)."""
    return case((condition, value), else_=null())
