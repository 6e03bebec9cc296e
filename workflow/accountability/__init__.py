"""Accountability (责任追究, SPT 8; GH 三(六); ST 10): the rules as data (``rules``), the
monthly scan the deadline engine runs (``scan``), and the inspectorate's review
(``operations``). This is the package's one public surface."""

from workflow.accountability.operations import (
    Decision,
    ItemFilter,
    get_items,
    items_page,
    review,
)
from workflow.accountability.rules import Rule, rules_for
from workflow.accountability.scan import lapse_unfounded, scan_accountability, scan_district

__all__ = [
    "Decision",
    "ItemFilter",
    "Rule",
    "get_items",
    "items_page",
    "lapse_unfounded",
    "review",
    "rules_for",
    "scan_accountability",
    "scan_district",
]
