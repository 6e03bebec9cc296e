"""The children a school register file creates (建立学籍): each new row's child, guardian,
register entry, first register event, the value's source and its special group, written
set-based from one temporary table of the new rows with their child's id drawn beforehand.

Why a table of its own: the rows that make children are most of a first import (2,000,000
at a province), and each written table needs the new child's id. Writing the ids back into
``import_row`` after inserting the children rewrote every staged row (40 s of the 280 s apply
at 2,000,000 rows); drawing them first (PostgreSQL: the child id sequence; SQLite, whose one
writer holds the database: after the largest id) into a narrow copy of the new rows, with
their school's township, scope and residence paths joined once, leaves ``import_row`` as it
was staged: its new rows keep ``child_id`` NULL, which is what "new" means to the merge.

Without row triggers, where the database role may (PostgreSQL, a role that may set
``session_replication_role``: a superuser, or one granted ``SET`` on it, docs/deploy.md):
the foreign keys' checks are row triggers, one query per row and key, and they were 60 s of
the 140 s apply at 2,000,000 rows (auto_explain, ``bench.imports --explain``). Every row
written here refers to a child inserted here, to the job (locked by the apply), or to a
school and a township the new rows were joined from; those are locked (``FOR KEY SHARE``,
what the checks would take) and counted once instead, the statistics' marks are made once
(``workflow/stats_marks.py``) and the comparisons' input log is written once, which is what
the tables' statement triggers do. ``test_new_children_stand_in_for_every_trigger_and_key``
fails when a trigger or a foreign key is added to these tables: this module must then stand
in for it too. Any other role: the same statements with the triggers on.
"""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager, nullcontext
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    Column,
    Date,
    Integer,
    MetaData,
    String,
    Table,
    case,
    cast,
    func,
    insert,
    literal,
    select,
    text,
)
from sqlalchemy.exc import DBAPIError

from models.child import Child, ChildGroup, Guardian
from models.enums import EnrolmentStatus, RegisterType
from models.imports import ImportRow, ValueProvenance
from models.reference import Agency, Jurisdiction
from models.school import Enrolment, RegisterEvent, School
from workflow.crosscheck import inputs as crosscheck_inputs
from workflow.errors import Conflict
from workflow.infra.bulk_load import indexes_after

if TYPE_CHECKING:
    from workflow.imports.merge import MergeContext

NAME = "import_new"
NEW_ROWS = Table(
    NAME, MetaData(),
    Column("child_id", Integer), Column("row_no", Integer), Column("national_id", String),
    Column("name", String), Column("name_key", String), Column("sex", String),
    Column("birth_date", Date), Column("student_no", String), Column("register_type", String),
    Column("guardian_name", String), Column("guardian_key", String),
    Column("guardian_relation", String), Column("guardian_phone", String),
    Column("school_id", Integer), Column("school_name", String), Column("grade", Integer),
    Column("class_no", Integer), Column("village", String), Column("group", String),
    Column("township_code", String), Column("scope_path", String),
    Column("residence_path", String),
)


def _student_no() -> Any:
    """A new child's register number: G + the ID number, else I<job>-<row>."""
    own = (literal("I") + cast(ImportRow.job_id, String) + literal("-")
           + cast(ImportRow.row_no, String))
    return func.coalesce(literal("G") + ImportRow.national_id, own)


def _ids(dialect: str) -> Any:
    if dialect == "postgresql":
        return func.nextval(func.pg_get_serial_sequence("child", "id"))
    largest = select(func.coalesce(func.max(Child.id), 0)).scalar_subquery()
    return largest + func.row_number().over(order_by=ImportRow.row_no)


