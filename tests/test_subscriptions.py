"""Live queues over graphql-transport-ws, against real uvicorn processes: a new task reaches
its agency's subscribers only; on PostgreSQL it crosses processes (NOTIFY)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
import websockets

from tests.helpers import (
    create_empty_database,
    next_update,
    report_absence,
    servers,
    subscribe,
)

# Real server processes (or Node.js): seconds each. `make test` runs them; `-m "not slow"`
# skips them while iterating.
pytestmark = pytest.mark.slow


async def _deliveries(publisher: int, listener: int) -> None:
    school = await subscribe(listener, "head_teacher")
    township = await subscribe(listener, "township_officer")
    try:
        await asyncio.to_thread(report_absence, publisher)
        update = await next_update(school, 10)
        assert update is not None, "the school's subscriber heard nothing"
        assert update["kind"] == "CREATED" and update["task"]["agency"] == "SCHOOL"
        assert update["task"]["child"]["name"]
        assert await next_update(township, 1.5) is None, "another agency heard of it"
    finally:
        await school.close()
        await township.close()


def test_new_task_reaches_its_agency_only(tmp_path: Path) -> None:
    for ports in servers(f"sqlite+aiosqlite:///{tmp_path / 'live.db'}", 1):
        asyncio.run(_deliveries(ports[0], ports[0]))


async def _refused(port: int) -> None:
    ws = await websockets.connect(f"ws://127.0.0.1:{port}/graphql",
                                  subprotocols=["graphql-transport-ws"])  # type: ignore[list-item]
    await ws.send(json.dumps({"type": "connection_init", "payload": {}}))
    with pytest.raises(websockets.ConnectionClosed) as closed:
        await asyncio.wait_for(ws.recv(), 5)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4403


def test_refused_without_a_token(tmp_path: Path) -> None:
    for ports in servers(f"sqlite+aiosqlite:///{tmp_path / 'refuse.db'}", 1):
        asyncio.run(_refused(ports[0]))


def test_postgres_delivers_across_processes(tmp_path: Path) -> None:
    url, drop = asyncio.run(create_empty_database("postgresql", tmp_path))
    try:
        for ports in servers(url, 2):
            asyncio.run(_deliveries(ports[0], ports[1]))
    finally:
        asyncio.run(drop())
