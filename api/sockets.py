"""GraphQL over WebSocket (graphql-transport-ws): who is on a socket, for how long, with what.

A socket lives for hours; an HTTP request for milliseconds. What holds for a request must
therefore be re-established on a socket at every step, not once at connection time:

- **No database session belongs to a socket.** Each operation (query, mutation or
  subscription) runs with a context and a session of its own, closed when the operation ends;
  a subscription opens a short session per event (``schema/task.py``). A session held for the
  life of a socket kept a pooled connection: about fifteen sockets emptied the pool and every
  HTTP request then hung until the pool timed out.
- **The principal is re-checked** (token expiry, user active, grants as of now) before every
  operation, before every subscription event is delivered, and every ``ws_recheck_seconds``;
  the socket is closed with 4403 at its token's expiry (a timer at ``exp``) or once its user is
  found deactivated.
- **Caps**: one user may hold ``ws_max_sockets_per_user`` sockets open in one server process
  (more are closed with 4429), and a socket may run ``ws_max_subscriptions_per_socket``
  operations at once (more are refused with an ``error`` message whose
  ``extensions.code`` is ``TOO_MANY_SUBSCRIPTIONS``).
- Every unmasked read over a socket is written to the access log before the result leaves the
  server, as over HTTP (``LianbaoGraphQL.process_result``).

Only graphql-transport-ws is spoken: the legacy ``graphql-ws`` subprotocol
(subscriptions-transport-ws, unmaintained) would need every rule above a second time.

Close codes: 4400 malformed message, 4401 subscribe before ``connection_ack``, 4403 not signed
in / token expired / user deactivated, 4408 no ``connection_init`` in time, 4409 duplicate
operation id, 4429 too many sockets for this user (or a second ``connection_init``), 1011 the
server could not check the token (database unreachable).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol, cast

from graphql import GraphQLError, GraphQLFormattedError
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
    Operation,
    _OperationStreamClosed,
)
from strawberry.subscriptions.protocols.graphql_transport_ws.types import (
    ConnectionInitMessage,
    SubscribeMessage,
)
from strawberry.types.execution import ExecutionResult, PreExecutionError
from strawberry.utils.aio import aclosing

from api import metrics
from api.auth import TokenError
from authz.guard import FieldGuard
from authz.principal import SYSTEM, Principal
from schema import languages
from schema.context import AppResources, Context
from schema.loaders import Loaders
from workflow import access_log
from workflow.context import ServiceContext
from workflow.user import load_principal

if TYPE_CHECKING:
    from strawberry.http.async_base_view import AsyncBaseHTTPView, AsyncWebSocketAdapter
    from strawberry.schema import BaseSchema
    from strawberry.schema.schema import StreamResult

    from api.state import AppState

log = logging.getLogger("lianbao.sockets")

CLOSE_INTERNAL = 1011
CLOSE_FORBIDDEN = 4403
CLOSE_TOO_MANY = 4429
TOO_MANY_SUBSCRIPTIONS = "TOO_MANY_SUBSCRIPTIONS"

# Options for strawberry's view: only graphql-transport-ws, and no upstream operation cap
# (ours answers with a coded error; upstream's has no code).
SOCKET_OPTIONS: dict[str, Any] = {
    "subscription_protocols": (GRAPHQL_TRANSPORT_WS_PROTOCOL,),
    "max_subscriptions_per_connection": None,
}

REFUSALS = {
    "expired": "the token has expired; sign in again",
    "inactive": "the user is unknown or has been deactivated",
}


class SocketRegistry:
    """How many sockets each user holds open in this process (the per-user cap).

    Per process, like the connection pool it protects: with N server processes a user may
    hold N times the cap, which the operator sizes against N times the pool.
    """

    def __init__(self) -> None:
        self._open: dict[int, int] = {}

    def acquire(self, user_id: int, limit: int) -> bool:
        count = self._open.get(user_id, 0)
        if count >= limit:
            return False
        self._open[user_id] = count + 1
        metrics.SOCKETS_OPEN.inc()
        return True

    def release(self, user_id: int) -> None:
        count = self._open.get(user_id, 0) - 1
        if count >= 0:
            metrics.SOCKETS_OPEN.dec()
        if count > 0:
            self._open[user_id] = count
        else:
            self._open.pop(user_id, None)

    def count(self, user_id: int) -> int:
        return self._open.get(user_id, 0)


class _View(Protocol):
    state: AppState

    def resources(self) -> AppResources: ...


def connection_context(state: AppState, request: Any, app: AppResources) -> Context:
    """The connection's own context: it carries ``connection_params`` and nothing that can
    reach the database. Its session is bound to no engine, so any use of it fails at once
    instead of pinning a pooled connection for the socket's life; operations run with
    ``LianbaoTransportWSHandler.operation_context``."""
    services = ServiceContext(
        session=AsyncSession(), principal=SYSTEM, authz=state.authz, clock=state.clock
    )
    return Context(
        services=services,
        loaders=Loaders(services),
        guard=FieldGuard(state.authz, SYSTEM, state.clock.now()),
        request=request,
        app=app,
    )


def _error(message: str, code: str, **extensions: Any) -> GraphQLFormattedError:
    return {"message": languages.translate(message), "extensions": {"code": code, **extensions}}


class LianbaoTransportWSHandler(BaseGraphQLTransportWSHandler[Context, None]):
    """Strawberry's graphql-transport-ws handler with Lianbao's sign-in, re-checks, caps and a
    session per operation (see the module docstring for why)."""

    def __init__(  # strawberry calls it with these keywords
        self,
        view: AsyncBaseHTTPView[Any, Any, Any, Any, Any, Context, None],
        websocket: AsyncWebSocketAdapter,
        context: Context,
        root_value: None,
        schema: BaseSchema,
        connection_init_wait_timeout: timedelta,
        max_subscriptions_per_connection: int | None = None,
    ) -> None:
        super().__init__(
            view, websocket, context, root_value, schema, connection_init_wait_timeout,
            max_subscriptions_per_connection,
        )
        lianbao = cast(_View, view)
        self.app = lianbao.state
        self.resources = lianbao.resources()
        self.request_id: str | None = (context.request.scope.get("state") or {}).get(
            "request_id"
        ) if context.request is not None else None
        self.username: str | None = None
        self.user_id: int | None = None
        self.principal: Principal | None = None
        self.expires_at: datetime | None = None
        self._refused: str | None = None  # why the socket is being closed, once it is
        self._closed = False
        self._watchdog: asyncio.Task[None] | None = None
        self._closers: set[asyncio.Task[None]] = set()

    # --- signing in -------------------------------------------------------------------

    async def handle_connection_init(self, message: ConnectionInitMessage) -> None:
        """Upstream's protocol steps, with the token checked here and the per-user cap."""
        if self.connection_timed_out:
            return
        if self.connection_init_timeout_task:
            self.connection_init_timeout_task.cancel()
        payload = message.get("payload", {})
        if not isinstance(payload, dict):
            await self.websocket.close(code=4400, reason="Invalid connection init payload")
            return
        if self.connection_init_received:
            await self.websocket.close(
                code=CLOSE_TOO_MANY, reason="Too many initialisation requests"
            )
            return
        self.connection_init_received = True
        self.context.connection_params = payload
        header = payload.get("Authorization") or payload.get("authorization")
        try:
            principal, expires_at = await self._sign_in(header if isinstance(header, str) else None)
        except TokenError as error:
            await self.websocket.close(code=CLOSE_FORBIDDEN, reason=f"Forbidden: {error.reason}")
            return
        except Exception:  # the database is away: say so rather than drop the connection
            log.exception("could not sign a socket in")
            await self.websocket.close(code=CLOSE_INTERNAL, reason="internal error")
            return
        assert principal.user_id is not None
        limit = self.app.settings.ws_max_sockets_per_user
        if not self.app.sockets.acquire(principal.user_id, limit):
            await self.websocket.close(
                code=CLOSE_TOO_MANY, reason=f"Too many sockets: at most {limit} per user"
            )
            return
        self.user_id, self.username = principal.user_id, principal.username
        self.principal, self.expires_at = principal, expires_at
        self._watchdog = asyncio.create_task(self._watch(), name="socket-watchdog")
        await self.send_message({"type": "connection_ack"})
        self.connection_acknowledged = True

    async def _sign_in(self, header: str | None) -> tuple[Principal, datetime]:
        # The same two steps as api.state.authenticate; the expiry is kept too,
        # because the socket must close when the token would no longer be accepted.
        claims = self.app.verifier.verify_header(header)
        if claims.expires_at <= self.app.clock.now():
            raise TokenError("the token has expired", "expired")
        async with self.app.sessions() as session:
            principal = await load_principal(session, claims.username)
        if principal is None or principal.user_id is None:
            raise TokenError("the token's user is unknown or inactive", "unknown_user")
        return principal, claims.expires_at

    # --- re-checking the principal ------------------------------------------------------

    async def _recheck(self, session: AsyncSession) -> str | None:
        """Refresh the principal (active, grants as of now); the reason it may no longer act
        (``expired``, ``inactive``) or None."""
        if self._refused is not None:
            return self._refused
        if self.username is None or self.expires_at is None:
            return "inactive"
        if self.app.clock.now() >= self.expires_at:
            return "expired"
        principal = await load_principal(session, self.username)
        if principal is None:
            return "inactive"
        self.principal = principal
        return None

    async def reauthenticate(self, session: AsyncSession) -> Principal | None:
        """For subscriptions, before each event (``Context.reauthenticate``). It runs inside
        the operation's own task, which closing the socket cancels, so the close is left to
        a task of its own."""
        reason = await self._recheck(session)
        if reason is not None:
            self._close_soon(reason)
            return None
        return self.principal

    async def _watch(self) -> None:
        """Close the socket at the token's expiry; meanwhile re-check the user every
        ``ws_recheck_seconds`` so a deactivated user's idle socket closes too."""
        assert self.expires_at is not None
        while self._refused is None:
            remaining = (self.expires_at - self.app.clock.now()).total_seconds()
            if remaining <= 0:
                await self.close("expired")
                return
            await asyncio.sleep(min(remaining, self.app.settings.ws_recheck_seconds))
            if self.app.clock.now() >= self.expires_at:
                continue
            try:
                async with self.app.sessions() as session:
                    reason = await self._recheck(session)
            except Exception:  # the database may be away for a moment: try again later
                log.exception("could not re-check a socket's user")
                continue
            if reason is not None:
                await self.close(reason)
                return

    def _close_soon(self, reason: str) -> None:
        self._refused = reason
        task = asyncio.create_task(self.close(reason), name="socket-close")
        self._closers.add(task)
        task.add_done_callback(self._closers.discard)

    async def close(self, reason: str) -> None:
        """Stop every operation, then close with 4403 and the reason."""
        self._refused = self._refused or reason
        if self._closed:
            return
        self._closed = True
        for operation_id in list(self.operations):
            await self.cleanup_operation(operation_id)
        with contextlib.suppress(Exception):  # the client may be gone already
            await self.websocket.close(code=CLOSE_FORBIDDEN, reason=f"Forbidden: {reason}")

    # --- operations ---------------------------------------------------------------------

    async def handle_subscribe(self, message: SubscribeMessage) -> None:
        limit = self.app.settings.ws_max_subscriptions_per_socket
        if (
            self.connection_acknowledged
            and message["id"] not in self.operations
            and len(self.operations) >= limit
        ):
            await self.send_message({
                "id": message["id"],
                "type": "error",
                "payload": [_error(f"at most {limit} operations may run at once on one socket",
                                   TOO_MANY_SUBSCRIPTIONS, limit=limit)],
            })
            return
        await super().handle_subscribe(message)

    def operation_context(self, session: AsyncSession, principal: Principal) -> Context:
        services = ServiceContext(
            session=session,
            principal=principal,
            authz=self.app.authz,
            clock=self.app.clock,
            request_id=self.request_id,
        )
        return Context(
            services=services,
            loaders=Loaders(services),
            guard=FieldGuard(self.app.authz, principal, services.clock.now()),
            request=self.context.request,
            response=self.context.response,
            app=self.resources,
            connection_params=self.context.connection_params,
            reauthenticate=self.reauthenticate,
        )

    async def run_operation(self, operation: Operation[Context, None]) -> None:
        """Upstream's operation task, with the principal re-checked first and a context and
        session of the operation's own, closed when it ends."""
        try:
            async with self.app.sessions() as session:
                reason = await self._recheck(session)
            if reason is not None:
                await operation.send_operation_message({
                    "id": operation.id,
                    "type": "error",
                    "payload": [_error(REFUSALS[reason], "UNAUTHENTICATED", reason=reason)],
                })
                # The operation is deregistered by now, so closing does not cancel this task.
                await self.close(reason)
                return
            assert self.principal is not None
            async with self.app.sessions() as session:
                context = self.operation_context(session, self.principal)
                result_source = await self.schema.stream(
                    operation.query,
                    variable_values=operation.variables,
                    context_value=context,
                    root_value=self.root_value,
                    operation_name=operation.operation_name,
                )
                async with aclosing(result_source):
                    await self._send_results(operation, result_source, context)
            await operation.send_operation_message({"id": operation.id, "type": "complete"})
        except _OperationStreamClosed:
            return
        except Exception as error:
            await self.handle_task_exception(error)
            with contextlib.suppress(Exception):
                await operation.send_operation_message({"id": operation.id, "type": "complete"})
            self.operations.pop(operation.id, None)
            raise

    async def _send_results(
        self, operation: Operation[Context, None], source: StreamResult, context: Context
    ) -> None:
        first = True
        async for result in source:
            if first and isinstance(result, PreExecutionError):
                await self._handle_pre_execution_error(operation, result)
                return
            if not isinstance(result, ExecutionResult):
                await self._reject_incremental_delivery(operation)
                return
            await operation.send_next(await self._log_reads(context, result))
            first = False

    async def _log_reads(self, context: Context, result: ExecutionResult) -> ExecutionResult:
        """Write the access log of this result's unmasked reads before it is sent; withhold
        the result if that fails. A subscription's resolver has put the event's own session
        and guard on the context by now."""
        guard, services = context.guard, context.services
        if not guard.entries:
            return result
        try:
            await access_log.write(
                services.session, services.principal, guard.entries, self.request_id
            )
            await services.session.commit()
        except Exception:
            log.exception("could not write the access log; withholding the result")
            return ExecutionResult(
                data=None,
                errors=[GraphQLError(languages.translate("internal error"),
                                     extensions={"code": "INTERNAL"})],
            )
        guard.entries.clear()
        return result

    async def shutdown(self) -> None:
        try:
            await super().shutdown()
        finally:
            if self._watchdog is not None:
                self._watchdog.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await self._watchdog
            for task in list(self._closers):
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
            if self.user_id is not None:
                self.app.sockets.release(self.user_id)
                self.user_id = None
