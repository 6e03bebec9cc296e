"""Register changes (学籍变动) with their request and approval (ST 3: 严格规范转学、休学、复学等
审批手续), the graduation check (LS 10(5)) and vocational early leavers (ST 6).

- A **transfer within the county**: the sending school requests; the receiving school or
  the education bureau approves (the child moves to the receiving school's register and
  domain) or refuses with a reason.
- A **transfer to another county**: the sending school requests, the sending bureau
  releases the child (the file passes to the receiving district: ``SENT``), and the
  receiving side confirms its arrival (``RECEIVED``): the receiving district's bureau or
  school when it uses Lianbao, otherwise the sending bureau recording the receipt it got. A
  transfer sent and not received within the district's days (``rules.py``) is a
  *transfer out not received*, a suspected dropout for the cross-checks.
- A **suspension** (休学): the school requests with an end date, the bureau approves or
  refuses; the school records the resumption (复学); a task comes when the end date passes.
"""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from authz.filters import scope_filter
from models.child import Child
from models.enums import (
    AgencyKind,
    EnrolmentStatus,
    RegisterChangeKind,
    RegisterChangeStatus,
    SchoolKind,
)
from models.reference import Jurisdiction
from models.register import RegisterChange
from models.school import Enrolment, School
from workflow import audit
from workflow.calendar import local_date
from workflow.child import readable_records, visible_child
from workflow.common import check_version, fetch_visible
from workflow.context import ServiceContext
from workflow.errors import InvalidInput, WrongStage
from workflow.register import history, tasks
from workflow.register.pupils import Placement, place
from workflow.register.rules import rules_for
from workflow.school import school_path, visible_school

TRANSFER = "register:transfer"
SUSPENSION = "register:suspension"


async def _district(ctx: ServiceContext, township_code: str) -> Jurisdiction:
    township = await ctx.session.get(Jurisdiction, township_code)
    assert township is not None and township.parent_code is not None
    district = await ctx.session.get(Jurisdiction, township.parent_code)
    assert district is not None
    return district


async def _entry(ctx: ServiceContext, child: Child) -> tuple[Enrolment, School]:
    row = (await ctx.session.execute(
        select(Enrolment, School).join(School, School.id == Enrolment.school_id)
        .where(Enrolment.child_id == child.id).with_for_update(of=Enrolment)
    )).first()
    if row is None:
        raise WrongStage("the child is not on a school's register", field="childId")
    return row[0], row[1]


def _reason(value: str, field: str = "reason") -> str:
    text = value.strip()
    if not text:
        raise InvalidInput("give the reason", field=field)
    return text


async def _open_change(ctx: ServiceContext, child: Child) -> None:
    pending = (await ctx.session.execute(
        select(RegisterChange.id).where(
            RegisterChange.child_id == child.id,
            RegisterChange.status.in_((RegisterChangeStatus.REQUESTED,
                                       RegisterChangeStatus.SENT)),
        )
    )).first()
    if pending is not None:
        raise WrongStage("the child already has a register change under way", field="childId")


async def request_transfer(
    ctx: ServiceContext, *, child_id: int, to_school: int | None,
    to_district_code: str | None, reason: str, requested_on: date | None,
) -> RegisterChange:
    """The sending school's request: to a school (in this county or another that uses
    Lianbao) or, for a county outside Lianbao, to a district by its code."""
    child = await visible_child(ctx, child_id, lock=True)
    ctx.authz.require(ctx.principal, TRANSFER, "request", child.scope_path)
    entry, school = await _entry(ctx, child)
    if entry.status not in (EnrolmentStatus.ENROLLED, EnrolmentStatus.SUSPENDED):
        raise WrongStage(f"a pupil whose register says {entry.status} is not transferred",
                         field="childId")
    await _open_change(ctx, child)
    here = await _district(ctx, school.township_code)
    target_path, district_code = here.path, to_district_code
    if to_school is not None:
        receiving = await visible_school(ctx, to_school, "toSchoolId")
        if receiving.id == school.id:
            raise InvalidInput("the child is at that school already", field="toSchoolId")
        target_path = await school_path(ctx, receiving)
        district_code = (await _district(ctx, receiving.township_code)).code
    elif not (to_district_code and to_district_code.isdigit() and len(to_district_code) == 6):
        raise InvalidInput("name the receiving school, or the receiving county's six-digit "
                           "code", field="toDistrictCode")
    elif to_district_code == here.code:
        raise InvalidInput("within the county, name the receiving school", field="toSchoolId")
    change = RegisterChange(
        kind=RegisterChangeKind.TRANSFER, status=RegisterChangeStatus.REQUESTED,
        child_id=child.id, from_school_id=school.id, to_school_id=to_school,
        from_district_code=here.code,
        to_district_code=None if district_code == here.code else district_code,
        scope_path=child.scope_path, target_path=target_path,
        residence_path=child.residence_path,
        requested_on=requested_on or local_date(ctx.clock.now()), reason=_reason(reason),
        requested_by=ctx.principal.user_id, created_at=ctx.clock.now(),
        updated_at=ctx.clock.now(),
    )
    ctx.session.add(change)
    await ctx.session.flush()
    history.record(ctx, child.id, "transfer_requested", change.reason, on=change.requested_on,
                   school_id=school.id, detail={"change": change.id,
                                                "to_school": to_school,
                                                "to_district": change.to_district_code})
    audit.record(ctx, "request_transfer", "register_change", [change.id],
                 {"child": child.id, "from": school.id, "to": to_school,
                  "to_district": change.to_district_code})
    return change


