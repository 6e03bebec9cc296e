"""Periodic reports (四个一 reporting) and accountability items (SPT 8)

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02 00:00:00

Schema: ``periodic_report`` (a report per kind, reporting unit and period, with the figures
drafted from the data and frozen when submitted) and ``accountability_item`` (what the
monthly scan raised against a district, school or township, with its evidence and review),
``accountability_scan`` (each district's monthly scan, claimed once), and the blacklist of
illegal substitute schooling (``substitute_schooling``, ``substitute_schooling_case``; ST 10).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(sa.dialects.postgresql.JSONB(), "postgresql")


TYPES: dict[str, sa.types.TypeEngine[object]] = {
    "int": sa.Integer(), "date": sa.Date(), "ts": sa.DateTime(timezone=True), "text": sa.Text(),
    "json": JSON, **{f"s{n}": sa.String(length=n) for n in (12, 16, 32, 48, 128, 160, 200, 300)},
}
# Each table's columns as "name:type" ("!" for NOT NULL), in the models' order; the review
# columns (models.report.Reviewed) close both.
REVIEWED = "reviewed_at:ts reviewed_by:int review_note:text! version:int!"
TABLES = {
    "periodic_report": (
        "id:int! kind:s48! district_code:s12! unit_kind:s32! unit_path:s160! unit_name:s128! "
        "school_id:int period_start:date! period_end:date! due_on:date! status:s32! "
        "figures:json! drafted_at:ts! task_id:int submitted_at:ts submitted_by:int",
        "unit_path", ("kind", "unit_path", "period_start"),
        (("school_id", "school.id"), ("task_id", "task.id"), ("submitted_by", "app_user.id")),
    ),
    "accountability_item": (
        "id:int! district_code:s12! rule_code:s48! subject_kind:s16! subject_path:s160! "
        "subject_name:s128! month:date! month_in_row:int! consequence:s200! since:date! "
        "evidence:json! status:s32! raised_at:ts!",
        "subject_path", ("rule_code", "subject_path", "month"), (),
    ),
}


def _columns(spec: str) -> list[sa.Column[object]]:
    columns = []
    for item in spec.split():
        name, kind = item.split(":")
        columns.append(
            sa.Column(name, TYPES[kind.rstrip("!")], nullable=not kind.endswith("!"))
        )
    return columns


def upgrade() -> None:
    for table, (spec, path, unique, keys) in TABLES.items():
        foreign = (*keys, ("reviewed_by", "app_user.id"), ("district_code", "jurisdiction.code"))
        op.create_table(
            table,
            *_columns(f"{spec} {REVIEWED}"),
            *(
                sa.ForeignKeyConstraint(
                    [column], [target],
                    name=op.f(f"fk_{table}_{column}_{target.split('.')[0]}"),
                )
                for column, target in foreign
            ),
            sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{table}")),
            sa.UniqueConstraint(*unique, name=f"uq_{table}_period"),
        )
        op.create_index(op.f(f"ix_{table}_district_code"), table, ["district_code"])
        op.create_index(f"ix_{table}_scope", table, [path],
                        postgresql_ops={path: "varchar_pattern_ops"})


    op.create_table(
        "accountability_scan",
        *_columns("district_code:s12! month:date! scanned_at:ts! items:int!"),
        sa.ForeignKeyConstraint(["district_code"], ["jurisdiction.code"],
                                name=op.f("fk_accountability_scan_district_code_jurisdiction")),
        sa.PrimaryKeyConstraint("district_code", "month", name=op.f("pk_accountability_scan")),
    )


    _blacklist()


def _blacklist() -> None:
    """models.prevention: the blacklist of illegal substitute schooling and its cases."""
    table = "substitute_schooling"
    op.create_table(
        table,
        *_columns("id:int! district_code:s12! township_code:s12! scope_path:s160! name:s200! "
                  "kind:s32! address:s300! evidence:text! found_on:date! listed_at:ts! "
                  "listed_by:int lifted_at:ts lift_reason:text! version:int!"),
        *(sa.ForeignKeyConstraint([c], [t], name=op.f(f"fk_{table}_{c}_{t.split('.')[0]}"))
          for c, t in (("district_code", "jurisdiction.code"),
                       ("township_code", "jurisdiction.code"), ("listed_by", "app_user.id"))),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{table}")),
    )
    op.create_index(op.f(f"ix_{table}_district_code"), table, ["district_code"])
    op.create_index(f"ix_{table}_scope", table, ["scope_path"],
                    postgresql_ops={"scope_path": "varchar_pattern_ops"})
    op.create_table(
        "substitute_schooling_case",
        *_columns("entry_id:int! case_id:int!"),
        sa.ForeignKeyConstraint(["entry_id"], ["substitute_schooling.id"],
                                name=op.f("fk_substitute_schooling_case_entry_id_substitute_schooling")),
        sa.ForeignKeyConstraint(["case_id"], ["dropout_case.id"],
                                name=op.f("fk_substitute_schooling_case_case_id_dropout_case")),
        sa.PrimaryKeyConstraint("entry_id", "case_id", name=op.f("pk_substitute_schooling_case")),
    )


def downgrade() -> None:
    op.drop_table("substitute_schooling_case")
    op.drop_index("ix_substitute_schooling_scope", table_name="substitute_schooling")
    op.drop_index(op.f("ix_substitute_schooling_district_code"), table_name="substitute_schooling")
    op.drop_table("substitute_schooling")
    op.drop_table("accountability_scan")
    for table in reversed(TABLES):
        op.drop_index(f"ix_{table}_scope", table_name=table)
        op.drop_index(op.f(f"ix_{table}_district_code"), table_name=table)
        op.drop_table(table)
