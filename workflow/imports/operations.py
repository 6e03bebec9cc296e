"""The import job's operations (导入): upload, preview, apply, cancel, the lists of jobs,
rejects and candidates, and a person's decision on a candidate.

A file applies its valid rows, with the rejected rows reported (row, column, reason) and
downloadable: a county's list of 300,000 children is not sent back for a dozen bad rows, and
the rejects are what the sending agency corrects for the next list. The apply is one
transaction over the staged rows, so after a crash the file is either applied whole (all its
valid rows) or not at all. Re-sending a file already applied changes nothing (its content
hash names the earlier job).

Authorization: ``import:<source>`` with ``upload``, ``read`` and ``apply`` on the district's
path, so each agency loads and sees only its own lists and the education bureau all of them
(ST 1: the lists are sent to the bureau).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import ColumnElement, delete, insert, or_, select, text
from sqlalchemy.exc import IntegrityError

from authz.filters import scope_filter
from models.enums import JurisdictionLevel
from models.faults import sqlstate
from models.imports import (
    CandidateStatus,
    ImportJob,
    ImportReject,
    ImportRow,
    ImportSource,
    ImportStatus,
    MatchCandidate,
)
from models.reference import Jurisdiction
from workflow import audit
from workflow.calendar import local_date
from workflow.common import check_version, fetch_visible, rows_by_ids, where_given
from workflow.context import ServiceContext
from workflow.errors import Conflict, InvalidInput, NotFound, WrongStage
from workflow.imports import staging
from workflow.imports.merge import NEW, MergeContext, merge
from workflow.imports.reading import sha256_of
from workflow.imports.reminders import close_reminders
from workflow.infra.events import TaskEvent
from workflow.pagination import Page, PageRequest, keyset_page

OPEN_STATUSES = (ImportStatus.STAGED, ImportStatus.PREVIEWED)
UNIQUE_VIOLATION = "23505"
# A province's list is minutes of set-based work: the server's per-statement limit (15 s by
# default, LIANBAO_DB_STATEMENT_TIMEOUT_MS) is for requests, not for an import's merge.
IMPORT_STATEMENT_TIMEOUT = "30min"
# Its joins and sorts span millions of staged rows: with the server's default (4 MB) each
# spilled to disk. One import's transaction at a time per district, a few such nodes each.
IMPORT_WORK_MEM = "64MB"


async def _long_statements(ctx: ServiceContext) -> None:
    if ctx.session.get_bind().dialect.name == "postgresql":
        await ctx.session.execute(text(
            f"SET LOCAL statement_timeout = '{IMPORT_STATEMENT_TIMEOUT}'"))
        await ctx.session.execute(text(f"SET LOCAL work_mem = '{IMPORT_WORK_MEM}'"))


def _obj(source: ImportSource) -> str:
    return f"import:{source.value}"


def visible_jobs(ctx: ServiceContext) -> ColumnElement[bool]:
    """The jobs the caller may read, as SQL: per source, its read rule on the job's path."""
    return or_(*(
        (ImportJob.source == s) & scope_filter(ctx.authz, ctx.principal, _obj(s), "read",
                                               ImportJob.scope_path)
        for s in ImportSource
    ))


def progress_event(job: ImportJob) -> TaskEvent:
    """The bus event of a job's progress (the ``importProgress`` subscription)."""
    return TaskEvent(f"import:{job.status.value}", job.id, "import", job.scope_path)


@dataclass(frozen=True)
class Uploaded:
    job: ImportJob
    duplicate: bool  # the same content was sent before: that job, nothing new staged


async def _district(ctx: ServiceContext, code: str) -> Jurisdiction:
    district = await ctx.session.get(Jurisdiction, code)
    if district is None or district.level != JurisdictionLevel.DISTRICT:
        raise NotFound("no such district", field="districtCode")
    return district


def check_period(period: str) -> str:
    year, dash, month = period.partition("-")
    if not (dash and year.isdigit() and len(year) == 4 and month.isdigit() and len(month) == 2
            and 1 <= int(month) <= 12):
        raise InvalidInput("the period is a month, YYYY-MM (e.g. 2026-09)", field="period")
    return period


