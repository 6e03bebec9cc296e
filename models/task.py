"""Tasks: the work queue of each agency.

A task is addressed to an agency kind within a domain (``scope_path``: usually the case's),
not to one office: the township government, the school or the district bureau whose scope
covers that path sees it in its queue. That needs no lookup of which office is which when
the deadline engine creates thousands of tasks in one statement.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Date, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, JsonDoc, StrEnumType, UTCDateTime, utcnow
from models.enums import AgencyKind, TaskStatus


class Task(Base):
    __tablename__ = "task"
    __table_args__ = (
        Index("ix_task_queue", "agency_kind", "status", "due_on", "id"),
        Index("ix_task_scope", "scope_path", postgresql_ops={"scope_path": "varchar_pattern_ops"}),
        # An agency's queue in a domain: kind, then the path prefix, with the sort keys along
        # so the page's candidates come from the index, not from scattered heap pages.
        Index(
            "ix_task_agency_scope",
            "agency_kind",
            "scope_path",
            "due_on",
            "id",
            postgresql_ops={"scope_path": "varchar_pattern_ops"},
        ),
        # The same queue read in due order: a wide domain (a province's officer sees a third
        # of all tasks) finds its first page in the first entries, the scope tested in the
        # index itself, instead of sorting every visible task (migration 0014).
        Index("ix_task_agency_due", "agency_kind", "due_on", "id", "scope_path"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(48))
    title: Mapped[str] = mapped_column(String(200))
    case_id: Mapped[int | None] = mapped_column(ForeignKey("dropout_case.id"), index=True)
    step_position: Mapped[int | None] = mapped_column(Integer, default=None)
    # The child-labour finding a task follows from (return order, penalty review, …).
    finding_id: Mapped[int | None] = mapped_column(
        ForeignKey("labour_finding.id"), index=True, default=None
    )
    agency_kind: Mapped[AgencyKind] = mapped_column(StrEnumType(AgencyKind))
    scope_path: Mapped[str] = mapped_column(String(160))
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"), index=True)
    due_on: Mapped[date] = mapped_column(Date)
    priority: Mapped[int] = mapped_column(Integer, default=2)
    status: Mapped[TaskStatus] = mapped_column(StrEnumType(TaskStatus), default=TaskStatus.OPEN)
    outcome: Mapped[str | None] = mapped_column(Text, default=None)
    evidence: Mapped[dict[str, Any]] = mapped_column(JsonDoc, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    breached_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012


class TaskTally(Base):
    """How many tasks each (agency kind, scope path) holds, as rows of signed deltas.

    Kept by triggers on ``task`` in the same transaction as every insert, delete and move of
    a task (migration 0014), so ``sum(n)`` over the rows a domain covers is exactly the
    number of tasks in that queue: a queue's ``totalCount`` without counting its tasks (a
    province's officer sees 167,000 of them). Deltas rather than one counter per key, so
    concurrent transactions that add tasks to the same school never wait on one row; the
    deadline engine folds them into one row per key (``workflow/task.compact_tallies``).
    """

    __tablename__ = "task_tally"
    __table_args__ = (
        Index(
            "ix_task_tally_scope",
            "agency_kind",
            "scope_path",
            "n",
            postgresql_ops={"scope_path": "varchar_pattern_ops"},
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    agency_kind: Mapped[AgencyKind] = mapped_column(StrEnumType(AgencyKind))
    scope_path: Mapped[str] = mapped_column(String(160))
    n: Mapped[int] = mapped_column(Integer)