async def request_suspension(
    ctx: ServiceContext, *, child_id: int, starts_on: date, ends_on: date, reason: str,
) -> RegisterChange:
    """The school's request to suspend a pupil's schooling (休学) until ``ends_on``."""
    child = await visible_child(ctx, child_id, lock=True)
    ctx.authz.require(ctx.principal, SUSPENSION, "request", child.scope_path)
    entry, school = await _entry(ctx, child)
    if entry.status is not EnrolmentStatus.ENROLLED:
        raise WrongStage(f"a pupil whose register says {entry.status} is not suspended",
                         field="childId")
    await _open_change(ctx, child)
    district = await _district(ctx, school.township_code)
    limit = rules_for(district.code).suspension_max_days
    if not 0 < (ends_on - starts_on).days <= limit:
        raise InvalidInput(f"a suspension ends after it starts, within {limit} days",
                           field="endsOn")
    change = RegisterChange(
        kind=RegisterChangeKind.SUSPENSION, status=RegisterChangeStatus.REQUESTED,
        child_id=child.id, from_school_id=school.id, from_district_code=district.code,
        scope_path=child.scope_path, target_path=district.path,
        residence_path=child.residence_path, requested_on=local_date(ctx.clock.now()),
        starts_on=starts_on, ends_on=ends_on, reason=_reason(reason),
        requested_by=ctx.principal.user_id, created_at=ctx.clock.now(),
        updated_at=ctx.clock.now(),
    )
    ctx.session.add(change)
    await ctx.session.flush()
    history.record(ctx, child.id, "suspension_requested", change.reason, school_id=school.id,
                   detail={"change": change.id, "starts_on": starts_on, "ends_on": ends_on})
    audit.record(ctx, "request_suspension", "register_change", [change.id],
                 {"child": child.id, "starts_on": starts_on, "ends_on": ends_on})
    return change


def changes_visible(ctx: ServiceContext) -> ColumnElement[bool]:
    """Register changes the caller may see: those of a child it may read, or a transfer it
    may approve (the receiving side sees the request before the child is its pupil)."""
    return or_(
        readable_records(ctx, RegisterChange.child_id,
                         (RegisterChange.scope_path, RegisterChange.residence_path)),
        scope_filter(ctx.authz, ctx.principal, TRANSFER, "approve", RegisterChange.target_path),
    )


async def visible_change(
    ctx: ServiceContext, change_id: int, *, lock: bool = False
) -> RegisterChange:
    """A register change the caller may see (``changes_visible``; NOT_FOUND otherwise)."""
    return await fetch_visible(ctx, RegisterChange, change_id, where=changes_visible(ctx),
                               lock=lock, not_found="no such register change", field="changeId")


async def _approver_domain(ctx: ServiceContext, change: RegisterChange) -> tuple[str, str]:
    """Who decides: the receiving side for a transfer within the county (its school's path,
    which the bureau's covers too), the sending district's bureau for one leaving the county
    or for a suspension (a school's own grant does not cover its district's path)."""
    if change.kind is RegisterChangeKind.TRANSFER and change.to_district_code is None:
        return TRANSFER, change.target_path
    sending = await ctx.session.get(Jurisdiction, change.from_district_code)
    assert sending is not None
    obj = SUSPENSION if change.kind is RegisterChangeKind.SUSPENSION else TRANSFER
    return obj, sending.path


