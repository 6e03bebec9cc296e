"""Staging a file: its rows read, validated and written to ``import_row`` and
``import_reject`` in batches (PostgreSQL ``COPY``, SQLite one executemany per batch), so
memory holds one batch, not the file. Then the checks that need the whole file or the
register run in SQL: an ID number may appear once. The school a register row names must be
the district's: looked up as the row is validated (the district's schools are a small dict).
"""

from __future__ import annotations

import asyncio
import marshal
import multiprocessing
import os
import re
import tempfile
from collections import deque
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ProcessPoolExecutor
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import delete, func, insert, literal, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from models.imports import ImportJob, ImportReject, ImportRow, ImportSource
from models.reference import Jurisdiction
from models.school import School
from workflow.imports.reading import columns, mapping, rows_of
from workflow.imports.validation import Reject, check_row

DEFAULT_BATCH = 5000
# A file this large is validated in worker processes (a county's register is tens of MiB).
PARALLEL_FROM_BYTES = 8 * 2**20
WORKERS = min(2, os.cpu_count() or 1)
ROW_COLUMNS = [c.name for c in ImportRow.__table__.columns]
REJECT_COLUMNS = ["job_id", "row_no", "column", "reason", "value"]


# COPY's text format: a backslash, tab, newline and carriage return inside a value escaped.
_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})
_SPECIAL = re.compile(r"[\\\t\n\r]")


def _copy_value(value: object) -> str:
    if type(value) is str:
        return value.translate(_ESCAPES) if _SPECIAL.search(value) else value
    if value is None:
        return "\\N"
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def copy_text(rows: list[dict[str, Any]], cols: list[str]) -> bytes:
    """The rows in PostgreSQL ``COPY``'s text format, ``cols`` in order. Made where the rows
    are checked (a worker process for a large file): the parent passes bytes on to the
    server instead of unpickling, re-tupling and encoding each row (a third of staging's
    time at 2,000,000 rows). A plain text needs no escaping: most values are passed as
    they are (a call per value was a fifth of a worker's time)."""
    value = _copy_value
    return "".join([
        "\t".join([v if type(v) is str and not _SPECIAL.search(v) else value(v)
                   for v in map(r.get, cols)]) + "\n"
        for r in rows
    ]).encode()


Rows = list[dict[str, Any]] | bytes  # as dicts, or in COPY's text format


async def _copy(session: AsyncSession, model: type[Any], cols: list[str], source: Any) -> None:
    connection = await session.connection()
    raw = await connection.get_raw_connection()
    await raw.driver_connection.copy_to_table(  # type: ignore[union-attr]
        model.__tablename__, source=source, columns=cols, format="text")


async def _copy_all(session: AsyncSession, batches: AsyncIterator[Checked]) -> int:
    """PostgreSQL: the valid rows in one ``COPY``, streamed as the batches come, so that the
    server writes one batch while the next is read and checked (a ``COPY`` per batch kept
    the parent waiting on each: staging 2,000,000 rows used 1.3 of the 2 cores, 60 s); the
    rejects spooled to a file meanwhile and copied after. Returns the rows read."""
    total = 0
    with tempfile.TemporaryFile() as rejects:
        async def valid() -> AsyncIterator[bytes]:
            nonlocal total
            async for good, bad in batches:
                assert isinstance(good, bytes) and isinstance(bad, bytes)
                total += _count(good) + _count(bad)
                rejects.write(bad)
                if good:
                    yield good

        await _copy(session, ImportRow, ROW_COLUMNS, valid())
        rejects.seek(0)
        await _copy(session, ImportReject, REJECT_COLUMNS, rejects)
    return total


Raw = list[tuple[int, list[object]]]
Checked = tuple[Rows, Rows]


def _raw_batches(job: ImportJob, path: Path, batch: int) -> Iterator[tuple[dict[str, int], Raw]]:
    """The file's non-empty rows in batches, numbered as a spreadsheet shows them (the header
    is row 1), with the column of each field; BAD_INPUT when the headers lack a required
    field."""
    m = mapping(job.source, job.district_code)
    rows = rows_of(path, job.filename)
    header = next(rows, None)
    if header is None:
        return
    at = columns(m, header)
    raw: Raw = []
    for row_no, row in enumerate(rows, start=2):
        if _blank(row):
            continue
        raw.append((row_no, row))
        if len(raw) >= batch:
            yield at, raw
            raw = []
    yield at, raw


def _blank(row: list[object]) -> bool:
    try:
        return not "".join(row).strip()  # type: ignore[arg-type]  # a CSV's cells: text
    except TypeError:  # an XLSX row: numbers, dates, empty cells
        return not any(str(c).strip() for c in row if c is not None)


def _pack(raw: Raw) -> bytes | Raw:
    """A batch for a worker process: ``marshal``'s bytes where its rows are plain values (a
    CSV's: pickling them cost the parent 4.6 µs a row, marshal 0.3), else as it is (an XLSX
    row may hold dates)."""
    try:
        return marshal.dumps(raw)
    except ValueError:
        return raw


def check_packed(source: ImportSource, district_code: str, job_id: int, at: dict[str, int],
                 packed: bytes | Raw, today: date, schools: dict[str, int] | None,
                 copy: bool) -> Checked:
    """:func:`check_batch` of a batch from :func:`_pack` (in a worker process)."""
    raw = marshal.loads(packed) if isinstance(packed, bytes) else packed
    return check_batch(source, district_code, job_id, at, raw, today, schools, copy)