async def _fill(ctx: MergeContext) -> None:
    """The new rows, in the file's order (the children's ids follow their rows)."""
    dialect = ctx.session.get_bind().dialect
    rows = (
        select(
            ImportRow.row_no, ImportRow.national_id, ImportRow.name, ImportRow.name_key,
            func.coalesce(ImportRow.sex, "male").label("sex"), ImportRow.birth_date,
            _student_no().label("student_no"),
            case((ImportRow.national_id.is_(None), RegisterType.OTHER.value),
                 else_=RegisterType.ID_CARD.value).label("register_type"),
            ImportRow.guardian_name, ImportRow.guardian_key, ImportRow.guardian_relation,
            ImportRow.guardian_phone, ImportRow.school_id, ImportRow.school_name,
            ImportRow.grade, ImportRow.class_no, func.coalesce(ImportRow.village, "")
            .label("village"), ImportRow.group, School.township_code, Agency.scope_path,
            Jurisdiction.path.label("residence_path"), _ids(dialect.name).label("child_id"),
        )
        .join(School, School.id == ImportRow.school_id)
        .join(Agency, Agency.id == School.agency_id)
        .join(Jurisdiction, Jurisdiction.code == School.township_code)
        .where(ctx.rows(), ImportRow.child_id.is_(None))
        .order_by(ImportRow.row_no)
    )
    compiled = rows.compile(dialect=dialect, compile_kwargs={"literal_binds": True})
    await ctx.session.execute(text(f"DROP TABLE IF EXISTS {NAME}"))
    await ctx.session.execute(text(f"CREATE TEMPORARY TABLE {NAME} AS {compiled}"))


# The tables written here; the triggers on them that fire on an insert, and their foreign
# keys (table, column, referred table): what the window without row triggers stands in for.
WRITTEN = ("child", "register_event", "guardian", "enrolment", "value_provenance",
           "child_group")
INSERT_TRIGGERS = frozenset({
    ("child", "child_crosscheck_input"), ("child", "stat_dirty_child_insert"),
    ("register_event", "stat_dirty_register_event_insert"),
    ("guardian", "guardian_crosscheck_input"),
    ("enrolment", "enrolment_crosscheck_input"), ("enrolment", "stat_dirty_enrolment_insert"),
    ("child_group", "child_group_crosscheck_input"),
})
FOREIGN_KEYS = frozenset({
    ("child", "township_code", "jurisdiction"),
    ("register_event", "child_id", "child"), ("register_event", "school_id", "school"),
    ("register_event", "recorded_by", "app_user"),  # NULL here
    ("guardian", "child_id", "child"),
    ("enrolment", "child_id", "child"), ("enrolment", "school_id", "school"),
    ("enrolment", "previous_school_id", "school"),  # NULL here
    ("value_provenance", "child_id", "child"), ("value_provenance", "job_id", "import_job"),
    ("child_group", "child_id", "child"),
})


async def _triggers_off(ctx: MergeContext) -> bool:
    """Row triggers off for the rest of the transaction, if the role may (else False)."""
    if ctx.session.get_bind().dialect.name != "postgresql":
        return False
    try:
        async with ctx.session.begin_nested():
            await ctx.session.execute(text("SET LOCAL session_replication_role = replica"))
    except DBAPIError:  # permission denied to set the parameter
        return False
    return True


async def _lock_referred(ctx: MergeContext) -> None:
    """The schools and townships the new rows refer to, locked as the foreign keys' checks
    would lock them; a school or township gone since the rows were joined is a conflict."""
    new = NEW_ROWS.c
    for table, key, column, gone in (
        ("school", "id", new.school_id, "a school of the file was removed meanwhile: apply again"),
        ("jurisdiction", "code", new.township_code,
         "a township of the file was removed meanwhile: apply again"),
    ):
        wanted = select(func.count(func.distinct(column))).scalar_subquery()
        locked = text(f"SELECT count(*) FROM (SELECT 1 FROM {table} WHERE {key} IN "
                      f"(SELECT DISTINCT {column.name} FROM {NAME}) FOR KEY SHARE) AS locked")
        found = (await ctx.session.execute(locked)).scalar_one()
        if found != (await ctx.session.execute(select(wanted))).scalar_one():
            raise Conflict(gone, field="importId")


async def _stand_in(ctx: MergeContext) -> None:
    """What the tables' statement triggers would have done (the marks are the merge's)."""
    await ctx.session.execute(text("SET LOCAL session_replication_role = origin"))
    await crosscheck_inputs.log_change(ctx.session)


