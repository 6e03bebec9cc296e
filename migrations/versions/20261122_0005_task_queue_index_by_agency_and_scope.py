"""An index for an agency's queue in a domain: (agency kind, scope path prefix, due, id).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22 16:49:23.054268
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("task", schema=None) as batch_op:
        batch_op.create_index(
            "ix_task_agency_scope",
            ["agency_kind", "scope_path", "due_on", "id"],
            unique=False,
            postgresql_ops={"scope_path": "varchar_pattern_ops"},
        )


def downgrade() -> None:
    with op.batch_alter_table("task", schema=None) as batch_op:
        batch_op.drop_index(
            "ix_task_agency_scope", postgresql_ops={"scope_path": "varchar_pattern_ops"}
        )
