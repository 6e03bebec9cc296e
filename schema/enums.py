"""GraphQL enums, all registered here and nowhere else.

Registering a Python enum with strawberry changes the class itself, so where it happens must not
depend on which schema module was imported first: every enum the API exposes is registered by
this module, and schema modules import their enums from here (tests/test_schema_structure.py
holds them to it). The model enums keep their one closed set per concept; ``TaskOrder`` is the
task service's sort order; ``TaskUpdateKind`` exists only in the API.
"""

from __future__ import annotations

from enum import Enum

import strawberry

from models.crosscheck import FindingKind, FindingStatus, VerificationOutcome
from models.enums import (
    AccountabilityStatus,
    AgencyKind,
    CalendarDayKind,
    CaseStage,
    CaseStatus,
    ClosureReason,
    DayKind,
    DeferralGround,
    DeferralKind,
    DeferralStatus,
    DocumentStatus,
    DropoutCause,
    EmployerKind,
    EnforcementKind,
    EnforcementStatus,
    EnrolmentStatus,
    GuardianRelation,
    InspectionKind,
    InspectionStatus,
    JurisdictionLevel,
    LicenceStatus,
    PersuasionMethod,
    PersuasionOutcome,
    RectificationStatus,
    RegisterChangeKind,
    RegisterChangeStatus,
    RegisterType,
    ReportStatus,
    SchoolKind,
    ServiceMethod,
    Sex,
    SpecialGroup,
    StepEntry,
    SubstituteKind,
    SupervisionStatus,
    TaskStatus,
)
from models.household import HouseholdCorrectionKind, HouseholdCorrectionStatus
from models.imports import CandidateStatus, ImportSource, ImportStatus
from workflow.accountability import Decision as AccountabilityDecision
from workflow.errors import UserErrorCode
from workflow.ledger import LedgerStatus, SuspicionReason
from workflow.report import Decision as ReportDecision
from workflow.report import ExportFormat
from workflow.stats import Dimension as StatsDimension
from workflow.stats import Measure as StatsMeasure
from workflow.supervision import Decision as RectificationDecision
from workflow.task import TaskOrder

# Importing a model enum here is what exposes it: each one imported above is registered.
for _enum in [v for v in list(globals().values())
              if isinstance(v, type) and issubclass(v, Enum) and v.__module__ == "models.enums"]:
    strawberry.enum(_enum)

strawberry.enum(TaskOrder, name="TaskOrder")
strawberry.enum(UserErrorCode, name="UserErrorCode")

# The imports' enums live with their model (models/imports.py).
for _import_enum in (ImportSource, ImportStatus, CandidateStatus):
    strawberry.enum(_import_enum)

# The comparisons' enums live with their model (models/crosscheck.py).
for _crosscheck_enum in (FindingKind, FindingStatus, VerificationOutcome):
    strawberry.enum(_crosscheck_enum)
# The police clean-up's enums live with their model (models/household.py).
for _household_enum in (HouseholdCorrectionKind, HouseholdCorrectionStatus):
    strawberry.enum(_household_enum)

strawberry.enum(StatsDimension, name="StatsDimension")
strawberry.enum(AccountabilityDecision, name="AccountabilityDecision")
strawberry.enum(ReportDecision, name="ReportDecision")
strawberry.enum(RectificationDecision, name="RectificationDecision")
strawberry.enum(ExportFormat, name="ExportFormat")
strawberry.enum(StatsMeasure, name="StatsMeasure")
strawberry.enum(LedgerStatus, name="LedgerStatus")
strawberry.enum(SuspicionReason, name="SuspicionReason")


@strawberry.enum(name="TaskUpdateKind")
class TaskUpdateKind(Enum):
    CREATED = "created"
    CHANGED = "changed"
    REMINDER = "reminder"
    OVERDUE = "overdue"
    RESYNC = "resync"


__all__ = [
    "AccountabilityDecision",
    "AccountabilityStatus",
    "AgencyKind",
    "CalendarDayKind",
    "CandidateStatus",
    "CaseStage",
    "CaseStatus",
    "ClosureReason",
    "DayKind",
    "DeferralGround",
    "DeferralKind",
    "DeferralStatus",
    "DocumentStatus",
    "DropoutCause",
    "EmployerKind",
    "EnforcementKind",
    "EnforcementStatus",
    "EnrolmentStatus",
    "ExportFormat",
    "FindingKind",
    "FindingStatus",
    "GuardianRelation",
    "HouseholdCorrectionKind",
    "HouseholdCorrectionStatus",
    "ImportSource",
    "ImportStatus",
    "InspectionKind",
    "InspectionStatus",
    "JurisdictionLevel",
    "LedgerStatus",
    "LicenceStatus",
    "PersuasionMethod",
    "PersuasionOutcome",
    "RectificationDecision",
    "RectificationStatus",
    "RegisterChangeKind",
    "RegisterChangeStatus",
    "RegisterType",
    "ReportDecision",
    "ReportStatus",
    "SchoolKind",
    "ServiceMethod",
    "Sex",
    "SpecialGroup",
    "StatsDimension",
    "StatsMeasure",
    "StepEntry",
    "SubstituteKind",
    "SupervisionStatus",
    "SuspicionReason",
    "TaskOrder",
    "TaskStatus",
    "TaskUpdateKind",
    "UserErrorCode",
    "VerificationOutcome",
]
