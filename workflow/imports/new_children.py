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
"""

from __future__ import annotations

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

from models.child import Child, ChildGroup, Guardian
from models.enums import EnrolmentStatus, RegisterType
from models.imports import ImportRow, ValueProvenance
from models.reference import Agency, Jurisdiction
from models.school import Enrolment, RegisterEvent, School

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


async def create(ctx: MergeContext) -> None:
    """Create the children of the rows no child was matched to, with all they come with."""
    s, new = ctx.session, NEW_ROWS.c
    await _fill(ctx)
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
