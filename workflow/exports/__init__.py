"""Writing exports (导出): the rows of a GraphQL connection, page by page, as CSV or XLSX.

What is written is exactly what the API answered (the export route, api/files.py, runs the
client's own connection query through the normal schema, so the same authorization, field
masking and access log apply); this module only turns each page's nodes into table rows and
writes them without holding the export in memory: CSV chunk by chunk, XLSX with
xlsxwriter's ``constant_memory`` mode into a temporary file.
"""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

SENSITIVE_KEYS = frozenset({"value", "masked", "reason"})
LIST_SEPARATOR = "；"


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    return str(value)


def flatten(node: dict[str, Any], prefix: str = "") -> dict[str, str]:
    """A node as one row: nested objects as ``a.b`` columns, a sensitive value (``value``,
    ``masked``, ``reason``) as its shown value (masked as the API masked it), lists joined."""
    out: dict[str, str] = {}
    for key, value in node.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            if "value" in value and set(value) <= SENSITIVE_KEYS:
                # The shown value in the column itself; whether it was masked, and why, next
                # to it when the query asked.
                out[name] = _cell(value["value"])
                out.update({f"{name}.{k}": _cell(v) for k, v in value.items() if k != "value"})
            else:
                out.update(flatten(value, f"{name}."))
        elif isinstance(value, list):
            out[name] = LIST_SEPARATOR.join(
                _cell(v.get("value", v.get("name", v))) if isinstance(v, dict) else _cell(v)
                for v in value
            )
        else:
            out[name] = _cell(value)
    return out


class Table:
    """The columns an export has: those of its first row, in the query's order."""

    def __init__(self, titled: Iterable[str] = (),
                 shown: Mapping[str, Callable[[str], str]] | None = None,
                 otherwise: Mapping[str, str] | None = None) -> None:
        self.columns: list[str] | None = None
        # The columns of an empty export: those the client gave titles for.
        self.titled = list(titled)
        # How a column's value is written, where the sheet words it otherwise than the API
        # (an enum's value as its Chinese label in a ledger's sheet).
        self.shown = dict(shown or {})
        # The column that fills a column where a row has no value of its own (a ledger's
        # person on no register: its finding's name where a child's would be).
        self.otherwise = dict(otherwise or {})

    def rows(self, nodes: Iterable[dict[str, Any]]) -> list[list[str]]:
        flat = [flatten(n) for n in nodes if n is not None]
        if self.columns is None:
            self.columns = list(flat[0]) if flat else self.titled
        for row in flat:
            for column, other in self.otherwise.items():
                if not row.get(column):
                    row[column] = row.get(other, "")
            for column, show in self.shown.items():
                if row.get(column):
                    row[column] = show(row[column])
        return [[row.get(c, "") for c in self.columns] for row in flat]


def csv_chunk(rows: list[list[str]], *, first: bool = False) -> bytes:
    """Rows as UTF-8 CSV bytes; the first chunk starts with a BOM, so that spreadsheet
    software opens the Chinese text as UTF-8."""
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    data = out.getvalue().encode("utf-8")
    return codecs.BOM_UTF8 + data if first else data


class XlsxFile:
    """An XLSX being written row by row to ``path`` (constant memory: each row is flushed
    once the next begins)."""

    def __init__(self, path: Path, sheet: str = "导出") -> None:
        import xlsxwriter  # here, not at every worker's start-up (issue 19: memory)

        self.workbook = xlsxwriter.Workbook(str(path), {"constant_memory": True})
        self.sheet = self.workbook.add_worksheet(sheet[:31])
        self.header = self.workbook.add_format({"bold": True})
        self.next_row = 0

    def write(self, rows: list[list[str]], *, header: bool = False) -> None:
        for row in rows:
            self.sheet.write_row(self.next_row, 0, row, self.header if header else None)
            self.next_row += 1

    def close(self) -> None:
        self.workbook.close()
