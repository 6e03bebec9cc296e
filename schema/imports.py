"""GraphQL for imports (导入): the jobs, their rejects and uncertain matches, preview, apply,
cancel, a person's decision on a match, and the job's progress pushed live.

The file itself is uploaded over ``POST /imports`` (multipart, api/files.py): GraphQL
carries no files here. The rejects are downloadable as XLSX at
``GET /imports/{id}/rejects.xlsx``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncGenerator
from functools import partial
from typing import Any

import strawberry

from authz.errors import Unauthenticated
from authz.guard import FieldGuard
from authz.masking import SensitiveField
from authz.principal import Principal
from models import imports as m
from schema.child import ChildNode
from schema.context import Info
from schema.enums import CandidateStatus
from schema.ids import node_id, optional_node_id
from schema.loaders import Loaders
from schema.operations import Operation, listing, operations
from schema.pagination import Connection, page_request, to_connection
from schema.sensitive import SensitiveValue
from schema.shape import RowNode, fetched_by, row_field
from workflow import imports as service
from workflow.context import ServiceContext

ID_COLUMN = "身份证号"


@strawberry.type(description="What a dry run found, or what the apply did.")
class ImportCounts:
    created: int | None = strawberry.field(description="New children (school register).")
    changed: int | None = strawberry.field(description="Children whose register changed.")
    unchanged: int | None = strawberry.field(description="Children the file left as they were.")
    matched: int | None = strawberry.field(description="Rows matched to a child (other lists).")
    unmatched: int | None = strawberry.field(
        description="Rows of a person not on the register: kept in the base database."
    )
    candidates: int = strawberry.field(description="Rows left for a person to confirm.")
    groups_set: int = strawberry.field(description="Special-group memberships the list holds.")
    groups_removed: int = strawberry.field(
        description="Groups taken off: the source's earlier list had the child, this one not."
    )
    reminders_closed: int | None = strawberry.field(
        description="ST 1 reminder tasks the applied list answered."
    )
    dry_run: bool

    @classmethod
    def of(cls, c: dict[str, Any]) -> ImportCounts:
        return cls(
            created=c.get("new"), changed=c.get("changed"), unchanged=c.get("same"),
            matched=c.get("matched"), unmatched=c.get("unmatched"),
            candidates=int(c.get("candidates", 0)), groups_set=int(c.get("groups_set", 0)),
            groups_removed=int(c.get("groups_removed", 0)),
            reminders_closed=c.get("reminders_closed"), dry_run=bool(c.get("dry_run", False)),
        )


@strawberry.type(name="ImportReject", description="A rejected row: row number, column, reason.")
class ImportRejectType:
    row: strawberry.Private[m.ImportReject]

    row_no = row_field("row_no", int, description="The row as the spreadsheet numbers it.")
    column = row_field("column", str)
    reason = row_field("reason", str, description="Why, in Chinese (shown to the clerk).")

    @strawberry.field(description="The value refused; an ID number masked without the grant.")
    async def value(self, info: Info) -> SensitiveValue:
        if self.row.column != ID_COLUMN:
            return SensitiveValue(value=self.row.value, masked=False, reason=None)
        # Unmasked by a grant over the district the list came from.
        job = await info.context.loaders.import_job.load(self.row.job_id)
        return SensitiveValue.of(info.context.guard.show(
            SensitiveField.NATIONAL_ID, self.row.value or None, record_type="import_reject",
            record_id=self.row.id, domain=job.scope_path if job is not None else "",
        ))


@fetched_by(service.get_jobs)
@strawberry.type(name="ImportJob", description="An uploaded list of one source, district "
                 "and period: staged, previewed, applied or cancelled.")
class ImportJobNode(RowNode, columns=("source", "district_code", "period", "filename",
                                      "content_sha256", "status", "total_rows", "valid_rows",
                                      "rejected_rows", "created_at", "applied_at", "version")):
    row: strawberry.Private[m.ImportJob]

    @strawberry.field(description="The dry run's or the apply's counts (null before either).")
    def counts(self) -> ImportCounts | None:
        return ImportCounts.of(self.row.counts) if self.row.counts else None


@fetched_by(service.get_candidates)
@strawberry.type(name="MatchCandidate", description="A row that may be a known child "
                 "without an ID number: never merged until a person confirms it.")
class MatchCandidateNode(RowNode):
    """A person decides (``confirmMatch`` / ``rejectMatch``); until then the row waits."""

    row: strawberry.Private[m.MatchCandidate]

    @strawberry.field(description="The import the row came in.")
    async def import_job(self, info: Info) -> ImportJobNode | None:
        job = await info.context.loaders.import_job.load(self.row.job_id)
        return None if job is None else ImportJobNode.from_model(job)

    @strawberry.field(description="The child on the register it may be (if the caller may "
                      "see that child).")
    async def child(self, info: Info) -> ChildNode | None:
        found = await info.context.loaders.registered_child.load(self.row.child_id)
        return None if found is None else ChildNode.from_model(found)

    row_no = row_field("row_no", int)
    name = row_field("name", str)
    birth_date = row_field("birth_date", dt.date)
    guardian_name = row_field("guardian_name", str | None)
    reason = row_field("reason", str)
    status = row_field("status", CandidateStatus)


@strawberry.type
class ImportQuery:
    import_jobs = listing(
        ImportJobNode, service.jobs_page, filter=service.JobFilter,
        filter_name="ImportFilterInput",
        description="Imports the caller may read, newest first.",
    )

    @strawberry.field(description="An import's rejected rows, in file order (also as XLSX at "
                      "GET /imports/{id}/rejects.xlsx).")
    async def import_rejects(
        self, info: Info, import_id: strawberry.ID | None = None, first: int | None = None,
        after: str | None = None,
    ) -> Connection[ImportRejectType]:
        page = await service.rejects_page(
            info.context.services, optional_node_id(import_id, "ImportJob", "importId"),
            page_request(info, first, after),
        )
        return to_connection(page, lambda r: ImportRejectType(row=r))

    @strawberry.field(description="Uncertain matches of children without an ID number.")
    async def match_candidates(
        self, info: Info, import_id: strawberry.ID | None = None,
        status: CandidateStatus | None = None, first: int | None = None,
        after: str | None = None,
    ) -> Connection[MatchCandidateNode]:
        page = await service.candidates_page(
            info.context.services, optional_node_id(import_id, "ImportJob", "importId"),
            status, page_request(info, first, after),
        )
        return to_connection(page, MatchCandidateNode.from_model)


@strawberry.input
class ImportJobInput:
    import_id: strawberry.ID


@strawberry.input
class MatchDecisionInput:
    candidate_id: strawberry.ID


async def _decide(ctx: ServiceContext, candidate_id: int, *, confirm: bool) -> m.MatchCandidate:
    return await service.decide_candidate(ctx, candidate_id, confirm)


@strawberry.type
@operations("import_job", ImportJobNode,
            ids={"import_id": "ImportJob", "candidate_id": "MatchCandidate"})
class ImportMutation:
    preview_import = Operation(
        service.preview, ImportJobInput, "Dry run: what applying would do (nothing is changed)."
    )
    apply_import = Operation(
        service.apply, description="Apply the file's valid rows (one transaction)."
    )
    cancel_import = Operation(
        service.cancel, ImportJobInput, "Drop a staged file without applying it."
    )
    confirm_match = Operation(
        partial(_decide, confirm=True), MatchDecisionInput,
        "The row is this child: apply it to the child.",
        subject="match_candidate", node=MatchCandidateNode,
    )
    reject_match = Operation(
        partial(_decide, confirm=False), MatchDecisionInput,
        "The row is another child: the school register's row becomes a new child.",
        subject="match_candidate", node=MatchCandidateNode,
    )


async def _still_signed_in(info: Info, session: Any, principal: Principal) -> Principal | None:
    """A socket outlives its token and its user's grants: the principal as of now."""
    again = info.context.reauthenticate
    return principal if again is None else await again(session)


