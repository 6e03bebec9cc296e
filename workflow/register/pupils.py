"""Children on the register: create and change a child, its guardians, enrol it at a school.

Who may write the register is policy (``register, write``: the school for its pupils, the
education bureau for its district; ST 3, LS 10(5)). A child's records sit in its school's
domain while it is enrolled, else in its home township's; ``residence_path`` is the village
committee's path where one covers its village (LS 14). Every change is audited and is an
event of the child's register history (``history.record``), in the caller's transaction.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from models.child import Child, Guardian
from models.enums import (
    AgencyKind,
    EnrolmentStatus,
    GuardianRelation,
    JurisdictionLevel,
    RegisterType,
    SchoolKind,
    Sex,
)
from models.reference import Agency, Jurisdiction
from models.school import Enrolment, School
from workflow import audit
from workflow.calendar import local_date
from workflow.child import visible, visible_child
from workflow.common import check_version, fetch_visible
from workflow.context import ServiceContext
from workflow.errors import BadIdNumber, Duplicate, InvalidInput, WrongStage
from workflow.infra import id_number
from workflow.register import history
from workflow.school import school_path, visible_school

OBJ = "register"
# A register entry in one of these states holds the child at its school: moving it elsewhere
# is a transfer (ST 3: no school takes a pupil without the transfer procedure).
HELD = (EnrolmentStatus.ENROLLED, EnrolmentStatus.SUSPENDED, EnrolmentStatus.DROPOUT_MARKED)
# Changed fields named in the history and the audit trail without their values.
SENSITIVE = frozenset({"national_id", "name", "address"})


@dataclass(frozen=True)
class ChildDetails:
    """What a register officer enters about a child (every field optional on a change)."""

    name: str | None = None
    sex: Sex | None = None
    birth_date: date | None = None
    register_type: RegisterType | None = None
    national_id: str | None = None
    township_code: str | None = None
    village: str | None = None
    address: str | None = None


@dataclass(frozen=True)
class Placement:
    """Where a child is enrolled: school, grade and class, since when."""

    school_id: int
    grade: int | None = None
    class_no: int = 1
    enrolled_on: date | None = None
    started_on: date | None = None


def _id_number(value: str, sex: Sex | None, born: date | None, today: date) -> str:
    """The ID number checked against GB 11643, and against the sex and birth date given."""
    try:
        info = id_number.validate(value)
    except id_number.InvalidIdNumber as exc:
        raise BadIdNumber(str(exc), field="nationalId") from exc
    if info.birth_date > today:
        raise BadIdNumber("the ID number's birth date is in the future", field="nationalId")
    if born is not None and born != info.birth_date:
        raise InvalidInput("the birth date differs from the ID number's", field="birthDate")
    if sex is not None and sex.value != info.sex:
        raise InvalidInput("the sex differs from the ID number's", field="sex")
    return info.number


async def _township(ctx: ServiceContext, code: str) -> Jurisdiction:
    township = await ctx.session.get(Jurisdiction, code)
    if township is None or township.level is not JurisdictionLevel.TOWNSHIP:
        raise InvalidInput("not a township (nine-digit code)", field="townshipCode")
    return township


async def _residence(ctx: ServiceContext, township: Jurisdiction, village: str) -> str:
    """The village committee's path when one covers the village (LS 14), else the
    township's."""
    if village:
        committee = (
            await ctx.session.execute(
                select(Agency.scope_path).where(
                    Agency.kind == AgencyKind.VILLAGE,
                    Agency.jurisdiction_code == township.code,
                    Agency.name == f"{township.name}{village}村民委员会",
                )
            )
        ).scalar_one_or_none()
        if committee is not None:
            return committee
    return township.path


def _text(value: str, field: str, limit: int, *, required: bool = True) -> str:
    text = value.strip()
    if required and not text:
        raise InvalidInput(f"{field} is required", field=field)
    return text[:limit]


