"""The clean-up rules of a district, read from ``reference_data/household_corrections.json``
(ST 8): which agencies correct their records after a police correction, the list (import
source) whose records show that an agency holds the person, and the days it has."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from models.enums import AgencyKind
from models.imports import ImportSource
from workflow.infra import reference_json


@dataclass(frozen=True)
class CleanupRules:
    due_days: int
    # Agency → the source whose records tell that it holds the person (the school register
    # for education: the child on Lianbao's register; a base-record source for the others).
    agencies: dict[AgencyKind, ImportSource]


def _parse(row: dict[str, Any]) -> CleanupRules:
    return CleanupRules(
        due_days=int(row["due_days"]),
        agencies={AgencyKind(a): ImportSource(s) for a, s in row["agencies"].items()},
    )


# The district's own rules, else the defaults.
rules_for = reference_json.by_district("household_corrections.json", _parse)
