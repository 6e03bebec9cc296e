"""OpenTelemetry spans for requests, resolvers, their SQL and the engine's tick when tracing is
configured; nothing added at all when it is not (issue 18)."""

from __future__ import annotations

from typing import Any

import httpx
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from strawberry.extensions.tracing import OpenTelemetryExtension

from api import tracing
from api.app import create_app, tick_once
from api.auth import issue_dev_token
from api.settings import Settings
from authz.enforcer import Authorizer
from tests.helpers import TEST_SECRET, Database
from workflow.clock import FixedClock

_EXPORTER = InMemorySpanExporter()


def _provider() -> InMemorySpanExporter:
    """One SDK provider per process (OpenTelemetry refuses a second), exporting to memory."""
    if not isinstance(trace.get_tracer_provider(), TracerProvider):
        provider = TracerProvider()
        provider.add_span_processor(SimpleSpanProcessor(_EXPORTER))
        trace.set_tracer_provider(provider)
    _EXPORTER.clear()
    return _EXPORTER


def _app(database: Database, sessions: async_sessionmaker[AsyncSession],
         authorizer: Authorizer, clock: FixedClock, **overrides: Any) -> Any:
    settings = Settings(database_url=database.url, jwt_secret=TEST_SECRET,
                        environment="development", **overrides)
    return create_app(settings, engine=database.engine, sessions=sessions, authz=authorizer,
                      clock=clock, check_schema=False)


def _middleware(app: Any) -> list[Any]:
    return [m.cls for m in app.user_middleware]


async def test_spans_when_an_endpoint_is_configured(
    database: Database, sessions: async_sessionmaker[AsyncSession], authorizer: Authorizer,
    clock: FixedClock,
) -> None:
    exporter = _provider()
    app = _app(database, sessions, authorizer, clock,
               tracing_endpoint="http://127.0.0.1:4318/v1/traces")
    assert tracing.TracingMiddleware in _middleware(app)
    settings: Settings = app.state.lianbao.settings
    token = issue_dev_token(settings, "edu_officer")
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        response = await client.post(
            "/graphql", json={"query": "query Me { me { username agency { name } } }"},
            headers={"Authorization": f"Bearer {token}"},
        )
    assert response.status_code == 200 and not response.json().get("errors")
    await tick_once(app.state.lianbao)
    spans = exporter.get_finished_spans()
    names = [s.name for s in spans]
    request = next(s for s in spans if s.name == "POST /graphql")
    assert (request.attributes or {}).get("graphql.operation.name") == "Me"
    assert any(s.name == "db.query" for s in spans), names
    assert any(s.name.startswith("GraphQL") for s in spans), names  # strawberry's spans
    assert "deadline-engine.tick" in names
    # The resolver and SQL spans belong to the request's trace.
    in_request = [s for s in spans if s.context.trace_id == request.context.trace_id]
    assert any(s.name == "db.query" for s in in_request)


async def test_nothing_is_added_when_tracing_is_off(
    database: Database, sessions: async_sessionmaker[AsyncSession], authorizer: Authorizer,
    clock: FixedClock,
) -> None:
    app = _app(database, sessions, authorizer, clock)
    assert app.state.lianbao.tracing is False
    assert tracing.TracingMiddleware not in _middleware(app)
    from api.app import GraphQLEndpoint

    endpoint = next(r.endpoint for r in app.routes if getattr(r, "path", "") == "/graphql")
    assert isinstance(endpoint, GraphQLEndpoint)
    assert OpenTelemetryExtension not in endpoint.graphql.schema.extensions
