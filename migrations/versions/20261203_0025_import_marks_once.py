"""Imports mark the statistics' dirty children once; one register-event index fewer

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-03 14:00:00

Schema (PostgreSQL): the insert triggers of migration 0022 on ``child``, ``enrolment`` and
``register_event`` leave the marking to the writer when it set
``lianbao.stat_dirty_by_writer`` in its transaction (a set-based import marks each child
once: ``workflow/stats_marks.py``); every other writer is marked as before. Both
databases: the index ``ix_register_event_child_id`` is dropped, its column being the first
of ``ix_register_event_child_day`` (every lookup by child is served by that one; an import
of 2,000,000 children maintained both). PostgreSQL: ``import_row`` is filled to half its
pages (``fillfactor = 50``): the merge writes each matched row's child into it, and with room
on the page that is a heap-only update that leaves its three indexes alone (COPY fills
pages full, so each of 2,000,000 such updates wrote three index entries: 46 s).

Data: none.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0025"
down_revision: str | None = "0024"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (table, the column naming the child): the insert triggers of 0022.
INSERTS = (("child", "id"), ("enrolment", "child_id"), ("register_event", "child_id"))
SKIP = ("IF coalesce(current_setting('lianbao.stat_dirty_by_writer', true), '') = 'on' THEN "
        "RETURN NULL; END IF;")


def _insert_trigger(table: str, key: str, writer_marks: bool) -> str:
    return f"""CREATE OR REPLACE FUNCTION stat_dirty_{table}_insert() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
      {SKIP if writer_marks else ''}
      INSERT INTO stat_dirty (child_id, n) SELECT DISTINCT {key}, 1 FROM new_rows
      ON CONFLICT (child_id) DO UPDATE SET n = stat_dirty.n + 1;
      RETURN NULL;
    END $$"""


def _postgresql() -> bool:
    return bool(op.get_bind().dialect.name == "postgresql")


def upgrade() -> None:
    if _postgresql():
        for table, key in INSERTS:
            op.execute(_insert_trigger(table, key, writer_marks=True))
        op.execute("ALTER TABLE import_row SET (fillfactor = 50)")
    with op.batch_alter_table("register_event", schema=None) as batch_op:
        batch_op.drop_index("ix_register_event_child_id")


def downgrade() -> None:
    with op.batch_alter_table("register_event", schema=None) as batch_op:
        batch_op.create_index("ix_register_event_child_id", ["child_id"], unique=False)
    if _postgresql():
        op.execute("ALTER TABLE import_row RESET (fillfactor)")
        for table, key in INSERTS:
            op.execute(_insert_trigger(table, key, writer_marks=False))
