"""The three comparisons as statements over every district of a pass (``batch.Batch``), into
the pass's temporary table of what it found (one row per district, kind and person).

1. Household register against the school register (``UNREGISTERED``): the police list's
   school-age children with no register entry in their district, leaving out a valid
   deferral or exemption, a police correction (deceased, moved away, a duplicate's second
   entry); a child on another district's register is recorded as explained (``elsewhere``).
2. School register against the pupils in school (``NOT_AT_SCHOOL``): a pupil enrolled at a
   school of the district that sent its in-school list, not on its latest list up to the
   as-of month; and a pupil whose absence is an open dropout case.
3. Dropouts against the poverty households (``POVERTY_DROPOUT``): the rows of 1 and 2 of a
   poor or monitored household, selected from the table of 1 and 2.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Integer,
    String,
    and_,
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
)
from sqlalchemy.orm import aliased

from models.case import DropoutCase
from models.child import Child, ChildGroup
from models.crosscheck import FindingKind
from models.enums import CaseStatus, EnrolmentStatus
from models.household import (
    HouseholdCorrection,
    HouseholdCorrectionKind,
    HouseholdCorrectionStatus,
)
from models.imports import BaseRecord, ImportSource
from models.reference import Jurisdiction
from models.school import Enrolment, School
from workflow.calendar import years_before
from workflow.crosscheck.batch import FOUND, Batch, batch_table
from workflow.crosscheck.matching import same_name_and_birth
from workflow.register import deferred

# Up to this many districts in a pass, the plans are a few districts' (PostgreSQL): a police
# record's register entry probed by index, comparison 2's pupils joined to their children as
# the planner likes; beyond, the register hashed once, and the pupils not on their lists
# found before their children are read.
FEW_DISTRICTS = 10
# The police corrections that take a person off the comparisons (ST 8).
GONE = (HouseholdCorrectionKind.DECEASED, HouseholdCorrectionKind.MOVED_AWAY)


def _text(value: Any) -> ColumnElement[str]:
    return func.coalesce(cast(value, String), "")


def fingerprint(*parts: Any) -> ColumnElement[str]:
    """The facts a finding is made from, as one string: a rerun compares it to the stored
    one to know whether the data changed (ids and codes only, so it fits the column)."""
    out: ColumnElement[str] = _text(parts[0])
    for part in parts[1:]:
        out = out + literal("|") + _text(part)
    return out


def poverty_child(job: Batch, child_id: Any) -> ColumnElement[bool]:
    return exists().where(ChildGroup.child_id == child_id,
                          ChildGroup.group.in_(job.rules.poverty_groups))


def poverty_listed(job: Batch, district_code: Any, *match: Callable[[Any], ColumnElement[bool]]
                   ) -> ColumnElement[bool]:
    """On the poverty office's list of the district, by any of ``match`` (each given the
    aliased list record): one EXISTS per match, each a hashed probe of the pass's
    districts' lists, not a subplan run per record."""
    def listed_by(m: Callable[[Any], ColumnElement[bool]]) -> ColumnElement[bool]:
        listed = aliased(BaseRecord)
        return exists().where(listed.source == ImportSource.POVERTY_HOUSEHOLD,
                              job.in_batch(listed.district_code),
                              listed.district_code == district_code, m(listed))
    return or_(*(listed_by(m) for m in match))


def corrected(job: Batch, kinds: tuple[HouseholdCorrectionKind, ...], match: ColumnElement[bool]
              ) -> ColumnElement[bool]:
    """The police recorded one of ``kinds`` about the person, in force by the as-of date
    (ST 8: the others correct their records from it). One ``match`` per EXISTS: a single
    equality is an anti join (hashed), an OR of two was a nested loop per record."""
    return exists().where(HouseholdCorrection.kind.in_(kinds),
                          HouseholdCorrection.status == HouseholdCorrectionStatus.RECORDED,
                          HouseholdCorrection.effective_on <= job.as_of, match)


def described(job: Batch, child_id: Any, poverty: ColumnElement[bool]) -> list[Any]:
    """The finding's special groups and priority (poverty or a watched group), computed with
    it rather than by an update of every finding after."""
    groups = (select(job.json_array_of(ChildGroup.group))
              .where(ChildGroup.child_id == child_id).scalar_subquery())
    watched = exists().where(ChildGroup.child_id == child_id,
                             ChildGroup.group.in_(job.rules.watched_groups))
    return [groups.label("groups"), or_(poverty, watched).label("priority")]


