"""A request body size limit on every route, enforced while the body streams in.

Without it a client could post a body of any size and the server would hold all of it in
memory before strawberry even parsed it. The limit is checked twice: up front against
``Content-Length`` (nothing is read), and as chunks arrive, for chunked bodies or a
``Content-Length`` that lies. Either way the answer is 413 with a GraphQL-style error whose
``extensions.code`` is ``REQUEST_TOO_LARGE``.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api import http as edge

TOO_LARGE = "REQUEST_TOO_LARGE"


class BodyTooLarge(Exception):
    """Raised from ``receive`` to stop the application reading any further."""


async def _send_too_large(scope: Scope, receive: Receive, send: Send, limit: int) -> None:
    """The 413 in the media type the client accepts, like every other refusal (api/http.py);
    no ``data`` entry, since nothing was executed."""
    accept = next((v.decode("latin-1") for k, v in scope.get("headers") or [] if k == b"accept"),
                  None)
    response = edge.error_response(
        413,
        f"the request body is larger than {limit} bytes",
        TOO_LARGE,
        edge.negotiate(accept),
        extensions={"limit": limit},
        # The rest of the body is not read, so the connection cannot be reused.
        headers={"connection": "close"},
    )
    await response(scope, receive, send)


class BodySizeLimitMiddleware:
    """ASGI middleware: refuse HTTP request bodies above ``max_bytes``."""

    def __init__(self, app: ASGIApp, max_bytes: int, larger: dict[str, int] | None = None
                 ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        # Routes with a limit of their own (exact paths): ``POST /imports`` takes a county's
        # list file, far above what a GraphQL request needs.
        self.larger = dict(larger or {})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.larger.get(scope.get("path", ""), self.max_bytes)
        for name, value in scope.get("headers") or []:
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    continue  # the server rejects a malformed length; counting still applies
                if declared > limit:
                    await _send_too_large(scope, receive, send, limit)
                    return
        received = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except BodyTooLarge:
            if started:
                # The application answered before reading all of the body; its answer stands.
                return
            await _send_too_large(scope, receive, send, limit)
