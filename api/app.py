"""The ASGI application: ``/graphql``, ``/documents/{id}/pdf``, the public ``/verify`` page,
``/healthz``, ``/readyz``, and the GraphiQL IDE's own assets under ``/static/graphiql`` (when
the IDE is on).

Wiring is explicit: ``create_app`` receives or builds every collaborator (engine, session
factory, authorizer, token verifier, clock) and hands them down, so tests build the same app
with a test database, a fixed clock or another key.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import logging
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import orjson
from cross_web import HTTPException
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route, WebSocketRoute
from starlette.types import Receive, Scope, Send
from strawberry.asgi import GraphQL
from strawberry.http import GraphQLHTTPResponse, GraphQLRequestData
from strawberry.http.base import BaseRequestProtocol
from strawberry.schema.exceptions import InvalidOperationTypeError
from strawberry.types import ExecutionResult

from api import db_roles, files, graphiql, metrics, tracing
from api import http as edge
from api.auth import PrincipalCache, TokenError, TokenVerifier
from api.documents import configure_documents, document_pdf
from api.limits import BodySizeLimitMiddleware, BodyTooLarge
from api.logs import RequestIdMiddleware
from api.migrate import schema_status
from api.persisted import QUERY_KEY, Persisted
from api.ratelimit import AddressRateLimitMiddleware, RateLimited, RateLimits, rate_limited_response
from api.settings import Settings
from api.sockets import (
    SOCKET_OPTIONS,
    LianbaoTransportWSHandler,
    connection_context,
)
from api.state import AppState, authenticate, unauthenticated
from api.verify import verify_page
from authz.enforcer import Authorizer
from authz.guard import FieldGuard
from authz.principal import Principal
from authz.store import PolicySync
from models.listen import Listener, make_listener
from models.session import create_engine, session_factory
from schema import languages
from schema.context import AppResources, Context
from schema.limits import QueryLimits
from schema.loaders import Loaders
from schema.root import build_schema
from workflow import access_log
from workflow import engine as deadline_engine
from workflow.calendar import local_date
from workflow.clock import Clock, SystemClock
from workflow.context import ServiceContext
from workflow.infra.events import LocalBus, make_bus

log = logging.getLogger("lianbao.app")

# Per-request HTTP status decided while the result is processed (see process_result).
STATUS_KEY = "lianbao.status"

# The collector's thresholds once start-up is frozen (CPython's default is 700, 10, 10): a
# task page allocates tens of thousands of short-lived container objects, and with 700 a
# young collection runs every few dozen field values; 20,000 keeps it to a few per page.
# Chosen, not separately measured (docs/scale.md lists what was).
GC_THRESHOLDS = (20_000, 20, 100)


def freeze_startup_heap() -> None:
    """Move every object alive once the app is up (the schema, the policy, SQLAlchemy's
    metadata: ~200,000 objects) out of the collector's reach: full collections otherwise
    traverse them all, ~85 ms each under load, which was 39 % of a worker's CPU (issue 19).
    They live as long as the process, so nothing is lost. Once per process: a test process
    that starts many apps freezes only the first start-up's heap."""
    if gc.get_freeze_count():
        return
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


def encode_response(data: object) -> bytes:
    """JSON bytes of a GraphQL response. orjson refuses integers beyond 64 bits, which a
    client can store in a JSON scalar (task evidence): those fall back to ``json``."""
    try:
        return orjson.dumps(data)
    except TypeError:
        return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()


