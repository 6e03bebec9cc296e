"""Legal documents (法律文书) and their per-agency, per-year number sequences.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23 01:17:56.043919
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "document_sequence",
        sa.Column("agency_id", sa.Integer(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("last_number", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["agency_id"], ["agency.id"], name=op.f("fk_document_sequence_agency_id_agency")
        ),
        sa.PrimaryKeyConstraint("agency_id", "year", name=op.f("pk_document_sequence")),
    )
    op.create_table(
        "legal_document",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=True),
        sa.Column("scope_path", sa.String(length=160), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("title", sa.String(length=100), nullable=False),
        sa.Column("issuer_agency_id", sa.Integer(), nullable=False),
        sa.Column("issuer_agency_kind", sa.String(length=32), nullable=False),
        sa.Column("addressee", sa.String(length=200), nullable=False),
        sa.Column(
            "fields",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column(
            "legal_basis",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("number_year", sa.Integer(), nullable=True),
        sa.Column("number_seq", sa.Integer(), nullable=True),
        sa.Column("number", sa.String(length=64), nullable=True),
        sa.Column("verification_code", sa.String(length=16), nullable=True),
        sa.Column("pdf_sha256", sa.String(length=64), nullable=True),
        sa.Column("pdf", sa.LargeBinary(), nullable=True),
        sa.Column("drafted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("drafted_by", sa.Integer(), nullable=True),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("issued_on", sa.Date(), nullable=True),
        sa.Column("issued_by", sa.Integer(), nullable=True),
        sa.Column("served_on", sa.Date(), nullable=True),
        sa.Column("served_to", sa.String(length=200), nullable=True),
        sa.Column("service_method", sa.String(length=32), nullable=True),
        sa.Column("served_recorded_by", sa.Integer(), nullable=True),
        sa.Column("voided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("voided_by", sa.Integer(), nullable=True),
        sa.Column("void_reason", sa.Text(), nullable=True),
        sa.Column("replaces_id", sa.Integer(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["dropout_case.id"], name=op.f("fk_legal_document_case_id_dropout_case")
        ),
        sa.ForeignKeyConstraint(
            ["drafted_by"], ["app_user.id"], name=op.f("fk_legal_document_drafted_by_app_user")
        ),
        sa.ForeignKeyConstraint(
            ["issued_by"], ["app_user.id"], name=op.f("fk_legal_document_issued_by_app_user")
        ),
        sa.ForeignKeyConstraint(
            ["issuer_agency_id"],
            ["agency.id"],
            name=op.f("fk_legal_document_issuer_agency_id_agency"),
        ),
        sa.ForeignKeyConstraint(
            ["replaces_id"],
            ["legal_document.id"],
            name=op.f("fk_legal_document_replaces_id_legal_document"),
        ),
        sa.ForeignKeyConstraint(
            ["served_recorded_by"],
            ["app_user.id"],
            name=op.f("fk_legal_document_served_recorded_by_app_user"),
        ),
        sa.ForeignKeyConstraint(
            ["voided_by"], ["app_user.id"], name=op.f("fk_legal_document_voided_by_app_user")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_legal_document")),
        sa.UniqueConstraint(
            "issuer_agency_id",
            "number_year",
            "number_seq",
            name=op.f("uq_legal_document_issuer_agency_id_number_year_number_seq"),
        ),
        sa.UniqueConstraint("number", name=op.f("uq_legal_document_number")),
        sa.UniqueConstraint("verification_code", name=op.f("uq_legal_document_verification_code")),
    )
    with op.batch_alter_table("legal_document", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_legal_document_case_id"), ["case_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_legal_document_issuer_agency_id"), ["issuer_agency_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_legal_document_replaces_id"), ["replaces_id"], unique=False
        )
        batch_op.create_index(
            "ix_legal_document_scope",
            ["scope_path"],
            unique=False,
            postgresql_ops={"scope_path": "varchar_pattern_ops"},
        )


def downgrade() -> None:
    with op.batch_alter_table("legal_document", schema=None) as batch_op:
        batch_op.drop_index(
            "ix_legal_document_scope", postgresql_ops={"scope_path": "varchar_pattern_ops"}
        )
        batch_op.drop_index(batch_op.f("ix_legal_document_replaces_id"))
        batch_op.drop_index(batch_op.f("ix_legal_document_issuer_agency_id"))
        batch_op.drop_index(batch_op.f("ix_legal_document_case_id"))

    op.drop_table("legal_document")
    op.drop_table("document_sequence")
