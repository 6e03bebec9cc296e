"""Imports: partial indexes for matching children without an ID number

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-02 03:00:00

Schema: ``ix_child_no_id_name_birth`` (normalised name key, birth date of the children without an ID
number) and ``ix_import_row_no_id_name_birth`` (job, name key, birth date of the staged rows
without one). The no-ID match of an import joins the two on (name key, birth date); right after
a first import has filled ``child`` the planner has no statistics of it and chose a nested
loop comparing every such row with every such child (100,000 rows, 1 % changed: 402 s
instead of a fraction of the first import's 96 s). With an index on either side that loop
is index lookups. Both are partial, a few percent of the rows.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NO_ID = sa.text("national_id IS NULL")


def upgrade() -> None:
    op.create_index("ix_child_no_id_name_birth", "child", ["name_key", "birth_date"],
                    postgresql_where=NO_ID, sqlite_where=NO_ID)
    op.create_index("ix_import_row_no_id_name_birth", "import_row",
                    ["job_id", "name_key", "birth_date"], postgresql_where=NO_ID,
                    sqlite_where=NO_ID)


def downgrade() -> None:
    op.drop_index("ix_import_row_no_id_name_birth", table_name="import_row")
    op.drop_index("ix_child_no_id_name_birth", table_name="child")
