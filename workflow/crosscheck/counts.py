"""What a run counts (``crosscheck_run.counts``): per comparison what it found, made,
changed and cleared; and every watched child's schooling status by group (the run reports
it whatever the comparisons say)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnElement, String, case, cast, exists, func, literal, select

from models.case import DropoutCase
from models.child import Child, ChildGroup
from models.crosscheck import CrosscheckFinding as F
from models.crosscheck import FindingKind, FindingStatus
from models.enums import CaseStatus
from models.school import Enrolment

if TYPE_CHECKING:
    from workflow.crosscheck.run import _Run


async def finding_counts(job: _Run) -> dict[str, Any]:
    """Per comparison: found now, new, changed, cleared by this run, and the district's
    findings by status."""
    found = job.found()
    per_kind: dict[str, int] = dict((await job.session.execute(
        select(found.c.kind, func.count()).group_by(found.c.kind))).all())
    mine = F.district_code == job.code
    rows = (await job.session.execute(
        select(F.kind, F.status,
               func.sum(case((F.first_run_id == job.run.id, 1), else_=0)),
               func.sum(case((F.last_run_id == job.run.id, 1), else_=0)),
               func.count())
        .where(mine).group_by(F.kind, F.status))).all()
    out: dict[str, Any] = {}
    for kind in FindingKind:
        mine_rows = [r for r in rows if r[0] == kind]
        out[kind.value] = {
            "found": int(per_kind.get(kind.value, 0)),
            "new": sum(int(r[2] or 0) for r in mine_rows),
            "changed": sum(int(r[3] or 0) - int(r[2] or 0) for r in mine_rows
                           if r[1] is not FindingStatus.CLEARED),
            "cleared_now": sum(int(r[3] or 0) for r in mine_rows
                               if r[1] is FindingStatus.CLEARED),
            **{status.value: sum(int(r[4]) for r in mine_rows if r[1] is status)
               for status in FindingStatus},
        }
    return out

async def special_groups(job: _Run) -> list[dict[str, Any]]:
    """Every watched child's schooling status, counted by group × status (the run
    reports it whatever the comparisons say)."""
    open_case = exists().where(DropoutCase.child_id == Child.id,
                               DropoutCase.status == CaseStatus.OPEN)
    status = schooling_status(open_case)
    rows = (await job.session.execute(
        select(ChildGroup.group, status, func.count())
        .join(Child, Child.id == ChildGroup.child_id)
        .outerjoin(Enrolment, Enrolment.child_id == Child.id)
        .where(Child.township_code.in_(job.townships()),
               ChildGroup.group.in_(job.rules.watched_groups))
        .group_by(ChildGroup.group, status)
        .order_by(ChildGroup.group, status))).all()
    return [{"group": str(g.value), "status": str(s), "count": int(n)} for g, s, n in rows]


def schooling_status(open_case: ColumnElement[bool]) -> ColumnElement[str]:
    """A child's schooling status from the register: a dropout while a case is open, out
    of school with no register entry, else the entry's status (needs ``Enrolment`` joined
    outer)."""
    return case(
        (open_case, literal("dropout")),
        (Enrolment.id.is_(None), literal("unregistered")),
        else_=cast(Enrolment.status, String),
    )


