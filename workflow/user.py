"""Users, their principals and role grants (service layer)."""

from __future__ import annotations

import re
from collections.abc import Sequence

from sqlalchemy import Select, and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload

from authz.enforcer import domain_covers
from authz.filters import scope_filter
from authz.principal import Grant, Principal
from authz.roles import ADMIN, MEMBER, ROLE_AGENCY
from models.enums import AgencyKind
from models.reference import Agency, Jurisdiction
from models.user import RoleGrant, User
from workflow import audit
from workflow.common import rows_by_ids, rows_grouped
from workflow.context import ServiceContext
from workflow.errors import Duplicate, InvalidInput, NotFound
from workflow.pagination import Page, PageRequest, keyset_page
from workflow.policy import authorization_changed

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


# Colleagues: the members of the caller's own agency, for whoever the policy lets assign work
# within it (task supervisors). The rule's domain test alone cannot say "own agency": the
# district agencies share one scope path, so the agency id is the SQL filter beside it.
COLLEAGUE = "user:colleague"


def users_query(ctx: ServiceContext) -> Select[User]:
    """Users the caller administers (``user`` read), plus their own agency's members when the
    policy grants ``user:colleague`` read; one WHERE clause, before ORDER BY / LIMIT."""
    p = ctx.principal
    visible = scope_filter(ctx.authz, p, "user", "read", Agency.scope_path)
    if p.agency_id is not None:
        colleagues = scope_filter(ctx.authz, p, COLLEAGUE, "read", Agency.scope_path)
        visible = or_(visible, and_(User.agency_id == p.agency_id, colleagues))
    return select(User).join(Agency, Agency.id == User.agency_id).where(visible)


async def get_users(ctx: ServiceContext, ids: Sequence[int]) -> list[User | None]:
    """The users of ``ids`` the caller may see (None for the others), in order."""
    return await rows_by_ids(ctx, users_query(ctx), User.id, ids)


async def users_page(ctx: ServiceContext, request: PageRequest) -> Page[User]:
    """One page of the users the caller may see (``users_query``)."""
    return await keyset_page(ctx, users_query(ctx), User.id, request, prefix="user")


def may_administer(ctx: ServiceContext, agency: Agency) -> bool:
    """Role grants are administration data (PIPL art. 51): shown only to whoever may read the
    agency's users as an administrator, not to a supervisor who sees colleagues to assign."""
    return ctx.authz.allowed(ctx.principal, "user", "read", agency.scope_path)


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
    _check_names(username, display_name)
    await _check_username_free(ctx, username)
    return await _add_user(ctx, username, display_name, agency)


def _check_names(username: str, display_name: str) -> None:
    if not USERNAME.fullmatch(username):
        raise InvalidInput("usernames are 3–64 letters, digits, '.', '_' or '-'", field="username")
    if not display_name.strip():
        raise InvalidInput("a display name is required", field="displayName")


async def _check_username_free(ctx: ServiceContext, username: str) -> None:
    if (await ctx.session.execute(select(User.id).where(User.username == username))).first():
        raise Duplicate("that username is taken", field="username")


async def _add_user(ctx: ServiceContext, username: str, display_name: str, agency: Agency) -> User:
    """The new user row and its ``create_user`` audit entry (the API's and the bootstrap's)."""
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


async def _add_grant(
    ctx: ServiceContext, user: User, role: str, domain: str, code: str, granted_by: int | None
) -> RoleGrant:
    """The new role grant and its ``grant_role`` audit entry."""
    grant = RoleGrant(
        user_id=user.id,
        role=role,
        domain=domain,
        jurisdiction_code=code,
        granted_at=ctx.clock.now(),
        granted_by=granted_by,
    )
    await audit.insert(
        ctx, "grant_role", grant, {"user_id": user.id, "role": role, "domain": domain}
    )
    await authorization_changed(ctx)
    return grant


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
        await authorization_changed(ctx)
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
    return await _add_grant(ctx, user, role, domain, code, ctx.principal.user_id)


