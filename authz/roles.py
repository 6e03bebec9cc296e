"""Role names and which agency kind may hold each.

Roles are granted to users in a domain (``role_grant``); the policy (``authz/policy.csv``)
says what each role may do. ``member`` is implicit: every active user holds it in their own
agency's scope, which is what lets anyone read the reference data.
"""

from __future__ import annotations

from models.enums import AgencyKind

MEMBER = "member"
# Nobody holds it: the policy's rows for callers without an account (the public /verify page),
# checked with ``Authorizer.role_allowed``.
PUBLIC = "public"
# Manages users and role grants; `lianbao create-admin` grants the first one.
ADMIN = "admin"

ROLE_AGENCY: dict[str, AgencyKind | None] = {
    "school_staff": AgencyKind.SCHOOL,
    "school_principal": AgencyKind.SCHOOL,
    "township_officer": AgencyKind.TOWNSHIP,
    "village_officer": AgencyKind.VILLAGE,
    "education_officer": AgencyKind.EDUCATION,
    "education_admin": AgencyKind.EDUCATION,
    "police_officer": AgencyKind.POLICE,
    "civil_affairs_officer": AgencyKind.CIVIL_AFFAIRS,
    "hr_officer": AgencyKind.HUMAN_RESOURCES,
    "market_officer": AgencyKind.MARKET_SUPERVISION,
    "judicial_officer": AgencyKind.JUDICIAL,
    "youth_league_worker": AgencyKind.YOUTH_LEAGUE,
    "womens_federation_worker": AgencyKind.WOMENS_FEDERATION,
    "disabled_federation_officer": AgencyKind.DISABLED_FEDERATION,
    "poverty_officer": AgencyKind.POVERTY_OFFICE,
    "inspector": AgencyKind.INSPECTORATE,
    "task_supervisor": None,  # any agency: assigns and reassigns its queue
    "admin": None,  # any agency: manages users and role grants in a jurisdiction
}

ROLES = frozenset(ROLE_AGENCY) | {MEMBER, PUBLIC}


def subject(username: str) -> str:
    return f"user:{username}"
