"""GraphQL enums: the model enums registered with strawberry, so there is one closed set per
concept. Annotate GraphQL fields with the classes re-exported here."""

from __future__ import annotations

import strawberry

from models.enums import (
    AgencyKind,
    CaseStage,
    EnrolmentStatus,
    JurisdictionLevel,
    SchoolKind,
    Sex,
    SpecialGroup,
)

for _enum in (
    AgencyKind,
    CaseStage,
    EnrolmentStatus,
    JurisdictionLevel,
    SchoolKind,
    Sex,
    SpecialGroup,
):
    strawberry.enum(_enum)

__all__ = [
    "AgencyKind",
    "CaseStage",
    "EnrolmentStatus",
    "JurisdictionLevel",
    "SchoolKind",
    "Sex",
    "SpecialGroup",
]
