"""Schools: reference data every member reads, created and changed by the education bureau.

Every signed-in member may read schools' names and kinds (policy.csv: ``member, reference,
read``, SPT 4: each agency's part is public), as they read agencies and jurisdictions; the list
filters in SQL, so a page costs the same whatever the county's size. A school is also an agency
(kind ``school``) whose members are its staff: creating one creates both, the agency's scope
path a unit below its township (``…/370406101/school:N``), which the school's role grants and
its pupils' records sit under.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from models.enums import AgencyKind, JurisdictionLevel, SchoolKind
from models.reference import Agency, Jurisdiction
from models.school import School
from workflow import audit
from workflow.common import fetch_visible, rows_by_ids, where_given
from workflow.context import ServiceContext
from workflow.errors import Duplicate, InvalidInput
from workflow.pagination import Page, PageRequest, keyset_page
from workflow.reference import within

# The grades each kind of school usually teaches (1–9 compulsory, 10–12 upper secondary);
# a school may say otherwise (a teaching point often teaches only the first grades).
DEFAULT_GRADES: dict[SchoolKind, tuple[int, int]] = {
    SchoolKind.PRIMARY: (1, 6),
    SchoolKind.JUNIOR: (7, 9),
    SchoolKind.NINE_YEAR: (1, 9),
    SchoolKind.TEACHING_POINT: (1, 4),
    SchoolKind.SPECIAL_EDUCATION: (1, 9),
    SchoolKind.SECONDARY_VOCATIONAL: (10, 12),
}
OBJ = "school"


async def schools_page(
    ctx: ServiceContext, request: PageRequest, *, kind: SchoolKind | None = None,
    jurisdiction_code: str | None = None,
) -> Page[School]:
    """One page of the schools, optionally of one kind and within a jurisdiction (a township,
    or a district and the townships below it); Forbidden without the reference grant."""
    ctx.authz.require(ctx.principal, "reference", "read", ctx.principal.agency_scope)
    stmt = where_given(select(School), (School.kind, kind))
    if jurisdiction_code is not None:
        stmt = within(stmt, School.township_code, jurisdiction_code)
    return await keyset_page(ctx, stmt, School.id, request, prefix="school")


async def get_schools(ctx: ServiceContext, ids: Sequence[int]) -> list[School | None]:
    """Schools by id, in the order asked (``node``/``nodes``); Forbidden as ``schools_page``."""
    ctx.authz.require(ctx.principal, "reference", "read", ctx.principal.agency_scope)
    return await rows_by_ids(ctx, select(School), School.id, ids)


async def school_path(ctx: ServiceContext, school: School) -> str:
    """The scope path of the school's agency: the domain of its staff and its pupils."""
    agency = await ctx.session.get(Agency, school.agency_id)
    assert agency is not None
    return agency.scope_path


async def visible_school(ctx: ServiceContext, school_id: int, field: str) -> School:
    """A school by id (reference data: any member sees it), NOT_FOUND when there is none."""
    return await fetch_visible(ctx, School, school_id, not_found="no such school", field=field)


def _grades(kind: SchoolKind, grade_from: int | None, grade_to: int | None) -> tuple[int, int]:
    low, high = DEFAULT_GRADES[kind]
    low, high = grade_from or low, grade_to or high
    if not 1 <= low <= high <= 12:
        raise InvalidInput("grades run from 1 to 12, the first not above the last",
                           field="gradeFrom")
    return low, high


async def _flush_unique(ctx: ServiceContext) -> None:
    """Flush in a savepoint: a second school of the same name in a township is DUPLICATE."""
    try:
        async with ctx.session.begin_nested():
            await ctx.session.flush()
    except IntegrityError as exc:
        raise Duplicate("the township has a school of that name", field="name") from exc


def _name(value: str) -> str:
    name = value.strip()
    if not name:
        raise InvalidInput("a school needs a name", field="name")
    return name[:128]


async def create_school(
    ctx: ServiceContext,
    *,
    name: str,
    kind: SchoolKind,
    township_code: str,
    grade_from: int | None = None,
    grade_to: int | None = None,
    parent_school: int | None = None,
    address: str = "",
) -> School:
    """A new school and its agency (the bureau opens schools: LS 10(3)); a teaching point
    (教学点) names its central school."""
    township = await ctx.session.get(Jurisdiction, township_code)
    if township is None or township.level is not JurisdictionLevel.TOWNSHIP:
        raise InvalidInput("not a township (nine-digit code)", field="townshipCode")
    ctx.authz.require(ctx.principal, OBJ, "manage", township.path)
    low, high = _grades(kind, grade_from, grade_to)
    if parent_school is not None:
        await visible_school(ctx, parent_school, "parentSchoolId")
    elif kind is SchoolKind.TEACHING_POINT:
        raise InvalidInput("a teaching point belongs to a central school", field="parentSchoolId")
    agency = Agency(kind=AgencyKind.SCHOOL, name=_name(name), short_name=_name(name)[:4],
                    jurisdiction_code=township.code, scope_path=township.path)
    ctx.session.add(agency)
    await _flush_unique(ctx)
    agency.scope_path = f"{township.path}/school:{agency.id}"
    school = School(agency_id=agency.id, name=agency.name, kind=kind,
                    township_code=township.code, grade_from=low, grade_to=high,
                    parent_school_id=parent_school, address=address.strip()[:200])
    ctx.session.add(school)
    await ctx.session.flush()
    audit.record(ctx, "create_school", "school", [school.id],
                 {"name": school.name, "kind": kind, "township": township.code,
                  "grades": [low, high], "agency": agency.id})
    return school


async def update_school(
    ctx: ServiceContext, *, school_id: int, name: str | None = None, kind: SchoolKind | None = None,
    grade_from: int | None = None, grade_to: int | None = None, address: str | None = None,
) -> School:
    """Rename a school, change its kind, grades or address (its township and agency stay:
    its pupils' records sit under them)."""
    school = await fetch_visible(ctx, School, school_id, lock=True, not_found="no such school",
                                 field="schoolId")
    ctx.authz.require(ctx.principal, OBJ, "manage", await school_path(ctx, school))
    new_kind = kind or school.kind
    low, high = _grades(new_kind, grade_from or school.grade_from, grade_to or school.grade_to)
    wanted = {
        "name": _name(name) if name is not None else school.name,
        "kind": new_kind,
        "grade_from": low,
        "grade_to": high,
        "address": address.strip()[:200] if address is not None else school.address,
    }
    changes = {k: [getattr(school, k), v] for k, v in wanted.items() if getattr(school, k) != v}
    if not changes:
        return school
    for attr, (_, value) in changes.items():
        setattr(school, attr, value)
    if "name" in changes:
        agency = await ctx.session.get(Agency, school.agency_id)
        assert agency is not None
        agency.name = school.name
    await _flush_unique(ctx)
    audit.record(ctx, "update_school", "school", [school.id], changes)
    return school
