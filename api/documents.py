"""``GET /documents/{id}/pdf``: the issued PDF, to whoever may read the document.

A plain HTTP route rather than a GraphQL field: a browser or a print spooler fetches bytes
with the same bearer token, and the PDF is served exactly as it was signed and hashed at issue
(the ``ETag`` and ``X-Document-SHA256`` headers carry that hash). The served copy names the
child as the addressee must read it, so the download needs the grants to see that unmasked,
and each download is a line in the access log.
"""

from __future__ import annotations

from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from api import checks
from api.auth import TokenError
from api.http import RETRY_AFTER_SECONDS, UNAVAILABLE_MESSAGE, is_database_unavailable
from api.ratelimit import RateLimited, rate_limited_response
from api.settings import Settings, dev_signing_dir
from api.state import AppState, authenticate, unauthenticated
from authz.errors import LianbaoError
from workflow import document
from workflow.context import ServiceContext
from workflow.infra import pdf, signing


def configure_documents(settings: Settings) -> None:
    """Fonts, signing keys and the public address for documents, for the server and for the
    commands that issue documents (``seed-demo``). Production refuses to start on a font that
    cannot set Chinese (``api/checks.py``); without an agency's key it refuses that agency's
    issues."""
    # Checked where it must refuse: reading the fonts costs start-up time (check-config
    # reports it everywhere).
    found = checks.font_problems(settings) if settings.is_production else []
    if found:
        raise RuntimeError("cannot issue documents: " + "; ".join(found))
    pdf.use_font(settings.pdf_font_dir, settings.pdf_font_family)
    signing.configure(
        settings.signing_keys_dir or dev_signing_dir(), generate=not settings.is_production
    )
    document.configure_printing(settings.public_url)


STATUS = {"NOT_FOUND": 404, "WRONG_STAGE": 409, "FORBIDDEN": 403, "BAD_INPUT": 400}


def content_disposition(number: str | None, document_id: int) -> str:
    """RFC 6266: the file is named by its document number (山教体入通〔2026〕3号.pdf) in
    ``filename*`` (RFC 8187, UTF-8), with an ASCII ``filename`` for clients that lack it."""
    fallback = f"document-{document_id}.pdf"
    if not number:
        return f'inline; filename="{fallback}"'
    return f"inline; filename=\"{fallback}\"; filename*=UTF-8''{quote(number + '.pdf', safe='')}"


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
            await session.commit()  # the access log's line for this download
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
            "Content-Disposition": content_disposition(doc.number, doc.id),
            "ETag": f'"{doc.pdf_sha256}"',
            "X-Document-SHA256": doc.pdf_sha256,
            "X-Document-Status": doc.status.value,
            "Cache-Control": "private, no-store",
        },
    )
