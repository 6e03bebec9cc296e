"""Staging a file: its rows read, validated and written to ``import_row`` and
``import_reject`` in batches (PostgreSQL ``COPY``, SQLite one executemany per batch), so
memory holds one batch, not the file. Then the checks that need the whole file or the
register run in SQL: the school named must be the district's, an ID number may appear once.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import delete, func, insert, literal, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from models.imports import ImportJob, ImportReject, ImportRow, ImportSource
from models.reference import Jurisdiction
from models.school import School
from workflow.imports.reading import columns, mapping, rows_of
from workflow.imports.validation import Reject, check_row

DEFAULT_BATCH = 5000
ROW_COLUMNS = [c.name for c in ImportRow.__table__.columns]
REJECT_COLUMNS = ["job_id", "row_no", "column", "reason", "value"]


async def _write(session: AsyncSession, model: type[Any], cols: list[str],
                 rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    if session.get_bind().dialect.name == "postgresql":
        connection = await session.connection()
        raw = await connection.get_raw_connection()
        await raw.driver_connection.copy_records_to_table(  # type: ignore[union-attr]
            model.__tablename__, columns=cols, records=[tuple(r.get(c) for c in cols)
                                                        for r in rows],
        )
    else:
        await session.execute(insert(model), rows)


def _batches(
    job: ImportJob, path: Path, today: date, batch: int
) -> Iterator[tuple[list[dict[str, Any]], list[dict[str, Any]]]]:
    """(valid rows, rejects) per batch; BAD_INPUT when the headers lack a required field."""
    m = mapping(job.source, job.district_code)
    rows = rows_of(path, job.filename)
    header = next(rows, None)
    if header is None:
        return
    at = columns(m, header)
    good: list[dict[str, Any]] = []
    bad: list[dict[str, Any]] = []
    # Row numbers as a spreadsheet shows them: the header is row 1.
    for row_no, row in enumerate(rows, start=2):
        if not any(str(c).strip() for c in row if c is not None):
            continue
        checked = check_row(m, at, row_no, row, today)
        if isinstance(checked, Reject):
            bad.append({"job_id": job.id, "row_no": checked.row_no, "column": checked.column,
                        "reason": checked.reason, "value": checked.value})
        else:
            checked["job_id"] = job.id
            good.append(checked)
        if len(good) + len(bad) >= batch:
            yield good, bad
            good, bad = [], []
    yield good, bad


async def stage(session: AsyncSession, job: ImportJob, path: Path, today: date,
                batch: int = DEFAULT_BATCH) -> None:
    """Read, validate and stage the file; the job's row counts say what came of it."""
    total = 0
    for good, bad in _batches(job, path, today, batch):
        total += len(good) + len(bad)
        await _write(session, ImportRow, ROW_COLUMNS, good)
        await _write(session, ImportReject, REJECT_COLUMNS, bad)
    if session.get_bind().dialect.name == "postgresql":
        # Fresh rows have no statistics yet; the merge's joins are planned from these.
        await session.execute(text("ANALYZE import_row"))
    if job.source in (ImportSource.SCHOOL_REGISTER, ImportSource.SCHOOL_ROSTER):
        await _resolve_schools(session, job)
    await _reject_duplicates(session, job)
    rejected = (await session.execute(
        select(func.count(func.distinct(ImportReject.row_no))).where(ImportReject.job_id == job.id)
    )).scalar_one()
    job.total_rows = total
    job.rejected_rows = int(rejected)
    job.valid_rows = total - job.rejected_rows


async def _move_to_rejects(session: AsyncSession, job: ImportJob, where: Any, column: str,
                           reason: str, value: Any) -> None:
    await session.execute(insert(ImportReject).from_select(
        REJECT_COLUMNS,
        select(ImportRow.job_id, ImportRow.row_no, literal(column), literal(reason),
               func.coalesce(value, ""))
        .where(ImportRow.job_id == job.id, where),
    ))
    await session.execute(delete(ImportRow).where(ImportRow.job_id == job.id, where))


async def _resolve_schools(session: AsyncSession, job: ImportJob) -> None:
    """Each row's school by its name among the district's schools."""
    await session.execute(
        update(ImportRow)
        .where(ImportRow.job_id == job.id, School.name == ImportRow.school_name,
               Jurisdiction.code == School.township_code,
               Jurisdiction.parent_code == job.district_code)
        .values(school_id=School.id)
    )
    await _move_to_rejects(session, job, ImportRow.school_id.is_(None), "学校",
                           "学校不在本区学校名单中", ImportRow.school_name)


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
    await _move_to_rejects(
        session, job, ImportRow.row_no.in_(later),
        "身份证号", "文件中身份证号重复（以首次出现的行为准）", ImportRow.national_id,
    )