class LianbaoGraphQL(GraphQL[Context, None]):
    """Strawberry's ASGI view; the context comes from what ``GraphQLEndpoint`` authenticated."""

    def __init__(self, state: AppState, **kwargs: Any) -> None:
        settings = state.settings
        schema = build_schema(
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
        )
        # Observability is the server's concern, not the schema's: the operation metrics (and,
        # when tracing is on, a span per resolver) are added to the schema built above.
        observers: list[Any] = [metrics.OperationMetrics]
        if state.tracing:
            observers.append(tracing.resolver_extension())
        schema.extensions = (*schema.extensions, *observers)
        super().__init__(
            schema,
            # The IDE page is served by GraphQLEndpoint from local assets (api/graphiql.py).
            graphql_ide=None,
            allow_queries_via_get=True,
            **SOCKET_OPTIONS,
            **kwargs,
        )
        self.state = state

    def encode_json(self, data: object) -> str:
        """Socket messages (text frames) and streamed parts: orjson, as ``create_response``."""
        return encode_response(data).decode()

    def create_response(
        self, response_data: Any, sub_response: Response
    ) -> Response:
        """Strawberry's response with orjson's bytes: UTF-8 as is (three bytes for a Chinese
        character instead of a six-byte ``\\uXXXX``), and faster than ``json.dumps``."""
        response = Response(encode_response(response_data), media_type="application/json")
        response.headers.raw.extend(sub_response.headers.raw)
        if sub_response.background:
            response.background = sub_response.background
        if sub_response.status_code:
            response.status_code = sub_response.status_code
        return response

    async def execute_operation(
        self, request: Any, request_adapter: Any, request_data: Any, context: Any,
        root_value: Any, sub_response: Any,
    ) -> Any:
        """A persisted operation sent by its hash alone runs its manifest text (api/persisted)."""
        text = request.scope.get("state", {}).get(QUERY_KEY)
        if text is not None and isinstance(request_data, GraphQLRequestData):
            request_data.query = text
        return await super().execute_operation(
            request, request_adapter, request_data, context, root_value, sub_response)

    def should_render_graphql_ide(self, request: BaseRequestProtocol) -> bool:
        # GraphQLEndpoint decides about the IDE before authentication; here a GET without a
        # query is just a bad request (a coded 400), whatever its Accept header.
        return False

    def parse_json(self, data: str | bytes) -> Any:
        """Strict decoding of the POST body and the GET ``variables`` / ``extensions``: invalid
        UTF-8, lone surrogates and absurd nesting are coded 400s (api/http.py)."""
        return edge.decode_json(data)

    # Sockets: authentication, caps and a session per operation (api/sockets.py).
    graphql_transport_ws_handler_class = LianbaoTransportWSHandler

    async def get_context(self, request: Any, response: Any) -> Context:
        if request.scope["type"] == "websocket":
            return connection_context(self.state, request, self.resources())
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
            app=self.resources(),
        )

    def resources(self) -> AppResources:
        """What every request and socket operation borrows from the app, typed and named."""
        return AppResources(
            bus=self.state.bus,
            sessions=self.state.sessions,
            max_page_size=self.state.settings.max_page_size,
        )

    async def process_result(self, request: Any, result: ExecutionResult) -> GraphQLHTTPResponse:
        """Write the access log of unmasked reads before any of them leaves the server, and
        decide the HTTP status the result gets (GraphQLEndpoint applies it per media type)."""
        state = request.scope["state"]
        guard: FieldGuard | None = state.get("guard")
        if guard is not None and guard.entries:
            session, principal = state["lianbao"]
            try:
                await access_log.write(session, principal, guard.entries, state.get("request_id"))
                await session.commit()
            except Exception as exc:
                if edge.is_database_unavailable(exc):
                    log.warning("access log not written (database unavailable); withheld")
                    state[STATUS_KEY] = 503
                    error = edge.unavailable_error()
                else:
                    log.exception("could not write the access log; withholding the result")
                    state[STATUS_KEY] = 500
                    error = {"message": languages.translate("internal error"),
                             "extensions": {"code": "INTERNAL"}}
                return {"data": None, "errors": [error]}
            guard.entries.clear()
        response = await super().process_result(request, result)
        metrics.count_errors(response.get("errors"))
        errors = result.errors or []
        codes = {(e.extensions or {}).get("code") for e in errors}
        if "DATABASE_UNAVAILABLE" in codes:
            state[STATUS_KEY] = 503
        elif result.data is None and errors and all(e.path is None for e in errors):
            # Execution never began, so the response has no data entry. A request error
            # (parse, validation, variable coercion) is a 400 with graphql-response+json; a
            # fault before execution (an extension failing) is a 500 with either media type.
            response.pop("data", None)
            state[STATUS_KEY] = 500 if "INTERNAL" in codes else 400
        return response


