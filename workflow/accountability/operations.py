"""The inspectorate's side of accountability: the items it may see, and its review of each
(confirm, dismiss with a reason, record the action taken), audited."""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy import ColumnElement, Select, select

from authz.filters import scope_filter
from models.accountability import AccountabilityItem
from models.enums import AccountabilityStatus, TaskStatus
from models.task import Task
from workflow import audit
from workflow.common import check_version, fetch_visible, rows_by_ids, where_given
from workflow.context import ServiceContext
from workflow.errors import InvalidInput, WrongStage
from workflow.pagination import Page, PageRequest, keyset_page

OBJ = "accountability"


class Decision(enum.Enum):
    """What the inspectorate decides on an item."""

    CONFIRM = "confirm"
    DISMISS = "dismiss"
    ACT = "act"


# From which states each decision may be taken, and the state it leads to.
DECISIONS = {
    Decision.CONFIRM: ((AccountabilityStatus.RAISED,), AccountabilityStatus.CONFIRMED),
    Decision.DISMISS: ((AccountabilityStatus.RAISED, AccountabilityStatus.CONFIRMED),
                       AccountabilityStatus.DISMISSED),
    Decision.ACT: ((AccountabilityStatus.RAISED, AccountabilityStatus.CONFIRMED),
                   AccountabilityStatus.ACTED_ON),
}
NOTE_LIMIT = 2000


def visible(ctx: ServiceContext) -> ColumnElement[bool]:
    """Items of units in the caller's domains: the inspectorate's district, a township's own."""
    return scope_filter(ctx.authz, ctx.principal, OBJ, "read", AccountabilityItem.subject_path)


@dataclass(frozen=True)
class ItemFilter:
    """The list's optional filters (each absent one matches every item)."""

    status: AccountabilityStatus | None = None
    rule_code: str | None = None
    month: date | None = None


def items_query(ctx: ServiceContext, f: ItemFilter) -> Select[AccountabilityItem]:
    return where_given(
        select(AccountabilityItem).where(visible(ctx)),
        (AccountabilityItem.status, f.status),
        (AccountabilityItem.rule_code, f.rule_code),
        (AccountabilityItem.month, f.month),
    )


async def items_page(
    ctx: ServiceContext, f: ItemFilter, request: PageRequest
) -> Page[AccountabilityItem]:
    return await keyset_page(ctx, items_query(ctx, f), AccountabilityItem.id, request,
                             prefix="accountability")


async def get_items(ctx: ServiceContext, ids: Sequence[int]) -> list[AccountabilityItem | None]:
    stmt = select(AccountabilityItem).where(visible(ctx))
    return await rows_by_ids(ctx, stmt, AccountabilityItem.id, ids)


async def _done_tasks(ctx: ServiceContext, item: AccountabilityItem) -> list[int]:
    """Tasks the item's evidence lists that have been done since it was raised."""
    ids = [t["task_id"] for line in item.evidence.get("cases", [])
           for t in line.get("overdue_tasks", [])]
    if not ids:
        return []
    rows = await ctx.session.execute(
        select(Task.id).where(Task.id.in_(ids), Task.status == TaskStatus.DONE).order_by(Task.id))
    return list(rows.scalars())


async def review(
    ctx: ServiceContext, *, item_id: int, decision: Decision, note: str = "",
    expected_version: int | None,
) -> AccountabilityItem:
    """Confirm, dismiss (a reason required) or record the action taken (what was done
    required) on an item. Confirming or acting on an item one of whose listed tasks has been
    done since is refused: it would rest on a task that was done."""
    item = await fetch_visible(ctx, AccountabilityItem, item_id, where=visible(ctx), lock=True,
                               not_found="no such accountability item", field="itemId")
    ctx.authz.require(ctx.principal, OBJ, "review", item.subject_path)
    check_version(item.version, expected_version, "the item")
    sources, target = DECISIONS[decision]
    if item.status not in sources:
        raise WrongStage(f"the item is {item.status.value}", field="decision")
    text = note.strip()
    if decision is not Decision.CONFIRM and not text:
        raise InvalidInput("a reason (or the action taken) is required", field="note")
    if len(text) > NOTE_LIMIT:
        raise InvalidInput(f"the note is at most {NOTE_LIMIT} characters", field="note")
    if decision is not Decision.DISMISS and (done := await _done_tasks(ctx, item)):
        raise WrongStage(f"the evidence's tasks {done} have been done since", field="itemId")
    before = item.status
    item.status = target
    item.review_note = text
    item.reviewed_at = ctx.clock.now()
    item.reviewed_by = ctx.principal.user_id
    await ctx.session.flush()
    audit.record(ctx, f"{decision.value}_accountability_item", "accountability_item", [item.id],
                 {"status": [before.value, target.value], "note": text})
    return item
