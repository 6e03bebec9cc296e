"""One recorded household correction of a kind per base record and per child

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-02 04:45:00

Schema: partial unique indexes ``uq_household_correction_recorded_base`` (base_record_id,
kind) and ``uq_household_correction_recorded_child`` (child_id, kind), both WHERE status =
'recorded'. The service checks for a recorded correction before inserting; two recordings
of the same person at once both passed that check. The indexes refuse the second (the
service answers DUPLICATE). Withdrawn corrections are outside them, so a person may be
recorded again after a withdrawal.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

RECORDED = sa.text("status = 'recorded'")


def upgrade() -> None:
    for name, column in (("uq_household_correction_recorded_base", "base_record_id"),
                         ("uq_household_correction_recorded_child", "child_id")):
        op.create_index(name, "household_correction", [column, "kind"], unique=True,
                        postgresql_where=RECORDED, sqlite_where=RECORDED)


def downgrade() -> None:
    op.drop_index("uq_household_correction_recorded_child", table_name="household_correction")
    op.drop_index("uq_household_correction_recorded_base", table_name="household_correction")
