"""Structured JSON logs that carry the request id.

The request id comes from the client's ``X-Request-ID`` (when it is a sane token) or is
made here; the response echoes it, so a user's complaint can be matched to the server's lines.
"""

from __future__ import annotations

import json
import logging
import logging.config
import re
import time
import uuid
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)
_SAFE_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")

access_log = logging.getLogger("lianbao.access")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
            # With several workers the pid tells their lines apart.
            "pid": record.process,
        }
        rid = request_id_var.get()
        if rid:
            entry["request_id"] = rid
        for key in ("method", "path", "status", "duration_ms", "user", "agency", "operation"):
            if hasattr(record, key):
                entry[key] = getattr(record, key)
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def logging_config(level: str = "INFO") -> dict[str, Any]:
    """The ``logging.config.dictConfig`` of every Lianbao process: JSON lines on stderr.

    ``lianbao serve`` hands it to uvicorn as ``log_config``, which applies it in each worker
    process it spawns (configuring only the parent left the workers' tracebacks in plain
    text without request ids). uvicorn's own access lines are dropped: ``RequestIdMiddleware``
    writes one per request with the request id.
    """
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": JsonFormatter}},
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "formatter": "json",
                "stream": "ext://sys.stderr",
            }
        },
        "root": {"handlers": ["stderr"], "level": level},
        "loggers": {
            "uvicorn": {"handlers": [], "propagate": True},
            "uvicorn.error": {"handlers": [], "propagate": True},
            "uvicorn.access": {"handlers": [], "propagate": False},
        },
    }


def configure_logging(level: str = "INFO") -> None:
    logging.config.dictConfig(logging_config(level))


def who_and_what(state: dict[str, Any]) -> dict[str, Any]:
    """The user, agency and GraphQL operation of a request, for its access line.

    Filled in by the endpoints as the request goes (``GraphQLEndpoint`` puts the authenticated
    principal in ``state["lianbao"]``, ``OperationMetrics`` the operation name); a request
    refused before authentication logs ``user`` and ``agency`` as null, which says so.
    """
    principal = None
    pair = state.get("lianbao")
    if isinstance(pair, tuple) and len(pair) == 2:
        principal = pair[1]
    principal = state.get("principal", principal)
    return {
        "user": getattr(principal, "username", None),
        "agency": getattr(principal, "agency_name", None) or None,
        "operation": state.get("lianbao.operation"),
    }


class RequestIdMiddleware:
    """Sets the request id for the request's logs and returns it as ``X-Request-ID``."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        incoming = dict(scope.get("headers") or []).get(b"x-request-id", b"").decode("latin-1")
        rid = incoming if _SAFE_ID.match(incoming) else uuid.uuid4().hex
        token = request_id_var.set(rid)
        scope.setdefault("state", {})["request_id"] = rid
        started = time.perf_counter()
        status = 0

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", rid.encode()))
                message = {**message, "headers": headers}
            await send(message)

        failed = False
        try:
            await self.app(scope, receive, send_with_id)
        except BaseException:
            # Keep the id set: the server logs this exception's traceback right after, in this
            # request's own task (uvicorn runs each request in one), and it must carry the id.
            failed = True
            status = status or 500  # the error middleware outside answers 500
            raise
        finally:
            if scope["type"] == "http":
                access_log.info(
                    "request",
                    extra={
                        "method": scope.get("method"),
                        "path": scope.get("path"),
                        "status": status,
                        "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                        **who_and_what(scope.get("state") or {}),
                    },
                )
            if not failed:
                request_id_var.reset(token)
