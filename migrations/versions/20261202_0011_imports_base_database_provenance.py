"""Imports of the agencies' lists, the base database and the provenance of values (issue 14)

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02 00:00:00

Schema: ``import_job`` (an uploaded file of one source, district and period), ``import_row``
(its validated rows, staged until applied), ``import_reject`` (rejected rows with column and
reason), ``match_candidate`` (uncertain matches of children without an ID number, for a
person to confirm), ``base_record`` (each source's people: the base database of ST 1) and
``value_provenance`` (which list said what of a child, for which period, when).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Each new table (in creation order) with its indexes.
INDEXES: list[tuple[str, list[tuple[str, list[str]]]]] = [
    ("import_job", [("ix_import_job_hash", ["source", "district_code", "content_sha256"])]),
    ("base_record", [("ix_base_record_child_id", ["child_id"]),
                     ("ix_base_record_national_id", ["national_id"])]),
    ("import_reject", [("ix_import_reject_job_id", ["job_id"])]),
    ("import_row", [("ix_import_row_job_national_id", ["job_id", "national_id"])]),
    ("match_candidate", [("ix_match_candidate_child_id", ["child_id"]),
                         ("ix_match_candidate_job_id", ["job_id"])]),
    ("value_provenance", [("ix_value_provenance_job_id", ["job_id"])]),
]


def upgrade() -> None:
    op.create_table(
        "import_job",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("district_code", sa.String(length=12), nullable=False),
        sa.Column("scope_path", sa.String(length=160), nullable=False),
        sa.Column("period", sa.String(length=7), nullable=False),
        sa.Column("filename", sa.String(length=200), nullable=False),
        sa.Column("content_sha256", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("total_rows", sa.Integer(), nullable=False),
        sa.Column("valid_rows", sa.Integer(), nullable=False),
        sa.Column("rejected_rows", sa.Integer(), nullable=False),
        sa.Column(
            "counts",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("applied_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by"], ["app_user.id"], name=op.f("fk_import_job_created_by_app_user")
        ),
        sa.ForeignKeyConstraint(
            ["district_code"],
            ["jurisdiction.code"],
            name=op.f("fk_import_job_district_code_jurisdiction"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_import_job")),
    )

    op.create_table(
        "base_record",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("district_code", sa.String(length=12), nullable=False),
        sa.Column("person_key", sa.String(length=160), nullable=False),
        sa.Column("national_id", sa.String(length=18), nullable=True),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("birth_date", sa.Date(), nullable=False),
        sa.Column("household_no", sa.String(length=32), nullable=True),
        sa.Column("group", sa.String(length=32), nullable=True),
        sa.Column("township_code", sa.String(length=12), nullable=True),
        sa.Column("village", sa.String(length=64), nullable=True),
        sa.Column("child_id", sa.Integer(), nullable=True),
        sa.Column("period", sa.String(length=7), nullable=False),
        sa.Column("job_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["child_id"], ["child.id"], name=op.f("fk_base_record_child_id_child")
        ),
        sa.ForeignKeyConstraint(
            ["district_code"],
            ["jurisdiction.code"],
            name=op.f("fk_base_record_district_code_jurisdiction"),
        ),
        sa.ForeignKeyConstraint(
            ["job_id"], ["import_job.id"], name=op.f("fk_base_record_job_id_import_job")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_base_record")),
        sa.UniqueConstraint(
            "source",
            "district_code",
            "person_key",
            name=op.f("uq_base_record_source_district_code_person_key"),
        ),
    )

    op.create_table(
        "import_reject",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("job_id", sa.Integer(), nullable=False),
        sa.Column("row_no", sa.Integer(), nullable=False),
        sa.Column("column", sa.String(length=64), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.Column("value", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["job_id"], ["import_job.id"], name=op.f("fk_import_reject_job_id_import_job")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_import_reject")),
    )

    op.create_table(
        "import_row",
        sa.Column("job_id", sa.Integer(), nullable=False),
        sa.Column("row_no", sa.Integer(), nullable=False),
        sa.Column("national_id", sa.String(length=18), nullable=True),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("sex", sa.String(length=8), nullable=True),
        sa.Column("birth_date", sa.Date(), nullable=False),
        sa.Column("guardian_name", sa.String(length=64), nullable=True),
        sa.Column("guardian_relation", sa.String(length=16), nullable=True),
        sa.Column("guardian_phone", sa.String(length=20), nullable=True),
        sa.Column("school_name", sa.String(length=128), nullable=True),
        sa.Column("grade", sa.Integer(), nullable=True),
        sa.Column("class_no", sa.Integer(), nullable=True),
        sa.Column("township_code", sa.String(length=12), nullable=True),
        sa.Column("village", sa.String(length=64), nullable=True),
        sa.Column("household_no", sa.String(length=32), nullable=True),
        sa.Column("group", sa.String(length=32), nullable=True),
        sa.Column("outcome", sa.String(length=8), nullable=True),
        sa.Column("child_id", sa.Integer(), nullable=True),
        sa.Column("school_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["job_id"], ["import_job.id"], name=op.f("fk_import_row_job_id_import_job")
        ),
        sa.PrimaryKeyConstraint("job_id", "row_no", name=op.f("pk_import_row")),
    )
    op.create_table(
        "match_candidate",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("job_id", sa.Integer(), nullable=False),
        sa.Column("row_no", sa.Integer(), nullable=False),
        sa.Column("child_id", sa.Integer(), nullable=False),
        sa.Column("scope_path", sa.String(length=160), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("birth_date", sa.Date(), nullable=False),
        sa.Column("guardian_name", sa.String(length=64), nullable=True),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column(
            "row",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("decided_by", sa.Integer(), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["child_id"], ["child.id"], name=op.f("fk_match_candidate_child_id_child")
        ),
        sa.ForeignKeyConstraint(
            ["decided_by"], ["app_user.id"], name=op.f("fk_match_candidate_decided_by_app_user")
        ),
        sa.ForeignKeyConstraint(
            ["job_id"], ["import_job.id"], name=op.f("fk_match_candidate_job_id_import_job")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_match_candidate")),
    )

    op.create_table(
        "value_provenance",
        sa.Column("child_id", sa.Integer(), nullable=False),
        sa.Column("field", sa.String(length=48), nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("value", sa.String(length=200), nullable=False),
        sa.Column("period", sa.String(length=7), nullable=False),
        sa.Column("job_id", sa.Integer(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("removed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("removed_by_job", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["child_id"], ["child.id"], name=op.f("fk_value_provenance_child_id_child")
        ),
        sa.ForeignKeyConstraint(
            ["job_id"], ["import_job.id"], name=op.f("fk_value_provenance_job_id_import_job")
        ),
        sa.PrimaryKeyConstraint("child_id", "field", "source", name=op.f("pk_value_provenance")),
    )

    for table, indexes in INDEXES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            for name, columns in indexes:
                batch_op.create_index(name, columns, unique=False)


def downgrade() -> None:
    for table, indexes in reversed(INDEXES):
        with op.batch_alter_table(table, schema=None) as batch_op:
            for name, _ in indexes:
                batch_op.drop_index(name)
        op.drop_table(table)
