"""Child-labour inspections: employers, campaigns, inspections, findings, enforcement

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-23 17:28:56.790503
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "employer",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("credit_code", sa.String(length=18), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("address", sa.String(length=300), nullable=False),
        sa.Column("legal_representative", sa.String(length=64), nullable=False),
        sa.Column("township_code", sa.String(length=12), nullable=False),
        sa.Column("district_code", sa.String(length=12), nullable=False),
        sa.Column("scope_path", sa.String(length=160), nullable=False),
        sa.Column("licence_status", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by"], ["app_user.id"], name=op.f("fk_employer_created_by_app_user")
        ),
        sa.ForeignKeyConstraint(
            ["district_code"],
            ["jurisdiction.code"],
            name=op.f("fk_employer_district_code_jurisdiction"),
        ),
        sa.ForeignKeyConstraint(
            ["township_code"],
            ["jurisdiction.code"],
            name=op.f("fk_employer_township_code_jurisdiction"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_employer")),
        sa.UniqueConstraint("credit_code", name=op.f("uq_employer_credit_code")),
    )
    with op.batch_alter_table("employer", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_employer_name"), ["name"], unique=False)
        batch_op.create_index(
            "ix_employer_scope",
            ["scope_path"],
            unique=False,
            postgresql_ops={"scope_path": "varchar_pattern_ops"},
        )
        batch_op.create_index(
            batch_op.f("ix_employer_township_code"), ["township_code"], unique=False
        )

    op.create_table(
        "inspection_campaign",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("district_code", sa.String(length=12), nullable=False),
        sa.Column("scope_path", sa.String(length=160), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=False),
        sa.Column("lead_agency_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["created_by"], ["app_user.id"], name=op.f("fk_inspection_campaign_created_by_app_user")
        ),
        sa.ForeignKeyConstraint(
            ["district_code"],
            ["jurisdiction.code"],
            name=op.f("fk_inspection_campaign_district_code_jurisdiction"),
        ),
        sa.ForeignKeyConstraint(
            ["lead_agency_id"],
            ["agency.id"],
            name=op.f("fk_inspection_campaign_lead_agency_id_agency"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inspection_campaign")),
    )
    op.create_table(
        "inspection",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("lead_agency_id", sa.Integer(), nullable=False),
        sa.Column("district_code", sa.String(length=12), nullable=False),
        sa.Column("scope_path", sa.String(length=160), nullable=False),
        sa.Column("planned_on", sa.Date(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["inspection_campaign.id"],
            name=op.f("fk_inspection_campaign_id_inspection_campaign"),
        ),
        sa.ForeignKeyConstraint(
            ["created_by"], ["app_user.id"], name=op.f("fk_inspection_created_by_app_user")
        ),
        sa.ForeignKeyConstraint(
            ["district_code"],
            ["jurisdiction.code"],
            name=op.f("fk_inspection_district_code_jurisdiction"),
        ),
        sa.ForeignKeyConstraint(
            ["lead_agency_id"], ["agency.id"], name=op.f("fk_inspection_lead_agency_id_agency")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inspection")),
    )
    with op.batch_alter_table("inspection", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_inspection_campaign_id"), ["campaign_id"], unique=False
        )
        batch_op.create_index(
            "ix_inspection_scope",
            ["scope_path", "planned_on"],
            unique=False,
            postgresql_ops={"scope_path": "varchar_pattern_ops"},
        )

    op.create_table(
        "inspection_participant",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("inspection_id", sa.Integer(), nullable=False),
        sa.Column("agency_id", sa.Integer(), nullable=False),
        sa.Column("agency_kind", sa.String(length=32), nullable=False),
        sa.Column("officer_name", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["agency_id"], ["agency.id"], name=op.f("fk_inspection_participant_agency_id_agency")
        ),
        sa.ForeignKeyConstraint(
            ["inspection_id"],
            ["inspection.id"],
            name=op.f("fk_inspection_participant_inspection_id_inspection"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inspection_participant")),
        sa.UniqueConstraint(
            "inspection_id",
            "agency_id",
            "officer_name",
            name=op.f("uq_inspection_participant_inspection_id_agency_id_officer_name"),
        ),
    )
    with op.batch_alter_table("inspection_participant", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_inspection_participant_inspection_id"), ["inspection_id"], unique=False
        )

    op.create_table(
        "inspection_visit",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("inspection_id", sa.Integer(), nullable=False),
        sa.Column("employer_id", sa.Integer(), nullable=False),
        sa.Column("visited_on", sa.Date(), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["employer_id"], ["employer.id"], name=op.f("fk_inspection_visit_employer_id_employer")
        ),
        sa.ForeignKeyConstraint(
            ["inspection_id"],
            ["inspection.id"],
            name=op.f("fk_inspection_visit_inspection_id_inspection"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inspection_visit")),
        sa.UniqueConstraint(
            "inspection_id",
            "employer_id",
            name=op.f("uq_inspection_visit_inspection_id_employer_id"),
        ),
    )
    with op.batch_alter_table("inspection_visit", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_inspection_visit_employer_id"), ["employer_id"], unique=False
        )

    op.create_table(
        "labour_finding",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("inspection_id", sa.Integer(), nullable=True),
        sa.Column("employer_id", sa.Integer(), nullable=False),
        sa.Column("scope_path", sa.String(length=160), nullable=False),
        sa.Column("found_on", sa.Date(), nullable=False),
        sa.Column("child_id", sa.Integer(), nullable=True),
        sa.Column("case_id", sa.Integer(), nullable=True),
        sa.Column("child_name", sa.String(length=64), nullable=False),
        sa.Column("national_id", sa.String(length=18), nullable=True),
        sa.Column("sex", sa.String(length=32), nullable=True),
        sa.Column("birth_date", sa.Date(), nullable=True),
        sa.Column("age_at_finding", sa.Integer(), nullable=False),
        sa.Column("under_16", sa.Boolean(), nullable=False),
        sa.Column("employed_since", sa.Date(), nullable=True),
        sa.Column("work", sa.String(length=200), nullable=False),
        sa.Column("hours_per_day", sa.Integer(), nullable=True),
        sa.Column("conditions", sa.Text(), nullable=False),
        sa.Column("hazardous", sa.Boolean(), nullable=False),
        sa.Column(
            "evidence",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_by", sa.Integer(), nullable=True),
        sa.Column("recorded_agency_kind", sa.String(length=32), nullable=True),
        sa.Column("idempotency_key", sa.String(length=64), nullable=False),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["dropout_case.id"], name=op.f("fk_labour_finding_case_id_dropout_case")
        ),
        sa.ForeignKeyConstraint(
            ["child_id"], ["child.id"], name=op.f("fk_labour_finding_child_id_child")
        ),
        sa.ForeignKeyConstraint(
            ["employer_id"], ["employer.id"], name=op.f("fk_labour_finding_employer_id_employer")
        ),
        sa.ForeignKeyConstraint(
            ["inspection_id"],
            ["inspection.id"],
            name=op.f("fk_labour_finding_inspection_id_inspection"),
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by"], ["app_user.id"], name=op.f("fk_labour_finding_recorded_by_app_user")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_labour_finding")),
        sa.UniqueConstraint(
            "recorded_by",
            "idempotency_key",
            name=op.f("uq_labour_finding_recorded_by_idempotency_key"),
        ),
    )
    with op.batch_alter_table("labour_finding", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_labour_finding_case_id"), ["case_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_labour_finding_child_id"), ["child_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_labour_finding_employer_id"), ["employer_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_labour_finding_inspection_id"), ["inspection_id"], unique=False
        )
        batch_op.create_index(
            "ix_labour_finding_scope",
            ["scope_path"],
            unique=False,
            postgresql_ops={"scope_path": "varchar_pattern_ops"},
        )

    op.create_table(
        "enforcement_action",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("employer_id", sa.Integer(), nullable=False),
        sa.Column("inspection_id", sa.Integer(), nullable=True),
        sa.Column("scope_path", sa.String(length=160), nullable=False),
        sa.Column("district_code", sa.String(length=12), nullable=False),
        sa.Column("agency_id", sa.Integer(), nullable=False),
        sa.Column("agency_kind", sa.String(length=32), nullable=False),
        sa.Column("document_id", sa.Integer(), nullable=False),
        sa.Column("deadline_days", sa.Integer(), nullable=True),
        sa.Column("served_on", sa.Date(), nullable=True),
        sa.Column("due_on", sa.Date(), nullable=True),
        sa.Column("complied_on", sa.Date(), nullable=True),
        sa.Column("compliance_note", sa.Text(), nullable=False),
        sa.Column("amount", sa.Integer(), nullable=True),
        sa.Column(
            "calculation",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("escalated", sa.Boolean(), nullable=False),
        sa.Column("paid_on", sa.Date(), nullable=True),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("issued_by", sa.Integer(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["agency_id"], ["agency.id"], name=op.f("fk_enforcement_action_agency_id_agency")
        ),
        sa.ForeignKeyConstraint(
            ["district_code"],
            ["jurisdiction.code"],
            name=op.f("fk_enforcement_action_district_code_jurisdiction"),
        ),
        sa.ForeignKeyConstraint(
            ["document_id"],
            ["legal_document.id"],
            name=op.f("fk_enforcement_action_document_id_legal_document"),
        ),
        sa.ForeignKeyConstraint(
            ["employer_id"],
            ["employer.id"],
            name=op.f("fk_enforcement_action_employer_id_employer"),
        ),
        sa.ForeignKeyConstraint(
            ["inspection_id"],
            ["inspection.id"],
            name=op.f("fk_enforcement_action_inspection_id_inspection"),
        ),
        sa.ForeignKeyConstraint(
            ["issued_by"], ["app_user.id"], name=op.f("fk_enforcement_action_issued_by_app_user")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_enforcement_action")),
        sa.UniqueConstraint("document_id", name=op.f("uq_enforcement_action_document_id")),
    )
    with op.batch_alter_table("enforcement_action", schema=None) as batch_op:
        batch_op.create_index("ix_enforcement_action_due", ["status", "due_on"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_enforcement_action_employer_id"), ["employer_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_enforcement_action_inspection_id"), ["inspection_id"], unique=False
        )
        batch_op.create_index(
            "ix_enforcement_action_scope",
            ["scope_path"],
            unique=False,
            postgresql_ops={"scope_path": "varchar_pattern_ops"},
        )

    op.create_table(
        "enforcement_finding",
        sa.Column("action_id", sa.Integer(), nullable=False),
        sa.Column("finding_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["action_id"],
            ["enforcement_action.id"],
            name=op.f("fk_enforcement_finding_action_id_enforcement_action"),
        ),
        sa.ForeignKeyConstraint(
            ["finding_id"],
            ["labour_finding.id"],
            name=op.f("fk_enforcement_finding_finding_id_labour_finding"),
        ),
        sa.PrimaryKeyConstraint("action_id", "finding_id", name=op.f("pk_enforcement_finding")),
    )
    with op.batch_alter_table("enforcement_finding", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_enforcement_finding_finding_id"), ["finding_id"], unique=False
        )

    with op.batch_alter_table("task", schema=None) as batch_op:
        batch_op.add_column(sa.Column("finding_id", sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f("ix_task_finding_id"), ["finding_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_task_finding_id_labour_finding"),
            "labour_finding",
            ["finding_id"],
            ["id"],
        )


def downgrade() -> None:
    with op.batch_alter_table("task", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_task_finding_id_labour_finding"), type_="foreignkey"
        )
        batch_op.drop_index(batch_op.f("ix_task_finding_id"))
        batch_op.drop_column("finding_id")

    with op.batch_alter_table("enforcement_finding", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_enforcement_finding_finding_id"))

    op.drop_table("enforcement_finding")
    with op.batch_alter_table("enforcement_action", schema=None) as batch_op:
        batch_op.drop_index(
            "ix_enforcement_action_scope", postgresql_ops={"scope_path": "varchar_pattern_ops"}
        )
        batch_op.drop_index(batch_op.f("ix_enforcement_action_inspection_id"))
        batch_op.drop_index(batch_op.f("ix_enforcement_action_employer_id"))
        batch_op.drop_index("ix_enforcement_action_due")

    op.drop_table("enforcement_action")
    with op.batch_alter_table("labour_finding", schema=None) as batch_op:
        batch_op.drop_index(
            "ix_labour_finding_scope", postgresql_ops={"scope_path": "varchar_pattern_ops"}
        )
        batch_op.drop_index(batch_op.f("ix_labour_finding_inspection_id"))
        batch_op.drop_index(batch_op.f("ix_labour_finding_employer_id"))
        batch_op.drop_index(batch_op.f("ix_labour_finding_child_id"))
        batch_op.drop_index(batch_op.f("ix_labour_finding_case_id"))

    op.drop_table("labour_finding")
    with op.batch_alter_table("inspection_visit", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_inspection_visit_employer_id"))

    op.drop_table("inspection_visit")
    with op.batch_alter_table("inspection_participant", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_inspection_participant_inspection_id"))

    op.drop_table("inspection_participant")
    with op.batch_alter_table("inspection", schema=None) as batch_op:
        batch_op.drop_index(
            "ix_inspection_scope", postgresql_ops={"scope_path": "varchar_pattern_ops"}
        )
        batch_op.drop_index(batch_op.f("ix_inspection_campaign_id"))

    op.drop_table("inspection")
    op.drop_table("inspection_campaign")
    with op.batch_alter_table("employer", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_employer_township_code"))
        batch_op.drop_index(
            "ix_employer_scope", postgresql_ops={"scope_path": "varchar_pattern_ops"}
        )
        batch_op.drop_index(batch_op.f("ix_employer_name"))

    op.drop_table("employer")
