"""Applying a staged file to the register: set-based statements from ``import_row`` into
the register's tables, all in the caller's one transaction, never a row at a time through
the ORM. The same statements serve the dry run (in a savepoint rolled back) and the apply,
so a preview's counts are what the apply does.

Matching: a row with an ID number is the child with that number; a row without one is the
child without one in the district with the same name, birth date and a guardian of the same
name when exactly one such child exists. A child without an ID number with the same name and
birth date but another guardian (or several such children) is a *candidate*: the row is set
aside for a person to confirm or reject (``match_candidate``), never merged. Anything else is
a new child (school register) or a person only on the source's list (``base_record``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    Insert,
    String,
    and_,
    cast,
    delete,
    exists,
    func,
    insert,
    literal,
    or_,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from models.child import Child, ChildGroup, Guardian
from models.enums import EnrolmentStatus, SpecialGroup
from models.imports import (
    BaseRecord,
    ImportJob,
    ImportRow,
    ImportSource,
    MatchCandidate,
    ValueProvenance,
)
from models.reference import Agency
from models.school import Enrolment, RegisterEvent, School
from workflow import stats_marks
from workflow.imports import new_children, staging
from workflow.imports.new_children import NEW_ROWS

# Rows whose child was matched or created; the others are only on the source's list.
NEW, CHANGED, SAME = "new", "changed", "same"
CANDIDATE_REASON = "无身份证号：姓名、出生日期相同，但监护人不同或有多名同名同日出生儿童"
ROW_FIELDS = ("national_id", "name", "name_key", "guardian_key", "sex", "birth_date",
              "guardian_name", "guardian_relation", "guardian_phone", "school_name", "grade",
              "class_no", "township_code", "village", "household_no", "group", "school_id")


@dataclass
class MergeContext:
    session: AsyncSession
    job: ImportJob
    district_path: str
    now: datetime
    today: date
    # A preview's merge, rolled back: the same counts, without what only speeds a real
    # apply (a first register's indexes built after its rows: workflow/infra/bulk_load.py).
    dry_run: bool = False

    def rows(self) -> Any:
        return ImportRow.job_id == self.job.id

    def upsert(self, model: type[Any]) -> Any:
        dialect = self.session.get_bind().dialect.name
        return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(model)


def _in_district(ctx: MergeContext) -> Any:
    return Child.scope_path.startswith(ctx.district_path + "/", autoescape=True)


async def _count(ctx: MergeContext, *where: Any) -> int:
    stmt = select(func.count()).select_from(ImportRow).where(ctx.rows(), *where)
    return int((await ctx.session.execute(stmt)).scalar_one())


async def match(ctx: MergeContext) -> int:
    """Match rows to children: by ID number, then the no-ID rule; set candidates aside.
    Returns the number of candidates."""
    s = ctx.session
    await s.execute(
        update(ImportRow).execution_options(synchronize_session=False)
        .where(ctx.rows(), ImportRow.child_id.is_(None), ImportRow.national_id == Child.national_id)
        .values(child_id=Child.id)
    )
    no_id = and_(ctx.rows(), ImportRow.national_id.is_(None), ImportRow.child_id.is_(None),
                 ImportRow.outcome.is_(None))
    same_person = and_(Child.national_id.is_(None), Child.name_key == ImportRow.name_key,
                       Child.birth_date == ImportRow.birth_date, _in_district(ctx))
    # Set-based, one pass over the (row, child) pairs joined on (name, birth date): how many
    # children without an ID number each row could be; a row with exactly one, who has a
    # guardian of the row's guardian's name, is that child.
    alike = (
        select(ImportRow.row_no, ImportRow.guardian_key, Child.id.label("child_id"),
               func.count().over(partition_by=ImportRow.row_no).label("n"))
        .join(Child, same_person).where(no_id).subquery()
    )
    sure = (
        select(alike.c.row_no, alike.c.child_id)
        .where(alike.c.n == 1, exists().where(Guardian.child_id == alike.c.child_id,
                                              Guardian.name_key == alike.c.guardian_key))
        .subquery()
    )
    await s.execute(
        update(ImportRow).execution_options(synchronize_session=False)
        .where(ctx.rows(), ImportRow.row_no == sure.c.row_no)
        .values(child_id=sure.c.child_id)
    )
    pairs = (
        await s.execute(
            select(ImportRow, Child.id).join(Child, same_person).where(no_id)
        )
    ).all()
    if pairs:
        await s.execute(insert(MatchCandidate), [
            {"job_id": ctx.job.id, "row_no": r.row_no, "child_id": child_id,
             "scope_path": ctx.job.scope_path, "name": r.name, "birth_date": r.birth_date,
             "guardian_name": r.guardian_name, "reason": CANDIDATE_REASON, "status": "open",
             "row": {f: _plain(getattr(r, f)) for f in ROW_FIELDS}}
            for r, child_id in pairs
        ])
        await s.execute(delete(ImportRow).execution_options(synchronize_session=False).where(
            ctx.rows(), ImportRow.row_no.in_({r.row_no for r, _ in pairs})
        ))
    return len({r.row_no for r, _ in pairs})


async def _one_row_a_child(ctx: MergeContext) -> int:
    """Rows without an ID number matched to a child an earlier row of the file was matched
    to (the same name, birth date and guardian twice): rejected as a repeated ID number is,
    the first row standing. Returns how many (the apply counts them rejected)."""
    ranked = (
        select(ImportRow.row_no, func.row_number().over(
            partition_by=ImportRow.child_id, order_by=ImportRow.row_no).label("n"))
        .where(ctx.rows(), ImportRow.national_id.is_(None), ImportRow.child_id.is_not(None))
        .subquery()
    )
    later = ImportRow.row_no.in_(select(ranked.c.row_no).where(ranked.c.n > 1))
    repeated = await _count(ctx, later)
    if repeated:
        await staging.move_to_rejects(ctx.session, ctx.job, later, "姓名",
                                      "文件中多行为同一儿童（以首次出现的行为准）",
                                      ImportRow.name)
    return repeated


def _plain(value: object) -> object:
    return value.isoformat() if isinstance(value, date) else value


def _register_changed() -> Any:
    """The row says something else than the register of its matched child."""
    return or_(
        Child.name != ImportRow.name,
        Child.sex != func.coalesce(ImportRow.sex, Child.sex),
        Child.birth_date != ImportRow.birth_date,
        Child.village != func.coalesce(ImportRow.village, Child.village),
        ~exists().where(
            Enrolment.child_id == Child.id,
            Enrolment.school_id == ImportRow.school_id,
            Enrolment.grade == ImportRow.grade,
            Enrolment.class_no == func.coalesce(ImportRow.class_no, Enrolment.class_no),
        ),
    )


async def _mark_outcomes(ctx: MergeContext) -> None:
    """Mark the matched rows that change their child. Only those are written: an unchanged
    row keeps ``outcome`` NULL (a next period's list is 99 % unchanged rows, and rewriting
    each staged row is most of the merge's time), and a row with no child is new."""
    await ctx.session.execute(
        update(ImportRow).execution_options(synchronize_session=False)
        .where(ctx.rows(), ImportRow.child_id.is_not(None), ImportRow.outcome.is_(None),
               Child.id == ImportRow.child_id, _register_changed())
        .values(outcome=CHANGED)
    )


async def _outcome_counts(ctx: MergeContext) -> dict[str, int]:
    new, changed, same = (await ctx.session.execute(
        select(func.count().filter(ImportRow.child_id.is_(None)),
               func.count().filter(ImportRow.outcome == CHANGED),
               func.count().filter(ImportRow.child_id.is_not(None),
                                   ImportRow.outcome.is_(None)))
        .where(ctx.rows())
    )).one()
    return {NEW: int(new), CHANGED: int(changed), SAME: int(same)}


async def _update_children(ctx: MergeContext) -> None:
    s = ctx.session
    changed = and_(ctx.rows(), ImportRow.outcome == CHANGED, Child.id == ImportRow.child_id,
                   School.id == ImportRow.school_id, Agency.id == School.agency_id)
    await s.execute(
        insert(RegisterEvent).from_select(
            ["child_id", "school_id", "on_date", "from_status", "to_status", "reason",
             "recorded_at"],
            select(ImportRow.child_id, ImportRow.school_id, literal(ctx.today),
                   Enrolment.status, Enrolment.status, literal("学籍导入：就读学校变更"),
                   literal(ctx.now, RegisterEvent.recorded_at.type))
            .join(Enrolment, Enrolment.child_id == ImportRow.child_id)
            .where(ctx.rows(), ImportRow.outcome == CHANGED,
                   Enrolment.school_id != ImportRow.school_id),
        )
    )
    await s.execute(
        update(Child).execution_options(synchronize_session=False).where(changed).values(
            name=ImportRow.name,
            name_key=ImportRow.name_key,
            sex=func.coalesce(ImportRow.sex, Child.sex),
            birth_date=ImportRow.birth_date,
            village=func.coalesce(ImportRow.village, Child.village),
            scope_path=Agency.scope_path,
            township_code=School.township_code,
            updated_at=ctx.now,
        )
    )
    # A guardian the register does not know yet is added; a known one's phone follows the list.
    await s.execute(
        update(Guardian).execution_options(synchronize_session=False)
        # Matched rows only (a new row's child is NULL here): said, so that a first import's
        # 2,000,000 new rows are not joined to the guardians for nothing (3.3 s).
        .where(Guardian.child_id == ImportRow.child_id, Guardian.name == ImportRow.guardian_name,
               ctx.rows(), ImportRow.child_id.is_not(None), ImportRow.guardian_phone.is_not(None),
               Guardian.phone.is_distinct_from(ImportRow.guardian_phone))
        .values(phone=ImportRow.guardian_phone)
    )
    await s.execute(insert(Guardian).from_select(
        ["child_id", "name", "name_key", "relation", "phone"],
        select(ImportRow.child_id, ImportRow.guardian_name, ImportRow.guardian_key,
               func.coalesce(ImportRow.guardian_relation, "other"), ImportRow.guardian_phone)
        .where(ctx.rows(), ImportRow.outcome == CHANGED, ImportRow.guardian_name.is_not(None),
               ~exists().where(Guardian.child_id == ImportRow.child_id,
                               Guardian.name_key == ImportRow.guardian_key)),
    ))


async def _enrol(ctx: MergeContext) -> None:
    """Each changed row's register entry moved to the row's school, grade and class (its
    status, a dropout mark among them, is kept), or inserted where the child had none."""
    stmt: Insert = ctx.upsert(Enrolment).from_select(
        ["child_id", "school_id", "grade", "class_no", "status", "status_since", "updated_at"],
        select(ImportRow.child_id, ImportRow.school_id, ImportRow.grade,
               func.coalesce(ImportRow.class_no, 1), literal(EnrolmentStatus.ENROLLED.value),
               literal(ctx.today), literal(ctx.now, Enrolment.updated_at.type))
        .where(ctx.rows(), ImportRow.outcome == CHANGED),
    )
    excluded = stmt.excluded  # type: ignore[attr-defined]
    await ctx.session.execute(stmt.on_conflict_do_update(  # type: ignore[attr-defined]
        index_elements=["child_id"],
        set_={"school_id": excluded.school_id, "grade": excluded.grade,
              "class_no": excluded.class_no, "updated_at": excluded.updated_at},
    ))


async def _provenance(ctx: MergeContext, field: Any, value: Any, *where: Any) -> None:
    stmt: Insert = ctx.upsert(ValueProvenance).from_select(
        ["child_id", "field", "source", "value", "period", "job_id", "recorded_at"],
        select(ImportRow.child_id, field, literal(ctx.job.source.value), value,
               literal(ctx.job.period), literal(ctx.job.id),
               literal(ctx.now, ValueProvenance.recorded_at.type))
        .where(ctx.rows(), ImportRow.child_id.is_not(None), *where)
        .distinct(),
    )
    excluded = stmt.excluded  # type: ignore[attr-defined]
    await ctx.session.execute(stmt.on_conflict_do_update(  # type: ignore[attr-defined]
        index_elements=["child_id", "field", "source"],
        set_={"value": excluded.value, "period": excluded.period, "job_id": excluded.job_id,
              "recorded_at": excluded.recorded_at, "removed_at": None, "removed_by_job": None},
    ))


async def _groups(ctx: MergeContext) -> list[tuple[int, str]]:
    """Set the list's special groups on its children, and take off the groups this source
    set before whose children the new list leaves out. Returns the (child, group) removed."""
    s = ctx.session
    has_group = and_(ImportRow.group.is_not(None), ImportRow.child_id.is_not(None))
    await _provenance(ctx, literal("group:") + ImportRow.group, ImportRow.group, has_group)
    add: Insert = ctx.upsert(ChildGroup).from_select(
        ["child_id", "group"],
        select(ImportRow.child_id, ImportRow.group).where(ctx.rows(), has_group).distinct(),
    )
    await s.execute(add.on_conflict_do_nothing())  # type: ignore[attr-defined]
    earlier_jobs = select(ImportJob.id).where(
        ImportJob.source == ctx.job.source, ImportJob.district_code == ctx.job.district_code,
        ImportJob.id != ctx.job.id,
    )
    stale = and_(
        ValueProvenance.source == ctx.job.source, ValueProvenance.field.startswith("group:"),
        ValueProvenance.removed_at.is_(None), ValueProvenance.job_id.in_(earlier_jobs),
    )
    gone = [(int(c), str(v)) for c, v in (await s.execute(
        select(ValueProvenance.child_id, ValueProvenance.value).where(stale)
    )).all()]
    if not gone:
        return []
    await s.execute(
        update(ValueProvenance).execution_options(synchronize_session=False)
        .where(stale).values(
        removed_at=ctx.now, removed_by_job=ctx.job.id))
    # A group another source still vouches for stays.
    for group in {g for _, g in gone}:
        children = [c for c, g in gone if g == group]
        vouched = select(ValueProvenance.child_id).where(
            ValueProvenance.field == f"group:{group}", ValueProvenance.removed_at.is_(None))
        await s.execute(delete(ChildGroup).execution_options(synchronize_session=False).where(
            ChildGroup.group == SpecialGroup(group), ChildGroup.child_id.in_(children),
            ChildGroup.child_id.not_in(vouched)))
    return gone


async def _base_records(ctx: MergeContext) -> None:
    """The source's people into the base database, updated in place by person (keyed by
    the ID number, else by the normalised name, birth date and guardian's name)."""
    key = func.coalesce(
        ImportRow.national_id,
        ImportRow.name_key + literal("|") + cast(ImportRow.birth_date, String) + literal("|")
        + func.coalesce(ImportRow.guardian_key, ""),
    )
    stmt: Insert = ctx.upsert(BaseRecord).from_select(
        ["source", "district_code", "person_key", "national_id", "name", "name_key",
         "guardian_key", "birth_date", "household_no", "group", "school_id", "township_code",
         "village", "child_id", "period", "job_id"],
        select(literal(ctx.job.source.value), literal(ctx.job.district_code), key,
               ImportRow.national_id, ImportRow.name, ImportRow.name_key,
               ImportRow.guardian_key, ImportRow.birth_date, ImportRow.household_no,
               ImportRow.group, ImportRow.school_id, ImportRow.township_code,
               ImportRow.village, ImportRow.child_id, literal(ctx.job.period),
               literal(ctx.job.id)).where(ctx.rows()),
    )
    excluded = stmt.excluded  # type: ignore[attr-defined]
    await ctx.session.execute(stmt.on_conflict_do_update(  # type: ignore[attr-defined]
        index_elements=["source", "district_code", "person_key"],
        set_={c: getattr(excluded, c) for c in (
            "national_id", "name", "name_key", "guardian_key", "birth_date", "household_no",
            "group", "school_id", "township_code", "village", "child_id", "period",
            "job_id")},
    ))


async def merge(ctx: MergeContext) -> dict[str, Any]:
    """Apply the job's staged rows; the counts of what happened (the caller's transaction)."""
    counts: dict[str, Any] = {"candidates": await match(ctx),
                              "same_child": await _one_row_a_child(ctx)}
    if ctx.job.source is ImportSource.SCHOOL_REGISTER:
        counts.update(await _register(ctx))
    else:
        counts["matched"] = await _count(ctx, ImportRow.child_id.is_not(None))
        counts["unmatched"] = await _count(ctx, ImportRow.child_id.is_(None))
        await _base_records(ctx)
        if ctx.job.source is ImportSource.POLICE_HOUSEHOLD:
            await _provenance(ctx, literal("household"),
                              func.coalesce(ImportRow.household_no, ""))
    removed = await _groups(ctx)
    counts["groups_set"] = await _count(ctx, ImportRow.group.is_not(None),
                                        ImportRow.child_id.is_not(None))
    if ctx.job.source is ImportSource.SCHOOL_REGISTER:
        counts["groups_set"] += await new_children.count(ctx, NEW_ROWS.c.group.is_not(None))
        await new_children.drop(ctx)
    counts["groups_removed"] = len(removed)
    counts["removed"] = [[c, g] for c, g in removed[:200]]
    return counts


async def _register(ctx: MergeContext) -> dict[str, int]:
    """The school register's part: new children created, matched ones changed, each child
    written marked once for the statistics (``workflow/stats_marks.py``)."""
    await stats_marks.by_writer(ctx.session, True)
    await _mark_outcomes(ctx)
    counts = await _outcome_counts(ctx)
    await new_children.create(ctx, counts[NEW])
    await _update_children(ctx)
    await _enrol(ctx)
    await _provenance(ctx, literal("register"), func.coalesce(ImportRow.school_name, ""),
                      ImportRow.outcome == CHANGED)
    await stats_marks.mark(ctx.session, new_children.children(), distinct=False)
    await stats_marks.mark(ctx.session, select(ImportRow.child_id).where(
        ctx.rows(), ImportRow.outcome == CHANGED))
    await stats_marks.by_writer(ctx.session, False)
    return counts
