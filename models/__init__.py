"""SQLAlchemy 2 declarative models: the only description of Lianbao's tables.

Alembic owns the DDL (``migrations/``); importing this package registers every model on
``Base.metadata`` so that autogenerate and the drift test see all of them.
"""

from models.access_log import SensitiveAccess
from models.accountability import AccountabilityItem, AccountabilityScan
from models.audit import AuditEvent
from models.base import Base
from models.case import (
    CaseAttachment,
    CaseEvent,
    CasePlan,
    CaseStepDue,
    DropoutCase,
    PersuasionAttempt,
)
from models.child import Child, ChildGroup, Guardian
from models.crosscheck import CrosscheckFinding, CrosscheckInputChange, CrosscheckRun
from models.document import DocumentSequence, LegalDocument
from models.employer import Employer
from models.enforcement import EnforcementAction, EnforcementFinding
from models.finding import LabourFinding
from models.home_visit import CensusEntry, HomeVisit, HomeVisitCheck, SpecialNeedsCensus
from models.household import HouseholdCorrection
from models.imports import (
    BaseRecord,
    ImportJob,
    ImportReject,
    ImportRow,
    MatchCandidate,
    ValueProvenance,
)
from models.inspection import Campaign, Inspection, InspectionParticipant, InspectionVisit
from models.ladder import (
    Ladder,
    LadderStep,
    LadderTask,
    NationalCalendarDay,
    SchoolCalendarDay,
    SchoolHoliday,
    SchoolTerm,
)
from models.policy import AuthzRule, PolicyVersion
from models.prevention import SubstituteSchooling, SubstituteSchoolingCase
from models.reference import Agency, Duty, Jurisdiction
from models.register import Deferral, RegisterChange
from models.report import PeriodicReport
from models.school import Enrolment, RegisterEvent, School
from models.stats import StatChild, StatDirty, StatState, StatTally
from models.supervision import Supervision, SupervisionFinding
from models.task import Task
from models.user import RoleGrant, User

__all__ = [
    "AccountabilityItem",
    "AccountabilityScan",
    "Agency",
    "AuditEvent",
    "AuthzRule",
    "Base",
    "BaseRecord",
    "Campaign",
    "CaseAttachment",
    "CaseEvent",
    "CasePlan",
    "CaseStepDue",
    "CensusEntry",
    "Child",
    "ChildGroup",
    "CrosscheckFinding",
    "CrosscheckInputChange",
    "CrosscheckRun",
    "Deferral",
    "DocumentSequence",
    "DropoutCase",
    "Duty",
    "Employer",
    "EnforcementAction",
    "EnforcementFinding",
    "Enrolment",
    "Guardian",
    "HomeVisit",
    "HomeVisitCheck",
    "HouseholdCorrection",
    "ImportJob",
    "ImportReject",
    "ImportRow",
    "Inspection",
    "InspectionParticipant",
    "InspectionVisit",
    "Jurisdiction",
    "LabourFinding",
    "Ladder",
    "LadderStep",
    "LadderTask",
    "LegalDocument",
    "MatchCandidate",
    "NationalCalendarDay",
    "PeriodicReport",
    "PersuasionAttempt",
    "PolicyVersion",
    "RegisterChange",
    "RegisterEvent",
    "RoleGrant",
    "School",
    "SchoolCalendarDay",
    "SchoolHoliday",
    "SchoolTerm",
    "SensitiveAccess",
    "SpecialNeedsCensus",
    "StatChild",
    "StatDirty",
    "StatState",
    "StatTally",
    "SubstituteSchooling",
    "SubstituteSchoolingCase",
    "Supervision",
    "SupervisionFinding",
    "Task",
    "User",
    "ValueProvenance",
]
