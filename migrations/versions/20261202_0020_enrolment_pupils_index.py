"""A school's pupils from the index: enrolment (school, status, child)

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-02 04:30:00

Schema: ``ix_enrolment_school_status_child`` replaces ``ix_enrolment_school_id``. Home-visit
coverage, the census, the ledgers and the statistics all ask for a school's pupils on the
register (status enrolled or suspended) and then join them by child; with only the school
in the index every such question read the enrolment rows themselves, scattered over the
heap (about 20,000 random page reads for a district of 2,000,000-child province data,
``bench/home_visits.py``). With status and child in the index the pupils come from it
alone; the school's own lookups use its leading column as before.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_enrolment_school_status_child", "enrolment",
                    ["school_id", "status", "child_id"])
    op.drop_index("ix_enrolment_school_id", table_name="enrolment")


def downgrade() -> None:
    op.create_index("ix_enrolment_school_id", "enrolment", ["school_id"])
    op.drop_index("ix_enrolment_school_status_child", table_name="enrolment")