def _apply(child: Child, d: ChildDetails, today: date) -> dict[str, Any]:
    """Set the given details on ``child``; returns what changed (field → [old, new])."""
    register_type = d.register_type or child.register_type
    national_id = child.national_id if d.national_id is None else (d.national_id.strip() or None)
    if register_type is RegisterType.ID_CARD and not national_id:
        raise InvalidInput("a child registered by ID card needs its ID number", field="nationalId")
    if register_type is RegisterType.OTHER:
        national_id = None  # "Z-other": registered without an ID number
    sex, born = d.sex or child.sex, d.birth_date or child.birth_date
    if national_id is not None:
        national_id = _id_number(national_id, sex, born, today)
    if born > today:
        raise InvalidInput("the birth date is in the future", field="birthDate")
    wanted: dict[str, Any] = {
        "name": _text(d.name, "name", 64) if d.name is not None else child.name,
        "sex": sex,
        "birth_date": born,
        "register_type": register_type,
        "national_id": national_id,
        "village": _text(d.village, "village", 64, required=False)
        if d.village is not None else child.village,
        "address": _text(d.address, "address", 200, required=False)
        if d.address is not None else child.address,
    }
    changes = {k: [getattr(child, k, None), v] for k, v in wanted.items()
               if getattr(child, k, None) != v}
    for attr, (_, value) in changes.items():
        setattr(child, attr, value)
    return changes


def _shown(changes: dict[str, Any]) -> dict[str, Any]:
    """Changes as history and audit keep them: sensitive fields by name only."""
    return {k: "changed" if k in SENSITIVE else v for k, v in changes.items()}


async def _flush_unique(ctx: ServiceContext) -> None:
    try:
        async with ctx.session.begin_nested():
            await ctx.session.flush()
    except IntegrityError as exc:
        raise Duplicate("a child with this ID number is already on the register",
                        field="nationalId") from exc


async def create_child(
    ctx: ServiceContext,
    details: ChildDetails,
    placement: Placement | None,
    guardians: list[tuple[str, GuardianRelation, str | None]],
) -> Child:
    """A child on the register: enrolled at once when ``placement`` names a school (its
    domain is then the school's), otherwise in its home township's domain."""
    if not details.township_code:
        raise InvalidInput("the home township is required", field="townshipCode")
    township = await _township(ctx, details.township_code)
    school: School | None = None
    domain = township.path
    if placement is not None:
        school = await visible_school(ctx, placement.school_id, "schoolId")
        domain = await school_path(ctx, school)
    ctx.authz.require(ctx.principal, OBJ, "write", domain)
    if details.name is None or details.sex is None or details.birth_date is None:
        raise InvalidInput("name, sex and birth date are required", field="name")
    today = local_date(ctx.clock.now())
    child = Child(name="", sex=details.sex, birth_date=details.birth_date,
                  register_type=details.register_type or RegisterType.ID_CARD,
                  township_code=township.code, village="", address="", scope_path=domain,
                  student_no=f"pending:{uuid.uuid4().hex[:24]}")
    changes = _apply(child, details, today)
    child.residence_path = await _residence(ctx, township, child.village)
    ctx.session.add(child)
    await _flush_unique(ctx)
    # The register number embeds the ID number (G…), or for "Z-other" the district and key.
    district = township.parent_code or township.code
    child.student_no = (f"G{child.national_id}" if child.national_id
                        else f"Z{district}{child.id:08d}")
    history.record(ctx, child.id, "child_created", "建立学籍信息",
                   detail={"fields": sorted(changes), "township": township.code})
    for name, relation, phone in guardians:
        await _add_guardian(ctx, child, name, relation, phone)
    if school is not None and placement is not None:
        await place(ctx, child, school, placement, None)
    await ctx.session.flush()
    audit.record(ctx, "create_child", "child", [child.id],
                 {"fields": _shown(changes), "school": school.id if school else None})
    return child


async def writable_child(ctx: ServiceContext, child_id: int, expected: int | None) -> Child:
    """The child, locked, when the caller may read it and write its register entry."""
    child = await visible_child(ctx, child_id, lock=True)
    ctx.authz.require(ctx.principal, OBJ, "write", child.scope_path)
    check_version(child.version, expected, "the child")
    return child