async def upload(
    ctx: ServiceContext, *, source: ImportSource, district_code: str, period: str,
    filename: str, path: Path, batch: int | None = None,
) -> Uploaded:
    """Stage a file as a new job (validated, nothing applied); the earlier job when the same
    content was sent before for this source and district."""
    district = await _district(ctx, district_code)
    ctx.authz.require(ctx.principal, _obj(source), "upload", district.path)
    check_period(period)
    digest = sha256_of(path)
    earlier = (await ctx.session.execute(
        select(ImportJob).where(
            ImportJob.source == source, ImportJob.district_code == district_code,
            ImportJob.content_sha256 == digest, ImportJob.status != ImportStatus.CANCELLED,
        ).order_by(ImportJob.id.desc()).limit(1)
    )).scalar_one_or_none()
    if earlier is not None:
        return Uploaded(earlier, duplicate=True)
    now = ctx.clock.now()
    job = ImportJob(
        source=source, district_code=district_code, scope_path=district.path, period=period,
        filename=filename[:200], content_sha256=digest, created_by=ctx.principal.user_id,
        created_at=now, updated_at=now, counts={},
    )
    ctx.session.add(job)
    await ctx.session.flush()
    await _long_statements(ctx)
    await staging.stage(ctx.session, job, path, local_date(now),
                        staging.DEFAULT_BATCH if batch is None else batch)
    audit.record(ctx, "upload_import", "import_job", [job.id], {
        "source": source.value, "period": period, "filename": job.filename, "sha256": digest,
        "rows": job.total_rows, "rejected": job.rejected_rows,
    })
    # Written now: a later locked read of the job in this transaction reloads it.
    await ctx.session.flush()
    ctx.events.append(progress_event(job))
    return Uploaded(job, duplicate=False)


async def _job(ctx: ServiceContext, job_id: int, act: str, *, lock: bool = False) -> ImportJob:
    job = await fetch_visible(ctx, ImportJob, job_id, where=visible_jobs(ctx), lock=lock,
                              not_found="no such import", field="importId")
    ctx.authz.require(ctx.principal, _obj(job.source), act, job.scope_path)
    return job


async def _merge_context(
    ctx: ServiceContext, job: ImportJob, *, dry_run: bool = False
) -> MergeContext:
    await _long_statements(ctx)
    now = ctx.clock.now()
    return MergeContext(ctx.session, job, job.scope_path, now, local_date(now), dry_run)


async def _merged(ctx: ServiceContext, job: ImportJob, *, dry_run: bool = False) -> Any:
    """The merge's counts. A new row whose child would take an ID number or register number
    another child already holds (one whose ID number was corrected since, say) is refused by
    the unique index, at the insert or at its build after a first register's rows
    (``workflow/infra/bulk_load.py``): the file's fault, said as a conflict, not a fault."""
    try:
        return await merge(await _merge_context(ctx, job, dry_run=dry_run))
    except IntegrityError as error:
        said = str(error.orig)
        if sqlstate(error) != UNIQUE_VIOLATION and "UNIQUE constraint failed" not in said:
            raise
        if "student_no" in said:
            raise Conflict("a new child of the file would take the register number of a child "
                           "already on the register: correct that child and apply again",
                           field="importId") from error
        if "national_id" in said:
            raise Conflict("a new child of the file would take an ID number already on the "
                           "register: correct the file or the register and apply again",
                           field="importId") from error
        raise  # any other unique index: not the file's fault the merge knows of


def _open(job: ImportJob) -> None:
    if job.status not in OPEN_STATUSES:
        raise WrongStage(f"the import is {job.status.value}", field="importId")


async def preview(ctx: ServiceContext, import_id: int) -> ImportJob:
    """Dry run: the merge in a savepoint, rolled back; its counts kept on the job."""
    job = await _job(ctx, import_id, "read", lock=True)
    _open(job)
    savepoint = await ctx.session.begin_nested()
    try:
        counts = await _merged(ctx, job, dry_run=True)
    finally:
        await savepoint.rollback()
    job.counts = {**counts, "dry_run": True}
    job.status = ImportStatus.PREVIEWED
    job.updated_at = ctx.clock.now()
    ctx.events.append(progress_event(job))
    return job


async def apply(
    ctx: ServiceContext, import_id: int, expected_version: int | None = None
) -> ImportJob:
    """Apply the staged rows (one transaction: all valid rows, or nothing after a fault)."""
    job = await _job(ctx, import_id, "apply", lock=True)
    check_version(job.version, expected_version, "the import")
    _open(job)
    counts = await _merged(ctx, job)
    job.rejected_rows += counts["same_child"]
    job.valid_rows -= counts["same_child"]
    await ctx.session.execute(
        delete(ImportRow).execution_options(synchronize_session=False)
        .where(ImportRow.job_id == job.id))
    now = ctx.clock.now()
    counts["reminders_closed"] = await close_reminders(ctx.session, job, now)
    job.counts = counts
    job.status = ImportStatus.APPLIED
    job.applied_at = job.updated_at = now
    audit.record(ctx, "apply_import", "import_job", [job.id], {
        "source": job.source.value, "period": job.period, **counts,
    })
    ctx.events.append(progress_event(job))
    return job