def unregistered(job: Batch) -> Any:
    """Comparison 1: the police list's school-age children on no register of their
    district."""
    b = batch_table.c
    home = aliased(Jurisdiction)
    school_place = aliased(Jurisdiction)
    place = aliased(Enrolment)
    at = aliased(School)
    # The district of the child's register entry (a child has at most one): for a few
    # districts an index probe per record (LATERAL, computed once per record), for many a
    # hash join over the register.
    probe = job.dialect == "postgresql" and len(job.codes) <= FEW_DISTRICTS
    entry = (select(school_place.parent_code.label("district_code"))
             .select_from(place).join(at, at.id == place.school_id)
             .join(school_place, school_place.code == at.township_code)
             .where(place.child_id == BaseRecord.child_id).limit(1).lateral("entry"))
    elsewhere = entry.c.district_code if probe else school_place.parent_code
    same_name = (select(func.count(Child.id)).where(same_name_and_birth())
                 .correlate(BaseRecord).scalar_subquery())
    candidates = case((BaseRecord.child_id.is_(None), same_name), else_=null())
    poverty = or_(
        poverty_child(job, BaseRecord.child_id),
        poverty_listed(
            job, BaseRecord.district_code,
            lambda p: and_(p.national_id.is_not(None), p.national_id == BaseRecord.national_id),
            lambda p: and_(p.child_id.is_not(None), p.child_id == BaseRecord.child_id),
        ),
    )
    township = func.coalesce(home.code, Child.township_code)
    query = (
        select(
            b.district_code.label("district_code"),
            b.run_id.label("run_id"),
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
            func.coalesce(home.path, b.path).label("scope_path"),
            elsewhere.label("elsewhere_district_code"),
            cast(null(), Integer).label("case_id"),
            poverty.label("poverty"),
            fingerprint(BaseRecord.child_id, township, elsewhere, candidates,
                        cast(poverty, Integer)).label("fingerprint"),
            *described(job, BaseRecord.child_id, poverty),
        )
        .select_from(BaseRecord)
        .join(batch_table, b.district_code == BaseRecord.district_code)
        .outerjoin(home, and_(home.code == BaseRecord.township_code,
                              home.parent_code == BaseRecord.district_code))
        .outerjoin(Child, Child.id == BaseRecord.child_id)
    )
    query = (query.outerjoin(entry, true()) if probe else
             query.outerjoin(place, place.child_id == BaseRecord.child_id)
             .outerjoin(at, at.id == place.school_id)
             .outerjoin(school_place, school_place.code == at.township_code))
    return query.where(*_unexplained_records(job, elsewhere))


def _unexplained_records(job: Batch, elsewhere: Any) -> list[ColumnElement[bool]]:
    """Comparison 1's police records: of school age, on no register of their own district,
    not deferred, not deceased, moved away or a duplicate's second entry (ST 8)."""
    return [
        BaseRecord.source == ImportSource.POLICE_HOUSEHOLD,
        job.in_batch(BaseRecord.district_code),
        BaseRecord.birth_date > years_before(job.as_of, job.rules.age_to + 1),
        BaseRecord.birth_date <= years_before(job.as_of, job.rules.age_from),
        or_(BaseRecord.child_id.is_(None),
            func.coalesce(elsewhere, "") != BaseRecord.district_code),
        or_(BaseRecord.child_id.is_(None),
            ~deferred(cast(BaseRecord.child_id, Integer), job.as_of)),
        # deceased or moved away (ST 8), and the second entry of a duplicate
        ~corrected(job, GONE, HouseholdCorrection.base_record_id == BaseRecord.id),
        # (a record without an ID number matches no correction by ID number)
        ~corrected(job, GONE, HouseholdCorrection.national_id == BaseRecord.national_id),
        ~corrected(job, (HouseholdCorrectionKind.DUPLICATE,),
                   HouseholdCorrection.base_record_id == BaseRecord.id),
    ]


def not_at_school(job: Batch, with_case: bool) -> Any:
    """Comparison 2: pupils of the districts' schools whose absence is an open dropout case
    (``with_case``), and the others not on their school's latest in-school list. Two
    selects, so that "not on the list" is an anti join rather than a probe per pupil under
    an OR; for many districts each finds its pupils first (a subquery the planner keeps:
    ``OFFSET 0``) and only then reads their children, homes and corrections."""
    p = _pupils(job, with_case)
    home = aliased(Jurisdiction)
    poverty = or_(
        poverty_child(job, Child.id),
        poverty_listed(
            job, p.c.district_code,
            lambda x: x.child_id == Child.id,
            lambda x: and_(Child.national_id.is_not(None), x.national_id == Child.national_id),
        ),
    )
    person = func.coalesce(Child.national_id, literal("child:") + cast(Child.id, String))
    return (
        select(
            p.c.district_code.label("district_code"),
            p.c.run_id.label("run_id"),
            literal(FindingKind.NOT_AT_SCHOOL.value).label("kind"),
            person.label("person_key"),
            Child.id.label("child_id"),
            cast(null(), Integer).label("base_record_id"),
            p.c.school_id.label("school_id"),
            Child.name.label("name"),
            Child.national_id.label("national_id"),
            Child.birth_date.label("birth_date"),
            cast(null(), String).label("household_no"),
            Child.township_code.label("township_code"),
            func.coalesce(home.path, p.c.path).label("scope_path"),
            cast(null(), String).label("elsewhere_district_code"),
            p.c.case_id.label("case_id"),
            poverty.label("poverty"),
            fingerprint(Child.id, p.c.school_id, Child.township_code,
                        cast(poverty, Integer)).label("fingerprint"),
            *described(job, Child.id, poverty),
        )
        .select_from(p)
        .join(Child, Child.id == p.c.child_id)
        .outerjoin(home, and_(home.code == Child.township_code,
                              home.parent_code == p.c.district_code))
        .where(~corrected(job, GONE, HouseholdCorrection.child_id == Child.id))
    )


