"""What follows a child-labour finding, per district: data, not code.

``reference_data/child_labour.json`` holds the age limit, the return order's deadline, the
fine rates (per child per month, after an ignored deadline, for an unlicensed or repeat
offender), which agency issues each enforcement action, the tasks a finding and an ignored
deadline create, and the legal basis of each. A district entry overrides the default's keys.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

from models.enums import AgencyKind, EnforcementKind
from workflow.infra import reference_json


@dataclass(frozen=True)
class FollowUp:
    """A task a finding (or an ignored deadline) creates. ``agency`` "enrolling" is the
    child's school if enrolled, else the township."""

    agency: str
    kind: str
    title: str
    due_days: int
    scope: str  # "employer" (where the child worked) or "child" (where the child belongs)
    priority: int
    # Issuing one of these enforcement kinds on the finding completes the task.
    completed_by: tuple[str, ...] = ()


@dataclass(frozen=True)
class Action:
    agency: AgencyKind
    basis: tuple[dict[str, str], ...]


@dataclass(frozen=True)
class LabourRules:
    district_code: str
    age_limit: int
    return_deadline_days: int
    compliance_task: tuple[str, str]  # kind, title: the check on the deadline day
    fine_per_child_month: int
    overdue_per_child_month: int
    unlicensed_multiplier: int
    repeat_multiplier: int
    overdue_basis: tuple[dict[str, str], ...]
    actions: dict[EnforcementKind, Action]
    on_finding: tuple[FollowUp, ...]
    on_overdue: tuple[FollowUp, ...]

    def action(self, kind: EnforcementKind) -> Action:
        return self.actions[kind]

    def task_kinds_completed_by(self, kind: EnforcementKind) -> set[str]:
        return {
            f.kind for f in (*self.on_finding, *self.on_overdue) if kind.value in f.completed_by
        }


@cache
def _raw() -> dict[str, Any]:
    data: dict[str, Any] = reference_json.load("child_labour.json")
    return data


def _merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def _follow_ups(rows: list[dict[str, Any]]) -> tuple[FollowUp, ...]:
    return tuple(
        FollowUp(
            agency=r["agency"],
            kind=r["kind"],
            title=r["title"],
            due_days=int(r["due_days"]),
            scope=r["scope"],
            priority=int(r.get("priority", 2)),
            completed_by=tuple(r.get("completed_by", ())),
        )
        for r in rows
    )


LOCAL_SETTING = "local setting"


def _setting(node: Any, name: str) -> int:
    """The value of a ``{value, basis}`` setting, checking it states where it comes from."""
    if not isinstance(node, dict) or "value" not in node:
        raise ValueError(f"child_labour.json: {name} must be {{value, basis}}")
    basis = node.get("basis")
    cited = isinstance(basis, list) and bool(basis) and all("quote" in b for b in basis)
    if not cited and basis != LOCAL_SETTING:
        raise ValueError(f"child_labour.json: {name} cites no basis and is not a local setting")
    return int(node["value"])


@cache
def rules_for(district_code: str) -> LabourRules:
    raw = _raw()
    d = _merge(raw["default"], raw["districts"].get(district_code, {}))
    fine = d["fine"]
    return LabourRules(
        district_code=district_code,
        age_limit=_setting(d["age_limit"], "age_limit"),
        return_deadline_days=_setting(
            d["return_order"]["deadline_days"], "return_order.deadline_days"
        ),
        compliance_task=(
            d["return_order"]["compliance_task"]["kind"],
            d["return_order"]["compliance_task"]["title"],
        ),
        fine_per_child_month=_setting(fine["per_child_per_month"], "fine.per_child_per_month"),
        overdue_per_child_month=_setting(
            fine["overdue_per_child_per_month"], "fine.overdue_per_child_per_month"
        ),
        unlicensed_multiplier=_setting(
            fine["unlicensed_multiplier"], "fine.unlicensed_multiplier"
        ),
        repeat_multiplier=_setting(fine["repeat_multiplier"], "fine.repeat_multiplier"),
        overdue_basis=tuple(fine["overdue_basis"]),
        actions={
            kind: Action(
                agency=AgencyKind(d[kind.value]["agency"]), basis=tuple(d[kind.value]["basis"])
            )
            for kind in EnforcementKind
        },
        on_finding=_follow_ups(d["on_finding"]),
        on_overdue=_follow_ups(d["on_overdue"]),
    )
