"""The comparison job (四查三比对) for one district as of a date: set-based SQL from the base
database and the register into ``crosscheck_finding``, then one verification task per
unexplained child (铁脚板摸排, ST 2), all in the caller's one transaction.

1. Household register against the school register (适龄未入学/失学, ``UNREGISTERED``): the
   police list's school-age children (ST 1: 6–14 on the as-of date) with no register entry
   in the district, leaving out children with a valid deferral or exemption. A child on
   another district's register in this database is recorded as explained (``elsewhere``:
   the finding says where) and gets no task.
2. School register against the pupils in school (名在人不在, ``NOT_AT_SCHOOL``): a pupil
   enrolled at a school of the district that sent its in-school list (在校生名单, import
   source ``school_roster``; its latest list up to the as-of month) but not on that list;
   and a pupil whose long absence is already an open dropout case (the case is linked and
   is the follow-up, so no task).
3. Dropouts against the poverty households (``POVERTY_DROPOUT``): the children of 1 and 2
   from a registered-poor or monitored household (a poverty group, or on the poverty
   office's list), flagged as priority for the poverty office.

Findings are kept per (district, kind, person): a rerun updates a finding only when its
data fingerprint changed (then a resolved one reopens, with a new task), clears the open
ones it no longer finds (their tasks cancelled), and otherwise writes nothing. Two runs of
one district at once queue on an advisory lock (PostgreSQL; SQLite has one writer), so the
second finds the first's findings and creates nothing.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import (
    Boolean,
    ColumnElement,
    Date,
    Integer,
    String,
    Table,
    and_,
    bindparam,
    case,
    cast,
    exists,
    func,
    insert,
    literal,
    literal_column,
    null,
    or_,
    select,
    text,
    true,
    union_all,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from models.case import DropoutCase
from models.child import Child, ChildGroup
from models.crosscheck import (
    CrosscheckFinding,
    CrosscheckRun,
    FindingKind,
    FindingStatus,
    VerificationOutcome,
)
from models.enums import AgencyKind, CaseStatus, EnrolmentStatus, TaskStatus
from models.household import (
    HouseholdCorrection,
    HouseholdCorrectionKind,
    HouseholdCorrectionStatus,
)
from models.imports import BaseRecord, ImportSource
from models.reference import Agency, Jurisdiction
from models.school import Enrolment, School
from models.task import Task
from workflow import audit
from workflow.calendar import local_date, years_before
from workflow.context import ServiceContext
from workflow.crosscheck import inputs
from workflow.crosscheck.counts import finding_counts, special_groups
from workflow.crosscheck.matching import candidates_of, match_records, same_name_and_birth
from workflow.crosscheck.rules import CrosscheckRules, rules_for
from workflow.errors import NotFound
from workflow.register import deferred
from workflow.task import close_tasks

TASK_KIND = "crosscheck_verification"
TASK_TITLES = {
    FindingKind.UNREGISTERED: "铁脚板摸排：核实适龄儿童未入学原因及去向",
    FindingKind.NOT_AT_SCHOOL: "铁脚板摸排：核实在籍学生是否在校（名在人不在）",
}
CLEARED_NOTE = "比对不再发现：数据已更新"
CASE_NOTE = "已立辍学个案：按个案跟进"
F = CrosscheckFinding
# The police corrections that take a person off the comparisons (ST 8).
GONE = (HouseholdCorrectionKind.DECEASED, HouseholdCorrectionKind.MOVED_AWAY)
# One advisory-lock namespace for the comparisons (PostgreSQL), a key per district.
LOCK_SPACE = zlib.crc32(b"crosscheck")
FOUND = "crosscheck_found"  # the run's temporary table of what it found


def _text(value: Any) -> ColumnElement[str]:
    return func.coalesce(cast(value, String), "")


def fingerprint(*parts: Any) -> ColumnElement[str]:
    """The facts a finding is made from, as one string: a rerun compares it to the stored
    one to know whether the data changed (ids and codes only, so it fits the column)."""
    out: ColumnElement[str] = _text(parts[0])
    for part in parts[1:]:
        out = out + literal("|") + _text(part)
    return out


class _Run:
    """What the statements of one run share: the district, the date, the rules, the run."""

    def __init__(self, session: AsyncSession, district: Jurisdiction, as_of: date,
                 run: CrosscheckRun, now: datetime) -> None:
        self.session = session
        self.district = district
        self.code = district.code
        self.as_of = as_of
        self.run = run
        self.now = now
        self.rules: CrosscheckRules = rules_for(district.code)
        self.dialect = session.get_bind().dialect.name
        self._found: Any = None

    # --- dialect-specific pieces ------------------------------------------------------

    def json_literal(self, value: str) -> Any:
        if self.dialect == "postgresql":
            return literal_column(f"'{value}'::jsonb")
        return literal_column(f"'{value}'")

    def json_object(self, key: str, value: Any) -> Any:
        if self.dialect == "postgresql":
            return func.jsonb_build_object(key, value)
        return func.json_object(key, value)

    def json_array_of(self, column: Any) -> Any:
        if self.dialect == "postgresql":
            return func.coalesce(func.jsonb_agg(column), literal_column("'[]'::jsonb"))
        return func.json_group_array(column)

    def upsert(self) -> Any:
        return (postgresql.insert if self.dialect == "postgresql" else sqlite.insert)(F)

    # --- the parts of the comparisons -----------------------------------------------

    def townships(self) -> Any:
        return select(Jurisdiction.code).where(Jurisdiction.parent_code == self.code)

    def poverty_child(self, child_id: Any) -> ColumnElement[bool]:
        return exists().where(ChildGroup.child_id == child_id,
                              ChildGroup.group.in_(self.rules.poverty_groups))

    def poverty_listed(self, *match: Callable[[Any], ColumnElement[bool]]
                       ) -> ColumnElement[bool]:
        """On the poverty office's list of the district, by any of ``match`` (each given
        the aliased list record)."""
        listed = aliased(BaseRecord)
        return exists().where(listed.source == ImportSource.POVERTY_HOUSEHOLD,
                              listed.district_code == self.code,
                              or_(*(m(listed) for m in match)))

    def corrected(self, kinds: tuple[HouseholdCorrectionKind, ...], *match: ColumnElement[bool]
                  ) -> ColumnElement[bool]:
        """The police recorded one of ``kinds`` about the person, in force by the as-of date
        (ST 8: the others correct their records from it)."""
        return exists().where(HouseholdCorrection.kind.in_(kinds),
                              HouseholdCorrection.status == HouseholdCorrectionStatus.RECORDED,
                              HouseholdCorrection.effective_on <= self.as_of, or_(*match))

    def unregistered(self) -> Any:
        """Comparison 1: the police list's school-age children on no register here."""
        home = aliased(Jurisdiction)
        school_place = aliased(Jurisdiction)
        born_after = years_before(self.as_of, self.rules.age_to + 1)
        born_by = years_before(self.as_of, self.rules.age_from)
        # The district of the child's register entry, probed by child (one index lookup
        # per record, not a join over every enrolment of the province).
        elsewhere = (
            select(school_place.parent_code)
            .select_from(Enrolment)
            .join(School, School.id == Enrolment.school_id)
            .join(school_place, school_place.code == School.township_code)
            .where(Enrolment.child_id == BaseRecord.child_id)
            .correlate(BaseRecord).limit(1).scalar_subquery()
        )
        same_name = (select(func.count(Child.id)).where(same_name_and_birth())
                     .correlate(BaseRecord).scalar_subquery())
        candidates = case((BaseRecord.child_id.is_(None), same_name), else_=null())
        poverty = or_(
            self.poverty_child(BaseRecord.child_id),
            self.poverty_listed(
                lambda p: and_(p.national_id.is_not(None),
                               p.national_id == BaseRecord.national_id),
                lambda p: and_(p.child_id.is_not(None), p.child_id == BaseRecord.child_id),
            ),
        )
        township = func.coalesce(home.code, Child.township_code)
        return (
            select(
                literal(FindingKind.UNREGISTERED.value).label("kind"),
                BaseRecord.person_key.label("person_key"),
                BaseRecord.child_id.label("child_id"),
                BaseRecord.id.label("base_record_id"),
                cast(null(), Integer).label("school_id"),
                BaseRecord.name.label("name"),
                BaseRecord.national_id.label("national_id"),
                BaseRecord.birth_date.label("birth_date"),
                BaseRecord.household_no.label("household_no"),
                township.label("township_code"),
                func.coalesce(home.path, literal(self.district.path)).label("scope_path"),
                elsewhere.label("elsewhere_district_code"),
                cast(null(), Integer).label("case_id"),
                poverty.label("poverty"),
                fingerprint(BaseRecord.child_id, township, elsewhere, candidates,
                            cast(poverty, Integer)).label("fingerprint"),
            )
            .select_from(BaseRecord)
            .outerjoin(home, and_(home.code == BaseRecord.township_code,
                                  home.parent_code == self.code))
            .outerjoin(Child, Child.id == BaseRecord.child_id)
            .where(
                BaseRecord.source == ImportSource.POLICE_HOUSEHOLD,
                BaseRecord.district_code == self.code,
                BaseRecord.birth_date > born_after,
                BaseRecord.birth_date <= born_by,
                or_(BaseRecord.child_id.is_(None), func.coalesce(elsewhere, "") != self.code),
                or_(BaseRecord.child_id.is_(None),
                    ~deferred(cast(BaseRecord.child_id, Integer), self.as_of)),
                # deceased or moved away (ST 8), and the second entry of a duplicate
                ~self.corrected(GONE, HouseholdCorrection.base_record_id == BaseRecord.id,
                                and_(BaseRecord.national_id.is_not(None),
                                     HouseholdCorrection.national_id == BaseRecord.national_id)),
                ~self.corrected((HouseholdCorrectionKind.DUPLICATE,),
                                HouseholdCorrection.base_record_id == BaseRecord.id),
            )
        )

    def not_at_school(self) -> Any:
        """Comparison 2: pupils of the district's schools not on their school's latest
        in-school list, and pupils whose absence is an open dropout case."""
        month = self.as_of.strftime("%Y-%m")
        roster = aliased(BaseRecord)
        latest = (
            select(roster.school_id.label("school_id"), func.max(roster.period).label("period"))
            .where(roster.source == ImportSource.SCHOOL_ROSTER, roster.district_code == self.code,
                   roster.period <= month, roster.school_id.is_not(None))
            .group_by(roster.school_id).subquery()
        )
        listed = aliased(BaseRecord)
        on_list = exists().where(
            listed.source == ImportSource.SCHOOL_ROSTER, listed.district_code == self.code,
            listed.school_id == Enrolment.school_id, listed.period == latest.c.period,
            listed.child_id == Enrolment.child_id,
        )
        home = aliased(Jurisdiction)
        open_case = aliased(DropoutCase)
        missing = and_(latest.c.school_id.is_not(None),
                       Enrolment.status == EnrolmentStatus.ENROLLED, ~on_list)
        poverty = or_(
            self.poverty_child(Child.id),
            self.poverty_listed(
                lambda p: p.child_id == Child.id,
                lambda p: and_(Child.national_id.is_not(None),
                               p.national_id == Child.national_id),
            ),
        )
        person = func.coalesce(Child.national_id, literal("child:") + cast(Child.id, String))
        return (
            select(
                literal(FindingKind.NOT_AT_SCHOOL.value).label("kind"),
                person.label("person_key"),
                Child.id.label("child_id"),
                cast(null(), Integer).label("base_record_id"),
                Enrolment.school_id.label("school_id"),
                Child.name.label("name"),
                Child.national_id.label("national_id"),
                Child.birth_date.label("birth_date"),
                cast(null(), String).label("household_no"),
                Child.township_code.label("township_code"),
                func.coalesce(home.path, literal(self.district.path)).label("scope_path"),
                cast(null(), String).label("elsewhere_district_code"),
                open_case.id.label("case_id"),
                poverty.label("poverty"),
                fingerprint(Child.id, Enrolment.school_id, Child.township_code,
                            cast(poverty, Integer)).label("fingerprint"),
            )
            .select_from(Enrolment)
            .join(Child, Child.id == Enrolment.child_id)
            .join(School, School.id == Enrolment.school_id)
            .join(Jurisdiction, Jurisdiction.code == School.township_code)
            .outerjoin(latest, latest.c.school_id == Enrolment.school_id)
            .outerjoin(open_case, and_(open_case.child_id == Child.id,
                                       open_case.status == CaseStatus.OPEN))
            .outerjoin(home, and_(home.code == Child.township_code,
                                  home.parent_code == self.code))
            .where(
                Jurisdiction.parent_code == self.code,
                Enrolment.status.in_((EnrolmentStatus.ENROLLED, EnrolmentStatus.DROPOUT_MARKED)),
                or_(open_case.id.is_not(None), missing),
                ~self.corrected(GONE, HouseholdCorrection.child_id == Child.id),
            )
        )

    async def materialize(self) -> None:
        """Compute what the comparisons find once, into a temporary table of this connection
        that the upsert, the clearing and the counts read (planned from its statistics)."""
        await self.session.execute(text(f"DROP TABLE IF EXISTS {FOUND}"))
        create = select(self.comparisons()).into(FOUND, temporary=True)
        await self.session.execute(create)
        found = create.table
        await self.session.execute(insert(found).from_select(
            list(found.c.keys()), self.poverty_dropouts(found.c)))
        if self.dialect == "postgresql":
            await self.session.execute(text(f"ANALYZE {FOUND}"))
        self._found = found

    async def drop_found(self) -> None:
        await self.session.execute(text(f"DROP TABLE IF EXISTS {FOUND}"))

    def found(self) -> Any:
        """What the comparisons found (``materialize``)."""
        return self._found

    def comparisons(self) -> Any:
        """What comparisons 1 and 2 find now, one row per (kind, person)."""
        return union_all(self.unregistered(), self.not_at_school()).subquery("compared")

    def poverty_dropouts(self, c: Any) -> Any:
        """Comparison 3 from the run's table of 1 and 2 (``c``): a subquery used twice was
        computed twice, half of the statement's time at province scale."""
        return select(
            literal(FindingKind.POVERTY_DROPOUT.value).label("kind"),
            *(c[name] for name in c.keys() if name not in ("kind", "fingerprint")),  # noqa: SIM118
            (c.fingerprint + literal("|") + c.kind).label("fingerprint"),
        ).where(c.poverty == true(), c.elsewhere_district_code.is_(None))

    # --- writing the findings -----------------------------------------------------------

    async def upsert_findings(self) -> None:
        found = self.found()
        c = found.c
        explained = c.elsewhere_district_code.is_not(None)
        status = case((explained, FindingStatus.RESOLVED.value), else_=FindingStatus.OPEN.value)
        outcome = case((explained, VerificationOutcome.ELSEWHERE.value), else_=null())
        columns = {
            "district_code": literal(self.code), "scope_path": c.scope_path,
            "township_code": c.township_code, "kind": c.kind, "person_key": c.person_key,
            "child_id": c.child_id, "base_record_id": c.base_record_id,
            "school_id": c.school_id, "name": c.name, "national_id": c.national_id,
            "birth_date": c.birth_date, "household_no": c.household_no,
            "poverty": cast(c.poverty, Boolean), "priority": cast(c.poverty, Boolean),
            "groups": self.json_literal("[]"), "candidate_child_ids": self.json_literal("[]"),
            "elsewhere_district_code": c.elsewhere_district_code,
            "first_run_id": literal(self.run.id), "last_run_id": literal(self.run.id),
            "first_seen_on": literal(self.as_of, Date), "last_seen_on": literal(self.as_of, Date),
            "fingerprint": c.fingerprint, "status": status, "outcome": outcome,
            "outcome_detail": self.json_literal("{}"), "case_id": c.case_id,
            "created_at": literal(self.now, F.created_at.type),
            "updated_at": literal(self.now, F.updated_at.type), "version": literal(1),
        }
        stmt = self.upsert().from_select(list(columns),
                                         select(*columns.values()).where(true()))
        x = stmt.excluded
        done = F.status.in_((FindingStatus.RESOLVED, FindingStatus.CLEARED))
        again = {  # a resolved or cleared finding whose data changed starts over
            "status": case((done, x.status), else_=F.status),
            "outcome": case((done, x.outcome), else_=F.outcome),
            "outcome_detail": case((done, x.outcome_detail), else_=F.outcome_detail),
            "task_id": case((done, null()), else_=F.task_id),
            "resolved_at": case((done, null()), else_=F.resolved_at),
            "resolved_by": case((done, null()), else_=F.resolved_by),
        }
        refreshed = {name: getattr(x, name) for name in (
            "scope_path", "township_code", "child_id", "base_record_id", "school_id", "name",
            "national_id", "birth_date", "household_no", "poverty", "elsewhere_district_code",
            "case_id", "fingerprint", "last_run_id", "last_seen_on", "updated_at")}
        await self.session.execute(stmt.on_conflict_do_update(
            index_elements=["district_code", "kind", "person_key"],
            set_={**refreshed, **again, "version": F.version + 1},
            where=or_(F.fingerprint != x.fingerprint, F.status == FindingStatus.CLEARED),
        ))

    def mine(self) -> ColumnElement[bool]:
        """The findings this district's runs made (a finding passed here from another
        district is this district's to verify, not its runs' to clear)."""
        return and_(F.district_code == self.code, F.first_run_id.in_(
            select(CrosscheckRun.id).where(CrosscheckRun.district_code == self.code)))

    async def clear_gone(self) -> int:
        found = self.found()
        still = exists().where(found.c.kind == F.kind, found.c.person_key == F.person_key)
        # A death the verifier reported and the police have now recorded ends the finding
        # as resolved (the outcome confirmed); any other is cleared by the data.
        confirmed = F.outcome == VerificationOutcome.DECEASED
        result = await self.session.execute(
            update(F)
            .where(self.mine(), F.status == FindingStatus.OPEN, ~still)
            .values(status=case((confirmed, FindingStatus.RESOLVED.value),
                                else_=FindingStatus.CLEARED.value),
                    resolved_at=case((confirmed, literal(self.now, F.resolved_at.type)),
                                     else_=F.resolved_at),
                    last_run_id=self.run.id, last_seen_on=self.as_of, updated_at=self.now,
                    version=F.version + 1)
            .execution_options(synchronize_session=False)
        )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]

    async def link_cases(self) -> list[int]:
        """An open finding whose child has an open dropout case now: the case is linked
        and is the follow-up, so its verification task ends. The findings' ids."""
        case_now = (select(DropoutCase.id).where(DropoutCase.child_id == F.child_id,
                                                 DropoutCase.status == CaseStatus.OPEN)
                    .limit(1).scalar_subquery())
        linked = (await self.session.execute(
            update(F)
            .where(F.district_code == self.code, F.status == FindingStatus.OPEN,
                   F.case_id.is_(None), F.child_id.is_not(None),
                   exists().where(DropoutCase.child_id == F.child_id,
                                  DropoutCase.status == CaseStatus.OPEN))
            .values(case_id=case_now, updated_at=self.now, version=F.version + 1)
            .returning(F.id)
            .execution_options(synchronize_session=False)
        )).scalars().all()
        return [int(i) for i in linked]

    def touched(self) -> ColumnElement[bool]:
        return and_(F.district_code == self.code, F.last_run_id == self.run.id)

    async def describe(self) -> None:
        """The special groups and priority of the findings this run wrote, and the
        children an unmatched record could be (offered to the verifier)."""
        groups = (select(self.json_array_of(ChildGroup.group))
                  .where(ChildGroup.child_id == F.child_id).scalar_subquery())
        watched = exists().where(ChildGroup.child_id == F.child_id,
                                 ChildGroup.group.in_(self.rules.watched_groups))
        await self.session.execute(
            update(F).where(self.touched(), F.child_id.is_not(None))
            .values(groups=groups, priority=or_(F.poverty, watched))
            .execution_options(synchronize_session=False)
        )
        unmatched = [int(r) for r in (await self.session.execute(  # type: ignore[arg-type]
            select(F.base_record_id).where(self.touched(), F.child_id.is_(None),
                                           F.base_record_id.is_not(None))
        )).scalars()]
        offered = await candidates_of(self.session, unmatched)
        if offered:
            table = CrosscheckFinding.__table__
            assert isinstance(table, Table)
            await self.session.execute(
                update(table).where(table.c.base_record_id == bindparam("record"),
                                    table.c.district_code == self.code,
                                    table.c.last_run_id == self.run.id)
                .values(candidate_child_ids=bindparam("children")),
                [{"record": r, "children": ids} for r, ids in offered.items()],
            )

    async def open_tasks(self) -> int:
        """One verification task per unexplained open finding without one: for the
        township where the child lives, or the school, as the district's rules say."""
        agency: Any = literal(AgencyKind.TOWNSHIP.value)
        scope: Any = F.scope_path
        for kind, verifier in self.rules.verifier.items():
            by_school = and_(F.kind == kind, F.school_id.is_not(None))
            if verifier is AgencyKind.SCHOOL:
                agency = case((by_school, literal(verifier.value)), else_=agency)
                scope = case((by_school, Agency.scope_path), else_=scope)
            else:
                agency = case((F.kind == kind, literal(verifier.value)), else_=agency)
        due = local_date(self.now) + timedelta(days=self.rules.due_days)
        title = case(*((F.kind == k, literal(t)) for k, t in TASK_TITLES.items()))
        wanted = and_(F.district_code == self.code, F.status == FindingStatus.OPEN,
                      F.outcome.is_(None), F.task_id.is_(None), F.case_id.is_(None),
                      F.kind.in_(tuple(TASK_TITLES)))
        source = (
            select(literal(TASK_KIND), title, agency, scope, literal(due, Date),
                   case((F.priority, 1), else_=2), literal(TaskStatus.OPEN.value),
                   self.json_object("finding_id", F.id),
                   literal(self.now, Task.created_at.type),
                   literal(self.now, Task.updated_at.type), literal(1))
            .select_from(F)
            .outerjoin(School, School.id == F.school_id)
            .outerjoin(Agency, Agency.id == School.agency_id)
            .where(wanted)
        )
        columns = ["kind", "title", "agency_kind", "scope_path", "due_on", "priority",
                   "status", "evidence", "created_at", "updated_at", "version"]
        if self.dialect == "postgresql":
            # One statement: the insert's RETURNING feeds the findings' link (matching the
            # new tasks back by their evidence scanned every task of the kind, each run
            # slower than the last at province scale).
            made_cte = (insert(Task).from_select(columns, source)
                        .returning(Task.id.label("task_id"),
                                   Task.evidence["finding_id"].as_integer().label("finding_id"))
                        .cte("made"))
            linked = await self.session.execute(
                update(F).where(F.id == made_cte.c.finding_id)
                .values(task_id=made_cte.c.task_id)
                .execution_options(synchronize_session=False))
            return int(linked.rowcount or 0)  # type: ignore[attr-defined]
        # The tasks this statement makes have higher ids than any before it.
        before = (await self.session.execute(
            select(func.coalesce(func.max(Task.id), 0)))).scalar_one()
        made = await self.session.execute(insert(Task).from_select(columns, source))
        count = int(made.rowcount or 0)  # type: ignore[attr-defined]
        if count:
            await self.session.execute(
                update(F)
                .where(wanted, Task.kind == TASK_KIND, Task.id > before,
                       Task.evidence["finding_id"].as_integer() == F.id)
                .values(task_id=Task.id)
                .execution_options(synchronize_session=False)
            )
        return count