class GraphQLEndpoint:
    """Authenticates every GraphQL request, then runs it with one database session.

    The GraphiQL page itself (a browser GET asking for HTML) is served without a token: it
    holds no data, and the IDE sends the token with each query it runs.

    Every answer over HTTP is GraphQL-shaped JSON with ``extensions.code`` in the negotiated
    media type (api/http.py): a malformed request is a 400, a mutation over GET a 405, a bad
    token a 401, an unreachable database a retryable 503; with
    ``application/graphql-response+json`` a request error (parse, validation, variable
    coercion) is a 400 too, while ``application/json`` keeps those at 200 as the spec says.
    """

    def __init__(self, state: AppState) -> None:
        self.state = state
        self.graphql = LianbaoGraphQL(state)
        self.persisted = Persisted(self.graphql.schema, state.settings.max_page_size, state.bus)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.graphql(scope, receive, send)
            return
        request = Request(scope, receive)
        if self.state.settings.graphiql and self.wants_ide(request):
            await graphiql.graphiql_page(request)(scope, receive, send)
            return
        media_type = edge.negotiate(request.headers.get("accept"))
        started = time.perf_counter()
        response = await self.respond_unless_gone(request, media_type, receive)
        if response is None:
            return  # the client went away: nobody to answer
        if not scope.get("state", {}).get("lianbao.metrics_recorded"):
            # Refused before execution (token, rate limit, bad body, database down): counted
            # as an error of the operation "unexecuted", by the code the answer carries.
            metrics.record_operation(
                "unexecuted", "error", time.perf_counter() - started, edge.codes_of(response)
            )
        await response(scope, receive, send)

    async def respond_unless_gone(
        self, request: Request, media_type: str, receive: Receive
    ) -> Response | None:
        """``respond``, cancelled if the client disconnects first: its statement is then
        cancelled in PostgreSQL too (asyncpg sends a cancel request when the awaiting task is
        cancelled), instead of running on for nobody (up to 38 s on provincial pages before
        the count was fixed) and holding a pooled connection. The body is read first (the
        request object keeps it for strawberry), so the only message left to receive is the
        disconnect."""
        try:
            await request.body()
        except ClientDisconnect:
            return None
        work = asyncio.ensure_future(self.respond(request, media_type))
        gone = asyncio.ensure_future(_disconnected(receive))
        await asyncio.wait((work, gone), return_when=asyncio.FIRST_COMPLETED)
        if work.done():
            gone.cancel()
            return work.result()
        work.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await work
        metrics.record_operation("unexecuted", "error", 0.0, ["CLIENT_GONE"])
        log.info("client disconnected; request cancelled")
        return None

    @staticmethod
    def wants_ide(request: Request) -> bool:
        return (
            request.method == "GET"
            and "text/html" in request.headers.get("accept", "")
            and "query" not in request.query_params
        )

    async def respond(self, request: Request, media_type: str) -> Response:
        state = request.scope.setdefault("state", {})
        try:
            if request.method == "GET":
                edge.check_query_string(request.scope.get("query_string", b""))
            async with self.state.sessions() as session:
                principal = await self.authenticate(session, request.headers.get("authorization"))
                state["lianbao"] = (session, principal)
                services = ServiceContext(session, principal, self.state.authz,
                                          self.state.clock, request_id=state.get("request_id"))
                response = (await self.persisted.respond(request, services, media_type)
                            or await self.graphql.run(request))
        except TokenError as error:
            return unauthenticated(error, media_type)
        except RateLimited as error:
            return rate_limited_response(error, media_type)
        except HTTPException as error:
            return self.rejected(error, media_type)
        except BodyTooLarge:
            raise  # the body-limit middleware answers 413 (api/limits.py)
        except Exception as error:
            if edge.is_database_unavailable(error):
                log.warning("database unavailable: %s: %s", type(error).__name__, error)
                return edge.database_unavailable(media_type)
            # A fault of ours: logged with the request id, and still a coded JSON answer.
            log.exception("unexpected error answering a GraphQL request")
            return edge.error_response(500, "internal error", "INTERNAL", media_type)
        status = state.get(STATUS_KEY)
        response.headers["content-type"] = f"{media_type}; charset=utf-8"
        if status == 503:
            response.status_code = 503
            response.headers["retry-after"] = str(edge.RETRY_AFTER_SECONDS)
        elif status == 500 or (status == 400 and media_type == edge.GRAPHQL_RESPONSE_JSON):
            response.status_code = status
        return response

    @staticmethod
    def rejected(error: HTTPException, media_type: str) -> Response:
        """Strawberry's (and our decoder's) refusals, as coded GraphQL errors."""
        if isinstance(error.__cause__, InvalidOperationTypeError):
            # GraphQL over HTTP: a mutation over GET is 405, naming the method that works.
            return edge.error_response(
                405, error.reason, "METHOD_NOT_ALLOWED", media_type, headers={"Allow": "POST"}
            )
        code = error.code if isinstance(error, edge.RequestRejected) else "BAD_REQUEST"
        return edge.error_response(error.status_code, error.reason, code, media_type)

    async def authenticate(self, session: AsyncSession, header: str | None) -> Principal:
        return await authenticate(self.state, session, header)



