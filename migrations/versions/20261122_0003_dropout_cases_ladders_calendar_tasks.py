"""Dropout cases, ladders as data, school calendars, tasks, the register's events.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22 15:34:54.720868
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "school_holiday",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("jurisdiction_code", sa.String(length=12), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=False),
        sa.ForeignKeyConstraint(
            ["jurisdiction_code"],
            ["jurisdiction.code"],
            name=op.f("fk_school_holiday_jurisdiction_code_jurisdiction"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_school_holiday")),
    )
    with op.batch_alter_table("school_holiday", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_school_holiday_jurisdiction_code"), ["jurisdiction_code"], unique=False
        )

    op.create_table(
        "school_term",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("jurisdiction_code", sa.String(length=12), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=False),
        sa.ForeignKeyConstraint(
            ["jurisdiction_code"],
            ["jurisdiction.code"],
            name=op.f("fk_school_term_jurisdiction_code_jurisdiction"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_school_term")),
    )
    with op.batch_alter_table("school_term", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_school_term_jurisdiction_code"), ["jurisdiction_code"], unique=False
        )

    op.create_table(
        "ladder",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("jurisdiction_code", sa.String(length=12), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("based_on", sa.String(length=32), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["created_by"], ["app_user.id"], name=op.f("fk_ladder_created_by_app_user")
        ),
        sa.ForeignKeyConstraint(
            ["jurisdiction_code"],
            ["jurisdiction.code"],
            name=op.f("fk_ladder_jurisdiction_code_jurisdiction"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ladder")),
        sa.UniqueConstraint(
            "jurisdiction_code", "version", name=op.f("uq_ladder_jurisdiction_code_version")
        ),
    )
    with op.batch_alter_table("ladder", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_ladder_jurisdiction_code"), ["jurisdiction_code"], unique=False
        )

    op.create_table(
        "register_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("child_id", sa.Integer(), nullable=False),
        sa.Column("school_id", sa.Integer(), nullable=True),
        sa.Column("on_date", sa.Date(), nullable=False),
        sa.Column("from_status", sa.String(length=32), nullable=True),
        sa.Column("to_status", sa.String(length=32), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_by", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["child_id"], ["child.id"], name=op.f("fk_register_event_child_id_child")
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by"], ["app_user.id"], name=op.f("fk_register_event_recorded_by_app_user")
        ),
        sa.ForeignKeyConstraint(
            ["school_id"], ["school.id"], name=op.f("fk_register_event_school_id_school")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_register_event")),
    )
    with op.batch_alter_table("register_event", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_register_event_child_id"), ["child_id"], unique=False)

    op.create_table(
        "dropout_case",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("child_id", sa.Integer(), nullable=False),
        sa.Column("school_id", sa.Integer(), nullable=True),
        sa.Column("scope_path", sa.String(length=160), nullable=False),
        sa.Column("township_code", sa.String(length=12), nullable=False),
        sa.Column("district_code", sa.String(length=12), nullable=False),
        sa.Column("ladder_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("stage", sa.String(length=32), nullable=False),
        sa.Column("stage_rank", sa.Integer(), nullable=False),
        sa.Column("step_position", sa.Integer(), nullable=False),
        sa.Column("day0", sa.Date(), nullable=False),
        sa.Column("next_due_on", sa.Date(), nullable=True),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("opened_by", sa.Integer(), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closure_reason", sa.String(length=32), nullable=True),
        sa.Column("stage_before_close", sa.String(length=32), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["child_id"], ["child.id"], name=op.f("fk_dropout_case_child_id_child")
        ),
        sa.ForeignKeyConstraint(
            ["district_code"],
            ["jurisdiction.code"],
            name=op.f("fk_dropout_case_district_code_jurisdiction"),
        ),
        sa.ForeignKeyConstraint(
            ["ladder_id"], ["ladder.id"], name=op.f("fk_dropout_case_ladder_id_ladder")
        ),
        sa.ForeignKeyConstraint(
            ["opened_by"], ["app_user.id"], name=op.f("fk_dropout_case_opened_by_app_user")
        ),
        sa.ForeignKeyConstraint(
            ["school_id"], ["school.id"], name=op.f("fk_dropout_case_school_id_school")
        ),
        sa.ForeignKeyConstraint(
            ["township_code"],
            ["jurisdiction.code"],
            name=op.f("fk_dropout_case_township_code_jurisdiction"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dropout_case")),
    )
    with op.batch_alter_table("dropout_case", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_dropout_case_child_id"), ["child_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_dropout_case_next_due_on"), ["next_due_on"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_dropout_case_school_id"), ["school_id"], unique=False)
        batch_op.create_index("ix_dropout_case_scope", ["scope_path", "stage_rank"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_dropout_case_township_code"), ["township_code"], unique=False
        )
        batch_op.create_index(
            "uq_dropout_case_open_child",
            ["child_id"],
            unique=True,
            postgresql_where=sa.text("status = 'open'"),
            sqlite_where=sa.text("status = 'open'"),
        )

    op.create_table(
        "ladder_step",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ladder_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=48), nullable=False),
        sa.Column("stage", sa.String(length=32), nullable=False),
        sa.Column("entry", sa.String(length=32), nullable=False),
        sa.Column("anchor", sa.String(length=48), nullable=False),
        sa.Column("offset_days", sa.Integer(), nullable=False),
        sa.Column("day_kind", sa.String(length=32), nullable=False),
        sa.Column("document_kind", sa.String(length=32), nullable=True),
        sa.Column("basis_key", sa.String(length=8), nullable=False),
        sa.Column("basis_article", sa.String(length=32), nullable=False),
        sa.Column("basis_quote", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["ladder_id"], ["ladder.id"], name=op.f("fk_ladder_step_ladder_id_ladder")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ladder_step")),
        sa.UniqueConstraint(
            "ladder_id", "position", name=op.f("uq_ladder_step_ladder_id_position")
        ),
    )
    with op.batch_alter_table("ladder_step", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ladder_step_ladder_id"), ["ladder_id"], unique=False)

    op.create_table(
        "case_attachment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("filename", sa.String(length=200), nullable=False),
        sa.Column("content_type", sa.String(length=100), nullable=False),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("uploaded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("uploaded_by", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["case_id"], ["dropout_case.id"], name=op.f("fk_case_attachment_case_id_dropout_case")
        ),
        sa.ForeignKeyConstraint(
            ["uploaded_by"], ["app_user.id"], name=op.f("fk_case_attachment_uploaded_by_app_user")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_attachment")),
    )
    with op.batch_alter_table("case_attachment", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_case_attachment_case_id"), ["case_id"], unique=False)

    op.create_table(
        "case_event",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("actor_user_id", sa.Integer(), nullable=True),
        sa.Column("actor_username", sa.String(length=64), nullable=False),
        sa.Column("actor_agency_kind", sa.String(length=32), nullable=True),
        sa.Column("from_stage", sa.String(length=32), nullable=True),
        sa.Column("to_stage", sa.String(length=32), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column(
            "data",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["actor_user_id"], ["app_user.id"], name=op.f("fk_case_event_actor_user_id_app_user")
        ),
        sa.ForeignKeyConstraint(
            ["case_id"], ["dropout_case.id"], name=op.f("fk_case_event_case_id_dropout_case")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_event")),
    )
    with op.batch_alter_table("case_event", schema=None) as batch_op:
        batch_op.create_index("ix_case_event_case", ["case_id", "id"], unique=False)

    op.create_table(
        "case_plan",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("cause", sa.String(length=32), nullable=False),
        sa.Column("measures", sa.Text(), nullable=False),
        sa.Column("responsible_person", sa.String(length=64), nullable=False),
        sa.Column("responsible_agency_kind", sa.String(length=32), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["dropout_case.id"], name=op.f("fk_case_plan_case_id_dropout_case")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_plan")),
        sa.UniqueConstraint("case_id", name=op.f("uq_case_plan_case_id")),
    )
    op.create_table(
        "case_step_due",
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("reached_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["case_id"], ["dropout_case.id"], name=op.f("fk_case_step_due_case_id_dropout_case")
        ),
        sa.PrimaryKeyConstraint("case_id", "position", name=op.f("pk_case_step_due")),
    )
    with op.batch_alter_table("case_step_due", schema=None) as batch_op:
        batch_op.create_index("ix_case_step_due_pending", ["due_on", "reached_at"], unique=False)

    op.create_table(
        "ladder_task",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("step_id", sa.Integer(), nullable=False),
        sa.Column("agency_kind", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=48), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("due_days", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["step_id"], ["ladder_step.id"], name=op.f("fk_ladder_task_step_id_ladder_step")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ladder_task")),
    )
    with op.batch_alter_table("ladder_task", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ladder_task_step_id"), ["step_id"], unique=False)

    op.create_table(
        "persuasion_attempt",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("attempted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("method", sa.String(length=32), nullable=False),
        sa.Column("outcome", sa.String(length=32), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("agency_kind", sa.String(length=32), nullable=True),
        sa.Column("participants", sa.String(length=200), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["dropout_case.id"],
            name=op.f("fk_persuasion_attempt_case_id_dropout_case"),
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["app_user.id"], name=op.f("fk_persuasion_attempt_user_id_app_user")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_persuasion_attempt")),
    )
    with op.batch_alter_table("persuasion_attempt", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_persuasion_attempt_case_id"), ["case_id"], unique=False
        )

    op.create_table(
        "task",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=48), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=True),
        sa.Column("step_position", sa.Integer(), nullable=True),
        sa.Column("agency_kind", sa.String(length=32), nullable=False),
        sa.Column("scope_path", sa.String(length=160), nullable=False),
        sa.Column("assignee_id", sa.Integer(), nullable=True),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("outcome", sa.Text(), nullable=True),
        sa.Column(
            "evidence",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reminded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("breached_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["assignee_id"], ["app_user.id"], name=op.f("fk_task_assignee_id_app_user")
        ),
        sa.ForeignKeyConstraint(
            ["case_id"], ["dropout_case.id"], name=op.f("fk_task_case_id_dropout_case")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_task")),
    )
    with op.batch_alter_table("task", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_task_assignee_id"), ["assignee_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_task_case_id"), ["case_id"], unique=False)
        batch_op.create_index(
            "ix_task_queue", ["agency_kind", "status", "due_on", "id"], unique=False
        )
        batch_op.create_index("ix_task_scope", ["scope_path"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("task", schema=None) as batch_op:
        batch_op.drop_index("ix_task_scope")
        batch_op.drop_index("ix_task_queue")
        batch_op.drop_index(batch_op.f("ix_task_case_id"))
        batch_op.drop_index(batch_op.f("ix_task_assignee_id"))

    op.drop_table("task")
    with op.batch_alter_table("persuasion_attempt", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_persuasion_attempt_case_id"))

    op.drop_table("persuasion_attempt")
    with op.batch_alter_table("ladder_task", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ladder_task_step_id"))

    op.drop_table("ladder_task")
    with op.batch_alter_table("case_step_due", schema=None) as batch_op:
        batch_op.drop_index("ix_case_step_due_pending")

    op.drop_table("case_step_due")
    op.drop_table("case_plan")
    with op.batch_alter_table("case_event", schema=None) as batch_op:
        batch_op.drop_index("ix_case_event_case")

    op.drop_table("case_event")
    with op.batch_alter_table("case_attachment", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_case_attachment_case_id"))

    op.drop_table("case_attachment")
    with op.batch_alter_table("ladder_step", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ladder_step_ladder_id"))

    op.drop_table("ladder_step")
    with op.batch_alter_table("dropout_case", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_dropout_case_open_child",
            postgresql_where=sa.text("status = 'open'"),
            sqlite_where=sa.text("status = 'open'"),
        )
        batch_op.drop_index(batch_op.f("ix_dropout_case_township_code"))
        batch_op.drop_index("ix_dropout_case_scope")
        batch_op.drop_index(batch_op.f("ix_dropout_case_school_id"))
        batch_op.drop_index(batch_op.f("ix_dropout_case_next_due_on"))
        batch_op.drop_index(batch_op.f("ix_dropout_case_child_id"))

    op.drop_table("dropout_case")
    with op.batch_alter_table("register_event", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_register_event_child_id"))

    op.drop_table("register_event")
    with op.batch_alter_table("ladder", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ladder_jurisdiction_code"))

    op.drop_table("ladder")
    with op.batch_alter_table("school_term", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_school_term_jurisdiction_code"))

    op.drop_table("school_term")
    with op.batch_alter_table("school_holiday", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_school_holiday_jurisdiction_code"))

    op.drop_table("school_holiday")