async def _lock(session: AsyncSession, district_code: str) -> None:
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(text("SELECT pg_advisory_xact_lock(:space, :key)"),
                              {"space": LOCK_SPACE - 2**31, "key": int(district_code)})


async def crosscheck_district(
    ctx: ServiceContext, district_code: str, as_of: date, trigger: str,
) -> CrosscheckRun:
    """Run the three comparisons for one district as of ``as_of`` (the job itself: the
    caller has authorized it, or is the CLI or the calendar). With the same rules and date
    and no input changed since the district's last run, the run records that it found the
    same and computes nothing (``inputs.py``)."""
    session = ctx.session
    district = await session.get(Jurisdiction, district_code)
    if district is None or district.parent_code is None or not district_code.isdigit():
        raise NotFound("no such district", field="districtCode")
    await _lock(session, district_code)
    now = ctx.clock.now()
    key = inputs.rules_key(rules_for(district_code), as_of)
    last, snap = await inputs.unchanged(session, district_code, key)
    run = CrosscheckRun(district_code=district_code, scope_path=district.path, as_of=as_of,
                        trigger=trigger, started_by=ctx.principal.user_id, counts={},
                        started_at=now, input_stamp=inputs.stamp(key, snap))
    session.add(run)
    await session.flush()
    if last is not None:
        run.counts = inputs.unchanged_counts(last.counts, last.id)
    else:
        await inputs.own_writes(session, True)
        await _compare(ctx, run, district, as_of, now)
        await inputs.own_writes(session, False)
    run.finished_at = ctx.clock.now()
    audit.record(ctx, "run_crosscheck", "crosscheck_run", [run.id],
                 {"district": district_code, "as_of": as_of, "trigger": trigger,
                  "tasks_created": run.counts["tasks_created"],
                  "cleared": run.counts["cleared"], "unchanged": last is not None})
    await session.flush()
    return run


