"""Files over HTTP: ``POST /imports`` (an agency's list, multipart), ``POST /exports`` (any
list a user can page through, as CSV or XLSX; or one of the three ledgers by name, in its
fixed columns) and ``GET /imports/{id}/rejects.xlsx``.

Exports run the client's own GraphQL connection query through the normal schema, page by
page, each page in its own session with its own ``FieldGuard``: the same authorization, the
same masking and the same access log as the API, by construction, and nothing held in
memory but the page being written (CSV streamed as it comes; XLSX written in
``constant_memory`` mode to a temporary file, then streamed). Errors answer GraphQL-shaped
JSON with ``extensions.code``, as ``/graphql`` does.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

from starlette.background import BackgroundTask
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response, StreamingResponse
from strawberry import relay

from api import http as edge
from api.auth import TokenError
from api.ratelimit import RateLimited, rate_limited_response
from api.state import AppState, authenticate, unauthenticated
from authz.errors import LianbaoError
from authz.guard import FieldGuard
from authz.principal import Principal
from models.imports import ImportSource
from schema.context import AppResources, Context
from schema.ledger import export_request as ledger_export
from schema.loaders import Loaders
from workflow import access_log, exports, imports
from workflow.context import ServiceContext
from workflow.ledger import LedgerKind

STATUS = {"NOT_FOUND": 404, "WRONG_STAGE": 409, "FORBIDDEN": 403, "BAD_INPUT": 400,
          "UNAUTHENTICATED": 401}
CHUNK = 1024 * 1024
REJECTS_QUERY = """query Rejects($id: ID!, $after: String) { importRejects(importId: $id,
  first: 100, after: $after) { edges { node { rowNo column reason value { value } } }
  pageInfo { hasNextPage endCursor } } }"""
REJECT_TITLES = {"rowNo": "行号", "column": "列", "reason": "原因", "value": "值"}


class Refused(Exception):
    """An answer other than the file: a status, code and message."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def _error(status: int, code: str, message: str) -> JSONResponse:
    return edge.error_response(status, message, code, edge.APPLICATION_JSON)


async def _signed_in(state: AppState, request: Request) -> Principal | Response:
    """The caller, or the 401 / 429 / 503 answer."""
    try:
        async with state.sessions() as session:
            principal = await authenticate(state, session, request.headers.get("authorization"))
    except TokenError as error:
        return unauthenticated(error)
    except RateLimited as error:
        return rate_limited_response(error)
    except Exception as exc:
        if not edge.is_database_unavailable(exc):
            raise
        return _error(503, "DATABASE_UNAVAILABLE", edge.UNAVAILABLE_MESSAGE)
    request.scope.setdefault("state", {})["principal"] = principal
    return principal


def _context(state: AppState, session: Any, principal: Principal, request: Request
             ) -> ServiceContext:
    return ServiceContext(session, principal, state.authz, state.clock,
                          request_id=request.scope.get("state", {}).get("request_id"))


async def _save(upload: UploadFile) -> Path:
    suffix = Path(upload.filename or "upload.csv").suffix.lower()[:8]
    fd, name = tempfile.mkstemp(prefix="lianbao-import-", suffix=suffix)
    with os.fdopen(fd, "wb") as out:
        while chunk := await upload.read(CHUNK):
            out.write(chunk)
    return Path(name)


