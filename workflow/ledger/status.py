"""Where a child stands in the ledgers, as SQL over the data itself: the register entry, the
deferrals, the cases and the transfers. No flag is kept: a child's place follows from what was
recorded, so resolving a task, closing a case or receiving a transfer moves the child by
itself.

The definitions are those of the statistics (``workflow/stats.py``), so that the ledgers and
the figures agree (issue 16: "from the same data the ledgers use"): school age is
``stats.SCHOOL_AGE``; a dropout is a register entry marked dropped out; suspected is a case
open on a child not (yet) marked, to which the ledger adds the transfers out never received
(``workflow/register``: ``not_received``). The status of a school-age child is the first of,
in this order: deceased, dropout, suspected, deferred or exempt, moved away, returned
(复学: back from a case closed as returned this school year), enrolled, suspended, studying
elsewhere, graduated, not enrolled (on no register: 适龄未入学).
"""

from __future__ import annotations

import enum
from datetime import date, datetime, time

from sqlalchemy import ColumnElement, and_, case, exists, literal, or_, select

from models.case import DropoutCase
from models.child import Child
from models.enums import (
    CaseStage,
    CaseStatus,
    ClosureReason,
    EnrolmentStatus,
    RegisterChangeKind,
    RegisterChangeStatus,
)
from models.register import RegisterChange
from models.school import Enrolment
from workflow.calendar import LOCAL
from workflow.register.deferrals import deferred
from workflow.stats import SCHOOL_AGE, school_year_start, years_before


class LedgerStatus(enum.Enum):
    """A school-age child's status in the 适龄儿童台账."""

    DECEASED = "deceased"
    DROPOUT = "dropout"
    SUSPECTED = "suspected"
    DEFERRED_OR_EXEMPT = "deferred_or_exempt"
    MOVED_AWAY = "moved_away"
    RETURNED = "returned"
    ENROLLED = "enrolled"
    SUSPENDED = "suspended"
    ELSEWHERE = "elsewhere"
    GRADUATED = "graduated"
    NOT_ENROLLED = "not_enrolled"


class SuspicionReason(enum.Enum):
    """Why a child is in the 疑似辍学学生台账."""

    LONG_ABSENCE = "long_absence"  # a reported absence: an open case not yet a dropout
    TRANSFER_NOT_RECEIVED = "transfer_not_received"  # 转出未转入


# A case is a confirmed dropout (辍学) once it reached the dropout report: the stage at which
# the register is marked (SPT 7) and the school's written report goes up (ST 4).
CONFIRMED_FROM = CaseStage.DROPOUT_REPORTED
CONFIRMED_STAGES = tuple(s for s in CaseStage
                         if CONFIRMED_FROM.ordinal <= s.ordinal < CaseStage.CLOSED.ordinal)


def school_age(today: date) -> ColumnElement[bool]:
    """Of school age on ``today``, as the statistics count it."""
    youngest, oldest = years_before(today, SCHOOL_AGE[0]), years_before(today, SCHOOL_AGE[1] + 1)
    return and_(Child.birth_date <= youngest, Child.birth_date > oldest)


def open_case() -> ColumnElement[bool]:
    return exists(select(DropoutCase.id).where(
        DropoutCase.child_id == Child.id, DropoutCase.status == CaseStatus.OPEN))


def not_marked() -> ColumnElement[bool]:
    return or_(Enrolment.status.is_(None), Enrolment.status != EnrolmentStatus.DROPOUT_MARKED)


def transfer_not_received() -> ColumnElement[bool]:
    """A transfer out sent and not received within the district's days: the register's
    scheduled job (``workflow/register/scheduler.py``) finds these on the district's rule and
    flags them; a receipt makes the transfer ``RECEIVED`` and the child leaves the ledger."""
    return exists(select(RegisterChange.id).where(
        RegisterChange.child_id == Child.id,
        RegisterChange.kind == RegisterChangeKind.TRANSFER,
        RegisterChange.status == RegisterChangeStatus.SENT,
        RegisterChange.flagged_at.is_not(None),
    ))


def suspected() -> ColumnElement[bool]:
    """疑似辍学: a case open on a child not marked dropped out, or a transfer not received."""
    return or_(and_(open_case(), not_marked()), and_(transfer_not_received(), not_marked()))


def _closed_as(*reasons: ClosureReason, since: datetime | None = None) -> ColumnElement[bool]:
    terms = [DropoutCase.child_id == Child.id, DropoutCase.status == CaseStatus.CLOSED,
             DropoutCase.closure_reason.in_(reasons)]
    if since is not None:
        terms.append(DropoutCase.closed_at >= since)
    return exists(select(DropoutCase.id).where(*terms))


def status(today: date) -> ColumnElement[str]:
    """The child's ``LedgerStatus`` value on ``today`` (a query joining ``Enrolment`` to
    ``Child`` by an outer join)."""
    year_began = datetime.combine(school_year_start(today), time(0), tzinfo=LOCAL)
    s = Enrolment.status
    on_register = s.in_((EnrolmentStatus.ENROLLED, EnrolmentStatus.SUSPENDED))
    whens: list[tuple[ColumnElement[bool], str]] = [
        (_closed_as(ClosureReason.DECEASED), LedgerStatus.DECEASED.value),
        (s == EnrolmentStatus.DROPOUT_MARKED, LedgerStatus.DROPOUT.value),
        (suspected(), LedgerStatus.SUSPECTED.value),
        (or_(s.in_((EnrolmentStatus.DEFERRED, EnrolmentStatus.EXEMPT)), deferred(Child.id, today)),
         LedgerStatus.DEFERRED_OR_EXEMPT.value),
        (and_(_closed_as(ClosureReason.MOVED_AWAY), or_(s.is_(None), ~on_register)),
         LedgerStatus.MOVED_AWAY.value),
        (and_(s == EnrolmentStatus.ENROLLED,
              _closed_as(ClosureReason.RETURNED, since=year_began)), LedgerStatus.RETURNED.value),
        (s == EnrolmentStatus.ENROLLED, LedgerStatus.ENROLLED.value),
        (s == EnrolmentStatus.SUSPENDED, LedgerStatus.SUSPENDED.value),
        (or_(s == EnrolmentStatus.TRANSFERRED, _closed_as(ClosureReason.STUDYING_ELSEWHERE)),
         LedgerStatus.ELSEWHERE.value),
        (s == EnrolmentStatus.GRADUATED, LedgerStatus.GRADUATED.value),
    ]
    return case(*whens, else_=literal(LedgerStatus.NOT_ENROLLED.value))


def confirmed_case() -> ColumnElement[bool]:
    """A case in the 辍学学生台账: it reached the dropout report, open or closed since."""
    return or_(DropoutCase.stage.in_(CONFIRMED_STAGES),
               and_(DropoutCase.status == CaseStatus.CLOSED,
                    DropoutCase.stage_before_close.in_(CONFIRMED_STAGES)))