async def _compare(ctx: ServiceContext, run: CrosscheckRun, district: Jurisdiction,
                   as_of: date, now: datetime) -> None:
    """The comparisons themselves, into ``run.counts``."""
    session = ctx.session
    district_code = district.code
    job = _Run(session, district, as_of, run, now)
    await inputs.tune(session, True)
    matching = {
        "police_household": (await match_records(
            session, district_code, ImportSource.POLICE_HOUSEHOLD)).as_counts(),
        "school_roster": (await match_records(
            session, district_code, ImportSource.SCHOOL_ROSTER)).as_counts(),
    }
    await job.materialize()
    await job.upsert_findings()
    cleared = await job.clear_gone()
    await job.describe()
    if cleared:
        await close_tasks(
            ctx, Task.id.in_(select(F.task_id).where(job.touched(),
                                                     F.status == FindingStatus.CLEARED)),
            {TASK_KIND}, CLEARED_NOTE, status=TaskStatus.CANCELLED)
    with_case = await job.link_cases()
    if with_case:
        await close_tasks(
            ctx, Task.id.in_(select(F.task_id).where(F.id.in_(with_case))), {TASK_KIND},
            CASE_NOTE)
    tasks = await job.open_tasks()
    run.counts = {"matching": matching, "findings": await finding_counts(job),
                  "cleared": cleared, "tasks_created": tasks, "cases_linked": len(with_case),
                  "special_groups": await special_groups(job)}
    await job.drop_found()
    await inputs.prune(session)
    await inputs.tune(session, False)
