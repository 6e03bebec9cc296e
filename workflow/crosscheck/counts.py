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
from models.reference import Jurisdiction
from models.school import Enrolment

if TYPE_CHECKING:
    from workflow.crosscheck.batch import Batch


async def finding_counts(job: Batch) -> dict[str, dict[str, Any]]:
    """Per district and comparison: found now, new, changed, cleared by this pass, and the
    district's findings by status (two statements for the pass)."""
    found = job.found()
    per_kind: dict[tuple[str, str], int] = {
        (str(d), str(k)): int(n) for d, k, n in (await job.session.execute(
            select(found.c.district_code, found.c.kind, func.count())
            .group_by(found.c.district_code, found.c.kind))).all()}
    runs = job.run_ids
    rows = (await job.session.execute(
        select(F.district_code, F.kind, F.status,
               func.sum(case((F.first_run_id.in_(runs), 1), else_=0)),
               func.sum(case((F.last_run_id.in_(runs), 1), else_=0)),
               func.count())
        .where(job.in_batch(F.district_code))
        .group_by(F.district_code, F.kind, F.status))).all()
    out: dict[str, dict[str, Any]] = {}
    for code in job.codes:
        out[code] = {}
        for kind in FindingKind:
            mine = [r[1:] for r in rows if r[0] == code and r[1] == kind]
            out[code][kind.value] = {
                "found": per_kind.get((code, kind.value), 0),
                "new": sum(int(r[2] or 0) for r in mine),
                "changed": sum(int(r[3] or 0) - int(r[2] or 0) for r in mine
                               if r[1] is not FindingStatus.CLEARED),
                "cleared_now": sum(int(r[3] or 0) for r in mine
                                   if r[1] is FindingStatus.CLEARED),
                **{status.value: sum(int(r[4]) for r in mine if r[1] is status)
                   for status in FindingStatus},
            }
    return out


async def special_groups(job: Batch) -> dict[str, list[dict[str, Any]]]:
    """Per district, every watched child's schooling status, counted by group × status
    (the run reports it whatever the comparisons say)."""
    open_case = exists().where(DropoutCase.child_id == Child.id,
                               DropoutCase.status == CaseStatus.OPEN)
    status = schooling_status(open_case)
    rows = (await job.session.execute(
        select(Jurisdiction.parent_code, ChildGroup.group, status, func.count())
        .join(Child, Child.id == ChildGroup.child_id)
        .join(Jurisdiction, Jurisdiction.code == Child.township_code)
        .outerjoin(Enrolment, Enrolment.child_id == Child.id)
        .where(job.in_batch(Jurisdiction.parent_code),
               ChildGroup.group.in_(job.rules.watched_groups))
        .group_by(Jurisdiction.parent_code, ChildGroup.group, status)
        .order_by(Jurisdiction.parent_code, ChildGroup.group, status))).all()
    out: dict[str, list[dict[str, Any]]] = {code: [] for code in job.codes}
    for d, g, s, n in rows:
        out[str(d)].append({"group": str(g.value), "status": str(s), "count": int(n)})
    return out


def schooling_status(open_case: ColumnElement[bool]) -> ColumnElement[str]:
    """A child's schooling status from the register: a dropout while a case is open, out
    of school with no register entry, else the entry's status (needs ``Enrolment`` joined
    outer)."""
    return case(
        (open_case, literal("dropout")),
        (Enrolment.id.is_(None), literal("unregistered")),
        else_=cast(Enrolment.status, String),
    )


