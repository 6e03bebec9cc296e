"""Calendar days (national and district), residence paths, register marks past the dropout stage

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 20:10:00

Schema: ``national_calendar_day`` (the State Council's schedule with make-up working days,
filled by ``lianbao migrate`` from the chinese-calendar package) and ``school_calendar_day``
(a district's own holidays and extra school days); ``child.residence_path`` and
``dropout_case.residence_path``, the domain of where the child lives (LS 14: the village
committee's grant covers the children resident in its village). Existing children get their
home township's path (no village committee is linked to them yet); their cases, the child's.

Data: before this revision the deadline engine moved cases to ``dropout_reported`` without
the register mark SPT 7 requires (only ``markDropout`` made it). Every open case at or past
that stage whose child's register entry still says ``enrolled`` is marked now, the entry
kept, with a dated register event saying why; the marks the engine makes from now on come
from the same rule (workflow/engine.py: mark_register).
"""

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DROPOUT_REPORTED_RANK = 3  # models.enums.CaseStage.DROPOUT_REPORTED.ordinal
REPAIR_REASON = "辍学标注（保留学籍，SPT 7）: 补记 — 期限届满进入辍学上报阶段时未标注"


def upgrade() -> None:
    op.create_table(
        "national_calendar_day",
        sa.Column("on_date", sa.Date(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("on_date", name=op.f("pk_national_calendar_day")),
    )
    op.create_table(
        "school_calendar_day",
        sa.Column("jurisdiction_code", sa.String(length=12), nullable=False),
        sa.Column("on_date", sa.Date(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["jurisdiction_code"],
            ["jurisdiction.code"],
            name=op.f("fk_school_calendar_day_jurisdiction_code_jurisdiction"),
        ),
        sa.PrimaryKeyConstraint(
            "jurisdiction_code", "on_date", name=op.f("pk_school_calendar_day")
        ),
    )
    for table in ("child", "dropout_case"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(
                sa.Column(
                    "residence_path", sa.String(length=160), server_default="", nullable=False
                )
            )
            batch_op.create_index(
                f"ix_{table}_residence",
                ["residence_path"],
                unique=False,
                postgresql_ops={"residence_path": "varchar_pattern_ops"},
            )
    op.execute(
        "UPDATE child SET residence_path = (SELECT j.path FROM jurisdiction j"
        " WHERE j.code = child.township_code)"
    )
    op.execute(
        "UPDATE dropout_case SET residence_path = (SELECT c.residence_path FROM child c"
        " WHERE c.id = dropout_case.child_id)"
    )
    _mark_registers()


def _mark_registers() -> None:
    conn = op.get_bind()
    now = datetime.now(UTC)
    rows = conn.execute(
        sa.text(
            "SELECT e.id, e.child_id, e.school_id FROM enrolment e"
            " JOIN dropout_case c ON c.child_id = e.child_id"
            " WHERE c.status = 'open' AND c.stage_rank >= :rank AND e.status = 'enrolled'"
        ),
        {"rank": DROPOUT_REPORTED_RANK},
    ).all()
    for enrolment_id, child_id, school_id in rows:
        conn.execute(
            sa.text(
                "INSERT INTO register_event (child_id, school_id, on_date, from_status,"
                " to_status, reason, recorded_at, recorded_by) VALUES (:child, :school,"
                " :on, 'enrolled', 'dropout_marked', :reason, :at, NULL)"
            ),
            {"child": child_id, "school": school_id, "on": now.date(), "reason": REPAIR_REASON,
             "at": now},
        )
        conn.execute(
            sa.text(
                "UPDATE enrolment SET status = 'dropout_marked', status_since = :on,"
                " updated_at = :at WHERE id = :id"
            ),
            {"on": now.date(), "at": now, "id": enrolment_id},
        )


def downgrade() -> None:
    # The register marks stay: they record what SPT 7 required, and the register is a record.
    # Plain ALTER TABLE … DROP COLUMN (SQLite 3.35+ has it): batch mode would copy the
    # tables, which their foreign keys refuse once cases exist.
    for table in ("dropout_case", "child"):
        op.drop_index(f"ix_{table}_residence", table_name=table)
        op.drop_column(table, "residence_path")
    op.drop_table("school_calendar_day")
    op.drop_table("national_calendar_day")