def _pupils(job: Batch, with_case: bool) -> Any:
    """Comparison 2's pupils: those whose absence is an open case (``with_case``), or the
    enrolled ones missing from their school's latest in-school list."""
    b = batch_table.c
    month = job.as_of.strftime("%Y-%m")
    roster = aliased(BaseRecord)
    latest = (
        select(roster.district_code.label("district_code"),
               roster.school_id.label("school_id"), func.max(roster.period).label("period"))
        .where(roster.source == ImportSource.SCHOOL_ROSTER, job.in_batch(roster.district_code),
               roster.period <= month, roster.school_id.is_not(None))
        .group_by(roster.district_code, roster.school_id).subquery()
    )
    listed = aliased(BaseRecord)
    on_list = exists().where(
        listed.source == ImportSource.SCHOOL_ROSTER, listed.district_code == b.district_code,
        listed.school_id == Enrolment.school_id, listed.period == latest.c.period,
        listed.child_id == Enrolment.child_id,
    )
    open_case = aliased(DropoutCase)
    is_open = and_(open_case.child_id == Enrolment.child_id, open_case.status == CaseStatus.OPEN)
    pupils = (
        select(Enrolment.child_id.label("child_id"), Enrolment.school_id.label("school_id"),
               b.district_code.label("district_code"), b.run_id.label("run_id"),
               b.path.label("path"),
               (open_case.id if with_case else cast(null(), Integer)).label("case_id"))
        .select_from(Enrolment)
        .join(School, School.id == Enrolment.school_id)
        .join(Jurisdiction, Jurisdiction.code == School.township_code)
        .join(batch_table, b.district_code == Jurisdiction.parent_code)
        .where(job.in_batch(Jurisdiction.parent_code))
    )
    if with_case:
        pupils = pupils.join(open_case, is_open).where(
            Enrolment.status.in_((EnrolmentStatus.ENROLLED, EnrolmentStatus.DROPOUT_MARKED)))
    else:
        pupils = (pupils.join(latest, and_(latest.c.school_id == Enrolment.school_id,
                                           latest.c.district_code == b.district_code))
                  .where(Enrolment.status == EnrolmentStatus.ENROLLED,
                         ~exists().where(is_open), ~on_list))
    if job.dialect == "postgresql" and len(job.codes) > FEW_DISTRICTS:
        # kept apart (the planner would merge it); for a few districts the planner, which
        # expects many pupils from it, would hash every child of the province instead
        pupils = pupils.offset(literal_column("0"))
    return pupils.subquery("pupils")


def poverty_dropouts(c: Any) -> Any:
    """Comparison 3 from the pass's table of 1 and 2 (``c``): a subquery used twice was
    computed twice, half of the statement's time at province scale."""
    return select(*(
        literal(FindingKind.POVERTY_DROPOUT.value).label("kind") if name == "kind"
        else (c.fingerprint + literal("|") + c.kind).label("fingerprint")
        if name == "fingerprint" else c[name]
        for name in c.keys()  # noqa: SIM118
    )).where(c.poverty == true(), c.elsewhere_district_code.is_(None))


async def materialize(job: Batch) -> None:
    """Compute what the comparisons find once, into a temporary table of this connection
    that the upsert, the clearing and the counts read (planned from its statistics)."""
    session = job.session
    await session.execute(text(f"DROP TABLE IF EXISTS {FOUND}"))
    compared = union_all(unregistered(job), not_at_school(job, True),
                         not_at_school(job, False)).subquery("compared")
    create = select(compared).into(FOUND, temporary=True)
    await session.execute(create)
    found = create.table
    await session.execute(insert(found).from_select(list(found.c.keys()),
                                                    poverty_dropouts(found.c)))
    # The clearing probes it per finding of the districts: by index, whatever the planner
    # thinks of a table of findings just written.
    await session.execute(text(
        f"CREATE INDEX ix_{FOUND} ON {FOUND} (district_code, kind, person_key)"))
    if job.dialect == "postgresql":
        await session.execute(text(f"ANALYZE {FOUND}"))
    job._found = found
