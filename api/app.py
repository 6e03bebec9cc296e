"""The ASGI application: ``/graphql``, ``/documents/{id}/pdf``, ``/healthz``, ``/readyz``.

Wiring is explicit: ``create_app`` receives or builds every collaborator (engine, session
factory, authorizer, token verifier, clock) and hands them down, so tests build the same app
with a test database, a fixed clock or another key.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.types import Receive, Scope, Send
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.http import GraphQLHTTPResponse
from strawberry.types import ExecutionResult
from strawberry.types.unset import UNSET, UnsetType

from api.auth import TokenError, TokenVerifier
from api.documents import document_pdf
from api.logs import RequestIdMiddleware
from api.migrate import schema_status
from api.settings import Settings
from authz.enforcer import Authorizer
from authz.guard import FieldGuard
from authz.principal import SYSTEM, Principal
from authz.store import PolicySync
from models.session import create_engine, session_factory
from schema.context import Context
from schema.limits import QueryLimits
from schema.loaders import Loaders
from schema.root import build_schema
from workflow import access_log, pdf
from workflow import engine as deadline_engine
from workflow.clock import Clock, SystemClock
from workflow.context import ServiceContext
from workflow.events import LocalBus, make_bus
from workflow.user import load_principal

log = logging.getLogger("lianbao.app")


@dataclass
class AppState:
    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    authz: Authorizer
    verifier: TokenVerifier
    clock: Clock
    bus: LocalBus
    background: list[asyncio.Task[None]] = field(default_factory=list)


def unauthenticated(error: TokenError) -> JSONResponse:
    return JSONResponse(
        {
            "data": None,
            "errors": [
                {
                    "message": error.message,
                    "extensions": {"code": error.code, "reason": error.reason},
                }
            ],
        },
        status_code=401,
        headers={
            "WWW-Authenticate": f'Bearer error="invalid_token", error_description="{error.reason}"'
        },
    )


class LianbaoGraphQL(GraphQL[Context, None]):
    """Strawberry's ASGI view; the context comes from what ``GraphQLEndpoint`` authenticated."""

    def __init__(self, state: AppState, **kwargs: Any) -> None:
        settings = state.settings
        super().__init__(
            build_schema(
                limits=QueryLimits(
                    max_depth=settings.max_query_depth,
                    max_aliases=settings.max_aliases,
                    max_cost=settings.max_query_cost,
                    max_page_size=settings.max_page_size,
                    max_node_ids=settings.max_node_ids,
                    assumed_list_size=settings.cost_list_size,
                ),
                max_tokens=settings.max_tokens,
                introspection=settings.introspection,
            ),
            graphql_ide="graphiql" if settings.graphiql else None,
            allow_queries_via_get=True,
            **kwargs,
        )
        self.state = state

    async def get_context(self, request: Any, response: Any) -> Context:
        if request.scope["type"] == "websocket":
            return self._socket_context(request)
        session, principal = request.scope["state"]["lianbao"]
        services = ServiceContext(
            session=session,
            principal=principal,
            authz=self.state.authz,
            clock=self.state.clock,
            request_id=request.scope["state"].get("request_id"),
        )
        guard = FieldGuard(self.state.authz, principal, services.clock.now())
        request.scope["state"]["guard"] = guard
        return Context(
            services=services,
            loaders=Loaders(services),
            guard=guard,
            request=request,
            response=response,
            extra=self._extra(),
        )

    def _extra(self) -> dict[str, Any]:
        return {
            "max_page_size": self.state.settings.max_page_size,
            "bus": self.state.bus,
            "sessions": self.state.sessions,
        }

    def _socket_context(self, request: Any) -> Context:
        """A subscription's context: nobody is signed in until ``connection_init`` carries a
        token (``on_ws_connect``); each event then gets its own short session."""
        services = ServiceContext(
            session=self.state.sessions(), principal=SYSTEM, authz=self.state.authz,
            clock=self.state.clock,
        )
        return Context(
            services=services, loaders=Loaders(services),
            guard=FieldGuard(self.state.authz, SYSTEM, self.state.clock.now()),
            request=request, extra=self._extra(),
        )

    async def on_ws_connect(self, context: Context) -> UnsetType | dict[str, object] | None:
        params = context.connection_params or {}
        header = params.get("Authorization") or params.get("authorization")
        try:
            async with self.state.sessions() as session:
                principal = await GraphQLEndpoint.authenticate_with(
                    self.state, session, header if isinstance(header, str) else None
                )
        except TokenError as error:
            raise ConnectionRejectionError({"code": error.code, "reason": error.reason}) from error
        context.services.principal = principal
        ack: UnsetType = UNSET
        return ack

    async def process_result(self, request: Any, result: ExecutionResult) -> GraphQLHTTPResponse:
        """Write the access log of unmasked reads before any of them leaves the server."""
        state = request.scope["state"]
        guard: FieldGuard | None = state.get("guard")
        if guard is not None and guard.entries:
            session, principal = state["lianbao"]
            try:
                await access_log.write(session, principal, guard.entries, state.get("request_id"))
                await session.commit()
            except Exception:
                log.exception("could not write the access log; withholding the result")
                return {
                    "data": None,
                    "errors": [{"message": "internal error", "extensions": {"code": "INTERNAL"}}],
                }
            guard.entries.clear()
        return await super().process_result(request, result)


