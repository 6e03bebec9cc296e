"""Prefix-searchable indexes on every scope path (varchar_pattern_ops on PostgreSQL).

The policy compiles to ``scope = :d OR scope LIKE :d || '/%'``; with the database collation
not "C", PostgreSQL serves that LIKE from a B-tree only with a pattern operator class.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22 16:00:06.680717
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# Indexes whose columns stay the same and only gain the operator class (autogenerate does
# not see operator classes): (table, index, columns).
REBUILT = [
    ("dropout_case", "ix_dropout_case_scope", ["scope_path", "stage_rank"], "scope_path"),
    ("task", "ix_task_scope", ["scope_path"], "scope_path"),
    (
        "sensitive_access",
        "ix_sensitive_access_subject",
        ["subject_scope", "occurred_at"],
        "subject_scope",
    ),
]


def _rebuild(pattern: bool) -> None:
    for table, name, columns, path in REBUILT:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_index(name)
            ops = {"postgresql_ops": {path: "varchar_pattern_ops"}} if pattern else {}
            batch_op.create_index(name, columns, unique=False, **ops)


def upgrade() -> None:
    _rebuild(pattern=True)
    with op.batch_alter_table("agency", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_agency_scope_path"))
        batch_op.create_index(
            "ix_agency_scope",
            ["scope_path"],
            unique=False,
            postgresql_ops={"scope_path": "varchar_pattern_ops"},
        )

    with op.batch_alter_table("child", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_child_scope_path"))
        batch_op.create_index(
            "ix_child_scope",
            ["scope_path"],
            unique=False,
            postgresql_ops={"scope_path": "varchar_pattern_ops"},
        )


def downgrade() -> None:
    _rebuild(pattern=False)
    with op.batch_alter_table("child", schema=None) as batch_op:
        batch_op.drop_index("ix_child_scope", postgresql_ops={"scope_path": "varchar_pattern_ops"})
        batch_op.create_index(batch_op.f("ix_child_scope_path"), ["scope_path"], unique=False)

    with op.batch_alter_table("agency", schema=None) as batch_op:
        batch_op.drop_index("ix_agency_scope", postgresql_ops={"scope_path": "varchar_pattern_ops"})
        batch_op.create_index(batch_op.f("ix_agency_scope_path"), ["scope_path"], unique=False)
