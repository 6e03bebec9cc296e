"""The audit trail refuses TRUNCATE too (PostgreSQL)

The row triggers of 0001 refuse UPDATE and DELETE, but TRUNCATE fires no row triggers, so
``TRUNCATE audit_event`` emptied the trail. A statement-level ``BEFORE TRUNCATE`` trigger
refuses it for every role, the owner included; the server's own role additionally lacks the
privilege (api/db_roles.py). SQLite has no TRUNCATE (its ``DELETE`` is caught by 0001).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 20:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        """
        CREATE FUNCTION audit_event_no_truncate() RETURNS trigger AS $$
        BEGIN
            RAISE EXCEPTION 'audit_event rows are append-only: TRUNCATE refused'
                USING ERRCODE = 'insufficient_privilege';
        END;
        $$ LANGUAGE plpgsql
        """
    )
    op.execute(
        "CREATE TRIGGER audit_event_no_truncate BEFORE TRUNCATE ON audit_event "
        "FOR EACH STATEMENT EXECUTE FUNCTION audit_event_no_truncate()"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP TRIGGER IF EXISTS audit_event_no_truncate ON audit_event")
    op.execute("DROP FUNCTION IF EXISTS audit_event_no_truncate()")
