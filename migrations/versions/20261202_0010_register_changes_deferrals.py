"""The register as data that changes: register changes, deferrals, register history

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 00:00:00

Schema: ``register_change`` (学籍变动: transfers within and out of the county, suspensions,
each from request to approval or refusal) and ``deferral`` (缓学/免学, ST 2, 3: the guardian's
application, the disabled federation's assessment, the bureau's decision, the end date);
``register_event`` gains ``kind`` and ``detail`` (a change of the child's details, guardians
or a deferral is an event of the register history too, so ``to_status`` may be null);
``child.address`` and ``child.version`` (optimistic concurrency for register edits);
``enrolment.started_on`` (the graduation check, LS 10(5)), ``spring_entrant`` and
``previous_school_id`` (ST 6); ``school.parent_school_id`` (a teaching point's central
school) and ``school.address``. Existing rows: children at version 1, no spring entrants,
events of kind ``status``.

The two new school references are added as plain columns with REFERENCES on SQLite (ALTER
TABLE … ADD COLUMN allows it), since batch mode would copy ``school`` and ``enrolment``,
which other tables' foreign keys refuse once rows exist.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON_DOC = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "deferral",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("child_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("ground", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("district_code", sa.String(length=12), nullable=False),
        sa.Column("scope_path", sa.String(length=160), nullable=False),
        sa.Column("residence_path", sa.String(length=160), nullable=False),
        sa.Column("applicant_name", sa.String(length=64), nullable=False),
        sa.Column("applicant_relation", sa.String(length=32), nullable=False),
        sa.Column("applied_on", sa.Date(), nullable=False),
        sa.Column("evidence", sa.Text(), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=False),
        sa.Column("assessment_needed", sa.Boolean(), nullable=False),
        sa.Column("assessed_on", sa.Date(), nullable=True),
        sa.Column("assessment_confirmed", sa.Boolean(), nullable=True),
        sa.Column("assessment_note", sa.Text(), nullable=False),
        sa.Column("decided_on", sa.Date(), nullable=True),
        sa.Column("decision_reason", sa.Text(), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("applied_by", sa.Integer(), nullable=True),
        sa.Column("decided_by", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["applied_by"], ["app_user.id"], name=op.f("fk_deferral_applied_by_app_user")
        ),
        sa.ForeignKeyConstraint(
            ["child_id"], ["child.id"], name=op.f("fk_deferral_child_id_child")
        ),
        sa.ForeignKeyConstraint(
            ["decided_by"], ["app_user.id"], name=op.f("fk_deferral_decided_by_app_user")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deferral")),
    )
    with op.batch_alter_table("deferral", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_deferral_child_id"), ["child_id"], unique=False)
        batch_op.create_index(
            "ix_deferral_scope",
            ["scope_path"],
            unique=False,
            postgresql_ops={"scope_path": "varchar_pattern_ops"},
        )
        batch_op.create_index(
            "ix_deferral_status", ["district_code", "status", "ends_on"], unique=False
        )

    op.create_table(
        "register_change",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("child_id", sa.Integer(), nullable=False),
        sa.Column("from_school_id", sa.Integer(), nullable=False),
        sa.Column("to_school_id", sa.Integer(), nullable=True),
        sa.Column("from_district_code", sa.String(length=12), nullable=False),
        sa.Column("to_district_code", sa.String(length=12), nullable=True),
        sa.Column("scope_path", sa.String(length=160), nullable=False),
        sa.Column("target_path", sa.String(length=160), nullable=False),
        sa.Column("residence_path", sa.String(length=160), nullable=False),
        sa.Column("requested_on", sa.Date(), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=True),
        sa.Column("ends_on", sa.Date(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("decision_reason", sa.Text(), nullable=False),
        sa.Column("decided_on", sa.Date(), nullable=True),
        sa.Column("received_on", sa.Date(), nullable=True),
        sa.Column("ended_on", sa.Date(), nullable=True),
        sa.Column("flagged_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("requested_by", sa.Integer(), nullable=True),
        sa.Column("decided_by", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["child_id"], ["child.id"], name=op.f("fk_register_change_child_id_child")
        ),
        sa.ForeignKeyConstraint(
            ["decided_by"], ["app_user.id"], name=op.f("fk_register_change_decided_by_app_user")
        ),
        sa.ForeignKeyConstraint(
            ["from_school_id"], ["school.id"], name=op.f("fk_register_change_from_school_id_school")
        ),
        sa.ForeignKeyConstraint(
            ["requested_by"], ["app_user.id"], name=op.f("fk_register_change_requested_by_app_user")
        ),
        sa.ForeignKeyConstraint(
            ["to_school_id"], ["school.id"], name=op.f("fk_register_change_to_school_id_school")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_register_change")),
    )
    with op.batch_alter_table("register_change", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_register_change_child_id"), ["child_id"], unique=False)
        batch_op.create_index(
            "ix_register_change_scope",
            ["scope_path"],
            unique=False,
            postgresql_ops={"scope_path": "varchar_pattern_ops"},
        )
        batch_op.create_index(
            "ix_register_change_status", ["kind", "status", "requested_on"], unique=False
        )

    with op.batch_alter_table("child", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("address", sa.String(length=200), server_default="", nullable=False)
        )
        batch_op.add_column(sa.Column("version", sa.Integer(), server_default="1", nullable=False))

    with op.batch_alter_table("enrolment", schema=None) as batch_op:
        batch_op.add_column(sa.Column("started_on", sa.Date(), nullable=True))
        batch_op.add_column(
            sa.Column("spring_entrant", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
    _add_school_reference("enrolment", "previous_school_id")

    with op.batch_alter_table("register_event", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("kind", sa.String(length=48), server_default="status", nullable=False)
        )
        batch_op.add_column(sa.Column("detail", JSON_DOC, server_default="{}", nullable=False))
        batch_op.alter_column("to_status", existing_type=sa.VARCHAR(length=32), nullable=True)

    with op.batch_alter_table("school", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("address", sa.String(length=200), server_default="", nullable=False)
        )
    _add_school_reference("school", "parent_school_id")


def _add_school_reference(table: str, column: str) -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute(f"ALTER TABLE {table} ADD COLUMN {column} INTEGER REFERENCES school (id)")
        return
    op.add_column(table, sa.Column(column, sa.Integer(), nullable=True))
    op.create_foreign_key(f"fk_{table}_{column}_school", table, "school", [column], ["id"])


def _drop_school_reference(table: str, column: str) -> None:
    if op.get_bind().dialect.name != "sqlite":
        op.drop_constraint(f"fk_{table}_{column}_school", table, type_="foreignkey")
    op.drop_column(table, column)


def downgrade() -> None:
    _drop_school_reference("school", "parent_school_id")
    op.drop_column("school", "address")

    with op.batch_alter_table("register_event", schema=None) as batch_op:
        batch_op.alter_column("to_status", existing_type=sa.VARCHAR(length=32), nullable=False)
        batch_op.drop_column("detail")
        batch_op.drop_column("kind")

    _drop_school_reference("enrolment", "previous_school_id")
    # Plain DROP COLUMN (SQLite 3.35+): batch mode would copy tables other tables refer to.
    for table, column in (
        ("enrolment", "spring_entrant"),
        ("enrolment", "started_on"),
        ("child", "version"),
        ("child", "address"),
    ):
        op.drop_column(table, column)

    with op.batch_alter_table("register_change", schema=None) as batch_op:
        batch_op.drop_index("ix_register_change_status")
        batch_op.drop_index(
            "ix_register_change_scope", postgresql_ops={"scope_path": "varchar_pattern_ops"}
        )
        batch_op.drop_index(batch_op.f("ix_register_change_child_id"))

    op.drop_table("register_change")
    with op.batch_alter_table("deferral", schema=None) as batch_op:
        batch_op.drop_index("ix_deferral_status")
        batch_op.drop_index(
            "ix_deferral_scope", postgresql_ops={"scope_path": "varchar_pattern_ops"}
        )
        batch_op.drop_index(batch_op.f("ix_deferral_child_id"))

    op.drop_table("deferral")