@strawberry.type
class ImportSubscription:
    @strawberry.subscription(description="An import's progress: the job each time it moves "
                             "(staged, previewed, applied, cancelled).")
    async def import_progress(
        self, info: Info, import_id: strawberry.ID
    ) -> AsyncGenerator[ImportJobNode, None]:
        job_id = node_id(import_id, "ImportJob", "importId")
        context = info.context
        bus, sessions = context.app.bus, context.app.sessions
        if bus is None or sessions is None:
            raise RuntimeError("subscriptions need the app's event bus and session factory")
        principal, authz, clock = (
            context.services.principal, context.services.authz, context.services.clock)
        if principal.user_id is None:
            raise Unauthenticated("sign in with connection_init before subscribing")
        async with bus.subscribe() as queue:
            while True:
                event = await queue.get()
                if not event.kind.startswith("import:") or event.task_id != job_id:
                    continue
                async with sessions() as session:
                    fresh = await _still_signed_in(info, session, principal)
                    if fresh is None:
                        return  # expired or deactivated: the socket is being closed
                    principal = fresh
                    services = ServiceContext(session, principal, authz, clock)
                    (job,) = await service.get_jobs(services, [job_id])
                    if job is None:
                        continue
                    context.services = services
                    context.loaders = Loaders(services)
                    context.guard = FieldGuard(authz, principal, clock.now())
                    yield ImportJobNode.from_model(job)
