"""The comparison rules of a district, read from ``reference_data/crosscheck.json`` (each
citing its rule): the school-age range (ST 1), who verifies each unexplained child and by
when (ST 2), the groups that mark a poor or monitored household, the groups watched first."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from models.crosscheck import FindingKind
from models.enums import AgencyKind, SpecialGroup
from workflow.infra import reference_json


@dataclass(frozen=True)
class CrosscheckRules:
    age_from: int
    age_to: int
    verifier: dict[FindingKind, AgencyKind]
    due_days: int
    poverty_groups: tuple[SpecialGroup, ...]
    watched_groups: tuple[SpecialGroup, ...]


def _parse(row: dict[str, Any]) -> CrosscheckRules:
    return CrosscheckRules(
        age_from=int(row["age_from"]),
        age_to=int(row["age_to"]),
        verifier={FindingKind(k): AgencyKind(v) for k, v in row["verifier"].items()},
        due_days=int(row["due_days"]),
        poverty_groups=tuple(SpecialGroup(g) for g in row["poverty_groups"]),
        watched_groups=tuple(SpecialGroup(g) for g in row["watched_groups"]),
    )


# The district's own rules, else the defaults.
rules_for = reference_json.by_district("crosscheck.json", _parse)