class GraphQLEndpoint:
    """Authenticates every GraphQL request, then runs it with one database session.

    The GraphiQL page itself (a browser GET asking for HTML) is served without a token: it
    holds no data, and the IDE sends the token with each query it runs.
    """

    def __init__(self, state: AppState) -> None:
        self.state = state
        self.graphql = LianbaoGraphQL(state)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.graphql(scope, receive, send)
            return
        request = Request(scope, receive)
        wants_ide = (
            request.method == "GET"
            and "text/html" in request.headers.get("accept", "")
            and "query" not in request.query_params
        )
        if wants_ide and self.state.settings.graphiql:
            await self.graphql(scope, receive, send)
            return
        async with self.state.sessions() as session:
            try:
                principal = await self.authenticate(session, request.headers.get("authorization"))
            except TokenError as error:
                await unauthenticated(error)(scope, receive, send)
                return
            scope.setdefault("state", {})["lianbao"] = (session, principal)
            await self.graphql(scope, receive, send)

    async def authenticate(self, session: AsyncSession, header: str | None) -> Principal:
        return await self.authenticate_with(self.state, session, header)

    @staticmethod
    async def authenticate_with(
        state: AppState, session: AsyncSession, header: str | None
    ) -> Principal:
        claims = state.verifier.verify_header(header)
        principal = await load_principal(session, claims.username)
        if principal is None:
            raise TokenError("the token's user is unknown or inactive", "unknown_user")
        return principal


async def healthz(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> Response:
    state: AppState = request.app.state.lianbao
    try:
        async with asyncio.timeout(5):
            async with state.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
            problem = await schema_status(state.engine)
    except Exception as exc:  # any failure to reach the database means "not ready"
        log.warning("readiness check failed: %s", exc)
        return JSONResponse(
            {"status": "unavailable", "reason": f"database unreachable: {type(exc).__name__}"},
            status_code=503,
        )
    if problem:
        return JSONResponse({"status": "unavailable", "reason": problem}, status_code=503)
    return JSONResponse({"status": "ready"})


async def run_ticks(state: AppState) -> None:
    """The deadline engine inside the server: a plain periodic call of ``engine.tick``, safe
    with several processes (the tick itself takes an advisory lock on PostgreSQL)."""
    while True:
        await asyncio.sleep(state.settings.tick_interval_seconds)
        try:
            async with state.sessions() as session:
                report = await deadline_engine.tick(session, state.clock.now())
                await session.commit()
            await state.bus.publish(report.events)
            if report.steps_entered or report.breaches:
                log.info("tick: %s steps, %s tasks, %s reminders, %s breaches",
                         report.steps_entered, report.tasks_created, report.reminders,
                         report.breaches)
        except Exception:  # the next tick tries again; never take the server down
            log.exception("deadline engine tick failed")


def create_app(
    settings: Settings | None = None,
    *,
    engine: AsyncEngine | None = None,
    sessions: async_sessionmaker[AsyncSession] | None = None,
    authz: Authorizer | None = None,
    clock: Clock | None = None,
    bus: LocalBus | None = None,
    check_schema: bool = True,
) -> Starlette:
    settings = settings or Settings.from_env()
    engine = engine or create_engine(settings.database_url)
    pdf.use_font(settings.pdf_font)
    state = AppState(
        settings=settings,
        engine=engine,
        sessions=sessions or session_factory(engine),
        # Until the policy is loaded from the database at startup, nothing is allowed.
        authz=authz or Authorizer([], version=-1),
        verifier=TokenVerifier(settings),
        clock=clock or SystemClock(),
        bus=bus or make_bus(engine),
    )

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if check_schema:
            problem = await schema_status(engine)
            if problem:
                # Refuse to serve a database whose tables do not match the code.
                raise RuntimeError(f"Lianbao will not start: {problem}")
        if authz is None:
            sync = PolicySync(engine, state.authz)
            await sync.refresh(force=True)
            state.background.append(asyncio.create_task(sync.run(), name="policy-sync"))
        await state.bus.start()
        if settings.tick_interval_seconds > 0:
            state.background.append(
                asyncio.create_task(run_ticks(state), name="deadline-engine")
            )
        yield
        for task in state.background:
            task.cancel()
        await state.bus.stop()
        await engine.dispose()

    endpoint = GraphQLEndpoint(state)
    app = Starlette(
        routes=[
            Route("/graphql", endpoint, methods=["GET", "POST"]),
            WebSocketRoute("/graphql", endpoint),
            Route("/documents/{document_id}/pdf", document_pdf),
            Route("/healthz", healthz),
            Route("/readyz", readyz),
        ],
        middleware=[Middleware(RequestIdMiddleware)],
        lifespan=lifespan,
    )
    app.state.lianbao = state
    return app