async def update_child(
    ctx: ServiceContext, child_id: int, expected_version: int | None, details: ChildDetails
) -> Child:
    """Correct a child's details; a new home township moves an unenrolled child's domain."""
    child = await writable_child(ctx, child_id, expected_version)
    changes = _apply(child, details, local_date(ctx.clock.now()))
    if details.township_code is not None and details.township_code != child.township_code:
        township = await _township(ctx, details.township_code)
        changes["township_code"] = [child.township_code, township.code]
        enrolled = (await ctx.session.execute(
            select(Enrolment.status).where(Enrolment.child_id == child.id))).scalar_one_or_none()
        if enrolled not in HELD:
            child.scope_path = township.path
        child.township_code = township.code
    if "village" in changes or "township_code" in changes:
        township = await _township(ctx, child.township_code)
        child.residence_path = await _residence(ctx, township, child.village)
    if not changes:
        return child
    if "national_id" in changes:
        child.student_no = (f"G{child.national_id}" if child.national_id
                            else f"Z{child.township_code[:6]}{child.id:08d}")
    await _flush_unique(ctx)
    history.record(ctx, child.id, "child_changed", "更正学籍信息",
                   detail={"fields": sorted(changes)})
    audit.record(ctx, "update_child", "child", [child.id], _shown(changes))
    return child


def _phone(value: str | None) -> str | None:
    if value is None or not value.strip():
        return None
    phone = value.strip().replace(" ", "").replace("-", "")
    if not (phone.isascii() and phone.lstrip("+").isdigit() and 7 <= len(phone) <= 20):
        raise InvalidInput("a phone number is 7 to 20 digits", field="phone")
    return phone


async def _add_guardian(
    ctx: ServiceContext, child: Child, name: str, relation: GuardianRelation, phone: str | None
) -> Guardian:
    guardian = Guardian(child_id=child.id, name=_text(name, "name", 64), relation=relation,
                        phone=_phone(phone))
    ctx.session.add(guardian)
    await ctx.session.flush()
    history.record(ctx, child.id, "guardian_added", "登记监护人",
                   detail={"guardian": guardian.id, "relation": relation})
    return guardian


async def add_guardian(
    ctx: ServiceContext, child_id: int, name: str, relation: GuardianRelation, phone: str | None
) -> Child:
    child = await writable_child(ctx, child_id, None)
    guardian = await _add_guardian(ctx, child, name, relation, phone)
    audit.record(ctx, "add_guardian", "guardian", [guardian.id],
                 {"child": child.id, "relation": relation, "phone": guardian.phone is not None})
    return child


async def _guardian(ctx: ServiceContext, guardian_id: int) -> tuple[Guardian, Child]:
    """A guardian of a child the caller may read (NOT_FOUND otherwise), and the child,
    locked, once the caller may write its register entry."""
    guardian = await fetch_visible(
        ctx, Guardian, guardian_id, lock=True, not_found="no such guardian",
        field="guardianId", where=Guardian.child_id.in_(select(Child.id).where(visible(ctx))),
    )
    return guardian, await writable_child(ctx, guardian.child_id, None)


async def update_guardian(
    ctx: ServiceContext, guardian_id: int, name: str | None, relation: GuardianRelation | None,
    phone: str | None,
) -> Child:
    guardian, child = await _guardian(ctx, guardian_id)
    wanted = {
        "name": _text(name, "name", 64) if name is not None else guardian.name,
        "relation": relation or guardian.relation,
        "phone": _phone(phone) if phone is not None else guardian.phone,
    }
    changed = sorted(k for k, v in wanted.items() if getattr(guardian, k) != v)
    if not changed:
        return child
    for attr in changed:
        setattr(guardian, attr, wanted[attr])
    await ctx.session.flush()
    history.record(ctx, child.id, "guardian_changed", "变更监护人信息",
                   detail={"guardian": guardian.id, "fields": changed})
    audit.record(ctx, "update_guardian", "guardian", [guardian.id], {"fields": changed})
    return child


async def remove_guardian(ctx: ServiceContext, guardian_id: int, reason: str) -> Child:
    guardian, child = await _guardian(ctx, guardian_id)
    why = _text(reason, "reason", 200)
    await ctx.session.delete(guardian)
    await ctx.session.flush()
    history.record(ctx, child.id, "guardian_removed", why,
                   detail={"guardian": guardian_id, "relation": guardian.relation})
    audit.record(ctx, "remove_guardian", "guardian", [guardian_id],
                 {"child": child.id, "reason": why})
    return child


