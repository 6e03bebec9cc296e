"""OpenTelemetry tracing: spans for requests, for resolvers, for the SQL they run, and for jobs.

Off unless ``LIANBAO_TRACING_ENDPOINT`` is set, and then at no cost: no tracer provider is
installed (the API's tracer is the no-op one), the request middleware, the resolver extension
and the SQL event hooks are not added at all. On, spans go in batches over OTLP/HTTP to the
endpoint (a collector, Jaeger, Tempo, ...); a slow or absent collector drops spans, it never
slows a request (the batch processor exports on its own thread).
"""

from __future__ import annotations

from typing import Any

from opentelemetry import trace
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.settings import Settings

tracer = trace.get_tracer("lianbao")
_configured: dict[str, bool] = {}


def configure(settings: Settings) -> bool:
    """Install the exporting tracer provider once per process; True when tracing is on."""
    if not settings.tracing_endpoint:
        return False
    from opentelemetry.sdk.trace import TracerProvider as SdkProvider

    if isinstance(trace.get_tracer_provider(), SdkProvider):
        # Already set up in this process (by ``opentelemetry-instrument``, or an earlier app
        # in the same process): OpenTelemetry allows one provider per process; use it.
        return True
    if not _configured.get(settings.tracing_endpoint):
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor

        provider = TracerProvider(
            resource=Resource.create({"service.name": settings.tracing_service_name})
        )
        provider.add_span_processor(
            BatchSpanProcessor(OTLPSpanExporter(endpoint=settings.tracing_endpoint))
        )
        trace.set_tracer_provider(provider)
        _configured[settings.tracing_endpoint] = True
    return True


def resolver_extension() -> Any:
    """strawberry's own OpenTelemetry extension: a span per operation and per resolver."""
    from strawberry.extensions.tracing import OpenTelemetryExtension

    return OpenTelemetryExtension


def instrument_engine(engine: AsyncEngine) -> None:
    """A span around each SQL statement, child of the resolver's span that ran it."""
    sync_engine = engine.sync_engine
    if getattr(sync_engine, "_lianbao_traced", False):
        return
    sync_engine._lianbao_traced = True  # type: ignore[attr-defined]

    def before(conn: Any, cursor: Any, statement: str, params: Any, context: Any,
               executemany: bool) -> None:
        span = tracer.start_span(
            "db.query",
            attributes={"db.system": sync_engine.dialect.name,
                        "db.statement": statement[:2000]},
        )
        context._lianbao_span = span

    def after(conn: Any, cursor: Any, statement: str, params: Any, context: Any,
              executemany: bool) -> None:
        span = getattr(context, "_lianbao_span", None)
        if span is not None:
            span.end()

    def failed(exception_context: Any) -> None:
        span = getattr(exception_context.execution_context, "_lianbao_span", None)
        if span is not None:
            span.record_exception(exception_context.original_exception)
            span.set_status(trace.Status(trace.StatusCode.ERROR))
            span.end()

    event.listen(sync_engine, "before_cursor_execute", before)
    event.listen(sync_engine, "after_cursor_execute", after)
    event.listen(sync_engine, "handle_error", failed)


class TracingMiddleware:
    """A server span per HTTP request, named by method and path, with the request id and the
    GraphQL operation name once known."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        name = f"{scope.get('method')} {scope.get('path')}"
        with tracer.start_as_current_span(name, kind=trace.SpanKind.SERVER) as span:

            async def traced_send(message: Message) -> None:
                if message["type"] == "http.response.start":
                    span.set_attribute("http.response.status_code", message["status"])
                await send(message)

            await self.app(scope, receive, traced_send)
            state = scope.get("state") or {}
            if state.get("request_id"):
                span.set_attribute("lianbao.request_id", state["request_id"])
            if state.get("lianbao.operation"):
                span.set_attribute("graphql.operation.name", state["lianbao.operation"])
