"""Authorization: policy rules and version in the database, the sensitive-field access log.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 15:11:43.154812
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "policy_version",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_policy_version")),
    )
    op.create_table(
        "authz_rule",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(length=48), nullable=False),
        sa.Column("domain", sa.String(length=160), nullable=False),
        sa.Column("obj", sa.String(length=64), nullable=False),
        sa.Column("act", sa.String(length=32), nullable=False),
        sa.Column("stage", sa.String(length=32), nullable=False),
        sa.Column("effect", sa.String(length=8), nullable=False),
        sa.Column("source", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["created_by"], ["app_user.id"], name=op.f("fk_authz_rule_created_by_app_user")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_authz_rule")),
        sa.UniqueConstraint(
            "role",
            "domain",
            "obj",
            "act",
            "stage",
            "effect",
            name=op.f("uq_authz_rule_role_domain_obj_act_stage_effect"),
        ),
    )
    with op.batch_alter_table("authz_rule", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_authz_rule_role"), ["role"], unique=False)

    op.create_table(
        "sensitive_access",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("request_id", sa.String(length=64), nullable=True),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("agency_id", sa.Integer(), nullable=True),
        sa.Column("agency_kind", sa.String(length=32), nullable=True),
        sa.Column("record_type", sa.String(length=32), nullable=False),
        sa.Column("record_id", sa.Integer(), nullable=False),
        sa.Column("field", sa.String(length=32), nullable=False),
        sa.Column("subject_scope", sa.String(length=160), nullable=False),
        sa.ForeignKeyConstraint(
            ["agency_id"], ["agency.id"], name=op.f("fk_sensitive_access_agency_id_agency")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["app_user.id"], name=op.f("fk_sensitive_access_user_id_app_user")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sensitive_access")),
    )
    with op.batch_alter_table("sensitive_access", schema=None) as batch_op:
        batch_op.create_index(
            "ix_sensitive_access_subject", ["subject_scope", "occurred_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_sensitive_access_user_id"), ["user_id"], unique=False)
    # The single version row every process compares against.
    op.execute(
        "INSERT INTO policy_version (id, version, changed_at) VALUES (1, 0, CURRENT_TIMESTAMP)"
    )


def downgrade() -> None:
    with op.batch_alter_table("sensitive_access", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sensitive_access_user_id"))
        batch_op.drop_index("ix_sensitive_access_subject")

    op.drop_table("sensitive_access")
    with op.batch_alter_table("authz_rule", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_authz_rule_role"))

    op.drop_table("authz_rule")
    op.drop_table("policy_version")
