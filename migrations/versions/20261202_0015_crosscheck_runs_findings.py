"""The three comparisons (四查三比对): runs, findings, and the normalised name keys they match by

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-02 03:00:00

Schema: ``crosscheck_run`` (one run per district and as-of date, with its counts) and
``crosscheck_finding`` (a person a comparison disagrees about, kept across runs, linked to
its verification task). ``name_key`` on ``child``, ``guardian``, ``base_record`` and
``import_row`` (and ``guardian_key`` on the last two): the normalised name a person without
an ID number is matched by (models/names.py). ``base_record.school_id``: the school whose
in-school list (在校生名单, source ``school_roster``) names the pupil. ``task`` is not
altered (on SQLite a batch recreate would drop migration 0014's triggers).

Data: the keys of existing children, guardians and base records are computed in Python
(the same function the application uses), in batches.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from models.names import name_key

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
BATCH = 5000


def _fk(table: str, column: str, target: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint([column], [target],
                                   name=op.f(f"fk_{table}_{column}_{target.split('.')[0]}"))


def _backfill(table: str, key_of: str = "name") -> None:
    """Each row's name key, computed as the application computes it."""
    bind = op.get_bind()
    rows = sa.table(table, sa.column("id", sa.Integer), sa.column(key_of, sa.String),
                    sa.column("name_key", sa.String))
    last = 0
    while True:
        batch = bind.execute(sa.select(rows.c.id, rows.c[key_of]).where(rows.c.id > last)
                             .order_by(rows.c.id).limit(BATCH)).all()
        if not batch:
            return
        bind.execute(sa.update(rows).where(rows.c.id == sa.bindparam("rid"))
                     .values(name_key=sa.bindparam("key")),
                     [{"rid": i, "key": name_key(n)} for i, n in batch])
        last = batch[-1][0]


def upgrade() -> None:
    op.create_table(
        "crosscheck_run",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("district_code", sa.String(length=12), nullable=False),
        sa.Column("scope_path", sa.String(length=160), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("trigger", sa.String(length=16), nullable=False),
        sa.Column("started_by", sa.Integer(), nullable=True),
        sa.Column("counts", JSON, nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        _fk("crosscheck_run", "district_code", "jurisdiction.code"),
        _fk("crosscheck_run", "started_by", "app_user.id"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_crosscheck_run")),
    )
    op.create_index("ix_crosscheck_run_district", "crosscheck_run", ["district_code", "as_of"])
    op.create_index("ix_crosscheck_run_scope", "crosscheck_run", ["scope_path"],
                    postgresql_ops={"scope_path": "varchar_pattern_ops"})
    op.create_table(
        "crosscheck_finding",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("district_code", sa.String(length=12), nullable=False),
        sa.Column("scope_path", sa.String(length=160), nullable=False),
        sa.Column("township_code", sa.String(length=12), nullable=True),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("person_key", sa.String(length=160), nullable=False),
        sa.Column("child_id", sa.Integer(), nullable=True),
        sa.Column("base_record_id", sa.Integer(), nullable=True),
        sa.Column("school_id", sa.Integer(), nullable=True),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("national_id", sa.String(length=18), nullable=True),
        sa.Column("birth_date", sa.Date(), nullable=True),
        sa.Column("household_no", sa.String(length=32), nullable=True),
        sa.Column("poverty", sa.Boolean(), nullable=False),
        sa.Column("priority", sa.Boolean(), nullable=False),
        sa.Column("groups", JSON, nullable=False),
        sa.Column("candidate_child_ids", JSON, nullable=False),
        sa.Column("elsewhere_district_code", sa.String(length=12), nullable=True),
        sa.Column("first_run_id", sa.Integer(), nullable=False),
        sa.Column("last_run_id", sa.Integer(), nullable=False),
        sa.Column("first_seen_on", sa.Date(), nullable=False),
        sa.Column("last_seen_on", sa.Date(), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("outcome", sa.String(length=32), nullable=True),
        sa.Column("outcome_detail", JSON, nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolved_by", sa.Integer(), nullable=True),
        sa.Column("task_id", sa.Integer(), nullable=True),
        sa.Column("case_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        _fk("crosscheck_finding", "district_code", "jurisdiction.code"),
        _fk("crosscheck_finding", "child_id", "child.id"),
        _fk("crosscheck_finding", "base_record_id", "base_record.id"),
        _fk("crosscheck_finding", "school_id", "school.id"),
        _fk("crosscheck_finding", "first_run_id", "crosscheck_run.id"),
        _fk("crosscheck_finding", "last_run_id", "crosscheck_run.id"),
        _fk("crosscheck_finding", "resolved_by", "app_user.id"),
        _fk("crosscheck_finding", "task_id", "task.id"),
        _fk("crosscheck_finding", "case_id", "dropout_case.id"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_crosscheck_finding")),
        sa.UniqueConstraint("district_code", "kind", "person_key",
                            name=op.f("uq_crosscheck_finding_district_code_kind_person_key")),
    )
    for column in ("child_id", "base_record_id", "task_id", "case_id"):
        op.create_index(op.f(f"ix_crosscheck_finding_{column}"), "crosscheck_finding", [column])
    op.create_index("ix_crosscheck_finding_status", "crosscheck_finding",
                    ["district_code", "status", "kind"])
    op.create_index("ix_crosscheck_finding_scope", "crosscheck_finding", ["scope_path", "id"],
                    postgresql_ops={"scope_path": "varchar_pattern_ops"})

    for table in ("child", "guardian"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column("name_key", sa.String(length=64), nullable=True))
    op.create_index("ix_child_name_key", "child", ["name_key", "birth_date"])
    with op.batch_alter_table("import_row", schema=None) as batch_op:
        batch_op.add_column(sa.Column("name_key", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("guardian_key", sa.String(length=64), nullable=True))
    with op.batch_alter_table("base_record", schema=None) as batch_op:
        batch_op.add_column(sa.Column("name_key", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("guardian_key", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("school_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(op.f("fk_base_record_school_id_school"), "school",
                                    ["school_id"], ["id"])
        batch_op.create_index("ix_base_record_name_key", ["name_key", "birth_date"])
    for table in ("child", "guardian", "base_record"):
        _backfill(table)


def downgrade() -> None:
    op.drop_table("crosscheck_finding")
    op.drop_table("crosscheck_run")
    with op.batch_alter_table("base_record", schema=None) as batch_op:
        batch_op.drop_index("ix_base_record_name_key")
        batch_op.drop_constraint(op.f("fk_base_record_school_id_school"), type_="foreignkey")
        batch_op.drop_column("school_id")
        batch_op.drop_column("guardian_key")
        batch_op.drop_column("name_key")
    op.drop_index("ix_child_name_key", table_name="child")
    # Plain ALTER TABLE … DROP COLUMN (SQLite ≥ 3.35): a batch recreate of ``child`` would
    # trip the foreign keys that point at it.
    for table, column in (("import_row", "guardian_key"), ("import_row", "name_key"),
                          ("guardian", "name_key"), ("child", "name_key")):
        op.drop_column(table, column)
