"""The comparisons' input log: which transactions changed what a comparison reads

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-02 14:00:00

Schema: table ``crosscheck_input_change`` (one row per writing transaction, its
``txid_current()``), column ``crosscheck_run.input_stamp`` (the rules' hash and the
transaction snapshot the run read its inputs from). PostgreSQL only: a statement-level
trigger on every table the comparisons read (the lists, the register, deferrals, police
corrections, cases, findings, the places) logs the writing transaction, so a rerun can tell
in one query whether anything committed since its district's last run (``pg_snapshot``
visibility) and skip the comparisons when nothing did. The comparison job's own writes are
derived from its inputs and set ``lianbao.crosscheck_run`` to stay out of the log.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0023"
down_revision: str | None = "0022"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# What the comparisons read (workflow/crosscheck/run.py, matching.py, counts.py).
INPUTS = ("base_record", "child", "guardian", "child_group", "enrolment", "school", "agency",
          "jurisdiction", "deferral", "household_correction", "dropout_case",
          "crosscheck_finding")


def upgrade() -> None:
    op.create_table(
        "crosscheck_input_change",
        sa.Column("xid", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.PrimaryKeyConstraint("xid", name=op.f("pk_crosscheck_input_change")),
    )
    with op.batch_alter_table("crosscheck_run") as batch:
        batch.add_column(sa.Column("input_stamp", sa.Text(), nullable=True))
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        """
        CREATE FUNCTION crosscheck_input_changed() RETURNS trigger AS $$
        BEGIN
            IF coalesce(current_setting('lianbao.crosscheck_run', true), '') <> 'on' THEN
                INSERT INTO crosscheck_input_change (xid) VALUES (txid_current())
                ON CONFLICT DO NOTHING;
            END IF;
            RETURN NULL;
        END;
        $$ LANGUAGE plpgsql
        """
    )
    for table in INPUTS:
        op.execute(
            f"CREATE TRIGGER {table}_crosscheck_input AFTER INSERT OR UPDATE OR DELETE "
            f"OR TRUNCATE ON {table} FOR EACH STATEMENT "
            f"EXECUTE FUNCTION crosscheck_input_changed()"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in INPUTS:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_crosscheck_input ON {table}")
        op.execute("DROP FUNCTION IF EXISTS crosscheck_input_changed()")
    with op.batch_alter_table("crosscheck_run") as batch:
        batch.drop_column("input_stamp")
    op.drop_table("crosscheck_input_change")
