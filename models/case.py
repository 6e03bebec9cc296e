"""Joint cases (联保案件): a dropout case per child, its schedule, timeline and plan.

Nothing here is ever deleted: a closed case stays on record and can be reopened.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Date, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import (
    Base,
    BigId,
    JsonDoc,
    StrEnumType,
    UTCDateTime,
    Versioned,
    path_index,
    utcnow,
)
from models.enums import (
    AgencyKind,
    CaseStage,
    CaseStatus,
    ClosureReason,
    DropoutCause,
    PersuasionMethod,
    PersuasionOutcome,
)


class DropoutCase(Versioned, Base):
    __tablename__ = "dropout_case"
    __table_args__ = (
        # One open dropout case per child; reporting again adds to it.
        Index(
            "uq_dropout_case_open_child",
            "child_id",
            unique=True,
            postgresql_where=text("status = 'open'"),
            sqlite_where=text("status = 'open'"),
        ),
        path_index("ix_dropout_case_scope", "scope_path", "stage_rank"),
        path_index("ix_dropout_case_residence", "residence_path"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), default="dropout")
    child_id: Mapped[int] = mapped_column(ForeignKey("child.id"), index=True)
    school_id: Mapped[int | None] = mapped_column(ForeignKey("school.id"), index=True)
    # The Casbin domain of the case: the child's school (or home township) path.
    scope_path: Mapped[str] = mapped_column(String(160))
    # Its second domain, copied from the child when the case opens: where the child lives
    # (the village committee's tasks and view of the case, LS 14); '' when unknown.
    residence_path: Mapped[str] = mapped_column(String(160), server_default="")
    township_code: Mapped[str] = mapped_column(ForeignKey("jurisdiction.code"), index=True)
    district_code: Mapped[str] = mapped_column(ForeignKey("jurisdiction.code"))
    ladder_id: Mapped[int] = mapped_column(ForeignKey("ladder.id"))
    status: Mapped[CaseStatus] = mapped_column(StrEnumType(CaseStatus), default=CaseStatus.OPEN)
    stage: Mapped[CaseStage] = mapped_column(StrEnumType(CaseStage))
    # CaseStage.ordinal, stored so the policy's "from stage S on" compiles to SQL.
    stage_rank: Mapped[int] = mapped_column(Integer)
    step_position: Mapped[int] = mapped_column(Integer, default=0)
    day0: Mapped[date] = mapped_column(Date)
    next_due_on: Mapped[date | None] = mapped_column(Date, index=True, default=None)
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    opened_by: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"), default=None)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    closure_reason: Mapped[ClosureReason | None] = mapped_column(
        StrEnumType(ClosureReason), default=None
    )
    stage_before_close: Mapped[CaseStage | None] = mapped_column(
        StrEnumType(CaseStage), default=None
    )


class CaseStepDue(Base):
    """When each timed step of a case falls due; ``reached_at`` once it was entered."""

    __tablename__ = "case_step_due"
    __table_args__ = (Index("ix_case_step_due_pending", "due_on", "reached_at"),)

    case_id: Mapped[int] = mapped_column(ForeignKey("dropout_case.id"), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    due_on: Mapped[date] = mapped_column(Date)
    reached_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)


class CaseEvent(Base):
    """The case timeline: every report, persuasion, stage change, note, closure, reopening."""

    __tablename__ = "case_event"
    __table_args__ = (Index("ix_case_event_case", "case_id", "id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("dropout_case.id"))
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime())
    kind: Mapped[str] = mapped_column(String(32))
    actor_user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"), default=None)
    actor_username: Mapped[str] = mapped_column(String(64))
    actor_agency_kind: Mapped[AgencyKind | None] = mapped_column(
        StrEnumType(AgencyKind), default=None
    )
    from_stage: Mapped[CaseStage | None] = mapped_column(StrEnumType(CaseStage), default=None)
    to_stage: Mapped[CaseStage | None] = mapped_column(StrEnumType(CaseStage), default=None)
    reason: Mapped[str] = mapped_column(Text, default="")
    data: Mapped[dict[str, Any]] = mapped_column(JsonDoc, default=dict)


class PersuasionAttempt(Base):
    """Every persuasion attempt (劝返) is logged: who, agency, when, how, outcome."""

    __tablename__ = "persuasion_attempt"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("dropout_case.id"), index=True)
    attempted_at: Mapped[datetime] = mapped_column(UTCDateTime())
    method: Mapped[PersuasionMethod] = mapped_column(StrEnumType(PersuasionMethod))
    outcome: Mapped[PersuasionOutcome] = mapped_column(StrEnumType(PersuasionOutcome))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    agency_kind: Mapped[AgencyKind | None] = mapped_column(StrEnumType(AgencyKind))
    participants: Mapped[str] = mapped_column(String(200), default="")
    note: Mapped[str] = mapped_column(Text, default="")


class CasePlan(Versioned, Base):
    """一生一案: the plan for one child — cause, measures, the person responsible."""

    __tablename__ = "case_plan"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("dropout_case.id"), unique=True)
    cause: Mapped[DropoutCause] = mapped_column(StrEnumType(DropoutCause))
    measures: Mapped[str] = mapped_column(Text)
    responsible_person: Mapped[str] = mapped_column(String(64))
    responsible_agency_kind: Mapped[AgencyKind] = mapped_column(StrEnumType(AgencyKind))


class CaseAttachment(Base):
    """Metadata of a file attached to a case (the bytes live in the document store)."""

    __tablename__ = "case_attachment"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("dropout_case.id"), index=True)
    filename: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(100))
    size_bytes: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime())
    uploaded_by: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
