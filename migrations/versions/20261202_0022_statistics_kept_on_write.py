"""Statistics kept on write: each child's facts, the children touched since, the year built for

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-02 14:00:00

Schema: ``stat_child`` (a row of facts per child for the current school year: the paths the
policy filter reads, the keys of the breakdowns, the birth date and a 0/1 flag per measure),
``stat_dirty`` (children whose facts may have changed since their row was computed, with a
touch count) and ``stat_state`` (the school year and day the rows were built for). Triggers
on every table the facts read (``child``, ``enrolment``, ``register_event``,
``dropout_case``) mark the touched children dirty in the writer's transaction, so a figure
for today (clean rows plus the dirty children computed live) is exact the moment a write
commits (issue 16; docs/statistics.md "How the figures are kept").

PostgreSQL: statement-level triggers with transition tables (one upsert per statement,
however many rows a set-based import writes). SQLite: row triggers.

Data: none; the rows are built by ``lianbao stats-rebuild`` (until then the figures are all
computed live, as before).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0022"
down_revision: str | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (table, the column naming the child, the columns whose change alters the facts: None = any)
WATCHED = [
    ("child", "id", ("birth_date", "township_code", "scope_path", "residence_path")),
    ("enrolment", "child_id", None),
    ("register_event", "child_id", None),
    ("dropout_case", "child_id", None),
]
UPSERT = "ON CONFLICT (child_id) DO UPDATE SET n = stat_dirty.n + 1"


def _postgresql_triggers(table: str, key: str, columns: tuple[str, ...] | None) -> list[str]:
    changed = ("" if columns is None else " WHERE " + " OR ".join(
        f"o.{c} IS DISTINCT FROM n.{c}" for c in columns))
    bodies = {
        "insert": ("NEW TABLE AS new_rows", f"SELECT DISTINCT {key}, 1 FROM new_rows"),
        "delete": ("OLD TABLE AS old_rows", f"SELECT DISTINCT {key}, 1 FROM old_rows"),
        "update": (
            "OLD TABLE AS old_rows NEW TABLE AS new_rows",
            # the child a row moved from and the one it moved to (a case re-attached)
            f"SELECT x, 1 FROM (SELECT o.{key} AS a, n.{key} AS b FROM old_rows o JOIN new_rows"
            f" n ON o.id = n.id{changed}) AS moved, LATERAL (VALUES (a), (b)) AS v(x)"
            " WHERE x IS NOT NULL GROUP BY x",
        ),
    }
    statements = []
    for event, (referencing, select) in bodies.items():
        name = f"stat_dirty_{table}_{event}"
        statements += [
            f"""CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
              INSERT INTO stat_dirty (child_id, n) {select} {UPSERT};
              RETURN NULL;
            END $$""",
            f"""CREATE TRIGGER {name} AFTER {event.upper()} ON {table} REFERENCING
            {referencing} FOR EACH STATEMENT EXECUTE FUNCTION {name}()""",
        ]
    return statements


def _sqlite_triggers(table: str, key: str, columns: tuple[str, ...] | None) -> list[str]:
    def mark(row: str) -> str:
        return f"INSERT INTO stat_dirty (child_id, n) VALUES ({row}.{key}, 1) {UPSERT};"

    of = "" if columns is None else " OF " + ", ".join(columns)
    return [
        f"CREATE TRIGGER stat_dirty_{table}_insert AFTER INSERT ON {table} BEGIN"
        f" {mark('NEW')} END",
        f"CREATE TRIGGER stat_dirty_{table}_delete AFTER DELETE ON {table} BEGIN"
        f" {mark('OLD')} END",
        f"CREATE TRIGGER stat_dirty_{table}_update AFTER UPDATE{of} ON {table} BEGIN"
        f" {mark('OLD')} {mark('NEW')} END",
    ]


def _postgresql() -> bool:
    return bool(op.get_bind().dialect.name == "postgresql")


def upgrade() -> None:
    flags = ("enrolled", "deferred_or_exempt", "suspected", "confirmed_dropout", "returned",
             "base", "lost", "retained")
    op.create_table(
        "stat_child",
        sa.Column("child_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("scope_path", sa.String(length=160), nullable=False),
        sa.Column("residence_path", sa.String(length=160), nullable=False),
        sa.Column("township_code", sa.String(length=12), nullable=False),
        sa.Column("school_id", sa.Integer(), nullable=True),
        sa.Column("grade", sa.Integer(), nullable=True),
        sa.Column("birth_date", sa.Date(), nullable=False),
        *(sa.Column(flag, sa.SmallInteger(), nullable=False) for flag in flags),
        sa.PrimaryKeyConstraint("child_id", name=op.f("pk_stat_child")),
    )
    with op.batch_alter_table("stat_child", schema=None) as batch_op:
        for name, column in (("ix_stat_child_scope", "scope_path"),
                             ("ix_stat_child_residence", "residence_path")):
            batch_op.create_index(name, [column], unique=False,
                                  postgresql_ops={column: "varchar_pattern_ops"})
    op.create_table(
        "stat_dirty",
        sa.Column("child_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("child_id", name=op.f("pk_stat_dirty")),
    )
    op.create_table(
        "stat_state",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("built_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stat_state")),
    )
    make = _postgresql_triggers if _postgresql() else _sqlite_triggers
    for table, key, columns in WATCHED:
        for statement in make(table, key, columns):
            op.execute(statement)


def downgrade() -> None:
    for table, _, _ in WATCHED:
        for event in ("insert", "delete", "update"):
            name = f"stat_dirty_{table}_{event}"
            op.execute(f"DROP TRIGGER IF EXISTS {name}" + (f" ON {table}" if _postgresql()
                                                           else ""))
            if _postgresql():
                op.execute(f"DROP FUNCTION IF EXISTS {name}()")
    op.drop_table("stat_state")
    op.drop_table("stat_dirty")
    with op.batch_alter_table("stat_child", schema=None) as batch_op:
        batch_op.drop_index("ix_stat_child_residence")
        batch_op.drop_index("ix_stat_child_scope")
    op.drop_table("stat_child")
