"""Statistics tally: the kept facts summed by what the breakdowns and the policy read

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-03 07:00:00

Schema: table ``stat_tally`` (the children of ``stat_child`` counted per school domain,
residence domain, township, school, grade and month of birth, with a summed count per
measure flag; its key is its primary key), kept by the fold and the rebuild in the same
transaction as ``stat_child`` (issue 16; docs/statistics.md "How the figures are kept").
Indexes on ``stat_child``: the birth date (the children born in the two months where the
school-age cut falls), and a partial index per rarely set measure flag (``scope_path,
child_id WHERE flag = 1``) for the drill-down pages.

Data: the ``stat_state`` row is deleted, so that the figures are computed live (exact, as
before the first build) until ``lianbao stats-rebuild`` builds the facts and the tally
together; run it after migrating.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0024"
down_revision: str | None = "0023"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FLAGS = ("enrolled", "deferred_or_exempt", "suspected", "confirmed_dropout", "returned", "base",
         "lost", "retained")
RARE_FLAGS = ("deferred_or_exempt", "suspected", "confirmed_dropout", "returned", "lost")
KEY = ("scope_path", "residence_path", "township_code", "school_id", "grade", "birth_month")


def upgrade() -> None:
    op.create_table(
        "stat_tally",
        sa.Column("scope_path", sa.String(length=160), nullable=False),
        sa.Column("residence_path", sa.String(length=160), nullable=False),
        sa.Column("township_code", sa.String(length=12), nullable=False),
        sa.Column("school_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("grade", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("birth_month", sa.Date(), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        *(sa.Column(flag, sa.Integer(), nullable=False) for flag in FLAGS),
        sa.PrimaryKeyConstraint(*KEY, name=op.f("pk_stat_tally")),
    )
    with op.batch_alter_table("stat_tally", schema=None) as batch_op:
        batch_op.create_index("ix_stat_tally_scope", ["scope_path"], unique=False,
                              postgresql_ops={"scope_path": "varchar_pattern_ops"})
    with op.batch_alter_table("stat_child", schema=None) as batch_op:
        batch_op.create_index("ix_stat_child_birth", ["birth_date"], unique=False)
        for flag in RARE_FLAGS:
            batch_op.create_index(
                f"ix_stat_child_{flag}", ["scope_path", "child_id"], unique=False,
                postgresql_ops={"scope_path": "varchar_pattern_ops"},
                postgresql_where=sa.text(f"{flag} = 1"), sqlite_where=sa.text(f"{flag} = 1"))
    # the tally is built with the kept facts: until the next rebuild the figures are live
    op.execute("DELETE FROM stat_state")


def downgrade() -> None:
    with op.batch_alter_table("stat_child", schema=None) as batch_op:
        for flag in reversed(RARE_FLAGS):
            batch_op.drop_index(f"ix_stat_child_{flag}")
        batch_op.drop_index("ix_stat_child_birth")
    with op.batch_alter_table("stat_tally", schema=None) as batch_op:
        batch_op.drop_index("ix_stat_tally_scope")
    op.drop_table("stat_tally")