async def _disconnected(receive: Receive) -> None:
    """Returns when the client has gone (the server's ``http.disconnect``)."""
    while (await receive())["type"] != "http.disconnect":
        pass


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
        await tick_once(state)


async def tick_once(state: AppState) -> deadline_engine.TickReport | None:
    """One observed tick: its duration and what it did go to /metrics, and a span is
    exported when tracing is on. Returns the report, or None when the tick failed."""
    started = time.perf_counter()
    with tracing.tracer.start_as_current_span("deadline-engine.tick"):
        try:
            async with state.sessions() as session:
                report = await deadline_engine.tick(session, state.clock.now(), state.jobs)
                await session.commit()
            await state.bus.publish(report.events)
            if not report.skipped:
                metrics.TICK_DURATION.observe(time.perf_counter() - started)
                metrics.TICK_STEPS.inc(report.steps_entered)
                metrics.TICK_TASKS.inc(report.tasks_created)
                metrics.TICK_BREACHES.inc(report.breaches)
            if report.steps_entered or report.breaches:
                log.info("tick: %s steps, %s tasks, %s reminders, %s breaches",
                         report.steps_entered, report.tasks_created, report.reminders,
                         report.breaches)
            return report
        except Exception:  # the next tick tries again; never take the server down
            metrics.TICK_FAILURES.inc()
            log.exception("deadline engine tick failed")
            return None


def _lifespan(
    state: AppState,
    listener: Listener | None,
    *,
    sync_policy: bool,
    check_schema: bool,
    listen_engine: AsyncEngine | None = None,
) -> Callable[[Starlette], contextlib.AbstractAsyncContextManager[None]]:
    """Start-up and shut-down: check the schema and the role, load and follow the policy
    (unless the caller handed in an authorizer), start the bus and the deadline engine."""

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if check_schema:
            problem = await schema_status(state.engine)
            if problem:
                # Refuse to serve a database whose tables do not match the code.
                raise RuntimeError(f"Lianbao will not start: {problem}")
        if state.engine.dialect.name == "postgresql":
            async with state.engine.connect() as conn:
                unsafe = await db_roles.privilege_problem(conn)
            if unsafe and state.settings.is_production:
                # It could truncate or rewrite the audit trail; see docs/scale.md (roles).
                raise RuntimeError(
                    f"Lianbao will not start in production: {unsafe}; run it as the app role "
                    "(lianbao create-app-role, docs/scale.md)"
                )
            if unsafe:
                log.warning("%s: run it as the app role (lianbao create-app-role)", unsafe)
        if sync_policy:
            sync = PolicySync(
                state.engine, state.authz, state.settings.policy_poll_seconds, listener
            )
            await sync.refresh(force=True)
            state.background.append(asyncio.create_task(sync.run(), name="policy-sync"))
        await state.bus.start()
        if state.settings.tick_interval_seconds > 0:
            state.background.append(
                asyncio.create_task(run_ticks(state), name="deadline-engine")
            )
        freeze_startup_heap()
        yield
        for task in state.background:
            task.cancel()
        # Let them finish (the policy sync releases the shared listener) before disposing.
        await asyncio.gather(*state.background, return_exceptions=True)
        await state.bus.stop()
        await state.engine.dispose()
        if listen_engine is not None:
            await listen_engine.dispose()
        metrics.mark_process_dead()

    return lifespan


