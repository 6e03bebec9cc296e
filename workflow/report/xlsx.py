"""A report as an XLSX workbook with native charts (xlsxwriter): the table by the kind's
dimension with a column chart, and the month-by-month trend with a line chart."""

from __future__ import annotations

import io
from typing import Any

import xlsxwriter

from workflow.report.drafting import MEASURE_NAMES, RATE_NAMES

COLUMNS = [m.value for m in MEASURE_NAMES] + list(RATE_NAMES)
HEADERS = list(MEASURE_NAMES.values()) + list(RATE_NAMES.values())


def _sheet(book: Any, name: str, first: str, rows: list[dict[str, Any]], key: str) -> Any:
    sheet = book.add_worksheet(name)
    bold = book.add_format({"bold": True})
    sheet.write_row(0, 0, [first, *HEADERS], bold)
    for i, row in enumerate(rows, start=1):
        sheet.write(i, 0, row[key])
        sheet.write_row(i, 1, [row[c] if row[c] is not None else "" for c in COLUMNS])
    sheet.set_column(0, 0, 18)
    return sheet


def _chart(book: Any, kind: str, sheet: str, rows: int, title: str) -> Any:
    chart = book.add_chart({"type": kind})
    for col, name in ((4, "疑似辍学"), (5, "辍学"), (6, "复学")):
        chart.add_series({
            "name": name,
            "categories": [sheet, 1, 0, rows, 0],
            "values": [sheet, 1, col, rows, col],
        })
    chart.set_title({"name": title})
    return chart


def workbook(figures: dict[str, Any]) -> bytes:
    """The workbook's bytes (built in memory: a report holds tens of rows)."""
    out = io.BytesIO()
    book = xlsxwriter.Workbook(out, {"in_memory": True})
    rows = [*figures["table"]["rows"], {**figures["table"]["total"], "label": "合计"}]
    table = _sheet(book, "汇总", "单位", rows, "label")
    table.insert_chart(len(rows) + 2, 0, _chart(book, "column", "汇总", len(rows) - 1,
                                                 f"{figures['title']}：分{'单位'}情况"))
    trend = _sheet(book, "逐月趋势", "月份", figures["trend"], "month")
    trend.insert_chart(len(figures["trend"]) + 2, 0,
                       _chart(book, "line", "逐月趋势", len(figures["trend"]), "逐月趋势"))
    book.set_properties({"title": figures["title"], "subject": figures["unit"]})
    book.close()
    return out.getvalue()
