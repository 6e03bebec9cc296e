"""Supervision (督导检查): inspections of townships, schools and agencies and their findings

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-02 00:00:00

Schema: ``supervision`` (the inspectorate's inspection of one unit: who, when, what it
found in sum, whether its findings are still being rectified) and ``supervision_finding``
(each problem found, the unit's rectification deadline and task, its report and the
inspectorate's acceptance or return, and the accountability item of the same unit it
bears on). LS 9, GH 三(六), ST 10. And ``ix_register_event_child_day`` (child, day, id):
the statistics' lookup of a child's event nearest to a date is one probe of it.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _fk(table: str, column: str, target: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint([column], [target],
                                   name=op.f(f"fk_{table}_{column}_{target.split('.')[0]}"))


def upgrade() -> None:
    op.create_index("ix_register_event_child_day", "register_event",
                    ["child_id", "on_date", "id"])
    ts = sa.DateTime(timezone=True)
    op.create_table(
        "supervision",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("district_code", sa.String(length=12), nullable=False),
        sa.Column("subject_agency_id", sa.Integer(), nullable=False),
        sa.Column("subject_kind", sa.String(length=32), nullable=False),
        sa.Column("subject_path", sa.String(length=160), nullable=False),
        sa.Column("subject_name", sa.String(length=128), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("visited_on", sa.Date(), nullable=False),
        sa.Column("inspectors", sa.String(length=300), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("recorded_at", ts, nullable=False),
        sa.Column("recorded_by", sa.Integer(), nullable=True),
        sa.Column("closed_at", ts, nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        _fk("supervision", "district_code", "jurisdiction.code"),
        _fk("supervision", "subject_agency_id", "agency.id"),
        _fk("supervision", "recorded_by", "app_user.id"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_supervision")),
    )
    op.create_index(op.f("ix_supervision_district_code"), "supervision", ["district_code"])
    op.create_index(op.f("ix_supervision_subject_agency_id"), "supervision",
                    ["subject_agency_id"])
    op.create_index("ix_supervision_scope", "supervision", ["subject_path"],
                    postgresql_ops={"subject_path": "varchar_pattern_ops"})
    table = "supervision_finding"
    op.create_table(
        table,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("supervision_id", sa.Integer(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("task_id", sa.Integer(), nullable=True),
        sa.Column("accountability_item_id", sa.Integer(), nullable=True),
        sa.Column("rectification", sa.Text(), nullable=False),
        sa.Column("reported_at", ts, nullable=True),
        sa.Column("reported_by", sa.Integer(), nullable=True),
        sa.Column("reviewed_at", ts, nullable=True),
        sa.Column("reviewed_by", sa.Integer(), nullable=True),
        sa.Column("review_note", sa.Text(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        _fk(table, "supervision_id", "supervision.id"),
        _fk(table, "task_id", "task.id"),
        _fk(table, "accountability_item_id", "accountability_item.id"),
        _fk(table, "reported_by", "app_user.id"),
        _fk(table, "reviewed_by", "app_user.id"),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{table}")),
    )
    op.create_index(op.f(f"ix_{table}_supervision_id"), table, ["supervision_id"])
    op.create_index(op.f(f"ix_{table}_accountability_item_id"), table,
                    ["accountability_item_id"])


def downgrade() -> None:
    table = "supervision_finding"
    op.drop_index(op.f(f"ix_{table}_accountability_item_id"), table_name=table)
    op.drop_index(op.f(f"ix_{table}_supervision_id"), table_name=table)
    op.drop_table(table)
    op.drop_index("ix_supervision_scope", table_name="supervision")
    op.drop_index(op.f("ix_supervision_subject_agency_id"), table_name="supervision")
    op.drop_index(op.f("ix_supervision_district_code"), table_name="supervision")
    op.drop_table("supervision")
    op.drop_index("ix_register_event_child_day", table_name="register_event")
