"""SQLAlchemy 2 declarative models: the only description of Lianbao's tables.

Alembic owns the DDL (``migrations/``); importing this package registers every model on
``Base.metadata`` so that autogenerate and the drift test see all of them.
"""

from models.access_log import SensitiveAccess
from models.audit import AuditEvent
from models.base import Base
from models.child import Child, ChildGroup, Guardian
from models.policy import AuthzRule, PolicyVersion
from models.reference import Agency, Duty, Jurisdiction
from models.school import Enrolment, School
from models.user import RoleGrant, User

__all__ = [
    "Agency",
    "AuditEvent",
    "AuthzRule",
    "Base",
    "Child",
    "ChildGroup",
    "Duty",
    "Enrolment",
    "Guardian",
    "Jurisdiction",
    "PolicyVersion",
    "RoleGrant",
    "School",
    "SensitiveAccess",
    "User",
]