def check_batch(source: ImportSource, district_code: str, job_id: int, at: dict[str, int],
                raw: Raw, today: date, schools: dict[str, int] | None,
                copy: bool = False) -> Checked:
    """(valid rows, rejects) of one batch, as dicts or (``copy``) in COPY's text format.
    ``schools`` (the school register's): the district's schools by name, each row's school
    resolved here rather than by an UPDATE rewriting every staged row. A plain function of
    plain values: it runs in a worker process for a large file."""
    m = mapping(source, district_code)
    good: list[dict[str, Any]] = []
    bad: list[dict[str, Any]] = []
    for row_no, row in raw:
        checked = check_row(m, at, row_no, row, today)
        if not isinstance(checked, Reject) and schools is not None:
            checked = _placed(checked, schools, row_no)
        if isinstance(checked, Reject):
            bad.append({"job_id": job_id, "row_no": checked.row_no, "column": checked.column,
                        "reason": checked.reason, "value": checked.value})
        else:
            checked["job_id"] = job_id
            good.append(checked)
    if copy:
        return copy_text(good, ROW_COLUMNS), copy_text(bad, REJECT_COLUMNS)
    return good, bad


def _in_workers(path: Path) -> bool:
    return WORKERS > 1 and path.stat().st_size >= PARALLEL_FROM_BYTES


async def _batches(job: ImportJob, path: Path, today: date, batch: int,
                   schools: dict[str, int] | None, copy: bool) -> AsyncIterator[Checked]:
    """The checked batches in file order. A file of ``PARALLEL_FROM_BYTES`` or more is
    checked in ``WORKERS`` worker processes (validation is most of staging's time, and it
    no longer holds the event loop) with at most two batches per worker in flight, so
    memory stays bounded by the batch; a smaller one here."""
    args = (job.source, job.district_code, job.id)
    if not _in_workers(path):
        for at, raw in _raw_batches(job, path, batch):
            yield check_batch(*args, at, raw, today, schools, copy)
        return
    loop = asyncio.get_running_loop()
    pending: deque[asyncio.Future[Checked]] = deque()
    with ProcessPoolExecutor(WORKERS, mp_context=multiprocessing.get_context("spawn")) as pool:
        for at, raw in _raw_batches(job, path, batch):
            pending.append(loop.run_in_executor(pool, check_packed, *args, at, _pack(raw),
                                                today, schools, copy))
            if len(pending) >= 2 * WORKERS:
                yield await pending.popleft()
        while pending:
            yield await pending.popleft()


def _placed(row: dict[str, Any], schools: dict[str, int], row_no: int) -> dict[str, Any] | Reject:
    """The row with its school's id, or its reject: the school named must be the district's."""
    school_id = schools.get(row["school_name"] or "")
    if school_id is None:
        return Reject(row_no, "学校", "学校不在本区学校名单中", (row["school_name"] or "")[:200])
    row["school_id"] = school_id
    return row


async def _district_schools(session: AsyncSession, job: ImportJob) -> dict[str, int]:
    """The district's schools by name (the first by id where two share a name)."""
    found = await session.execute(
        select(School.name, School.id)
        .join(Jurisdiction, Jurisdiction.code == School.township_code)
        .where(Jurisdiction.parent_code == job.district_code)
        .order_by(School.id.desc())
    )
    return {name: school_id for name, school_id in found.all()}


async def stage(session: AsyncSession, job: ImportJob, path: Path, today: date,
                batch: int = DEFAULT_BATCH) -> None:
    """Read, validate and stage the file; the job's row counts say what came of it."""
    total = 0
    placed = job.source in (ImportSource.SCHOOL_REGISTER, ImportSource.SCHOOL_ROSTER)
    schools = await _district_schools(session, job) if placed else None
    copy = session.get_bind().dialect.name == "postgresql"
    batches = _batches(job, path, today, batch, schools, copy)
    if copy:
        total = await _copy_all(session, batches)
    else:
        async for good, bad in batches:
            assert isinstance(good, list) and isinstance(bad, list)
            total += len(good) + len(bad)
            if good:
                await session.execute(insert(ImportRow), good)
            if bad:
                await session.execute(insert(ImportReject), bad)
    if copy:
        # Fresh rows have no statistics yet; the merge's joins are planned from these.
        await session.execute(text("ANALYZE import_row"))
    await _reject_duplicates(session, job)
    rejected = (await session.execute(
        select(func.count(func.distinct(ImportReject.row_no))).where(ImportReject.job_id == job.id)
    )).scalar_one()
    job.total_rows = total
    job.rejected_rows = int(rejected)
    job.valid_rows = total - job.rejected_rows


def _count(rows: Rows) -> int:
    return rows.count(b"\n") if isinstance(rows, bytes) else len(rows)


async def move_to_rejects(session: AsyncSession, job: ImportJob, where: Any, column: str,
                           reason: str, value: Any) -> None:
    await session.execute(insert(ImportReject).from_select(
        REJECT_COLUMNS,
        select(ImportRow.job_id, ImportRow.row_no, literal(column), literal(reason),
               func.coalesce(value, ""))
        .where(ImportRow.job_id == job.id, where),
    ))
    await session.execute(
        delete(ImportRow).execution_options(synchronize_session=False)
        .where(ImportRow.job_id == job.id, where))


async def _reject_duplicates(session: AsyncSession, job: ImportJob) -> None:
    """An ID number twice in one file: the first row stands, the later ones are rejected."""
    # One sort over the job's rows, whatever the planner knows of them.
    ranked = (
        select(ImportRow.row_no, func.row_number().over(
            partition_by=ImportRow.national_id, order_by=ImportRow.row_no).label("n"))
        .where(ImportRow.job_id == job.id, ImportRow.national_id.is_not(None))
        .subquery()
    )
    later = select(ranked.c.row_no).where(ranked.c.n > 1)
    await move_to_rejects(
        session, job, ImportRow.row_no.in_(later),
        "身份证号", "文件中身份证号重复（以首次出现的行为准）", ImportRow.national_id,
    )
