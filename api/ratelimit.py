"""Rate limits per client address and per user on ``/graphql`` and the file routes.

Two token buckets per request: one keyed by the client's address (checked before anything
else, so an unauthenticated flood costs almost nothing) and one keyed by the authenticated
user (checked right after the token is verified, in ``GraphQLEndpoint.authenticate_with``,
the one place both ``/graphql`` and ``/documents/{id}/pdf`` authenticate). A refused request
is a 429 with ``Retry-After`` and a GraphQL error coded ``RATE_LIMITED``.

Why hand-written rather than ``limits``/``slowapi``: those are built around per-route
decorators and pluggable storage (Redis, memcached) this deployment does not run; what is
needed here is two in-memory buckets and a dictionary, about forty lines with the pruning.
The buckets live in each server process: with ``W`` workers a client can reach ``W`` times
the per-process rate at most, which is why the compose file's nginx also applies a global
per-address ``limit_req`` in front of the workers (docs/deploy.md).

The address is ``scope["client"]``: behind a proxy, uvicorn's ``--forwarded-allow-ips``
(``FORWARDED_ALLOW_IPS``) makes it the real client's from ``X-Forwarded-For``.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from api import http as edge
from api import metrics

RATE_LIMITED = "RATE_LIMITED"

# Paths the limits apply to; /healthz, /readyz and /metrics are for the operator's probes.
LIMITED_PREFIXES = ("/graphql", "/documents/", "/verify")

# Above this many tracked keys, buckets that have refilled completely are dropped: they are
# indistinguishable from a new bucket, so forgetting them changes no decision.
PRUNE_ABOVE = 10_000


class RateLimited(Exception):
    """Raised where a limit is exceeded; the edge turns it into a coded 429."""

    def __init__(self, scope: str, retry_after: float) -> None:
        super().__init__(f"too many requests for this {scope}; retry in {retry_after:.0f} s")
        self.scope = scope
        self.retry_after = retry_after

    @property
    def retry_after_header(self) -> str:
        return str(max(1, math.ceil(self.retry_after)))


@dataclass
class _Bucket:
    tokens: float
    updated: float


class TokenBuckets:
    """``rate_per_minute`` requests per key on average, bursts of up to ``burst``.

    ``rate_per_minute`` of 0 turns this limit off. ``now`` is injectable so tests need not sleep.
    """

    def __init__(
        self,
        rate_per_minute: int,
        burst: int,
        now: Callable[[], float] = time.monotonic,
    ) -> None:
        self.rate = rate_per_minute / 60.0
        self.capacity = float(max(1, burst))
        self.now = now
        self.buckets: dict[str, _Bucket] = {}

    @property
    def enabled(self) -> bool:
        return self.rate > 0

    def take(self, key: str) -> float | None:
        """None when the request may go ahead; otherwise the seconds until it may."""
        if not self.enabled:
            return None
        now = self.now()
        bucket = self.buckets.get(key)
        if bucket is None:
            if len(self.buckets) >= PRUNE_ABOVE:
                self._prune(now)
            bucket = self.buckets[key] = _Bucket(self.capacity, now)
        else:
            bucket.tokens = min(self.capacity, bucket.tokens + (now - bucket.updated) * self.rate)
            bucket.updated = now
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return None
        return (1.0 - bucket.tokens) / self.rate

    def _prune(self, now: float) -> None:
        full = [
            key
            for key, b in self.buckets.items()
            if b.tokens + (now - b.updated) * self.rate >= self.capacity
        ]
        for key in full:
            del self.buckets[key]


class RateLimits:
    """The two limits of one server process."""

    def __init__(
        self,
        per_user_per_minute: int,
        per_address_per_minute: int,
        burst: int,
        now: Callable[[], float] = time.monotonic,
        verify_per_minute: int = 0,
    ) -> None:
        self.users = TokenBuckets(per_user_per_minute, burst, now)
        self.addresses = TokenBuckets(per_address_per_minute, burst, now)
        # The public /verify page's own, tighter limit per address (a code is 60 bits, but a
        # page without an account must not become a guessing oracle): bursts of a few.
        self.verifications = TokenBuckets(verify_per_minute, min(burst, 5), now)

    def check_user(self, username: str) -> None:
        wait = self.users.take(username)
        if wait is not None:
            raise RateLimited("user", wait)

    def check_address(self, address: str) -> None:
        wait = self.addresses.take(address)
        if wait is not None:
            raise RateLimited("address", wait)

    def check_verify(self, address: str) -> None:
        wait = self.verifications.take(address)
        if wait is not None:
            raise RateLimited("verify", wait)


def rate_limited_response(
    error: RateLimited, media_type: str = edge.APPLICATION_JSON
) -> JSONResponse:
    metrics.RATE_LIMITED_TOTAL.labels(scope=error.scope).inc()
    return edge.error_response(
        429,
        str(error),
        RATE_LIMITED,
        media_type,
        extensions={"scope": error.scope, "retryAfter": math.ceil(error.retry_after)},
        headers={"Retry-After": error.retry_after_header},
    )


class AddressRateLimitMiddleware:
    """ASGI middleware: the per-address limit on the limited paths, before any work."""

    def __init__(self, app: ASGIApp, limits: RateLimits) -> None:
        self.app = app
        self.limits = limits

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope.get("path", "").startswith(LIMITED_PREFIXES):
            await self.app(scope, receive, send)
            return
        client = scope.get("client")
        address = client[0] if client else "unknown"
        try:
            self.limits.check_address(address)
        except RateLimited as error:
            response = rate_limited_response(error)
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)
