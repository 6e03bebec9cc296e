"""Where a child stands in the ledgers, as SQL over the data itself: the register entry, the
deferrals, the cases and the transfers. No flag is kept: a child's place follows from what was
recorded, so resolving a task, closing a case or receiving a transfer moves the child by
itself.

The definitions are those of the statistics (``workflow/stats.py``), so that the ledgers and
the figures agree (issue 16: "from the same data the ledgers use"): school age is
``stats.SCHOOL_AGE``; a dropout is a register entry marked dropped out; suspected is a case
open on a child not (yet) marked, to which the ledger adds the transfers out never received
(``workflow/register``: ``not_received``) and the open findings of the comparisons
(``models/crosscheck.py``: 名在人不在, 适龄未入学); a verification's outcome (moved away,
studying elsewhere) and the police's household corrections (deceased, moved away, ST 8)
place the child too. The status of a school-age child is the first of,
in this order: deceased, dropout, suspected, deferred or exempt, moved away, returned
(复学: back from a case closed as returned this school year), enrolled, suspended, studying
elsewhere, graduated, not enrolled (on no register: 适龄未入学).
"""

from __future__ import annotations

import enum
from datetime import date, datetime, time
from typing import Any

from sqlalchemy import ColumnElement, and_, case, exists, literal, not_, or_, select
from sqlalchemy.orm import InstrumentedAttribute

from models.case import DropoutCase
from models.child import Child
from models.crosscheck import CrosscheckFinding, FindingKind, FindingStatus, VerificationOutcome
from models.enums import (
    CaseStage,
    CaseStatus,
    ClosureReason,
    EnrolmentStatus,
    RegisterChangeKind,
    RegisterChangeStatus,
)
from models.household import (
    HouseholdCorrection,
    HouseholdCorrectionKind,
    HouseholdCorrectionStatus,
)
from models.inline import inline
from models.register import RegisterChange
from models.school import Enrolment
from workflow.calendar import LOCAL, school_year_start, years_before
from workflow.ledger.access import ChildKey
from workflow.register.deferrals import deferred
from workflow.stats import SCHOOL_AGE


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
    NOT_AT_SCHOOL = "not_at_school"  # 名在人不在: an open finding of the comparisons
    UNREGISTERED = "unregistered"  # 适龄未入学: an open finding of the comparisons


# The open findings of the comparisons (models/crosscheck.py) that make a child suspected,
# by the reason each gives; a resolved or cleared finding no longer does.
FINDING_REASONS = {
    FindingKind.NOT_AT_SCHOOL: SuspicionReason.NOT_AT_SCHOOL,
    FindingKind.UNREGISTERED: SuspicionReason.UNREGISTERED,
}


# A case is a confirmed dropout (辍学) once it reached the dropout report: the stage at which
# the register is marked (SPT 7) and the school's written report goes up (ST 4).
CONFIRMED_FROM = CaseStage.DROPOUT_REPORTED
CONFIRMED_STAGES = tuple(s for s in CaseStage
                         if CONFIRMED_FROM.ordinal <= s.ordinal < CaseStage.CLOSED.ordinal)


def school_age(
    today: date, birth: ColumnElement[Any] | InstrumentedAttribute[Any] = Child.birth_date
) -> ColumnElement[bool]:
    """Of school age on ``today``, as the statistics count it (a child's birth date, or a
    person's as a list gave it)."""
    youngest, oldest = years_before(today, SCHOOL_AGE[0]), years_before(today, SCHOOL_AGE[1] + 1)
    # Inlined: bound, a generic plan takes the range for 0.5 % of the children (models/inline.py).
    return and_(birth <= inline(youngest), birth > inline(oldest))


def open_case(child: ChildKey) -> ColumnElement[bool]:
    return exists(select(DropoutCase.id).where(
        DropoutCase.child_id == child, DropoutCase.status == CaseStatus.OPEN))


