"""Home visits with their coverage checks (ST 5) and the special-needs census (ST 7)

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-02 02:47:28

Schema: ``home_visit`` (a teacher's visit to a pupil's family, outside cases, versioned),
``home_visit_check`` (a school below its minimums at a term's check point, one per school
and term, with its task), ``special_needs_census`` (a school's census of a term, one per
school and term, with its task) and ``special_needs_census_entry`` (the pupils counted per
category). Data: none.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


PATH_OPS = {"scope_path": "varchar_pattern_ops"}


def _fk(table: str, column: str, target: str) -> sa.ForeignKeyConstraint:
    other = target.split(".")[0]
    return sa.ForeignKeyConstraint([column], [target], name=f"fk_{table}_{column}_{other}")


def _term(table: str) -> list[sa.schema.SchemaItem]:
    """The columns every per-school, per-term row has (the school, district and scope)."""
    return [
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("school_id", sa.Integer(), nullable=False),
        sa.Column("district_code", sa.String(length=12), nullable=False),
        sa.Column("scope_path", sa.String(length=160), nullable=False),
        sa.Column("term_name", sa.String(length=64), nullable=False),
        sa.Column("term_start", sa.Date(), nullable=False),
        sa.Column("task_id", sa.Integer(), nullable=True),
        _fk(table, "district_code", "jurisdiction.code"),
        _fk(table, "school_id", "school.id"),
        _fk(table, "task_id", "task.id"),
        sa.PrimaryKeyConstraint("id", name=f"pk_{table}"),
        sa.UniqueConstraint("school_id", "term_start",
                            name=f"uq_{table}_school_id_term_start"),
    ]


def upgrade() -> None:
    ts = sa.DateTime(timezone=True)
    op.create_table(
        "home_visit",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("child_id", sa.Integer(), nullable=False),
        sa.Column("school_id", sa.Integer(), nullable=False),
        sa.Column("scope_path", sa.String(length=160), nullable=False),
        sa.Column("visited_on", sa.Date(), nullable=False),
        sa.Column("visitors", sa.String(length=200), nullable=False),
        sa.Column("met", sa.String(length=200), nullable=False),
        sa.Column("findings", sa.Text(), nullable=False),
        sa.Column("follow_up_needed", sa.Boolean(), nullable=False),
        sa.Column("follow_up", sa.Text(), nullable=False),
        sa.Column("recorded_at", ts, nullable=False),
        sa.Column("recorded_by", sa.Integer(), nullable=True),
        sa.Column("updated_at", ts, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        _fk("home_visit", "child_id", "child.id"),
        _fk("home_visit", "recorded_by", "app_user.id"),
        _fk("home_visit", "school_id", "school.id"),
        sa.PrimaryKeyConstraint("id", name="pk_home_visit"),
    )
    op.create_index("ix_home_visit_child_date", "home_visit", ["child_id", "visited_on"])
    op.create_index("ix_home_visit_school_date", "home_visit", ["school_id", "visited_on"])
    op.create_index("ix_home_visit_scope", "home_visit", ["scope_path"],
                    postgresql_ops=PATH_OPS)

    op.create_table(
        "home_visit_check",
        *_term("home_visit_check"),
        sa.Column("term_end", sa.Date(), nullable=False),
        sa.Column("pupils", sa.Integer(), nullable=False),
        sa.Column("short", sa.Integer(), nullable=False),
        sa.Column("checked_at", ts, nullable=False),
        sa.Column("covered_at", ts, nullable=True),
    )
    op.create_index("ix_home_visit_check_district_code", "home_visit_check", ["district_code"])

    op.create_table(
        "special_needs_census",
        *_term("special_needs_census"),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("opened_at", ts, nullable=False),
        sa.Column("submitted_at", ts, nullable=True),
        sa.Column("submitted_by", sa.Integer(), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        _fk("special_needs_census", "submitted_by", "app_user.id"),
    )
    op.create_index("ix_special_needs_census_district_code", "special_needs_census",
                    ["district_code"])
    op.create_index("ix_special_needs_census_scope", "special_needs_census", ["scope_path"],
                    postgresql_ops=PATH_OPS)

    op.create_table(
        "special_needs_census_entry",
        sa.Column("census_id", sa.Integer(), nullable=False),
        sa.Column("category", sa.String(length=48), nullable=False),
        sa.Column("child_id", sa.Integer(), nullable=False),
        _fk("special_needs_census_entry", "census_id", "special_needs_census.id"),
        _fk("special_needs_census_entry", "child_id", "child.id"),
        sa.PrimaryKeyConstraint("census_id", "category", "child_id",
                                name="pk_special_needs_census_entry"),
    )


def downgrade() -> None:
    op.drop_table("special_needs_census_entry")
    op.drop_index("ix_special_needs_census_scope", "special_needs_census")
    op.drop_index("ix_special_needs_census_district_code", "special_needs_census")
    op.drop_table("special_needs_census")
    op.drop_index("ix_home_visit_check_district_code", "home_visit_check")
    op.drop_table("home_visit_check")
    for name in ("ix_home_visit_scope", "ix_home_visit_school_date", "ix_home_visit_child_date"):
        op.drop_index(name, "home_visit")
    op.drop_table("home_visit")
