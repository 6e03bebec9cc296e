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

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from models.listen import Listener

log = logging.getLogger("lianbao.events")

CHANNEL = "lianbao_tasks"
QUEUE_SIZE = 1000
PAYLOAD_EVENTS = 40  # NOTIFY payloads stay well under PostgreSQL's 8,000 bytes


@dataclass(frozen=True)
class TaskEvent:
    kind: str  # created, changed, reminder, overdue; resync (refetch, see RESYNC)
    task_id: int
    agency_kind: str
    scope_path: str


# Sent to every subscriber after the LISTEN connection was re-established: events may have
# been missed meanwhile, so clients refetch their queue (the database is the truth).
RESYNC = TaskEvent("resync", 0, "*", "")


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
    """Publishes through ``NOTIFY`` and fans out what the process's shared ``Listener``
    (``models/listen.py``) hears. Events notified while the listener was reconnecting are
    lost, so after each reconnect every subscriber gets a ``resync`` event: refetch the queue."""

    def __init__(self, engine: AsyncEngine, listener: Listener | None = None) -> None:
        super().__init__()
        self.engine = engine
        self.listener = listener or Listener(engine)
        self.listener.add_handler(CHANNEL, self._received)
        self.listener.on_reconnect(self._resync)

    def _received(self, payload: str) -> None:
        try:
            self.deliver(decode(payload))
        except (ValueError, TypeError):
            log.warning("ignored a malformed task event payload")

    def _resync(self) -> None:
        if self._subscribers:
            log.info("telling %s task subscribers to refetch", len(self._subscribers))
            self.deliver([RESYNC])

    async def publish(self, events: Sequence[TaskEvent]) -> None:
        # Delivered back to this process by the listener, like to every other one.
        await notify(self.engine, events)

    async def start(self) -> None:
        await self.listener.start()

    async def stop(self) -> None:
        await self.listener.stop()


def make_bus(engine: AsyncEngine, listener: Listener | None = None) -> LocalBus:
    return PostgresBus(engine, listener) if engine.dialect.name == "postgresql" else LocalBus()
