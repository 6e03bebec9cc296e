"""Task queues at province scale: a due-order index and a tally of tasks per scope

Revision ID: 0014
Revises: 0012
Create Date: 2026-12-02 00:00:00

Schema: ``ix_task_agency_due`` (agency kind, due date, id, scope path) lets a wide domain
read its first page in due order from the index; ``task_tally`` holds signed deltas of how
many tasks each (agency kind, scope path) has, written by triggers on ``task`` in the
transaction of every insert, delete and move, so a queue's ``totalCount`` is a sum over the
scopes its domain covers instead of a count of its tasks (issue 19; docs/scale.md).

PostgreSQL: statement-level triggers with transition tables (one grouped insert per
statement, however many tasks the deadline engine creates at once). SQLite: row triggers.

Data: the tally starts as one row per (agency kind, scope path) of the existing tasks.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TALLY = "INSERT INTO task_tally (agency_kind, scope_path, n) "

POSTGRESQL_TRIGGERS = [
    f"""CREATE FUNCTION task_tally_insert() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      {TALLY}SELECT agency_kind, scope_path, count(*) FROM new_rows GROUP BY 1, 2;
      RETURN NULL;
    END $$""",
    f"""CREATE FUNCTION task_tally_delete() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      {TALLY}SELECT agency_kind, scope_path, -count(*) FROM old_rows GROUP BY 1, 2;
      RETURN NULL;
    END $$""",
    f"""CREATE FUNCTION task_tally_update() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      {TALLY}SELECT agency_kind, scope_path, sum(n) FROM (
          SELECT agency_kind, scope_path, -1 AS n FROM old_rows
          UNION ALL SELECT agency_kind, scope_path, 1 FROM new_rows) AS moved
        GROUP BY 1, 2 HAVING sum(n) <> 0;
      RETURN NULL;
    END $$""",
    """CREATE TRIGGER task_tally_insert AFTER INSERT ON task REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION task_tally_insert()""",
    """CREATE TRIGGER task_tally_delete AFTER DELETE ON task REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION task_tally_delete()""",
    """CREATE TRIGGER task_tally_update AFTER UPDATE ON task
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION task_tally_update()""",
]

SQLITE_TRIGGERS = [
    f"""CREATE TRIGGER task_tally_insert AFTER INSERT ON task BEGIN
      {TALLY}VALUES (NEW.agency_kind, NEW.scope_path, 1); END""",
    f"""CREATE TRIGGER task_tally_delete AFTER DELETE ON task BEGIN
      {TALLY}VALUES (OLD.agency_kind, OLD.scope_path, -1); END""",
    f"""CREATE TRIGGER task_tally_update AFTER UPDATE OF agency_kind, scope_path ON task
    WHEN OLD.agency_kind IS NOT NEW.agency_kind OR OLD.scope_path IS NOT NEW.scope_path BEGIN
      {TALLY}VALUES (OLD.agency_kind, OLD.scope_path, -1);
      {TALLY}VALUES (NEW.agency_kind, NEW.scope_path, 1); END""",
]


def _postgresql() -> bool:
    return bool(op.get_bind().dialect.name == "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("task", schema=None) as batch_op:
        batch_op.create_index(
            "ix_task_agency_due", ["agency_kind", "due_on", "id", "scope_path"], unique=False
        )
    columns = {"id": sa.Integer(), "agency_kind": sa.String(length=32),
               "scope_path": sa.String(length=160), "n": sa.Integer()}
    op.create_table(
        "task_tally",
        *(sa.Column(name, kind, nullable=False) for name, kind in columns.items()),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_task_tally")),
    )
    with op.batch_alter_table("task_tally", schema=None) as batch_op:
        batch_op.create_index(
            "ix_task_tally_scope",
            ["agency_kind", "scope_path", "n"],
            unique=False,
            postgresql_ops={"scope_path": "varchar_pattern_ops"},
        )
    op.execute(
        f"{TALLY}SELECT agency_kind, scope_path, count(*) FROM task GROUP BY agency_kind, "
        "scope_path"
    )
    for statement in POSTGRESQL_TRIGGERS if _postgresql() else SQLITE_TRIGGERS:
        op.execute(statement)


def downgrade() -> None:
    for name in ("task_tally_insert", "task_tally_delete", "task_tally_update"):
        op.execute(f"DROP TRIGGER IF EXISTS {name}" + (" ON task" if _postgresql() else ""))
        if _postgresql():
            op.execute(f"DROP FUNCTION IF EXISTS {name}()")
    with op.batch_alter_table("task_tally", schema=None) as batch_op:
        batch_op.drop_index("ix_task_tally_scope")
    op.drop_table("task_tally")
    with op.batch_alter_table("task", schema=None) as batch_op:
        batch_op.drop_index("ix_task_agency_due")
