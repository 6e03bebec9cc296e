"""Task events for live queues: created, changed, reminder, overdue.

Services collect events on ``ServiceContext.events``; they are published only after the
transaction commits (``schema.mutation.run``, the engine's loop), so nobody is told about a
change that was rolled back. ``LocalBus`` fans events out inside one process (SQLite, tests);
``PostgresBus`` sends them through ``NOTIFY lianbao_tasks`` so every server process — and the
``lianbao tick`` command — reaches every subscriber, and fans out locally what it receives.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

log = logging.getLogger("lianbao.events")

CHANNEL = "lianbao_tasks"
QUEUE_SIZE = 1000
PAYLOAD_EVENTS = 40  # NOTIFY payloads stay well under PostgreSQL's 8,000 bytes


@dataclass(frozen=True)
class TaskEvent:
    kind: str  # created, changed, reminder, overdue
    task_id: int
    agency_kind: str
    scope_path: str


class LocalBus:
    """In-process fan-out: each subscriber has a bounded queue; a slow one loses the oldest
    events rather than holding everyone up (the queue is a view, the database the truth)."""

    def __init__(self) -> None:
        self._subscribers: set[asyncio.Queue[TaskEvent]] = set()

    def deliver(self, events: Sequence[TaskEvent]) -> None:
        for queue in list(self._subscribers):
            for event in events:
                if queue.full():
                    with contextlib.suppress(asyncio.QueueEmpty):
                        queue.get_nowait()
                queue.put_nowait(event)

    async def publish(self, events: Sequence[TaskEvent]) -> None:
        self.deliver(events)

    @contextlib.asynccontextmanager
    async def subscribe(self) -> AsyncIterator[asyncio.Queue[TaskEvent]]:
        queue: asyncio.Queue[TaskEvent] = asyncio.Queue(QUEUE_SIZE)
        self._subscribers.add(queue)
        try:
            yield queue
        finally:
            self._subscribers.discard(queue)

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None


def encode(events: Sequence[TaskEvent]) -> list[str]:
    return [
        json.dumps([asdict(e) for e in events[i:i + PAYLOAD_EVENTS]], ensure_ascii=False)
        for i in range(0, len(events), PAYLOAD_EVENTS)
    ]


def decode(payload: str) -> list[TaskEvent]:
    return [TaskEvent(**item) for item in json.loads(payload)]


async def notify(engine: AsyncEngine, events: Sequence[TaskEvent]) -> None:
    """Send events to every process listening on PostgreSQL (used by ``lianbao tick`` too)."""
    if not events:
        return
    async with engine.connect() as conn:
        for payload in encode(events):
            await conn.execute(text("SELECT pg_notify(:c, :p)"), {"c": CHANNEL, "p": payload})
        await conn.commit()


class PostgresBus(LocalBus):
    def __init__(self, engine: AsyncEngine) -> None:
        super().__init__()
        self.engine = engine
        self._task: asyncio.Task[None] | None = None

    async def publish(self, events: Sequence[TaskEvent]) -> None:
        # Delivered back to this process by the listener, like to every other one.
        await notify(self.engine, events)

    async def start(self) -> None:
        self._task = asyncio.create_task(self._listen(), name="task-events")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _listen(self) -> None:
        while True:
            try:
                async with self.engine.connect() as conn:
                    raw: Any = (await conn.get_raw_connection()).driver_connection

                    def received(_conn: Any, _pid: int, _channel: str, payload: str) -> None:
                        try:
                            self.deliver(decode(payload))
                        except (ValueError, TypeError):
                            log.warning("ignored a malformed task event payload")

                    await raw.add_listener(CHANNEL, received)
                    try:
                        await asyncio.Event().wait()
                    finally:
                        with contextlib.suppress(Exception):
                            await raw.remove_listener(CHANNEL, received)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("task event listener lost its connection; reconnecting")
                await asyncio.sleep(2)


def make_bus(engine: AsyncEngine) -> LocalBus:
    return PostgresBus(engine) if engine.dialect.name == "postgresql" else LocalBus()