async def decide(
    ctx: ServiceContext, *, change_id: int, expected_version: int | None, approve: bool,
    reason: str = "", decided_on: date | None, grade: int | None, class_no: int = 1,
) -> RegisterChange:
    """Approve or refuse a requested transfer or suspension (a refusal gives its reason)."""
    change = await visible_change(ctx, change_id, lock=True)
    obj, domain = await _approver_domain(ctx, change)
    ctx.authz.require(ctx.principal, obj, "approve", domain)
    check_version(change.version, expected_version, "the register change")
    if change.status is not RegisterChangeStatus.REQUESTED:
        raise WrongStage(f"the change is {change.status}, not awaiting a decision",
                         field="changeId")
    on = decided_on or local_date(ctx.clock.now())
    change.decided_on, change.decided_by = on, ctx.principal.user_id
    change.decision_reason, change.updated_at = reason.strip(), ctx.clock.now()
    child = await ctx.session.get(Child, change.child_id, with_for_update=True)
    assert child is not None
    kind = change.kind.value
    if not approve:
        change.status = RegisterChangeStatus.REFUSED
        change.decision_reason = _reason(reason)
        history.record(ctx, child.id, f"{kind}_refused", change.decision_reason, on=on,
                       school_id=change.from_school_id, detail={"change": change.id})
    elif change.kind is RegisterChangeKind.SUSPENSION:
        await _suspend(ctx, change, child, on)
    elif change.to_district_code is None:
        await _receive(ctx, change, child, on, grade, class_no)
    else:
        await _send(ctx, change, child, on)
    await ctx.session.flush()
    audit.record(ctx, f"decide_{kind}", "register_change", [change.id],
                 {"approve": approve, "status": change.status, "reason": change.decision_reason})
    return change


async def _set_status(
    ctx: ServiceContext, child: Child, status: EnrolmentStatus, on: date, kind: str,
    reason: str, detail: dict[str, object],
) -> Enrolment:
    entry, _ = await _entry(ctx, child)
    before = entry.status
    entry.status, entry.status_since, entry.updated_at = status, on, ctx.clock.now()
    history.record(ctx, child.id, kind, reason, on=on, school_id=entry.school_id,
                   from_status=before, to_status=status, detail=detail)
    return entry


# The entries a child can leave the register from (not already gone: transferred, graduated).
HELD = (EnrolmentStatus.ENROLLED, EnrolmentStatus.SUSPENDED, EnrolmentStatus.DROPOUT_MARKED,
        EnrolmentStatus.DEFERRED, EnrolmentStatus.EXEMPT)


async def leave_register(
    ctx: ServiceContext, child: Child, status: EnrolmentStatus, on: date, kind: str,
    reason: str, detail: dict[str, object],
) -> EnrolmentStatus | None:
    """The child leaves the register without a register change of its own: the police found
    the child deceased or moved away (ST 8) and the bureau applies it. The entry takes
    ``status`` with a register event; a child on no register, or one already gone, gets the
    event alone (the history says what the bureau did). Answers the entry's former status."""
    row = (await ctx.session.execute(
        select(Enrolment).where(Enrolment.child_id == child.id).with_for_update()
    )).scalar_one_or_none()
    if row is None or row.status not in HELD:
        history.record(ctx, child.id, kind, reason, on=on,
                       school_id=None if row is None else row.school_id, detail=detail)
        return None
    before = row.status
    await _set_status(ctx, child, status, on, kind, reason, detail)
    return before


async def _suspend(ctx: ServiceContext, change: RegisterChange, child: Child, on: date) -> None:
    change.status = RegisterChangeStatus.APPROVED
    await _set_status(ctx, child, EnrolmentStatus.SUSPENDED, change.starts_on or on,
                      "suspension_approved", change.reason,
                      {"change": change.id, "ends_on": change.ends_on})