async def cancel(ctx: ServiceContext, import_id: int) -> ImportJob:
    """Drop the staged rows; the job and its rejects stay, to be read."""
    job = await _job(ctx, import_id, "upload", lock=True)
    _open(job)
    await ctx.session.execute(
        delete(ImportRow).execution_options(synchronize_session=False)
        .where(ImportRow.job_id == job.id))
    job.status = ImportStatus.CANCELLED
    job.updated_at = ctx.clock.now()
    audit.record(ctx, "cancel_import", "import_job", [job.id], {"source": job.source.value})
    ctx.events.append(progress_event(job))
    return job


@dataclass(frozen=True)
class JobFilter:
    source: ImportSource | None = None
    status: ImportStatus | None = None
    district_code: str | None = None


async def jobs_page(ctx: ServiceContext, f: JobFilter, request: PageRequest) -> Page[ImportJob]:
    stmt = where_given(
        select(ImportJob).where(visible_jobs(ctx)),
        (ImportJob.source, f.source), (ImportJob.status, f.status),
        (ImportJob.district_code, f.district_code),
    )
    return await keyset_page(ctx, stmt, ImportJob.id, request, prefix="imports",
                             descending=True)


async def get_jobs(ctx: ServiceContext, ids: Sequence[int]) -> list[ImportJob | None]:
    return await rows_by_ids(ctx, select(ImportJob).where(visible_jobs(ctx)), ImportJob.id, ids)


async def rejects_page(
    ctx: ServiceContext, job_id: int | None, request: PageRequest
) -> Page[ImportReject]:
    """Rejected rows of one import, or of every import the caller may read."""
    if job_id is not None:
        job = await _job(ctx, job_id, "read")
        stmt = select(ImportReject).where(ImportReject.job_id == job.id)
    else:
        stmt = select(ImportReject).where(
            ImportReject.job_id.in_(select(ImportJob.id).where(visible_jobs(ctx))))
    return await keyset_page(ctx, stmt, ImportReject.id, request, prefix="rejects")


def _visible_candidates(ctx: ServiceContext) -> ColumnElement[bool]:
    return MatchCandidate.job_id.in_(select(ImportJob.id).where(visible_jobs(ctx)))


async def candidates_page(
    ctx: ServiceContext, job_id: int | None, status: CandidateStatus | None,
    request: PageRequest,
) -> Page[MatchCandidate]:
    stmt = where_given(
        select(MatchCandidate).where(_visible_candidates(ctx)),
        (MatchCandidate.job_id, job_id), (MatchCandidate.status, status),
    )
    return await keyset_page(ctx, stmt, MatchCandidate.id, request, prefix="candidates")


async def get_candidates(ctx: ServiceContext, ids: list[int]) -> list[MatchCandidate | None]:
    return await rows_by_ids(ctx, select(MatchCandidate).where(_visible_candidates(ctx)),
                             MatchCandidate.id, ids)


async def decide_candidate(ctx: ServiceContext, candidate_id: int, confirm: bool) -> MatchCandidate:
    """Confirm: the row is that child, applied to it; reject: the row is another child, so
    (for the school register) a new child. Either way the row goes through the same merge."""
    candidate = await fetch_visible(
        ctx, MatchCandidate, candidate_id, where=_visible_candidates(ctx), lock=True,
        not_found="no such candidate", field="candidateId",
    )
    job = await _job(ctx, candidate.job_id, "apply", lock=True)
    if candidate.status is not CandidateStatus.OPEN:
        raise WrongStage(f"the candidate is {candidate.status.value}", field="candidateId")
    if job.status is not ImportStatus.APPLIED:
        raise WrongStage("the import is not applied", field="candidateId")
    now = ctx.clock.now()
    row: dict[str, Any] = dict(candidate.row)
    row["birth_date"] = candidate.birth_date
    staged = {**row, "job_id": job.id, "row_no": candidate.row_no,
              "child_id": candidate.child_id if confirm else None,
              "outcome": None if confirm else NEW}
    others = select(MatchCandidate).where(
        MatchCandidate.job_id == job.id, MatchCandidate.row_no == candidate.row_no,
        MatchCandidate.status == CandidateStatus.OPEN,
    )
    decided = list((await ctx.session.execute(others)).scalars())
    for c in decided:
        c.status = (CandidateStatus.CONFIRMED if confirm and c.id == candidate.id
                    else CandidateStatus.REJECTED)
        c.decided_by, c.decided_at = ctx.principal.user_id, now
    await ctx.session.execute(insert(ImportRow), [staged])
    counts = await merge(await _merge_context(ctx, job))
    await ctx.session.execute(
        delete(ImportRow).execution_options(synchronize_session=False)
        .where(ImportRow.job_id == job.id))
    audit.record(ctx, "confirm_match" if confirm else "reject_match", "match_candidate",
                 [c.id for c in decided], {"import": job.id, "row": candidate.row_no,
                                           "child": candidate.child_id, **counts})
    return candidate