async def place(
    ctx: ServiceContext, child: Child, school: School, placement: Placement,
    entry: Enrolment | None, *, kind: str = "enrolled", reason: str = "注册学籍",
    spring_entrant: bool = False,
) -> Enrolment:
    """Put the child on ``school``'s register (a new entry, or the one it had moved)."""
    grade = placement.grade or school.grade_from
    if not school.grade_from <= grade <= school.grade_to:
        raise InvalidInput(f"the school teaches grades {school.grade_from}–{school.grade_to}",
                           field="grade")
    if not 1 <= placement.class_no <= 99:
        raise InvalidInput("a class number is 1 to 99", field="classNo")
    on = placement.enrolled_on or local_date(ctx.clock.now())
    before = entry.status if entry is not None else None
    if entry is None:
        entry = Enrolment(child_id=child.id, school_id=school.id, grade=grade,
                          class_no=placement.class_no, status=EnrolmentStatus.ENROLLED,
                          status_since=on, started_on=placement.started_on or on)
        ctx.session.add(entry)
    else:
        entry.previous_school_id = entry.school_id if spring_entrant else None
        entry.school_id, entry.grade, entry.class_no = school.id, grade, placement.class_no
        entry.status, entry.status_since = EnrolmentStatus.ENROLLED, on
        entry.started_on = placement.started_on or entry.started_on or on
    entry.spring_entrant = spring_entrant
    entry.updated_at = ctx.clock.now()
    child.scope_path = await school_path(ctx, school)
    await ctx.session.flush()
    history.record(ctx, child.id, kind, reason, on=on, school_id=school.id, from_status=before,
                   to_status=EnrolmentStatus.ENROLLED,
                   detail={"grade": grade, "class_no": placement.class_no})
    return entry


async def enrol_child(
    ctx: ServiceContext, child_id: int, placement: Placement, *, spring_entrant: bool = False
) -> Child:
    """Enrol a child not held by another school's register (a new pupil, one transferred in
    from outside the county, one whose deferral ended); ``spring_entrant``: a last-year
    junior pupil entering a vocational school in spring (ST 6), whose junior school stays
    on the entry."""
    child = await visible_child(ctx, child_id, lock=True)
    school = await visible_school(ctx, placement.school_id, "schoolId")
    ctx.authz.require(ctx.principal, OBJ, "write", await school_path(ctx, school))
    entry = (await ctx.session.execute(
        select(Enrolment).where(Enrolment.child_id == child.id).with_for_update()
    )).scalar_one_or_none()
    if spring_entrant:
        await _check_spring_entry(ctx, entry, school)
    elif entry is not None and entry.status in HELD:
        raise WrongStage("the child is on another school's register: request a transfer "
                         "(ST 3: no school takes a pupil without the transfer procedure)",
                         field="childId")
    kind, reason = ("spring_entry", "春季提前进入中职学校（ST 6）") if spring_entrant else (
        "enrolled", "注册学籍")
    placed = await place(ctx, child, school, placement, entry, kind=kind, reason=reason,
                          spring_entrant=spring_entrant)
    audit.record(ctx, "enrol_child", "enrolment", [placed.id],
                 {"child": child.id, "school": school.id, "grade": placed.grade,
                  "spring_entrant": spring_entrant})
    return child


async def _check_spring_entry(
    ctx: ServiceContext, entry: Enrolment | None, school: School
) -> None:
    if school.kind is not SchoolKind.SECONDARY_VOCATIONAL:
        raise InvalidInput("spring entrants go to a secondary vocational school",
                           field="schoolId")
    junior = await ctx.session.get(School, entry.school_id) if entry is not None else None
    if (entry is None or junior is None or entry.status is not EnrolmentStatus.ENROLLED
            or junior.kind not in (SchoolKind.JUNIOR, SchoolKind.NINE_YEAR)
            or entry.grade != junior.grade_to):
        raise WrongStage("a spring entrant is a pupil in the last year of a junior school "
                         "(ST 6)", field="childId")