async def create(ctx: MergeContext, rows: int) -> None:
    """Create the children of the ``rows`` rows no child was matched to, with all they come
    with; into a register nearly empty, its indexes built after (``workflow/infra/bulk_load``:
    a province's first file)."""
    await _fill(ctx)
    # A fault rolls the transaction (or the preview's savepoint) back, the setting with it.
    off = await _triggers_off(ctx)
    if off:
        # Row locks first, then the tables: nothing waits while they are held.
        await _lock_referred(ctx)
    # No ON CONFLICT on WRITTEN inside: its unique index may be gone meanwhile.
    bulk: AbstractAsyncContextManager[list[str]] = (
        nullcontext([]) if ctx.dry_run else indexes_after(ctx.session, WRITTEN, rows))
    async with bulk:
        await _write(ctx)
    if off:
        await _stand_in(ctx)


async def _write(ctx: MergeContext) -> None:
    s, new = ctx.session, NEW_ROWS.c
    children = ["id", "name", "name_key", "sex", "birth_date", "register_type", "national_id",
                "student_no", "township_code", "village", "scope_path", "residence_path",
                "created_at", "updated_at"]
    await s.execute(insert(Child).from_select(children, select(
        new.child_id, new.name, new.name_key, new.sex, new.birth_date, new.register_type,
        new.national_id, new.student_no, new.township_code, new.village, new.scope_path,
        new.residence_path, literal(ctx.now, Child.created_at.type),
        literal(ctx.now, Child.updated_at.type),
    )))
    await s.execute(insert(RegisterEvent).from_select(
        ["child_id", "school_id", "on_date", "to_status", "reason", "recorded_at"],
        select(new.child_id, new.school_id, literal(ctx.today),
               literal(EnrolmentStatus.ENROLLED.value), literal("学籍导入：建立学籍"),
               literal(ctx.now, RegisterEvent.recorded_at.type)),
    ))
    await s.execute(insert(Guardian).from_select(
        ["child_id", "name", "name_key", "relation", "phone"],
        select(new.child_id, new.guardian_name, new.guardian_key,
               func.coalesce(new.guardian_relation, "other"), new.guardian_phone)
        .where(new.guardian_name.is_not(None)),
    ))
    await s.execute(insert(Enrolment).from_select(
        ["child_id", "school_id", "grade", "class_no", "status", "status_since", "updated_at"],
        select(new.child_id, new.school_id, new.grade, func.coalesce(new.class_no, 1),
               literal(EnrolmentStatus.ENROLLED.value), literal(ctx.today),
               literal(ctx.now, Enrolment.updated_at.type)),
    ))
    await _sources(ctx)


async def _sources(ctx: MergeContext) -> None:
    """Where each new child's register entry and special group came from, and the group."""
    new, job = NEW_ROWS.c, ctx.job
    for field, value, where in (
        (literal("register"), func.coalesce(new.school_name, ""), None),
        (literal("group:") + new.group, new.group, new.group.is_not(None)),
    ):
        values = select(new.child_id, field, literal(job.source.value), value,
                        literal(job.period), literal(job.id),
                        literal(ctx.now, ValueProvenance.recorded_at.type))
        await ctx.session.execute(insert(ValueProvenance).from_select(
            ["child_id", "field", "source", "value", "period", "job_id", "recorded_at"],
            values if where is None else values.where(where),
        ))
    await ctx.session.execute(insert(ChildGroup).from_select(
        ["child_id", "group"],
        select(new.child_id, new.group).where(new.group.is_not(None)),
    ))


async def count(ctx: MergeContext, *where: Any) -> int:
    stmt = select(func.count()).select_from(NEW_ROWS).where(*where)
    return int((await ctx.session.execute(stmt)).scalar_one())


async def drop(ctx: MergeContext) -> None:
    await ctx.session.execute(text(f"DROP TABLE IF EXISTS {NAME}"))


def children() -> Any:
    """The new children's ids (a select, for marking them)."""
    return select(NEW_ROWS.c.child_id)
