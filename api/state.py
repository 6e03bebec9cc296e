"""What the running application holds, shared by its routes (``api/app.py`` wires it).

Here rather than in ``api/app.py`` so that the routes the app mounts (``api/documents.py``,
``api/sockets.py``) can use it without importing the module that imports them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from starlette.responses import JSONResponse

from api import http as edge
from api.auth import PrincipalCache, TokenError, TokenVerifier
from api.ratelimit import RateLimits
from api.settings import Settings
from api.sockets import SocketRegistry
from authz.enforcer import Authorizer
from authz.principal import Principal
from workflow.clock import Clock
from workflow.engine import ScheduledJob
from workflow.infra.events import LocalBus
from workflow.jobs import SCHEDULED_JOBS
from workflow.user import load_principal


@dataclass
class AppState:
    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    authz: Authorizer
    verifier: TokenVerifier
    clock: Clock
    bus: LocalBus
    # The features' scheduled work the deadline engine runs each pass (built at start-up).
    jobs: Sequence[ScheduledJob] = SCHEDULED_JOBS
    background: list[asyncio.Task[None]] = field(default_factory=list)
    sockets: SocketRegistry = field(default_factory=SocketRegistry)
    limits: RateLimits = field(default_factory=lambda: RateLimits(0, 0, 1))
    tracing: bool = False
    principals: PrincipalCache = field(default_factory=lambda: PrincipalCache(0))


def unauthenticated(error: TokenError, media_type: str = edge.APPLICATION_JSON) -> JSONResponse:
    return edge.error_response(
        401,
        error.message,
        error.code,
        media_type,
        extensions={"reason": error.reason},
        headers={
            "WWW-Authenticate": f'Bearer error="invalid_token", error_description="{error.reason}"'
        },
        with_data=True,
    )


async def authenticate(state: AppState, session: AsyncSession, header: str | None) -> Principal:
    """The bearer token's user: the token verified every time, the user's principal reused
    (per username, whichever of its tokens is sent) until the policy is reloaded (a rule,
    grant or user change) or the cache's age bound passes (``api/auth.PrincipalCache``)."""
    claims = state.verifier.verify_header(header)
    # Per user, once the token is proven (an unverified ``sub`` would let anyone spend
    # another user's allowance); before the database is touched.
    state.limits.check_user(claims.username)
    # Read before loading: a reload while loading leaves the entry stale at once.
    version = state.authz.generation
    principal = state.principals.get(claims.username, version)
    if principal is not None:
        return principal
    principal = await load_principal(session, claims.username)
    if principal is None:
        raise TokenError("the token's user is unknown or inactive", "unknown_user")
    state.principals.put(claims.username, version, principal)
    return principal
