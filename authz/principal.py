"""The authenticated caller, as every service sees it."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from models.enums import AgencyKind


@dataclass(frozen=True)
class Grant:
    """A role held in one domain (a jurisdiction path, or a unit below it); the
    jurisdiction's code is kept beside the path for what is shown and logged."""

    role: str
    domain: str
    jurisdiction_code: str


@dataclass(frozen=True)
class Principal:
    """Who is acting: user, agency and the roles they hold (each in a domain).

    Built once per request from the token's subject and the database, so a revoked grant
    takes effect on the next request.
    """

    user_id: int | None
    username: str
    display_name: str
    agency_id: int | None
    agency_kind: AgencyKind | None
    agency_name: str
    agency_scope: str
    jurisdiction_code: str
    grants: tuple[Grant, ...] = field(default_factory=tuple)

    @property
    def subject(self) -> str:
        return f"user:{self.username}"

    @property
    def role_summary(self) -> str:
        return ",".join(f"{g.role}@{g.domain}" for g in self.grants)

    @classmethod
    def machine(cls, username: str, display_name: str) -> Principal:
        """An actor that is no user and belongs to no agency (the scheduler, the command
        line): named in the audit trail, covered by no grant."""
        return cls(
            user_id=None,
            username=username,
            display_name=display_name,
            agency_id=None,
            agency_kind=None,
            agency_name="",
            agency_scope="",
            jurisdiction_code="",
        )


SYSTEM = Principal.machine("system", "Lianbao scheduler")
"""The deadline engine and other scheduled jobs act as this principal in the audit trail."""

ANONYMOUS = replace(SYSTEM, username="public", display_name="anyone, without an account")
"""Who calls the public routes (``/verify``): no grants, so only the policy's ``public`` rows
(checked with ``Authorizer.role_allowed``) let it do anything."""