async def revoke_role(ctx: ServiceContext, grant_id: int) -> RoleGrant:
    grant = await ctx.session.get(RoleGrant, grant_id)
    if grant is None or not ctx.authz.allowed(ctx.principal, "role_grant", "manage", grant.domain):
        raise NotFound("no such role grant", field="grantId")
    await ctx.session.delete(grant)
    await authorization_changed(ctx)
    audit.record(
        ctx,
        "revoke_role",
        "role_grant",
        [grant_id],
        {"user_id": grant.user_id, "role": grant.role, "domain": grant.domain},
    )
    return grant


async def grants_of(ctx: ServiceContext, user_ids: Sequence[int]) -> list[list[RoleGrant]]:
    stmt = select(RoleGrant).order_by(RoleGrant.id)
    return await rows_grouped(ctx, stmt, RoleGrant.user_id, user_ids)


# --- the first administrator (``lianbao create-admin``) ---


async def admin_exists(session: AsyncSession) -> bool:
    """Whether any active user holds the administrator role anywhere."""
    found = await session.execute(
        select(RoleGrant.id)
        .join(User, User.id == RoleGrant.user_id)
        .where(RoleGrant.role == ADMIN, User.is_active.is_(True))
        .limit(1)
    )
    return found.first() is not None


async def _bootstrap_agency(
    ctx: ServiceContext,
    jurisdiction: Jurisdiction,
    agency_kind: AgencyKind,
    agency_name: str | None,
) -> Agency:
    """The first administrator's agency: the jurisdiction's agency of that kind, or a new
    one of the name given (audited as ``create_agency``)."""
    agency = (
        await ctx.session.execute(
            select(Agency)
            .where(Agency.jurisdiction_code == jurisdiction.code, Agency.kind == agency_kind)
            .order_by(Agency.id)
            .limit(1)
        )
    ).scalar_one_or_none()
    if agency is None:
        if not agency_name or not agency_name.strip():
            raise InvalidInput(
                f"{jurisdiction.name} has no {agency_kind.value} agency yet: name it "
                "(e.g. --agency-name 山亭区教育和体育局)",
                field="agencyName",
            )
        agency = Agency(
            kind=agency_kind,
            name=agency_name.strip(),
            jurisdiction_code=jurisdiction.code,
            scope_path=jurisdiction.path,
        )
        await audit.insert(
            ctx,
            "create_agency",
            agency,
            {"kind": agency_kind, "name": agency.name, "jurisdiction": jurisdiction.code},
        )
    return agency


async def create_first_admin(
    ctx: ServiceContext,
    *,
    username: str,
    display_name: str,
    jurisdiction_code: str,
    agency_kind: AgencyKind = AgencyKind.EDUCATION,
    agency_name: str | None = None,
) -> User:
    """Bootstrap: the first administrator of a fresh database, with the ``admin`` role over
    ``jurisdiction_code``.

    ``createUser`` needs an administrator, so a new county could never get its first one
    through the API. This is the one operation the policy cannot authorize (there is nobody to
    authorize yet); it is therefore refused as soon as any active administrator exists, and it
    is reachable only from the server's command line. It writes the same audit rows
    (``create_agency`` when the agency is new, ``create_user``, ``grant_role``) as the API.
    """
    if await admin_exists(ctx.session):
        raise Duplicate(
            "an administrator exists already: further users are created with createUser",
            field="username",
        )
    _check_names(username, display_name)
    jurisdiction = await ctx.session.get(Jurisdiction, jurisdiction_code)
    if jurisdiction is None:
        raise NotFound(
            f"no jurisdiction {jurisdiction_code!r} (run `lianbao migrate` to load them)",
            field="jurisdiction",
        )
    await _check_username_free(ctx, username)
    agency = await _bootstrap_agency(ctx, jurisdiction, agency_kind, agency_name)
    user = await _add_user(ctx, username, display_name, agency)
    await _add_grant(ctx, user, ADMIN, jurisdiction.path, jurisdiction.code, None)
    return user
