"""The accountability rules (SPT 8; GH 三(六); ST 10) as data per district, and one
evaluator per kind of rule: each finds, in a few set-based statements, the units a rule fires
for today, with the evidence (cases, open overdue tasks, since when)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import cache
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from models.case import DropoutCase, PersuasionAttempt
from models.enums import AgencyKind, CaseStage, CaseStatus, SchoolKind
from models.reference import Agency, Jurisdiction
from models.school import Enrolment, School
from models.task import Task
from workflow import stats, stats_units
from workflow.calendar import local_date, school_year_start
from workflow.common import open_task
from workflow.infra import reference_json

DROPOUT_RANK = CaseStage.DROPOUT_REPORTED.ordinal
# Agencies other than the school, the township and the bureau (each answering under its
# own rule): SPT 8's 其他职能部门.
OTHER_AGENCIES = frozenset(AgencyKind) - {
    AgencyKind.SCHOOL, AgencyKind.TOWNSHIP, AgencyKind.EDUCATION, AgencyKind.VILLAGE,
    AgencyKind.INSPECTORATE,
}
EVIDENCE_CASES = 50  # the most cases an item lists (the count says how many there were)


@dataclass(frozen=True)
class Rule:
    code: str
    kind: str
    subject: str
    period: str
    more_than: Any
    at_least: Any
    idle_days: int
    consequences: tuple[str, ...]
    basis: tuple[dict[str, str], ...]

    def fires(self, count: float, kind: str = "") -> bool:
        """The rule's threshold: 'more than' exclusive, 'at least' inclusive (per school
        kind where the rule gives one)."""
        if self.more_than is not None:
            return bool(count > self.more_than)
        floor = self.at_least[kind] if isinstance(self.at_least, dict) else self.at_least
        return bool(count >= floor)

    def period_of(self, day: date) -> date:
        """The first day of the month, or of the school year, the item is raised for."""
        return school_year_start(day) if self.period == "school_year" else day.replace(
            day=1)

    def previous(self, period: date) -> date:
        return (period - timedelta(days=1)).replace(day=1) if self.period == "month" else (
            period.replace(year=period.year - 1))


@cache
def rules_for(district_code: str) -> tuple[Rule, ...]:
    return tuple(
        Rule(r["code"], r["kind"], r["subject"], r["period"], r.get("more_than"),
             r.get("at_least"), r.get("idle_days", 0), tuple(r["consequences"]),
             tuple(r["basis"]))
        for r in reference_json.by_code("accountability.json", district_code)
    )


def scan_day() -> int:
    day: int = reference_json.load("accountability.json")["scan_day"]
    return day


@dataclass
class Finding:
    """A rule firing for one unit: the evidence the item will carry."""

    subject_kind: str
    subject_path: str
    subject_name: str
    since: date
    count: float
    evidence: dict[str, Any] = field(default_factory=dict)


# --- the evaluators: one per rule kind, a few statements each -------------------------------

def _dropouts(district: str) -> Select[Any]:
    """The district's open cases at or past the dropout mark (SPT 7)."""
    return select(DropoutCase).where(
        DropoutCase.district_code == district,
        DropoutCase.status == CaseStatus.OPEN,
        DropoutCase.stage_rank >= DROPOUT_RANK,
    )


def _case_line(case: DropoutCase, **extra: Any) -> dict[str, Any]:
    return {"case_id": case.id, "day0": case.day0.isoformat(), "stage": case.stage.value,
            **extra}


async def _district_loss(
    session: AsyncSession, district: Jurisdiction, rule: Rule, today: date
) -> list[Finding]:
    start = school_year_start(today)
    figures, lost = await stats_units.unit_totals(session, district.path, today, start)
    rate = figures.dropout_rate
    if rate is None or not rule.fires(rate):
        return []
    cases = (await session.execute(
        select(DropoutCase.id).where(DropoutCase.child_id.in_(lost[:EVIDENCE_CASES]))
    )).scalars()
    return [Finding("district", district.path, district.name, start, rate, {
        "base": figures.counts[stats.Measure.BASE], "lost": len(lost), "rate": rate,
        "cases": sorted(cases)})]


async def _school_unpersuaded(
    session: AsyncSession, district: Jurisdiction, rule: Rule, today: date
) -> list[Finding]:
    """Dropouts of the school year with no persuasion on record, per school; a nine-year
    school's grades 1–6 count as a primary school's, 7–9 as a junior school's."""
    unpersuaded = ~select(PersuasionAttempt.id).where(
        PersuasionAttempt.case_id == DropoutCase.id).exists()
    rows = (await session.execute(
        _dropouts(district.code)
        .add_columns(School, Agency.scope_path, Enrolment.grade)
        .join(School, School.id == DropoutCase.school_id)
        .join(Agency, Agency.id == School.agency_id)
        .outerjoin(Enrolment, Enrolment.child_id == DropoutCase.child_id)
        .where(unpersuaded, DropoutCase.day0 >= school_year_start(today))
        .order_by(DropoutCase.id)
    )).all()
    by_school: dict[int, list[Any]] = defaultdict(list)
    for row in rows:
        by_school[row[1].id].append(row)
    found = []
    for group in by_school.values():
        school, path = group[0][1], group[0][2]
        parts = defaultdict(list)
        for case, _, _, grade in group:
            primary = school.kind is SchoolKind.PRIMARY or (
                school.kind is SchoolKind.NINE_YEAR and (grade or 0) <= 6)
            parts["primary" if primary else "junior"].append(case)
        fired = [k for k, cases in parts.items() if rule.fires(len(cases), k)]
        if fired:
            cases = [c for k in fired for c in parts[k]]
            found.append(Finding("school", path, school.name, min(c.day0 for c in cases),
                                 len(cases), {"cases": [_case_line(c) for c in cases]}))
    return found


