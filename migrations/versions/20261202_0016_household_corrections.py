"""The police household-register clean-up (issue 15, ST 8)

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-02 03:00:00

Schema: ``household_correction`` (a duplicate, death, move or missing person the police
recorded on their household list, with the person's identity as it was), indexed for the
comparisons' NOT EXISTS probes by base record and by child, and by (district, kind, date);
``base_record.correction_id`` / ``corrected_at``: the agency that holds the record applied a
correction to it.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEXES: list[tuple[str, list[str]]] = [
    ("ix_household_correction_base_record", ["base_record_id", "kind", "status"]),
    ("ix_household_correction_child", ["child_id", "kind", "status"]),
    ("ix_household_correction_district", ["district_code", "kind", "effective_on"]),
    ("ix_household_correction_national_id", ["national_id"]),
]


def upgrade() -> None:
    op.create_table(
        "household_correction",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("district_code", sa.String(length=12), nullable=False),
        sa.Column("scope_path", sa.String(length=160), nullable=False),
        sa.Column("base_record_id", sa.Integer(), nullable=True),
        sa.Column("child_id", sa.Integer(), nullable=True),
        sa.Column("national_id", sa.String(length=18), nullable=True),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("birth_date", sa.Date(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("duplicate_of_base_record_id", sa.Integer(), nullable=True),
        sa.Column("moved_to", sa.Text(), nullable=False),
        sa.Column("effective_on", sa.Date(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("withdrawn_reason", sa.Text(), nullable=False),
        sa.Column("recorded_by", sa.Integer(), nullable=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["base_record_id"],
            ["base_record.id"],
            name=op.f("fk_household_correction_base_record_id_base_record"),
        ),
        sa.ForeignKeyConstraint(
            ["child_id"], ["child.id"], name=op.f("fk_household_correction_child_id_child")
        ),
        sa.ForeignKeyConstraint(
            ["district_code"],
            ["jurisdiction.code"],
            name=op.f("fk_household_correction_district_code_jurisdiction"),
        ),
        sa.ForeignKeyConstraint(
            ["duplicate_of_base_record_id"],
            ["base_record.id"],
            name=op.f("fk_household_correction_duplicate_of_base_record_id_base_record"),
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by"],
            ["app_user.id"],
            name=op.f("fk_household_correction_recorded_by_app_user"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_household_correction")),
    )
    with op.batch_alter_table("household_correction", schema=None) as batch_op:
        for name, columns in INDEXES:
            batch_op.create_index(name, columns, unique=False)
        batch_op.create_index(
            "ix_household_correction_scope",
            ["scope_path"],
            unique=False,
            postgresql_ops={"scope_path": "varchar_pattern_ops"},
        )
    with op.batch_alter_table("base_record", schema=None) as batch_op:
        batch_op.add_column(sa.Column("correction_id", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column("corrected_at", sa.DateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("base_record", schema=None) as batch_op:
        batch_op.drop_column("corrected_at")
        batch_op.drop_column("correction_id")
    with op.batch_alter_table("household_correction", schema=None) as batch_op:
        batch_op.drop_index("ix_household_correction_scope")
        for name, _ in reversed(INDEXES):
            batch_op.drop_index(name)
    op.drop_table("household_correction")