def not_marked() -> ColumnElement[bool]:
    return or_(Enrolment.status.is_(None), Enrolment.status != EnrolmentStatus.DROPOUT_MARKED)


def transfer_not_received(child: ChildKey) -> ColumnElement[bool]:
    """A transfer out sent and not received within the district's days: the register's
    scheduled job (``workflow/register/scheduler.py``) finds these on the district's rule and
    flags them; a receipt makes the transfer ``RECEIVED`` and the child leaves the ledger."""
    return exists(select(RegisterChange.id).where(
        RegisterChange.child_id == child,
        RegisterChange.kind == RegisterChangeKind.TRANSFER,
        RegisterChange.status == RegisterChangeStatus.SENT,
        RegisterChange.flagged_at.is_not(None),
    ))


def finding_open() -> list[ColumnElement[bool]]:
    """A finding still awaiting its verification (one reported deceased waits for the
    police, and the child is no longer looked for)."""
    return [CrosscheckFinding.status == FindingStatus.OPEN,
            or_(CrosscheckFinding.outcome.is_(None),
                CrosscheckFinding.outcome != VerificationOutcome.DECEASED)]


def open_finding(child: ChildKey, *kinds: FindingKind) -> ColumnElement[bool]:
    """An open finding of the comparisons on the child (of ``kinds``, or any that counts)."""
    return exists(select(CrosscheckFinding.id).where(
        CrosscheckFinding.child_id == child,
        CrosscheckFinding.kind.in_(list(kinds or FINDING_REASONS)), *finding_open()))


def suspected_for(reason: SuspicionReason, child: ChildKey) -> ColumnElement[bool]:
    """The child is suspected for this reason (before the dropout mark is looked at)."""
    if reason is SuspicionReason.LONG_ABSENCE:
        return open_case(child)
    if reason is SuspicionReason.TRANSFER_NOT_RECEIVED:
        return transfer_not_received(child)
    return open_finding(child, *(k for k, r in FINDING_REASONS.items() if r is reason))


def suspected(child: ChildKey) -> ColumnElement[bool]:
    """疑似辍学: not marked dropped out, and a case open, a transfer out not received, or an
    open finding of the comparisons."""
    return and_(not_marked(), or_(open_case(child), transfer_not_received(child),
                                  open_finding(child)))


def _verified(child: ChildKey, *outcomes: VerificationOutcome) -> ColumnElement[bool]:
    """A verification found this of the child (a resolved finding)."""
    return exists(select(CrosscheckFinding.id).where(
        CrosscheckFinding.child_id == child,
        CrosscheckFinding.status == FindingStatus.RESOLVED,
        CrosscheckFinding.outcome.in_(outcomes)))


def _corrected(
    child: ChildKey, kind: HouseholdCorrectionKind, today: date
) -> ColumnElement[bool]:
    """The police corrected the household register so (ST 8), effective by today."""
    return exists(select(HouseholdCorrection.id).where(
        HouseholdCorrection.child_id == child, HouseholdCorrection.kind == kind,
        HouseholdCorrection.status == HouseholdCorrectionStatus.RECORDED,
        HouseholdCorrection.effective_on <= today))


def _closed_as(
    child: ChildKey, *reasons: ClosureReason, since: datetime | None = None
) -> ColumnElement[bool]:
    terms = [DropoutCase.child_id == child, DropoutCase.status == CaseStatus.CLOSED,
             DropoutCase.closure_reason.in_(reasons)]
    if since is not None:
        terms.append(DropoutCase.closed_at >= since)
    return exists(select(DropoutCase.id).where(*terms))


def _is(*values: EnrolmentStatus) -> ColumnElement[bool]:
    """The register entry's status is one of ``values``: false, never NULL, for a child on
    no register (the outer join's NULL), so that its negation in ``is_status`` holds."""
    s = Enrolment.status
    return and_(s.is_not(None), s.in_(values) if len(values) > 1 else s == values[0])