async def _send(ctx: ServiceContext, change: RegisterChange, child: Child, on: date) -> None:
    """The file passes to the receiving district; the child leaves this register."""
    change.status = RegisterChangeStatus.SENT
    await _set_status(ctx, child, EnrolmentStatus.TRANSFERRED, on, "transfer_sent",
                      f"转出至 {change.to_district_code}",
                      {"change": change.id, "to_district": change.to_district_code})


async def _receive(
    ctx: ServiceContext, change: RegisterChange, child: Child, on: date, grade: int | None,
    class_no: int,
) -> None:
    change.status, change.received_on = RegisterChangeStatus.RECEIVED, on
    if change.to_school_id is None:
        # Received outside Lianbao: the sending bureau records the receipt it was sent.
        history.record(ctx, child.id, "transfer_received", "接收地回执", on=on,
                       detail={"change": change.id, "to_district": change.to_district_code})
        return
    entry, _ = await _entry(ctx, child)
    school = await ctx.session.get(School, change.to_school_id)
    assert school is not None
    await place(ctx, child, school, Placement(school.id, grade or entry.grade, class_no, on),
                 entry, kind="transfer_received", reason="转入")
    await tasks.close(ctx, "change_id", change.id, {"transfer_not_received"}, "已转入")


async def receive_transfer(
    ctx: ServiceContext, *, change_id: int, expected_version: int | None,
    received_on: date | None, grade: int | None, class_no: int = 1,
) -> RegisterChange:
    """The receiving side confirms a transfer from another county: its school (or bureau)
    when it names a school on Lianbao, else the sending bureau records the receipt."""
    change = await visible_change(ctx, change_id, lock=True)
    domain = (change.target_path if change.to_school_id is not None
              else (await _approver_domain(ctx, change))[1])
    ctx.authz.require(ctx.principal, TRANSFER, "approve", domain)
    check_version(change.version, expected_version, "the register change")
    if change.status is not RegisterChangeStatus.SENT:
        raise WrongStage(f"the transfer is {change.status}, not sent", field="changeId")
    child = await ctx.session.get(Child, change.child_id, with_for_update=True)
    assert child is not None
    change.updated_at = ctx.clock.now()
    await _receive(ctx, change, child, received_on or local_date(ctx.clock.now()), grade,
                   class_no)
    await ctx.session.flush()
    audit.record(ctx, "receive_transfer", "register_change", [change.id],
                 {"received_on": change.received_on, "school": change.to_school_id})
    return change


async def resume(
    ctx: ServiceContext, *, change_id: int, expected_version: int | None, resumed_on: date,
) -> RegisterChange:
    """The pupil is back from a suspension (复学): the school records it."""
    change = await visible_change(ctx, change_id, lock=True)
    ctx.authz.require(ctx.principal, SUSPENSION, "resume", change.scope_path)
    check_version(change.version, expected_version, "the register change")
    if change.status is not RegisterChangeStatus.APPROVED:
        raise WrongStage(f"the suspension is {change.status}, not under way", field="changeId")
    if change.starts_on is not None and resumed_on < change.starts_on:
        raise InvalidInput("a pupil resumes after the suspension began", field="resumedOn")
    child = await ctx.session.get(Child, change.child_id, with_for_update=True)
    assert child is not None
    change.status, change.ended_on, change.updated_at = (
        RegisterChangeStatus.ENDED, resumed_on, ctx.clock.now())
    await _set_status(ctx, child, EnrolmentStatus.ENROLLED, resumed_on, "resumed", "复学",
                      {"change": change.id})
    await tasks.close(ctx, "change_id", change.id, {"suspension_ended"}, "已复学")
    await ctx.session.flush()
    audit.record(ctx, "resume_schooling", "register_change", [change.id],
                 {"resumed_on": resumed_on})
    return change


def school_years(started_on: date, on: date) -> int:
    """School years completed by ``on`` (a year runs September to the summer holidays)."""
    def year_of(d: date) -> int:
        return d.year if d.month >= 9 else d.year - 1

    finished = 1 if on.month in (6, 7, 8) else 0
    return max(0, year_of(on) - year_of(started_on) + finished)


