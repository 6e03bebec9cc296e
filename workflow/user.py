"""Users, their principals and role grants (service layer)."""

from __future__ import annotations

import re
from collections.abc import Sequence

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload

from authz.enforcer import domain_covers
from authz.filters import scope_filter
from authz.principal import Grant, Principal
from authz.roles import MEMBER, ROLE_AGENCY
from models.reference import Agency
from models.user import RoleGrant, User
from workflow import audit
from workflow.context import ServiceContext
from workflow.errors import Duplicate, InvalidInput, NotFound

USERNAME = re.compile(r"[A-Za-z0-9._-]{3,64}")


async def load_principal(session: AsyncSession, username: str) -> Principal | None:
    """The principal for an active user, with grants as of now (two statements)."""
    user = (
        await session.execute(
            select(User)
            .options(joinedload(User.agency))
            .where(User.username == username, User.is_active.is_(True))
        )
    ).scalar_one_or_none()
    if user is None:
        return None
    rows = (
        await session.execute(
            select(RoleGrant.role, RoleGrant.domain, RoleGrant.jurisdiction_code)
            .where(RoleGrant.user_id == user.id)
            .order_by(RoleGrant.id)
        )
    ).all()
    agency: Agency = user.agency
    grants = [Grant(role, domain, code) for role, domain, code in rows]
    # Everyone is a member of their own agency: that is what reads reference data.
    grants.append(Grant(MEMBER, agency.scope_path, agency.jurisdiction_code))
    return Principal(
        user_id=user.id,
        username=user.username,
        display_name=user.display_name,
        agency_id=agency.id,
        agency_kind=agency.kind,
        agency_name=agency.name,
        agency_scope=agency.scope_path,
        jurisdiction_code=agency.jurisdiction_code,
        grants=tuple(grants),
    )


# --- administration (admin role: users and role grants, never case content) ---


def users_query(ctx: ServiceContext) -> Select[User]:
    return (
        select(User)
        .join(Agency, Agency.id == User.agency_id)
        .where(scope_filter(ctx.authz, ctx.principal, "user", "read", Agency.scope_path))
    )


async def _agency(ctx: ServiceContext, agency_id: int) -> Agency:
    agency = await ctx.session.get(Agency, agency_id)
    if agency is None:
        raise NotFound("no such agency", field="agencyId")
    return agency


async def create_user(
    ctx: ServiceContext, *, username: str, display_name: str, agency_id: int
) -> User:
    agency = await _agency(ctx, agency_id)
    ctx.authz.require(ctx.principal, "user", "manage", agency.scope_path)
    if not USERNAME.fullmatch(username):
        raise InvalidInput("usernames are 3–64 letters, digits, '.', '_' or '-'", field="username")
    if not display_name.strip():
        raise InvalidInput("a display name is required", field="displayName")
    exists_ = await ctx.session.execute(select(User.id).where(User.username == username))
    if exists_.first() is not None:
        raise Duplicate("that username is taken", field="username")
    user = User(
        username=username,
        display_name=display_name.strip(),
        agency_id=agency.id,
        created_at=ctx.clock.now(),
    )
    ctx.session.add(user)
    await ctx.session.flush()
    audit.record(
        ctx, "create_user", "user", [user.id], {"username": username, "agency_id": agency.id}
    )
    return user


async def _managed_user(ctx: ServiceContext, user_id: int, act: str) -> tuple[User, Agency]:
    user = await ctx.session.get(User, user_id)
    agency = await ctx.session.get(Agency, user.agency_id) if user else None
    if user is None or agency is None:
        raise NotFound("no such user", field="userId")
    # Same answer for "not yours" and "not there": nothing leaks across jurisdictions.
    if not ctx.authz.allowed(
        ctx.principal, "user" if act == "user" else "role_grant", "manage", agency.scope_path
    ):
        raise NotFound("no such user", field="userId")
    return user, agency


async def set_user_active(ctx: ServiceContext, user_id: int, active: bool) -> User:
    user, _ = await _managed_user(ctx, user_id, "user")
    if user.id == ctx.principal.user_id and not active:
        raise InvalidInput("administrators cannot deactivate themselves", field="userId")
    if user.is_active != active:
        user.is_active = active
        audit.record(
            ctx,
            "activate_user" if active else "deactivate_user",
            "user",
            [user.id],
            {"is_active": active},
        )
    return user


def _jurisdiction_of(domain: str) -> str:
    codes = [seg for seg in domain.split("/") if seg.isdigit()]
    if not codes:
        raise InvalidInput("the domain must be a jurisdiction path", field="domain")
    return codes[-1]


async def grant_role(ctx: ServiceContext, *, user_id: int, role: str, domain: str) -> RoleGrant:
    user, agency = await _managed_user(ctx, user_id, "role_grant")
    if role not in ROLE_AGENCY:
        raise InvalidInput(f"unknown role {role!r}", field="role")
    kind = ROLE_AGENCY[role]
    if kind is not None and kind != agency.kind:
        raise InvalidInput(
            f"{role} is for {kind.value} staff, not {agency.kind.value}", field="role"
        )
    # A role reaches no further than the user's own agency: a school's staff their school,
    # a district bureau's officers the district or a township below it.
    if not domain_covers(domain, agency.scope_path):
        raise InvalidInput(
            "the domain must lie within the user's own agency's scope", field="domain"
        )
    ctx.authz.require(ctx.principal, "role_grant", "manage", domain)
    code = _jurisdiction_of(domain)
    found = await ctx.session.execute(
        select(RoleGrant.id).where(
            RoleGrant.user_id == user.id, RoleGrant.role == role, RoleGrant.domain == domain
        )
    )
    if found.first() is not None:
        raise Duplicate("the user holds this role there already", field="role")
    grant = RoleGrant(
        user_id=user.id,
        role=role,
        domain=domain,
        jurisdiction_code=code,
        granted_at=ctx.clock.now(),
        granted_by=ctx.principal.user_id,
    )
    ctx.session.add(grant)
    await ctx.session.flush()
    audit.record(
        ctx,
        "grant_role",
        "role_grant",
        [grant.id],
        {"user_id": user.id, "role": role, "domain": domain},
    )
    return grant


async def revoke_role(ctx: ServiceContext, grant_id: int) -> RoleGrant:
    grant = await ctx.session.get(RoleGrant, grant_id)
    if grant is None or not ctx.authz.allowed(ctx.principal, "role_grant", "manage", grant.domain):
        raise NotFound("no such role grant", field="grantId")
    await ctx.session.delete(grant)
    audit.record(
        ctx,
        "revoke_role",
        "role_grant",
        [grant_id],
        {"user_id": grant.user_id, "role": grant.role, "domain": grant.domain},
    )
    return grant


async def grants_of(ctx: ServiceContext, user_ids: Sequence[int]) -> list[list[RoleGrant]]:
    rows = (
        await ctx.session.execute(
            select(RoleGrant).where(RoleGrant.user_id.in_(user_ids)).order_by(RoleGrant.id)
        )
    ).scalars()
    by_user: dict[int, list[RoleGrant]] = {}
    for g in rows:
        by_user.setdefault(g.user_id, []).append(g)
    return [by_user.get(i, []) for i in user_ids]
