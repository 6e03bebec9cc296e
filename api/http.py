"""GraphQL over HTTP at the edge: media types, request decoding, coded error responses.

Everything that happens to a request before GraphQL sees it, and to a failure that never
reaches GraphQL, is decided here, so that every answer of ``/graphql`` is a GraphQL-shaped
JSON body with ``extensions.code``, never a bare ``text/plain`` 4xx/5xx:

* which media type to answer (``application/graphql-response+json`` when the client accepts it,
  else ``application/json``), and the status codes that media type asks for
  (GraphQL over HTTP spec, https://graphql.github.io/graphql-over-http/draft/);
* decoding the body and the GET parameters strictly: UTF-8 only, no lone surrogates, bounded
  nesting, so bad bytes are a 400 and not a crash deeper down;
* recognising a database that cannot be reached, so the client gets a retryable 503.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote_to_bytes

from cross_web import HTTPException
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from models.faults import DATABASE_UNAVAILABLE, is_database_unavailable
from schema import languages

GRAPHQL_RESPONSE_JSON = "application/graphql-response+json"
APPLICATION_JSON = "application/json"

# Deep enough for any input object of this schema (a handful of levels), shallow enough that
# walking it (and graphql-core's coercion, which recurses) stays cheap and far from Python's
# recursion limit. JSON nested deeper is refused before anything else looks at it.
MAX_JSON_DEPTH = 64

# How long a client should wait before retrying when the database is unreachable.
RETRY_AFTER_SECONDS = 5

_SURROGATE = re.compile("[\ud800-\udfff]")


class RequestRejected(HTTPException):
    """A request refused before GraphQL runs, with the code the client sees."""

    def __init__(self, status_code: int, reason: str, code: str = "BAD_REQUEST") -> None:
        super().__init__(status_code, reason)
        self.code = code


def weighted(header: str | None) -> list[tuple[str, float]]:
    """An ``Accept``-style header's items with their ``q`` weights (1 when absent, 0 when
    unreadable), in the order sent; parameters other than ``q`` dropped."""
    items: list[tuple[str, float]] = []
    for item in (header or "").split(","):
        kind, *params = (part.strip() for part in item.split(";"))
        if not kind:
            continue
        q = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        items.append((kind.lower(), q))
    return items


def negotiate(accept: str | None) -> str:
    """The media type to answer with.

    ``application/graphql-response+json`` only when the client names it (a wildcard means an
    old client: it gets ``application/json``, as the spec's watershed rules say); a missing or
    unsatisfiable Accept header also gets ``application/json``, which every client reads.
    """
    best: dict[str, float] = {GRAPHQL_RESPONSE_JSON: 0.0, APPLICATION_JSON: 0.0}
    for kind, q in weighted(accept):
        if kind == GRAPHQL_RESPONSE_JSON:
            best[GRAPHQL_RESPONSE_JSON] = max(best[GRAPHQL_RESPONSE_JSON], q)
        elif kind in (APPLICATION_JSON, "application/*", "*/*"):
            best[APPLICATION_JSON] = max(best[APPLICATION_JSON], q)
    if best[GRAPHQL_RESPONSE_JSON] > 0 and best[GRAPHQL_RESPONSE_JSON] >= best[APPLICATION_JSON]:
        return GRAPHQL_RESPONSE_JSON
    return APPLICATION_JSON


def negotiate_language(
    accept_language: str | None, default: languages.Language
) -> languages.Language:
    """The language of the answer: the client's most wanted of Chinese and English
    (``Accept-Language``, RFC 9110 weights; the first of equals), else ``default``."""
    ranked = sorted(weighted(accept_language), key=lambda item: -item[1])
    for tag, q in ranked:
        language = languages.parse_language(tag)
        if q > 0 and language is not None:
            return language
    return default


@dataclass(frozen=True)
class LanguageMiddleware:
    """Answers each request and socket in its negotiated language (``schema/languages.py``)
    and says which in ``Content-Language``; outermost, so every refusal is translated too."""

    app: ASGIApp
    default: languages.Language

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # Lifespan events carry no headers, and get the default (nothing there is answered).
        asked = dict(scope.get("headers") or []).get(b"accept-language", b"")
        language = negotiate_language(asked.decode("latin-1"), self.default)

        async def send_with_language(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [*message.get("headers", []), (b"content-language", language.encode())]
                message = {**message, "headers": headers}
            await send(message)

        with languages.speaking(language):
            await self.app(scope, receive, send_with_language)


def decode_json(data: str | bytes) -> Any:
    """Parse a request's JSON strictly; every way it can be bad is a coded 400."""
    if isinstance(data, bytes):
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise RequestRejected(
                400, "the request is not valid UTF-8", "INVALID_ENCODING"
            ) from exc
    else:
        text = data
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise RequestRejected(400, "Unable to parse request body as JSON") from exc
    except RecursionError as exc:
        raise _too_deep() from exc
    check_json_value(value)
    return value


def _too_deep() -> RequestRejected:
    return RequestRejected(400, f"the JSON is nested deeper than {MAX_JSON_DEPTH} levels")


def check_json_value(value: Any) -> None:
    """Refuse lone surrogates (``"\\ud800"`` decodes to a str that cannot be encoded as UTF-8,
    so it would fail later in the database or the log) and excessive nesting. Iterative, so a
    deep value cannot exhaust the stack here."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            if _SURROGATE.search(item):
                raise RequestRejected(
                    400, "the request contains a lone UTF-16 surrogate", "INVALID_ENCODING"
                )
            continue
        if isinstance(item, dict | list):
            if depth > MAX_JSON_DEPTH:
                raise _too_deep()
            children = [*item.keys(), *item.values()] if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children)


def check_query_string(raw: bytes) -> None:
    """GET parameters must be UTF-8 once percent-decoded. Starlette replaces bad bytes with
    U+FFFD, which would silently change the query; refuse them instead."""
    for pair in raw.replace(b";", b"&").split(b"&"):
        try:
            unquote_to_bytes(pair.replace(b"+", b" ")).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise RequestRejected(
                400, "the query string is not valid UTF-8", "INVALID_ENCODING"
            ) from exc


def error_response(
    status_code: int,
    message: str,
    code: str,
    media_type: str,
    *,
    extensions: Mapping[str, object] | None = None,
    headers: Mapping[str, str] | None = None,
    with_data: bool = False,
) -> JSONResponse:
    """A GraphQL-shaped error answer, its message in the request's language. No ``data``
    entry unless asked: the request failed before execution, and the spec says such a
    response has none."""
    body: dict[str, Any] = {
        "errors": [
            {"message": languages.translate(message),
             "extensions": {"code": code, **(extensions or {})}}
        ]
    }
    if with_data:
        body = {"data": None, **body}
    return JSONResponse(body, status_code=status_code, headers=dict(headers or {}),
                        media_type=f"{media_type}; charset=utf-8")


UNAVAILABLE_MESSAGE = DATABASE_UNAVAILABLE.message  # the same words as a resolver's


def unavailable_error() -> dict[str, Any]:
    """The GraphQL error for an unreachable database: coded, and marked safe to retry."""
    return {
        "message": languages.translate(UNAVAILABLE_MESSAGE),
        "extensions": {"code": "DATABASE_UNAVAILABLE", "retryable": True},
    }


def database_unavailable(media_type: str) -> JSONResponse:
    return error_response(
        503,
        UNAVAILABLE_MESSAGE,
        "DATABASE_UNAVAILABLE",
        media_type,
        extensions={"retryable": True},
        headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
    )


__all__ = [
    "APPLICATION_JSON",
    "GRAPHQL_RESPONSE_JSON",
    "LanguageMiddleware",
    "RequestRejected",
    "check_query_string",
    "database_unavailable",
    "decode_json",
    "error_response",
    "is_database_unavailable",
    "negotiate",
    "negotiate_language",
    "unavailable_error",
    "weighted",
]


def codes_of(response: Response) -> list[str]:
    """The ``extensions.code`` of each error in a JSON answer we built (for /metrics)."""
    try:
        body = json.loads(bytes(response.body))
    except (ValueError, TypeError, AttributeError):
        return []
    errors = body.get("errors") if isinstance(body, dict) else None
    if not isinstance(errors, list):
        return []
    return [
        str((e.get("extensions") or {}).get("code") or "UNCODED")
        for e in errors
        if isinstance(e, dict)
    ]
