"""The fine the national standard sets (禁止使用童工规定 arts. 6, 9), with its workings: per
child and month of employment, doubled for a repeat, from the district's labour rules.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import date
from typing import Any

from models.employer import Employer
from models.enforcement import EnforcementAction
from models.enums import (
    LicenceStatus,
)
from models.finding import LabourFinding
from workflow.labour_rules import LabourRules

# --- the fine ---------------------------------------------------------------------------


def months_between(start: date, end: date) -> int:
    """Months of use, each started month counted whole (30 days to a month), at least one."""
    return max(1, math.ceil(((end - start).days + 1) / 30))


def fine_for(
    rules: LabourRules,
    employer: Employer,
    rows: Sequence[LabourFinding],
    orders: dict[int, EnforcementAction],
    repeat: bool,
    today: date,
) -> tuple[int, dict[str, Any]]:
    """The fine the national standard sets (禁止使用童工规定 arts. 6, 9), with its workings."""
    unlicensed = employer.licence_status in (LicenceStatus.UNLICENSED, LicenceStatus.REVOKED)
    factor = (rules.unlicensed_multiplier if unlicensed else 1) * (
        rules.repeat_multiplier if repeat else 1
    )
    children = []
    total = 0
    for f in rows:
        months = months_between(f.employed_since or f.found_on, f.found_on)
        part = months * rules.fine_per_child_month
        overdue_months = 0
        order = orders.get(f.id)
        if order is not None and order.escalated and order.served_on is not None:
            overdue_months = months_between(order.served_on, order.complied_on or today)
            part += overdue_months * rules.overdue_per_child_month
        total += part * factor
        children.append(
            {
                "finding_id": f.id,
                "months": months,
                "rate": rules.fine_per_child_month,
                "overdue_months": overdue_months,
                "overdue_rate": rules.overdue_per_child_month,
                "amount": part * factor,
            }
        )
    return total, {
        "children": children,
        "unlicensed": unlicensed,
        "repeat_offence": repeat,
        "factor": factor,
        "minimum": total,
    }
