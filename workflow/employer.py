"""Employers (用人单位): register, correct, search, and their history.

Human resources and market supervision keep the register; police may add an employer found on
patrol (LS 11(5)). The credit code is checked against GB 32100 before anything is written. A
licence is revoked only by an enforcement action (``workflow/enforcement/``), so that each
revocation has its numbered decision.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import ColumnElement, Select, or_, select
from sqlalchemy.exc import IntegrityError

from authz.filters import escape_like, scope_filter
from models.employer import Employer
from models.enums import EmployerKind, JurisdictionLevel, LicenceStatus
from models.reference import Jurisdiction
from workflow import audit
from workflow.common import check_version, fetch_readable, matches, rows_by_ids, where_fields
from workflow.context import ServiceContext
from workflow.errors import BadCreditCode, Duplicate, InvalidInput, WrongStage
from workflow.infra import uscc
from workflow.pagination import Page, PageRequest, keyset_page

OBJ = "employer"


def visible(ctx: ServiceContext) -> ColumnElement[bool]:
    return scope_filter(ctx.authz, ctx.principal, OBJ, "read", Employer.scope_path)


@dataclass(frozen=True)
class EmployerFilter:
    search: str | None = None
    township_code: str | None = matches(Employer.township_code)
    licence_status: LicenceStatus | None = matches(Employer.licence_status)


def employers_query(ctx: ServiceContext, f: EmployerFilter) -> Select[Employer]:
    stmt = select(Employer).where(visible(ctx))
    if f.search:
        term = f.search.strip()
        if len(term) > 100:
            raise InvalidInput("a search term is at most 100 characters", field="search")
        stmt = stmt.where(
            or_(
                Employer.name.like(f"%{escape_like(term)}%", escape="\\"),
                Employer.credit_code.like(f"{escape_like(term.upper())}%", escape="\\"),
            )
        )
    return where_fields(stmt, f)


async def employers_page(
    ctx: ServiceContext, f: EmployerFilter, request: PageRequest
) -> Page[Employer]:
    """One page of the employers the caller may see (``employers_query``)."""
    return await keyset_page(ctx, employers_query(ctx, f), Employer.id, request, prefix="employer")


async def get_employers(ctx: ServiceContext, ids: Sequence[int]) -> list[Employer | None]:
    return await rows_by_ids(ctx, select(Employer).where(visible(ctx)), Employer.id, ids)


async def visible_employer(
    ctx: ServiceContext, employer_id: int, *, lock: bool = False
) -> Employer:
    """The employer if the caller may see it (NOT_FOUND otherwise, never FORBIDDEN: whether
    a business is on the register is not told to those who may not read it)."""
    return await fetch_readable(ctx, Employer, employer_id, OBJ, lock=lock,
                                not_found="no such employer", field="employerId")


def parse_credit_code(value: str) -> uscc.CreditCodeInfo:
    try:
        return uscc.validate(value)
    except uscc.InvalidCreditCode as exc:
        raise BadCreditCode(str(exc), field="creditCode") from exc


async def _township(ctx: ServiceContext, code: str) -> Jurisdiction:
    township = await ctx.session.get(Jurisdiction, code)
    if township is None or township.level is not JurisdictionLevel.TOWNSHIP:
        raise InvalidInput("not a township (nine-digit code)", field="townshipCode")
    assert township.parent_code is not None
    return township


def _text(value: str, field: str, limit: int) -> str:
    text = value.strip()
    if not text:
        raise InvalidInput(f"{field} is required", field=field)
    if len(text) > limit:
        raise InvalidInput(f"{field} is at most {limit} characters", field=field)
    return text


async def register(
    ctx: ServiceContext,
    *,
    credit_code: str,
    name: str,
    address: str,
    township_code: str,
    legal_representative: str = "",
    licence_status: LicenceStatus = LicenceStatus.ACTIVE,
) -> Employer:
    township = await _township(ctx, township_code)
    ctx.authz.require(ctx.principal, OBJ, "write", township.path)
    info = parse_credit_code(credit_code)
    if licence_status is LicenceStatus.REVOKED:
        raise WrongStage("a licence is revoked by a numbered decision", field="licenceStatus")
    employer = Employer(
        credit_code=info.code,
        name=_text(name, "name", 200),
        kind=EmployerKind(info.kind),
        address=_text(address, "address", 300),
        legal_representative=legal_representative.strip()[:64],
        township_code=township.code,
        district_code=township.parent_code,
        scope_path=township.path,
        licence_status=licence_status,
        created_at=ctx.clock.now(),
        created_by=ctx.principal.user_id,
        updated_at=ctx.clock.now(),
    )
    try:
        # Added inside the savepoint: begin_nested() flushes what is pending before it starts.
        async with ctx.session.begin_nested():
            ctx.session.add(employer)
            await ctx.session.flush()
    except IntegrityError as exc:
        raise Duplicate(f"{info.code} is already registered", field="creditCode") from exc
    audit.record_row(
        ctx,
        "register_employer",
        employer,
        {"credit_code": info.code, "name": employer.name, "township": township.code},
    )
    return employer


async def update(
    ctx: ServiceContext,
    *,
    employer_id: int,
    expected_version: int | None,
    name: str | None = None,
    address: str | None = None,
    legal_representative: str | None = None,
    licence_status: LicenceStatus | None = None,
) -> Employer:
    employer = await visible_employer(ctx, employer_id, lock=True)
    ctx.authz.require(ctx.principal, OBJ, "write", employer.scope_path)
    check_version(employer.version, expected_version, "the employer")
    changes: dict[str, list[str]] = {}
    if licence_status is not None and licence_status is not employer.licence_status:
        if LicenceStatus.REVOKED in (licence_status, employer.licence_status):
            raise WrongStage(
                "a licence is revoked (or restored) only by a licence revocation decision",
                field="licenceStatus",
            )
        changes["licence_status"] = [employer.licence_status.value, licence_status.value]
        employer.licence_status = licence_status
    for attr, value, limit in (
        ("name", name, 200),
        ("address", address, 300),
        ("legal_representative", legal_representative, 64),
    ):
        if value is None:
            continue
        new = value.strip() if attr == "legal_representative" else _text(value, attr, limit)
        if new != getattr(employer, attr):
            changes[attr] = [getattr(employer, attr), new]
            setattr(employer, attr, new[:limit])
    if not changes:
        return employer
    employer.updated_at = ctx.clock.now()
    await ctx.session.flush()
    audit.record_row(ctx, "update_employer", employer, changes)
    return employer