def _rules(today: date, child: ChildKey) -> list[tuple[LedgerStatus, list[ColumnElement[bool]]]]:
    """Each status in order of precedence, with the terms any of which places a child there
    (when no earlier status does). Every term is true or false, never NULL."""
    year_began = datetime.combine(school_year_start(today), time(0), tzinfo=LOCAL)
    off_register = ~_is(EnrolmentStatus.ENROLLED, EnrolmentStatus.SUSPENDED)
    return [
        (LedgerStatus.DECEASED, [_closed_as(child, ClosureReason.DECEASED),
                                 _corrected(child, HouseholdCorrectionKind.DECEASED, today)]),
        (LedgerStatus.DROPOUT, [_is(EnrolmentStatus.DROPOUT_MARKED)]),
        # Not marked dropped out follows from the precedence (``suspected`` says it).
        (LedgerStatus.SUSPECTED, [open_case(child), transfer_not_received(child),
                                  open_finding(child)]),
        (LedgerStatus.DEFERRED_OR_EXEMPT, [_is(EnrolmentStatus.DEFERRED, EnrolmentStatus.EXEMPT),
                                           deferred(child, today)]),
        # The door-to-door check found the child gone: that outranks a register entry
        # nobody has closed yet (the school's transfer follows).
        (LedgerStatus.MOVED_AWAY, [
            _verified(child, VerificationOutcome.MOVED_AWAY),
            and_(or_(_closed_as(child, ClosureReason.MOVED_AWAY),
                     _corrected(child, HouseholdCorrectionKind.MOVED_AWAY, today)),
                 off_register)]),
        (LedgerStatus.RETURNED, [
            and_(_is(EnrolmentStatus.ENROLLED),
                 _closed_as(child, ClosureReason.RETURNED, since=year_began))]),
        (LedgerStatus.ENROLLED, [_is(EnrolmentStatus.ENROLLED)]),
        (LedgerStatus.SUSPENDED, [_is(EnrolmentStatus.SUSPENDED)]),
        (LedgerStatus.ELSEWHERE, [_is(EnrolmentStatus.TRANSFERRED),
                                  _closed_as(child, ClosureReason.STUDYING_ELSEWHERE),
                                  _verified(child, VerificationOutcome.ELSEWHERE)]),
        (LedgerStatus.GRADUATED, [_is(EnrolmentStatus.GRADUATED)]),
    ]


def status(today: date, child: ChildKey) -> ColumnElement[str]:
    """The ``LedgerStatus`` value on ``today`` of the child whose id is ``child`` (a query
    joining its ``Enrolment`` by an outer join): the first status whose terms hold, else not
    enrolled. For a page's few children; a filter by status is ``is_status``."""
    return case(*((or_(*terms), wanted.value) for wanted, terms in _rules(today, child)),
                else_=literal(LedgerStatus.NOT_ENROLLED.value))


def is_status(wanted: LedgerStatus, today: date, child: ChildKey) -> ColumnElement[bool]:
    """``status(today) == wanted`` as a filter the planner can estimate and join: no earlier
    status's term holds (each ``NOT EXISTS`` an anti-join against a small table, each
    register test a plain comparison) and one of ``wanted``'s does. The CASE compared to a
    value was a filter the planner took for 0.5 % of any set and ran per child, so a
    district's page of dropouts walked the province's children (220 ms; docs/ledgers.md).
    The same rules as ``status``, so the two agree by construction (and a test checks it)."""
    earlier: list[ColumnElement[bool]] = []
    for rule, terms in _rules(today, child):
        if rule is wanted:
            found = or_(*terms)
            return and_(*earlier, found)
        earlier.extend(not_(term) for term in terms)
    return and_(*earlier)


def confirmed_case() -> ColumnElement[bool]:
    """A case in the 辍学学生台账: it reached the dropout report, open or closed since."""
    return or_(DropoutCase.stage.in_(CONFIRMED_STAGES),
               and_(DropoutCase.status == CaseStatus.CLOSED,
                    DropoutCase.stage_before_close.in_(CONFIRMED_STAGES)))
