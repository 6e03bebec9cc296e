"""The kinds of periodic report per district (``reference_data/periodic_reports.json``) and
the period each one reports on at a given day."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache
from typing import Any

from models.enums import AgencyKind
from workflow.calendar import school_year_start
from workflow.infra import reference_json
from workflow.stats import Dimension

UNITS = {"school": AgencyKind.SCHOOL, "district": AgencyKind.EDUCATION}


class ExportFormat(enum.Enum):
    """What a report is exported as: a workbook with native charts, or a printable PDF."""

    XLSX = "xlsx"
    PDF = "pdf"


@dataclass(frozen=True)
class ReportKind:
    code: str
    name: str
    unit: AgencyKind
    reviewer: AgencyKind
    cadence: str
    dimension: Dimension
    due_days: int
    month: int | None
    basis: Any

    @property
    def obj(self) -> str:
        """The policy object: a school's reports, or the district's."""
        return "report:school" if self.unit is AgencyKind.SCHOOL else "report:district"


@dataclass(frozen=True)
class Period:
    start: date
    end: date
    due_on: date

    def label(self) -> str:
        return f"{self.start.isoformat()}—{self.end.isoformat()}"


@cache
def kinds_for(district_code: str) -> tuple[ReportKind, ...]:
    return tuple(
        ReportKind(k["code"], k["name"], UNITS[k["unit"]], AgencyKind(k["reviewer"]),
                   k["cadence"], Dimension(k["dimension"]), k.get("due_days", 0),
                   k.get("month"), k["basis"])
        for k in reference_json.by_code("periodic_reports.json", district_code)
    )


def kind_of(district_code: str, code: str) -> ReportKind:
    return next(k for k in kinds_for(district_code) if k.code == code)


def _month_end(day: date) -> date:
    return (day.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)


def period_for(kind: ReportKind, today: date) -> Period:
    """The latest period of the kind open for reporting on ``today``: the month or quarter
    just ended (due some days later), or for a yearly report the school year to the end of
    its month, open from that month's first day and due on its last."""
    if kind.cadence == "yearly":
        assert kind.month is not None
        year = today.year if today.month >= kind.month else today.year - 1
        first = date(year, kind.month, 1)
        end = _month_end(first)
        return Period(school_year_start(first), end, end)
    if kind.cadence == "quarterly":
        this_quarter = date(today.year, 3 * ((today.month - 1) // 3) + 1, 1)
        end = this_quarter - timedelta(days=1)
        start = date(end.year, 3 * ((end.month - 1) // 3) + 1, 1)
    else:
        end = today.replace(day=1) - timedelta(days=1)
        start = end.replace(day=1)
    return Period(start, end, end + timedelta(days=kind.due_days))
