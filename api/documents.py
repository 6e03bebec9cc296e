"""``GET /documents/{id}/pdf``: the issued PDF, to whoever may read the document.

A plain HTTP route rather than a GraphQL field: a browser or a print spooler fetches bytes
with the same bearer token, and the PDF is served exactly as it was hashed at issue (the
``ETag`` and ``X-Document-SHA256`` headers carry that hash).
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from api.auth import TokenError
from api.http import RETRY_AFTER_SECONDS, UNAVAILABLE_MESSAGE, is_database_unavailable
from api.ratelimit import RateLimited, rate_limited_response
from api.state import AppState, authenticate, unauthenticated
from authz.errors import LianbaoError
from workflow import document
from workflow.context import ServiceContext

STATUS = {"NOT_FOUND": 404, "WRONG_STAGE": 409, "FORBIDDEN": 403, "BAD_INPUT": 400}


async def document_pdf(request: Request) -> Response:
    state: AppState = request.app.state.lianbao
    try:
        document_id = int(request.path_params["document_id"])
    except ValueError:
        return JSONResponse({"code": "BAD_INPUT", "message": "not a document id"}, 400)
    try:
        async with state.sessions() as session:
            try:
                principal = await authenticate(
                    state, session, request.headers.get("authorization")
                )
            except TokenError as error:
                return unauthenticated(error)
            except RateLimited as error:
                return rate_limited_response(error)
            # For the access line (api/logs.py): who fetched the file.
            request.scope.setdefault("state", {})["principal"] = principal
            ctx = ServiceContext(
                session,
                principal,
                state.authz,
                state.clock,
                request_id=request.scope.get("state", {}).get("request_id"),
            )
            try:
                doc = await document.pdf_of(ctx, document_id)
            except LianbaoError as error:
                return JSONResponse(
                    {"code": error.code, "message": error.message}, STATUS.get(error.code, 500)
                )
    except Exception as exc:
        # As on /graphql: an unreachable database is a retryable 503, not a bare 500.
        if not is_database_unavailable(exc):
            raise
        return JSONResponse(
            {"code": "DATABASE_UNAVAILABLE", "message": UNAVAILABLE_MESSAGE, "retryable": True},
            503,
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        )
    assert doc.pdf is not None and doc.pdf_sha256 is not None
    if request.headers.get("if-none-match") == f'"{doc.pdf_sha256}"':
        return Response(status_code=304)
    return Response(
        doc.pdf,
        media_type="application/pdf",
        headers={
            "Content-Disposition": f"inline; filename=document-{doc.id}.pdf",
            "ETag": f'"{doc.pdf_sha256}"',
            "X-Document-SHA256": doc.pdf_sha256,
            "X-Document-Status": doc.status.value,
            "Cache-Control": "private, no-store",
        },
    )
