"""Live queues over graphql-transport-ws, against real uvicorn processes: a new task reaches
its agency's subscribers only; on PostgreSQL it crosses processes (NOTIFY)."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets

from api.auth import issue_dev_token
from api.settings import Settings
from tests.conftest import TEST_SECRET, create_empty_database

ROOT = Path(__file__).resolve().parent.parent
SUBSCRIBE = "subscription { taskUpdates { kind task { kind agency dueOn child { name } } } }"


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _serve(env: dict[str, str]) -> tuple[subprocess.Popen[bytes], int]:
    port = _port()
    proc = subprocess.Popen([sys.executable, "-m", "api.cli", "serve", "--port", str(port)],
                            env=env, cwd=ROOT, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                return proc, port
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    proc.kill()
    raise RuntimeError("server did not become ready")


def _servers(url: str, count: int, extra_env: dict[str, str] | None = None) -> Iterator[list[int]]:
    env = {**os.environ, "DATABASE_URL": url, "LIANBAO_JWT_SECRET": TEST_SECRET,
           "LIANBAO_LOG_LEVEL": "WARNING", "LIANBAO_TICK_INTERVAL": "0", **(extra_env or {})}
    for command in (["migrate"], ["seed-demo", "--children", "60"]):
        subprocess.run([sys.executable, "-m", "api.cli", *command], env=env, cwd=ROOT,
                       check=True, capture_output=True)
    procs = [_serve(env) for _ in range(count)]
    try:
        yield [port for _, port in procs]
    finally:
        for proc, _ in procs:
            proc.terminate()
            proc.wait(timeout=10)


def token(user: str, ttl: timedelta = timedelta(hours=12)) -> str:
    return issue_dev_token(Settings(jwt_secret=TEST_SECRET), user, ttl)


async def connect(port: int, user: str, bearer: str | None = None) -> Any:
    """A signed-in graphql-transport-ws socket (connection_ack received)."""
    ws = await websockets.connect(f"ws://127.0.0.1:{port}/graphql",
                                  subprotocols=["graphql-transport-ws"])  # type: ignore[list-item]
    await ws.send(json.dumps({"type": "connection_init",
                              "payload": {"Authorization": f"Bearer {bearer or token(user)}"}}))
    ack = json.loads(await ws.recv())
    assert ack["type"] == "connection_ack", ack
    return ws


async def subscribe(port: int, user: str) -> Any:
    ws = await connect(port, user)
    await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": SUBSCRIBE}}))
    await asyncio.sleep(0.3)  # the subscription is registered before anything happens
    return ws


async def next_update(ws: Any, wait: float) -> dict[str, Any] | None:
    try:
        message = json.loads(await asyncio.wait_for(ws.recv(), wait))
    except TimeoutError:
        return None
    assert message["type"] == "next", message
    update: dict[str, Any] = message["payload"]["data"]["taskUpdates"]
    return update


def report_absence(port: int) -> None:
    headers = {"Authorization": f"Bearer {token('principal')}"}
    children = httpx.post(f"http://127.0.0.1:{port}/graphql", headers=headers, json={
        "query": "{ children(first: 1) { edges { node { id } } } }"}).json()
    child = children["data"]["children"]["edges"][0]["node"]["id"]
    today = time.strftime("%Y-%m-%d", time.gmtime(time.time() + 8 * 3600))
    done = httpx.post(f"http://127.0.0.1:{port}/graphql", headers=headers, json={
        "query": """mutation($c: ID!, $d: Date!) { reportAbsence(input: {childId: $c,
        firstAbsence: $d}) { userErrors { code } } }""", "variables": {"c": child, "d": today},
    }).json()
    assert done["data"]["reportAbsence"]["userErrors"] == [], done


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
    for ports in _servers(f"sqlite+aiosqlite:///{tmp_path / 'live.db'}", 1):
        asyncio.run(_deliveries(ports[0], ports[0]))


async def _refused(port: int) -> None:
    ws = await websockets.connect(f"ws://127.0.0.1:{port}/graphql",
                                  subprotocols=["graphql-transport-ws"])  # type: ignore[list-item]
    await ws.send(json.dumps({"type": "connection_init", "payload": {}}))
    with pytest.raises(websockets.ConnectionClosed) as closed:
        await asyncio.wait_for(ws.recv(), 5)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4403


def test_refused_without_a_token(tmp_path: Path) -> None:
    for ports in _servers(f"sqlite+aiosqlite:///{tmp_path / 'refuse.db'}", 1):
        asyncio.run(_refused(ports[0]))


def test_postgres_delivers_across_processes(tmp_path: Path) -> None:
    url, drop = asyncio.run(create_empty_database("postgresql", tmp_path))
    try:
        for ports in _servers(url, 2):
            asyncio.run(_deliveries(ports[0], ports[1]))
    finally:
        asyncio.run(drop())
