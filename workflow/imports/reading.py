"""Reading the agencies' files: CSV (the csv module, encoding detected) and XLSX
(python-calamine), both as a stream of rows so that memory stays bounded by the batch, not
by the file; and finding each field's column from the source's header mapping.

Encodings: a UTF-8 byte-order mark, else UTF-8 when a sample decodes as such, else GB18030
when it decodes as such, else what
charset-normalizer names (GBK and GB2312 read as GB18030, their superset, which is what
Chinese office software writes as "ANSI").
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from charset_normalizer import from_bytes
from python_calamine import CalamineWorkbook

from models.imports import ImportSource
from workflow.errors import InvalidInput
from workflow.infra.reference_json import load

SAMPLE_BYTES = 256 * 1024
CHUNK = 1024 * 1024
GB_FAMILY = {"gbk", "gb2312", "gb18030", "cp936", "hz"}


@dataclass(frozen=True)
class SourceMapping:
    """How one source's file reads in one district (reference_data/import_mappings.json)."""

    source: ImportSource
    title: str
    agency: str
    required: tuple[str, ...]
    # field -> the headers it may come under, squeezed (no spaces, full-width brackets)
    fields: dict[str, tuple[str, ...]]
    groups: dict[str, str]
    fixed_group: str | None


def _squeeze(header: object) -> str:
    return "".join(str(header).split()).replace("(", "（").replace(")", "）")


@cache
def mapping(source: ImportSource, district_code: str) -> SourceMapping:
    """The source's mapping: the defaults, with the district's own headers over them."""
    data = load("import_mappings.json")
    base: dict[str, Any] = dict(data["default"][source.value])
    own: dict[str, Any] = data.get("districts", {}).get(district_code, {}).get(source.value, {})
    fields = {**base["fields"], **own.get("fields", {})}
    return SourceMapping(
        source=source,
        title=base["title"],
        agency=base["agency"],
        required=tuple(own.get("required", base["required"])),
        fields={k: tuple(_squeeze(h) for h in v) for k, v in fields.items()},
        groups={**base.get("groups", {}), **own.get("groups", {})},
        fixed_group=own.get("fixed_group", base.get("fixed_group")),
    )


def columns(m: SourceMapping, header: list[object]) -> dict[str, int]:
    """Each field's column index in the file; BAD_INPUT naming the missing required headers."""
    at = {_squeeze(h): i for i, h in enumerate(header) if str(h).strip()}
    found = {
        f: next(at[h] for h in names if h in at)
        for f, names in m.fields.items()
        if any(h in at for h in names)
    }
    missing = [f for f in m.required if f not in found]
    if missing:
        wanted = "；".join(f"{f}（{'/'.join(m.fields[f])}）" for f in missing)
        raise InvalidInput(f"文件缺少必需的列：{wanted}", field="file")
    return found


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def detect_encoding(sample: bytes) -> str:
    """The text encoding of a CSV from its first bytes."""
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    try:
        # A sample may end inside a character: decode incrementally, not final.
        codecs.getincrementaldecoder("utf-8")().decode(sample, final=False)
        return "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        # A mainland agency's non-UTF-8 export is GB18030 (or GBK, a subset): charset-normalizer
        # alone took a 3,000-row GB18030 list for another East Asian encoding.
        codecs.getincrementaldecoder("gb18030")().decode(sample, final=False)
        return "gb18030"
    except UnicodeDecodeError:
        pass
    best = from_bytes(sample).best()
    name = best.encoding.lower() if best is not None else "gb18030"
    return "gb18030" if name in GB_FAMILY or name.startswith("gb") else name


def _csv_rows(path: Path) -> Iterator[list[object]]:
    with path.open("rb") as raw:
        encoding = detect_encoding(raw.read(SAMPLE_BYTES))
    with path.open(encoding=encoding, newline="", errors="strict") as text:
        try:
            yield from csv.reader(text)
        except UnicodeDecodeError as exc:
            raise InvalidInput(f"文件编码无法识别（按 {encoding} 读取失败）", field="file") from exc


def _xlsx_rows(path: Path) -> Iterator[list[object]]:
    try:
        workbook = CalamineWorkbook.from_path(str(path))
        sheet = workbook.get_sheet_by_index(0)
        rows = sheet.iter_rows()
    except Exception as exc:  # calamine raises its own error types for a broken file
        raise InvalidInput("不是可读取的 XLSX 文件", field="file") from exc
    for row in rows:
        yield list(row)


def rows_of(path: Path, filename: str) -> Iterator[list[object]]:
    """The file's rows (the header first), by its name's extension."""
    name = filename.lower()
    if name.endswith((".xlsx", ".xls", ".xlsm", ".ods")):
        return _xlsx_rows(path)
    if name.endswith((".csv", ".txt")):
        return _csv_rows(path)
    raise InvalidInput("只接受 CSV 或 XLSX 文件", field="file")


def text_of(value: object) -> str:
    """A cell as text: calamine gives numbers as floats (an ID number typed as a number, a
    grade of 3.0) and dates as date objects."""
    if type(value) is str:  # every CSV cell: the common case first
        return value.strip()
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if hasattr(value, "isoformat"):
        return str(value.isoformat())[:10]
    return str(value).strip()


def csv_bytes(rows: list[list[str]]) -> bytes:
    """Rows as a UTF-8 CSV with BOM (for tests and the demo's sample files)."""
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    return codecs.BOM_UTF8 + out.getvalue().encode("utf-8")