async def _not_acted_cases(
    session: AsyncSession, district: str, rule: Rule, today: date
) -> list[tuple[DropoutCase, list[Task], date | None]]:
    """Each dropout case with its open overdue tasks and its last persuasion date."""
    cases = (await session.execute(_dropouts(district).order_by(DropoutCase.id))).scalars().all()
    ids = [c.id for c in cases]
    tasks: dict[int, list[Task]] = defaultdict(list)
    for task in (await session.execute(
        select(Task).where(Task.case_id.in_(ids), open_task(), Task.due_on < today)
        .order_by(Task.due_on, Task.id)
    )).scalars():
        assert task.case_id is not None
        tasks[task.case_id].append(task)
    last = dict((await session.execute(
        select(PersuasionAttempt.case_id, func.max(PersuasionAttempt.attempted_at))
        .where(PersuasionAttempt.case_id.in_(ids)).group_by(PersuasionAttempt.case_id)
    )).all())
    return [(c, tasks[c.id], local_date(last[c.id]) if c.id in last else None) for c in cases]


def _idle(case: DropoutCase, persuaded: date | None, rule: Rule, today: date) -> date | None:
    """Since when a case has gone without persuasion longer than the rule allows, or None."""
    since = persuaded or case.day0
    return since if (today - since).days > rule.idle_days else None


def _task_line(t: Task) -> dict[str, Any]:
    return {"task_id": t.id, "kind": t.kind, "agency": t.agency_kind.value,
            "due_on": t.due_on.isoformat()}


async def _unit_not_acted(
    session: AsyncSession, district: Jurisdiction, rule: Rule, today: date
) -> list[Finding]:
    """More than the rule's number of dropouts not acted on: with an open task past its due
    date, or (for a township) no persuasion for longer than the rule's idle days."""
    units: dict[str, list[tuple[DropoutCase, list[Task], date]]] = defaultdict(list)
    for case, overdue, persuaded in await _not_acted_cases(session, district.code, rule, today):
        if rule.subject == "township":
            idle = _idle(case, persuaded, rule, today)
            dates = [t.due_on for t in overdue] + ([idle] if idle else [])
            if dates:
                units[case.township_code].append((case, overdue, min(dates)))
            continue
        for kind in {t.agency_kind for t in overdue} & OTHER_AGENCIES:
            mine = [t for t in overdue if t.agency_kind is kind]
            units[kind.value].append((case, mine, min(t.due_on for t in mine)))
    names = await _unit_names(session, district, rule, list(units))
    return [
        Finding(rule.subject, path, name, min(s for _, _, s in lines), len(lines), {"cases": [
            _case_line(c, since=s.isoformat(), overdue_tasks=[_task_line(t) for t in ts])
            for c, ts, s in lines[:EVIDENCE_CASES]]})
        for key, lines in units.items()
        if rule.fires(len(lines))
        for path, name in [names[key]]
    ]


async def _unit_names(
    session: AsyncSession, district: Jurisdiction, rule: Rule, keys: Sequence[str]
) -> dict[str, tuple[str, str]]:
    """Each unit's domain and name: a township's own, an agency's below the district."""
    if rule.subject != "township":
        agencies = dict((await session.execute(
            select(Agency.kind, Agency.name).where(Agency.jurisdiction_code == district.code)
        )).all())
        return {k: (f"{district.path}/agency:{k}", agencies.get(AgencyKind(k), k)) for k in keys}
    rows = await session.execute(
        select(Jurisdiction.code, Jurisdiction.path, Jurisdiction.name)
        .where(Jurisdiction.code.in_(keys)))
    return {code: (path, name) for code, path, name in rows.all()}


async def _township_dropouts(
    session: AsyncSession, district: Jurisdiction, rule: Rule, today: date
) -> list[Finding]:
    """GH 三(六): each township's dropouts, counted in its assessment."""
    by_township: dict[str, list[DropoutCase]] = defaultdict(list)
    rows = await session.execute(_dropouts(district.code).order_by(DropoutCase.id))
    for case in rows.scalars():
        by_township[case.township_code].append(case)
    names = await _unit_names(session, district, rule, list(by_township))
    return [
        Finding("township", names[code][0], names[code][1], min(c.day0 for c in cases),
                len(cases), {"cases": [_case_line(c) for c in cases[:EVIDENCE_CASES]]})
        for code, cases in by_township.items()
        if rule.fires(len(cases))
    ]


EVALUATORS = {
    "district_loss_rate": _district_loss,
    "school_unpersuaded": _school_unpersuaded,
    "unit_not_acted": _unit_not_acted,
    "township_dropouts": _township_dropouts,
}