async def graduate(ctx: ServiceContext, *, child_id: int, graduated_on: date) -> Child:
    """The compulsory-education certificate, only with the full years on the register
    (LS 10(5): 对未完成规定年限义务教育的学生不得核发义务教育毕业证书); suspended years
    do not count."""
    child = await visible_child(ctx, child_id, lock=True)
    ctx.authz.require(ctx.principal, "register:graduation", "certify", child.scope_path)
    entry, school = await _entry(ctx, child)
    final = school.kind in (SchoolKind.JUNIOR, SchoolKind.NINE_YEAR,
                            SchoolKind.SPECIAL_EDUCATION) and entry.grade == school.grade_to
    if entry.status is not EnrolmentStatus.ENROLLED or not final:
        raise WrongStage("only a pupil in the last year of compulsory education graduates",
                         field="childId")
    if entry.started_on is None:
        raise WrongStage("the register does not say when the child's schooling began",
                         field="childId")
    suspended = (await ctx.session.execute(
        select(RegisterChange.starts_on, RegisterChange.ended_on, RegisterChange.ends_on)
        .where(RegisterChange.child_id == child.id,
               RegisterChange.kind == RegisterChangeKind.SUSPENSION,
               RegisterChange.status.in_((RegisterChangeStatus.APPROVED,
                                          RegisterChangeStatus.ENDED)))
    )).all()
    days = sum(((end or until or start) - start).days
               for start, end, until in suspended if start is not None)
    years = school_years(entry.started_on, graduated_on) - round(days / 365)
    need = rules_for((await _district(ctx, school.township_code)).code).compulsory_years
    if years < need:
        raise WrongStage(f"{years} of the {need} years of compulsory education are on the "
                         "register: no certificate (LS 10(5))", field="childId")
    await _set_status(ctx, child, EnrolmentStatus.GRADUATED, graduated_on, "graduated",
                      "义务教育毕业", {"years": years})
    await ctx.session.flush()
    audit.record(ctx, "certify_graduation", "enrolment", [entry.id],
                 {"child": child.id, "years": years, "on": graduated_on})
    return child


async def record_early_leaving(
    ctx: ServiceContext, *, child_id: int, left_on: date, reason: str
) -> Child:
    """A spring entrant left the vocational school (ST 6: 发现春季入学学生流失的，及时做好劝
    返工作): its register is marked, and the vocational school (persuade) and the junior
    school it came from (follow the child) each get a task."""
    child = await visible_child(ctx, child_id, lock=True)
    ctx.authz.require(ctx.principal, "register", "write", child.scope_path)
    entry, school = await _entry(ctx, child)
    if not entry.spring_entrant or entry.status is not EnrolmentStatus.ENROLLED:
        raise WrongStage("not a spring entrant on the register", field="childId")
    why = _reason(reason)
    await _set_status(ctx, child, EnrolmentStatus.DROPOUT_MARKED, left_on, "early_leaving", why,
                      {"school": school.id, "junior_school": entry.previous_school_id})
    link = {"child_id": child.id}
    made = [tasks.open_task(ctx, "persuade_spring_entrant",
                            f"春季入学学生流失，劝返：{school.name}", AgencyKind.SCHOOL,
                            child.scope_path, link)]
    if entry.previous_school_id is not None:
        junior = await ctx.session.get(School, entry.previous_school_id)
        assert junior is not None
        made.append(tasks.open_task(ctx, "follow_spring_entrant", "跟踪春季入学学生去向",
                                    AgencyKind.SCHOOL, await school_path(ctx, junior), link))
    await tasks.publish(ctx, made)
    audit.record(ctx, "record_early_leaving", "enrolment", [entry.id],
                 {"child": child.id, "left_on": left_on, "tasks": [t.id for t in made]})
    return child


def not_received(district_code: str, on: date) -> list[ColumnElement[bool]]:
    """SQL conditions on ``RegisterChange``: a transfer out of the district sent more than
    the district's days before ``on`` and not received (the next issue's suspected-dropout
    ledger takes these)."""
    days = rules_for(district_code).transfer_receive_days
    return [
        RegisterChange.kind == RegisterChangeKind.TRANSFER,
        RegisterChange.status == RegisterChangeStatus.SENT,
        RegisterChange.from_district_code == district_code,
        RegisterChange.decided_on < on - timedelta(days=days),
    ]


async def transfers_not_received(
    session: AsyncSession, district_code: str, on: date
) -> list[int]:
    """The children of ``district_code`` transferred out and not received by ``on``."""
    rows = await session.execute(
        select(RegisterChange.child_id).where(*not_received(district_code, on))
    )
    return sorted(set(rows.scalars()))

