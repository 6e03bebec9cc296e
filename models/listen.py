"""One PostgreSQL ``LISTEN`` connection per process, kept alive.

Task events (``workflow/infra/events.py``) and policy changes (``authz/store.py``) both
arrive as ``NOTIFY``. A notification sent while nobody listens is gone, and a connection the
server drops (``pg_terminate_backend``, a failover, an idle-connection reaper) says so only through
asyncpg's termination callback, so a listener that just waits would wait for ever. This loop:

- listens on every registered channel over one connection (not one per feature);
- notices a drop at once (termination callback) or, for a silent half-open socket, at the
  next keepalive ``SELECT 1``;
- reconnects with exponential backoff (capped, with jitter so several workers do not knock
  in step), logging each attempt;
- after every reconnect calls the ``on_reconnect`` hooks, because whatever was notified in
  between was missed: the policy sync re-reads the version, the task bus tells subscribers
  to refetch.

It lives in ``models/`` (database plumbing) so that ``authz/`` and ``workflow/`` can share it
without importing each other.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

log = logging.getLogger("lianbao.listen")

Handler = Callable[[str], None]
Hook = Callable[[], Awaitable[None] | None]


class Listener:
    """Keeps ``LISTEN`` on the registered channels; calls ``handler(payload)`` per NOTIFY."""

    def __init__(
        self,
        engine: AsyncEngine,
        *,
        min_backoff: float = 0.5,
        max_backoff: float = 30.0,
        keepalive_seconds: float = 15.0,
    ) -> None:
        self.engine = engine
        self.min_backoff = min_backoff
        self.max_backoff = max_backoff
        self.keepalive_seconds = keepalive_seconds
        self._handlers: dict[str, list[Handler]] = {}
        self._on_reconnect: list[Hook] = []
        self._task: asyncio.Task[None] | None = None
        self._users = 0
        # Set while a connection is listening; tests and /readyz-like checks can wait on it.
        self.connected = asyncio.Event()
        self.connections = 0  # how many times a LISTEN connection was established
        self.server_pid: int | None = None

    def add_handler(self, channel: str, handler: Handler) -> None:
        """Register before ``start``: channels are listened to when a connection opens."""
        self._handlers.setdefault(channel, []).append(handler)

    def on_reconnect(self, hook: Hook) -> None:
        """``hook()`` runs each time LISTEN is (re-)established, after the channels are set."""
        self._on_reconnect.append(hook)

    async def start(self) -> None:
        """Idempotent and counted: the policy sync and the task bus both start and stop it."""
        self._users += 1
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="pg-listen")

    async def stop(self) -> None:
        self._users = max(0, self._users - 1)
        if self._users == 0 and self._task is not None:
            task, self._task = self._task, None
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _run(self) -> None:
        failures = 0
        while True:
            before = self.connections
            try:
                await self._listen_once()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("LISTEN connection failed (%s: %s)", type(exc).__name__, exc)
            finally:
                # Back off only while connecting keeps failing; a connection that was up
                # and then dropped is retried promptly.
                failures = 1 if self.connections > before else failures + 1
                self.connected.clear()
                self.server_pid = None
            delay = min(self.max_backoff, self.min_backoff * 2 ** max(0, failures - 1))
            delay *= random.uniform(0.8, 1.2)  # jitter so workers do not knock in step
            log.warning("LISTEN connection lost; reconnect attempt %s in %.1f s", failures, delay)
            await asyncio.sleep(delay)

    async def _listen_once(self) -> None:
        async with self.engine.connect() as conn:
            raw: Any = (await conn.get_raw_connection()).driver_connection
            lost = asyncio.Event()
            raw.add_termination_listener(lambda _c: lost.set())

            def dispatch(_conn: Any, _pid: int, channel: str, payload: str) -> None:
                for handler in self._handlers.get(channel, ()):
                    try:
                        handler(payload)
                    except Exception:  # one bad payload or handler never stops the loop
                        log.exception("NOTIFY handler for %s failed", channel)

            try:
                for channel in self._handlers:
                    await raw.add_listener(channel, dispatch)
                self.connections += 1
                self.server_pid = raw.get_server_pid()
                self.connected.set()
                if self.connections > 1:
                    log.warning("LISTEN connection re-established; telling listeners to resync")
                # On every connect, the first too: anything notified before LISTEN was in
                # place (startup, or while disconnected) was not heard.
                await self._resync()
                while not lost.is_set() and not raw.is_closed():
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(lost.wait(), self.keepalive_seconds)
                    if not lost.is_set():
                        # A half-open socket never reports termination: probe it.
                        await asyncio.wait_for(raw.fetchval("SELECT 1"), self.keepalive_seconds)
            finally:
                # A dead connection must leave the pool, not be handed to a request.
                with contextlib.suppress(Exception):
                    await conn.invalidate()

    async def _resync(self) -> None:
        for hook in self._on_reconnect:
            try:
                result = hook()
                if result is not None:
                    await result
            except Exception:
                log.exception("reconnect hook failed")


def make_listener(engine: AsyncEngine) -> Listener | None:
    """A listener on PostgreSQL; None on SQLite (no NOTIFY: one process, local fan-out)."""
    return Listener(engine) if engine.dialect.name == "postgresql" else None