def _remove(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.remove(path)


def _source(raw: object) -> ImportSource:
    try:
        return ImportSource(str(raw).strip().lower())
    except ValueError as exc:
        names = ", ".join(s.name for s in ImportSource)
        raise Refused(400, "BAD_INPUT", f"source is one of {names}") from exc


async def upload_import(request: Request) -> Response:
    """``POST /imports``: fields ``source``, ``districtCode``, ``period`` (YYYY-MM) and
    ``file`` (CSV or XLSX). 201 with the staged job; 200 with the earlier job when the same
    file was sent before (nothing new is staged)."""
    state: AppState = request.app.state.lianbao
    signed = await _signed_in(state, request)
    if isinstance(signed, Response):
        return signed
    path: Path | None = None
    try:
        async with request.form(max_files=1, max_fields=8) as form:
            upload = form.get("file")
            if not isinstance(upload, UploadFile):
                raise Refused(400, "BAD_INPUT", "send the list as the multipart field 'file'")
            source = _source(form.get("source"))
            path = await _save(upload)
            filename = upload.filename or f"{source.value}.csv"
            async with state.sessions() as session:
                ctx = _context(state, session, signed, request)
                try:
                    uploaded = await imports.upload(
                        ctx, source=source, district_code=str(form.get("districtCode", "")),
                        period=str(form.get("period", "")), filename=filename, path=path,
                    )
                    await session.commit()
                except LianbaoError as error:
                    await session.rollback()
                    raise Refused(STATUS.get(error.code, 400), error.code, error.message) from error
        if ctx.events:
            await state.bus.publish(ctx.events)
    except Refused as refused:
        return _error(refused.status, refused.code, refused.message)
    finally:
        if path is not None:
            _remove(path)
    job = uploaded.job
    return JSONResponse({
        "importJob": {
            "id": relay.to_base64("ImportJob", job.id), "status": job.status.name,
            "source": job.source.name, "period": job.period, "totalRows": job.total_rows,
            "validRows": job.valid_rows, "rejectedRows": job.rejected_rows,
        },
        "duplicate": uploaded.duplicate,
    }, status_code=200 if uploaded.duplicate else 201)


def _connection(data: Any) -> dict[str, Any] | None:
    """The first connection (``edges`` and ``pageInfo``) in a result."""
    if isinstance(data, dict):
        if isinstance(data.get("edges"), list) and isinstance(data.get("pageInfo"), dict):
            return data
        for value in data.values():
            found = _connection(value)
            if found is not None:
                return found
    return None


PageRunner = Callable[[str | None], Awaitable[tuple[list[dict[str, Any]], str | None]]]


class Exporter:
    """Runs GraphQL pages for an export, as the signed-in caller."""

    def __init__(self, graphql: Any, state: AppState) -> None:
        self.graphql = graphql
        self.state = state

    def resources(self) -> AppResources:
        resources: AppResources = self.graphql.resources()
        return resources

    def pages(self, request: Request, principal: Principal, body: dict[str, Any]) -> PageRunner:
        query, variables = body.get("query"), dict(body.get("variables") or {})
        if not isinstance(query, str):
            raise Refused(400, "BAD_INPUT", "send the GraphQL connection query as 'query'")
        state = self.state

        async def run(after: str | None) -> tuple[list[dict[str, Any]], str | None]:
            async with state.sessions() as session:
                services = _context(state, session, principal, request)
                guard = FieldGuard(state.authz, principal, services.clock.now())
                context = Context(services=services, loaders=Loaders(services), guard=guard,
                                  request=request, app=self.resources())
                result = await self.graphql.schema.execute(
                    query, variable_values={**variables, "after": after},
                    context_value=context, operation_name=body.get("operationName"),
                )
                if result.errors:
                    first = result.errors[0]
                    code = (first.extensions or {}).get("code", "BAD_INPUT")
                    raise Refused(STATUS.get(code, 400), code, first.message)
                # The raw reads of this page are logged before any of it is written out.
                await access_log.write(session, principal, guard.entries, services.request_id)
                await session.commit()
            found = _connection(result.data)
            if found is None:
                raise Refused(400, "BAD_INPUT", "the query has no connection (edges, pageInfo)")
            info = found["pageInfo"]
            if "hasNextPage" not in info or "endCursor" not in info:
                raise Refused(400, "BAD_INPUT", "select pageInfo { hasNextPage endCursor }")
            nodes = [e.get("node") for e in found["edges"] if isinstance(e, dict)]
            return [n for n in nodes if isinstance(n, dict)], (
                info["endCursor"] if info["hasNextPage"] else None)

        return run

    async def answer(self, request: Request, body: dict[str, Any], *, fixed: bool = False,
                     shown: dict[str, Any] | None = None,
                     otherwise: dict[str, str] | None = None) -> Response:
        """The export of ``body``'s query; ``fixed``: the columns are exactly the titled ones,
        in their order (a ledger's sheet), whatever the rows hold; ``shown``: how some
        columns' values are written, ``otherwise`` what fills an empty one (exports.Table)."""
        signed = await _signed_in(self.state, request)
        if isinstance(signed, Response):
            return signed
        kind = str(body.get("format", "csv")).lower()
        if kind not in ("csv", "xlsx"):
            return _error(400, "BAD_INPUT", "format is csv or xlsx")
        titles: dict[str, str] = dict(body.get("titles") or {})
        name = "".join(c for c in str(body.get("filename", "export")) if c.isalnum() or c in "-_")
        try:
            run = self.pages(request, signed, body)
            nodes, after = await run(None)  # the first page before answering: errors are JSON
        except Refused as refused:
            return _error(refused.status, refused.code, refused.message)
        table = exports.Table(titles, shown, otherwise)
        if fixed:
            table.columns = list(titles)
        rows = table.rows(nodes)
        header = [titles.get(c, c) for c in table.columns or []]
        disposition = {"Content-Disposition": f"attachment; filename={name or 'export'}.{kind}",
                       "Cache-Control": "private, no-store"}
        if kind == "csv":
            return StreamingResponse(_csv(run, table, header, rows, after),
                                     media_type="text/csv; charset=utf-8", headers=disposition)
        path = await _xlsx(run, table, header, rows, after)
        return FileResponse(
            path, headers=disposition, background=BackgroundTask(_remove, path),
            media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )

    async def export(self, request: Request) -> Response:
        """``POST /exports``: {query, variables, format, titles, filename}."""
        try:
            body = edge.decode_json(await request.body())
        except edge.RequestRejected as error:
            return _error(400, error.code, error.reason)
        if not isinstance(body, dict):
            return _error(400, "BAD_INPUT", "send a JSON object")
        if "ledger" in body:
            return await self.ledger(request, body)
        return await self.answer(request, body)

    async def ledger(self, request: Request, body: dict[str, Any]) -> Response:
        """``POST /exports`` with {ledger, filter, format}: one of the three ledgers in the
        columns the county reports upward (``reference_data/ledgers.json``), through the same
        machinery: the ledger's own connection query, paged, masked and logged as any."""
        try:
            kind = LedgerKind(str(body["ledger"]).lower())
        except ValueError:
            names = ", ".join(k.value for k in LedgerKind)
            return _error(400, "BAD_INPUT", f"ledger is one of {names}")
        query, titles, name, shown, otherwise = ledger_export(kind)
        return await self.answer(request, {
            "query": query, "variables": {"filter": body.get("filter")},
            "format": body.get("format", "xlsx"), "titles": titles, "filename": name,
        }, fixed=True, shown=shown, otherwise=otherwise)

    async def rejects(self, request: Request) -> Response:
        """``GET /imports/{id}/rejects.xlsx``: the rejected rows, as the API shows them."""
        job = request.path_params["import_id"]
        return await self.answer(request, {
            "query": REJECTS_QUERY, "variables": {"id": job}, "format": "xlsx",
            "titles": REJECT_TITLES, "filename": "rejects",
        })


async def _csv(run: PageRunner, table: exports.Table, header: list[str],
               rows: list[list[str]], after: str | None) -> AsyncIterator[bytes]:
    yield exports.csv_chunk([header, *rows], first=True)
    while after is not None:
        nodes, after = await run(after)
        yield exports.csv_chunk(table.rows(nodes))


async def _xlsx(run: PageRunner, table: exports.Table, header: list[str],
                rows: list[list[str]], after: str | None) -> Path:
    fd, name = tempfile.mkstemp(prefix="lianbao-export-", suffix=".xlsx")
    os.close(fd)
    path = Path(name)
    book = exports.XlsxFile(path)
    try:
        book.write([header], header=True)
        book.write(rows)
        while after is not None:
            nodes, after = await run(after)
            book.write(table.rows(nodes))
    except BaseException:
        with contextlib.suppress(Exception):
            book.close()
        _remove(path)
        raise
    book.close()
    return path