def _routes(state: AppState) -> list[BaseRoute]:
    settings = state.settings
    endpoint = GraphQLEndpoint(state)
    exporter = files.Exporter(endpoint.graphql, state)
    routes: list[BaseRoute] = [
        Route("/graphql", endpoint, methods=["GET", "POST"]),
        WebSocketRoute("/graphql", endpoint),
        Route("/documents/{document_id}/pdf", document_pdf),
        Route("/verify", verify_page, methods=["GET"]),
        Route("/imports", files.upload_import, methods=["POST"]),
        Route("/imports/{import_id}/rejects.xlsx", exporter.rejects, methods=["GET"]),
        Route("/exports", exporter.export, methods=["POST"]),
        Route("/healthz", healthz),
        Route("/readyz", readyz),
    ]
    if settings.metrics_enabled:
        routes.append(Route("/metrics", metrics.MetricsEndpoint(
            state.sessions,
            lambda: local_date(state.clock.now()),
            allow=settings.metrics_allow,
            token=settings.metrics_token,
            cache_seconds=settings.metrics_cache_seconds,
        ), methods=["GET"]))
    if settings.graphiql:
        routes.append(Mount(graphiql.ASSETS_PATH, app=graphiql.assets(), name="graphiql"))
    return routes


def _middleware(state: AppState, traced: bool) -> list[Middleware]:
    """Outermost first: every response carries the request id and is in the negotiated
    language; CORS headers reach the 429 and the 413 too; the address limit and the body
    limit act before the body is read."""
    settings = state.settings
    return [
        *([Middleware(tracing.TracingMiddleware)] if traced else []),
        Middleware(edge.LanguageMiddleware, default=settings.default_language),
        Middleware(RequestIdMiddleware),
        Middleware(
            CORSMiddleware,
            allow_origins=list(settings.cors_origins),
            allow_methods=["GET", "POST"],
            allow_headers=["Authorization", "Content-Type", "X-Request-ID"],
            expose_headers=["X-Request-ID"],
            max_age=600,
        ),
        Middleware(AddressRateLimitMiddleware, limits=state.limits),
        Middleware(BodySizeLimitMiddleware, max_bytes=settings.max_body_bytes,
                   larger={"/imports": settings.max_import_bytes}),
    ]


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
    engine = engine or create_engine(
        settings.database_url,
        lock_timeout_ms=settings.db_lock_timeout_ms,
        statement_timeout_ms=settings.db_statement_timeout_ms,
        idle_in_transaction_timeout_ms=settings.db_idle_in_transaction_timeout_ms,
        pool_timeout_seconds=settings.db_pool_timeout_seconds,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow, jit=False,
    )
    configure_documents(settings)
    metrics.instrument_pool(engine)
    traced = tracing.configure(settings)
    if traced:
        tracing.instrument_engine(engine)
    # One LISTEN connection per process, shared by the task bus and the policy sync. Behind
    # pgbouncer in transaction mode LISTEN needs a direct connection (LISTEN_DATABASE_URL).
    listen_engine = (
        create_engine(settings.listen_database_url, pool=False)
        if settings.listen_database_url and engine.dialect.name == "postgresql"
        else None
    )
    listener = make_listener(listen_engine or engine)
    state = AppState(
        settings=settings,
        engine=engine,
        sessions=sessions or session_factory(engine),
        # Until the policy is loaded from the database at startup, nothing is allowed.
        authz=authz or Authorizer([], version=-1),
        verifier=TokenVerifier(settings),
        clock=clock or SystemClock(),
        bus=bus or make_bus(engine, listener),
        limits=RateLimits(
            settings.rate_limit_user_per_minute,
            settings.rate_limit_address_per_minute,
            settings.rate_limit_burst,
            verify_per_minute=settings.verify_rate_limit_per_minute,
        ),
        tracing=traced,
        principals=PrincipalCache(settings.principal_cache_seconds),
    )

    app = Starlette(
        routes=_routes(state),
        middleware=_middleware(state, traced),
        lifespan=_lifespan(state, listener, sync_policy=authz is None,
                           check_schema=check_schema, listen_engine=listen_engine),
    )
    app.state.lianbao = state
    return app
