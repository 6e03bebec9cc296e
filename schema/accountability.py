"""GraphQL for accountability (责任追究): the items the monthly scan raised, and their review
by the inspectorate."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import strawberry

from models import accountability as m
from schema.enums import AccountabilityStatus
from schema.operations import Operation, listing, operations
from schema.shape import RowNode, fetched_by, row_field
from workflow import accountability as service

ITEM = ("A rule of the district's accountability data firing for a unit in a period (SPT 8; "
        "GH 三(六); ST 10), with its evidence and review.")


@fetched_by(service.get_items)
@strawberry.type(name="AccountabilityItem", description=ITEM)
class AccountabilityItemNode(RowNode):
    rule_code = row_field("rule_code", str, description="The rule in accountability.json.")
    subject_kind = row_field("subject_kind", str, description="district, school, township "
                             "or agency.")
    subject_name = row_field("subject_name", str)
    month = row_field("month", date, description="First day of the month (or school year).")
    month_in_row = row_field("month_in_row", int, description="约谈 1, 通报批评 2, 处分 3 …")
    consequence = row_field("consequence", str)
    since = row_field("since", date, description="Since when the basis has stood.")
    evidence = row_field(
        "evidence", Any,
        description="count; cases (case_id, day0, stage, since, overdue_tasks); the basis.",
        graphql_type=strawberry.scalars.JSON,
    )
    status = row_field("status", AccountabilityStatus)
    raised_at = row_field("raised_at", datetime)
    reviewed_at = row_field("reviewed_at", datetime | None)
    review_note = row_field("review_note", str)
    version = row_field("version", int)
    row: strawberry.Private[m.AccountabilityItem]


@strawberry.type
class AccountabilityQuery:
    accountability_items = listing(
        AccountabilityItemNode, service.items_page,
        filter=service.ItemFilter, filter_name="AccountabilityFilterInput",
        description="Accountability items of units in the caller's domains.",
    )


@strawberry.type
@operations("item", AccountabilityItemNode, ids={"item_id": "AccountabilityItem"})
class AccountabilityMutation:
    review_accountability_item = Operation(
        service.review,
        description="Confirm, dismiss (with a reason) or act on an item.",
    )
