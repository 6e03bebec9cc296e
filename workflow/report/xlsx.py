"""A report as an XLSX workbook with native charts (xlsxwriter): the table by the kind's
dimension with a column chart, and the month-by-month trend with a line chart. ``tables``
is the generic part (sheets of rows, each with its chart) other reports use too (the
supervision results, ``workflow/supervision``)."""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from workflow.report.drafting import MEASURE_NAMES, RATE_NAMES

COLUMNS = [m.value for m in MEASURE_NAMES] + list(RATE_NAMES)
HEADERS = list(MEASURE_NAMES.values()) + list(RATE_NAMES.values())
# The periodic reports' charts: suspected, dropouts, returned (columns of the table).
SERIES = ((4, "疑似辍学"), (5, "辍学"), (6, "复学"))


@dataclass(frozen=True)
class Sheet:
    """A worksheet: its headers, its rows (the first cell names the row) and a native chart
    of some columns (column index, series name) by the rows' first cell."""

    name: str
    headers: Sequence[str]
    rows: Sequence[Sequence[Any]]
    chart: str
    chart_title: str
    series: Sequence[tuple[int, str]]
    chart_rows: int | None = None  # how many rows the chart shows (all when None)


def tables(title: str, subject: str, sheets: Sequence[Sheet]) -> bytes:
    """The workbook's bytes (built in memory: a report holds tens of rows)."""
    import xlsxwriter  # here, not at every worker's start-up (issue 19: memory)

    out = io.BytesIO()
    book = xlsxwriter.Workbook(out, {"in_memory": True})
    bold = book.add_format({"bold": True})
    for spec in sheets:
        sheet = book.add_worksheet(spec.name)
        sheet.write_row(0, 0, list(spec.headers), bold)
        for i, row in enumerate(spec.rows, start=1):
            sheet.write_row(i, 0, ["" if v is None else v for v in row])
        sheet.set_column(0, 0, 18)
        chart = book.add_chart({"type": spec.chart})
        last = len(spec.rows) if spec.chart_rows is None else spec.chart_rows
        for col, name in spec.series:
            chart.add_series({"name": name, "categories": [spec.name, 1, 0, last, 0],
                              "values": [spec.name, 1, col, last, col]})
        chart.set_title({"name": spec.chart_title})
        sheet.insert_chart(len(spec.rows) + 2, 0, chart)
    book.set_properties({"title": title, "subject": subject})
    book.close()
    return out.getvalue()


def workbook(figures: dict[str, Any]) -> bytes:
    """A periodic report's workbook: the table (its chart without the total row) and the
    monthly trend."""
    rows = [*figures["table"]["rows"], {**figures["table"]["total"], "label": "合计"}]
    trend = figures["trend"]
    return tables(figures["title"], figures["unit"], [
        Sheet("汇总", ["单位", *HEADERS], [[r["label"], *(r[c] for c in COLUMNS)] for r in rows],
              "column", f"{figures['title']}：分单位情况", SERIES, len(rows) - 1),
        Sheet("逐月趋势", ["月份", *HEADERS],
              [[m["month"], *(m[c] for c in COLUMNS)] for m in trend], "line", "逐月趋势",
              SERIES),
    ])
