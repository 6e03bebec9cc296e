"""Sockets against real uvicorn processes: they hold no database connection between
operations, they are capped per user and per socket, and they close (4403) when the token
expires or the user is deactivated (api/sockets.py)."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets

from tests.helpers import (
    SUBSCRIBE,
    connect,
    create_empty_database,
    report_absence,
    servers,
    subscribe,
    token,
)

# Real server processes (or Node.js): seconds each. `make test` runs them; `-m "not slow"`
# skips them while iterating.
pytestmark = pytest.mark.slow

POOL = 4  # connections in the server's pool (PostgreSQL's two listeners hold two of them)
SOCKETS = 6 * POOL  # also more than the default pools (15 on SQLite, 20 on PostgreSQL)
SMALL_POOL = {
    "LIANBAO_DB_POOL_SIZE": str(POOL),
    "LIANBAO_DB_MAX_OVERFLOW": "0",
    # A starved pool fails a request after 5 s instead of 30: the test cannot hang.
    "LIANBAO_DB_POOL_TIMEOUT": "5",
    "LIANBAO_WS_MAX_SOCKETS_PER_USER": str(SOCKETS + 1),
}
QUERY = "{ myTasks(first: 1) { totalCount } }"


async def operation(ws: Any, op_id: str, query: str, variables: dict[str, Any] | None = None,
                    wait: float = 10) -> list[dict[str, Any]]:
    """Run a query or mutation over the socket; every message until it ends."""
    await ws.send(json.dumps({"id": op_id, "type": "subscribe",
                              "payload": {"query": query, "variables": variables or {}}}))
    messages: list[dict[str, Any]] = []
    while True:
        message = json.loads(await asyncio.wait_for(ws.recv(), wait))
        assert message.get("id") == op_id, message
        messages.append(message)
        if message["type"] in ("complete", "error"):
            return messages


async def closed_with(ws: Any, wait: float) -> tuple[int, str, list[dict[str, Any]]]:
    """Wait for the server to close the socket: its code, reason and what came before."""
    seen: list[dict[str, Any]] = []
    with pytest.raises(websockets.ConnectionClosed) as closed:
        async with asyncio.timeout(wait):
            while True:
                seen.append(json.loads(await ws.recv()))
    frame = closed.value.rcvd
    assert frame is not None, "the server did not close the socket"
    return frame.code, frame.reason, seen


def http_me(port: int, user: str = "edu_officer") -> float:
    """Seconds one HTTP request that reads the database takes; it must succeed."""
    started = time.monotonic()
    response = httpx.post(f"http://127.0.0.1:{port}/graphql", timeout=30,
                          headers={"Authorization": f"Bearer {token(user)}"},
                          json={"query": "{ me { username } myTasks(first: 1) { totalCount } }"})
    body = response.json()
    assert response.status_code == 200 and not body.get("errors"), body
    return time.monotonic() - started


# --- 1. sockets do not hold the pool ---------------------------------------------------------


async def _many_sockets(port: int) -> None:
    sockets = []
    try:
        for i in range(SOCKETS):
            ws = await connect(port, "head_teacher")
            sockets.append(ws)
            # A database read over the socket, then a subscription left running on it.
            messages = await operation(ws, "q", QUERY)
            assert messages[0]["type"] == "next", messages
            assert "errors" not in messages[0]["payload"], messages
            await ws.send(json.dumps({"id": f"s{i}", "type": "subscribe",
                                      "payload": {"query": SUBSCRIBE}}))
        await asyncio.sleep(0.3)
        for _ in range(5):
            elapsed = await asyncio.to_thread(http_me, port)
            # Well under the pool timeout: no request waited for a connection a socket held.
            assert elapsed < 4, f"an HTTP request took {elapsed:.1f}s with {SOCKETS} sockets open"
        # Every subscriber still hears of a new task, each event on a short session of its own.
        await asyncio.to_thread(report_absence, port)
        for ws in sockets:
            message = json.loads(await asyncio.wait_for(ws.recv(), 15))
            assert message["type"] == "next", message
            assert message["payload"]["data"]["taskUpdates"]["kind"] == "CREATED", message
    finally:
        for ws in sockets:
            await ws.close()
    await asyncio.sleep(0.3)
    assert await asyncio.to_thread(http_me, port) < 4, "the server did not recover"


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_many_sockets_leave_the_pool_to_http(backend: str, tmp_path: Path) -> None:
    url, drop = asyncio.run(create_empty_database(backend, tmp_path))
    try:
        for ports in servers(url, 1, SMALL_POOL):
            asyncio.run(_many_sockets(ports[0]))
    finally:
        asyncio.run(drop())


# --- 1. caps ----------------------------------------------------------------------------------


async def _caps(port: int) -> None:
    first = await connect(port, "head_teacher")
    second = await connect(port, "head_teacher")
    third = await websockets.connect(f"ws://127.0.0.1:{port}/graphql",
                                     subprotocols=["graphql-transport-ws"])  # type: ignore[list-item]
    await third.send(json.dumps({"type": "connection_init",
                                 "payload": {"Authorization": f"Bearer {token('head_teacher')}"}}))
    code, reason, _ = await closed_with(third, 5)
    assert code == 4429 and "Too many sockets" in reason
    # The cap is per user: someone else still gets in.
    other = await connect(port, "township_officer")
    await other.close()
    # A closed socket gives its place back.
    await second.close()
    await asyncio.sleep(0.3)
    again = await connect(port, "head_teacher")
    await again.close()

    # Operations per socket: two subscriptions run, the third is refused with a code.
    for op_id in ("a", "b"):
        await first.send(json.dumps({"id": op_id, "type": "subscribe",
                                     "payload": {"query": SUBSCRIBE}}))
    await asyncio.sleep(0.3)
    refused = await operation(first, "c", SUBSCRIBE)
    assert refused[0]["type"] == "error", refused
    assert refused[0]["payload"][0]["extensions"]["code"] == "TOO_MANY_SUBSCRIPTIONS"
    # Completing one makes room again.
    await first.send(json.dumps({"id": "a", "type": "complete"}))
    await asyncio.sleep(0.3)
    answered = await operation(first, "d", QUERY)
    assert answered[0]["type"] == "next" and "errors" not in answered[0]["payload"], answered
    await first.close()

    # The legacy graphql-ws subprotocol is not spoken (it would bypass every rule above).
    legacy = await websockets.connect(f"ws://127.0.0.1:{port}/graphql",
                                      subprotocols=["graphql-ws"])  # type: ignore[list-item]
    code, _, _ = await closed_with(legacy, 5)
    assert code == 4406


def test_sockets_and_subscriptions_are_capped(tmp_path: Path) -> None:
    caps = {"LIANBAO_WS_MAX_SOCKETS_PER_USER": "2", "LIANBAO_WS_MAX_SUBSCRIPTIONS_PER_SOCKET": "2"}
    for ports in servers(f"sqlite+aiosqlite:///{tmp_path / 'caps.db'}", 1, caps):
        asyncio.run(_caps(ports[0]))


# --- 2. expiry and deactivation ---------------------------------------------------------------


def set_active(port: int, username: str, active: bool) -> None:
    headers = {"Authorization": f"Bearer {token('admin')}"}
    url = f"http://127.0.0.1:{port}/graphql"
    users = httpx.post(url, headers=headers, json={
        "query": "{ users(first: 100) { edges { node { id username } } } }"}).json()
    gid = next(e["node"]["id"] for e in users["data"]["users"]["edges"]
               if e["node"]["username"] == username)
    done = httpx.post(url, headers=headers, json={
        "query": """mutation($u: ID!, $a: Boolean!) { setUserActive(input: {userId: $u,
        active: $a}) { user { isActive } userErrors { code: errorCode } } }""",
        "variables": {"u": gid, "a": active}}).json()
    assert done["data"]["setUserActive"]["userErrors"] == [], done


async def _expiry(port: int) -> None:
    started = time.monotonic()
    ws = await connect(port, "head_teacher", token("head_teacher", timedelta(seconds=3)))
    await ws.send(json.dumps({"id": "s", "type": "subscribe", "payload": {"query": SUBSCRIBE}}))
    answered = await operation(ws, "q", QUERY)
    assert answered[0]["type"] == "next", answered
    code, reason, _ = await closed_with(ws, 8)
    assert code == 4403 and "expired" in reason, (code, reason)
    assert time.monotonic() - started < 6


async def _idle_socket_of_deactivated_user(port: int) -> None:
    ws = await connect(port, "township_officer")
    await asyncio.to_thread(set_active, port, "township_officer", False)
    # No operation, no event: the periodic re-check (1 s here) closes it.
    code, reason, _ = await closed_with(ws, 6)
    assert code == 4403 and "inactive" in reason, (code, reason)


def test_socket_closes_at_token_expiry_and_on_periodic_recheck(tmp_path: Path) -> None:
    env = {"LIANBAO_WS_RECHECK_SECONDS": "1"}
    for ports in servers(f"sqlite+aiosqlite:///{tmp_path / 'expiry.db'}", 1, env):
        asyncio.run(_expiry(ports[0]))
        asyncio.run(_idle_socket_of_deactivated_user(ports[0]))


async def _deactivated(port: int) -> None:
    listening = await subscribe(port, "head_teacher")
    idle = await connect(port, "head_teacher")
    before = await operation(idle, "q1", QUERY)
    assert before[0]["type"] == "next", before
    await asyncio.to_thread(set_active, port, "head_teacher", False)

    # The next operation over the socket is refused, and the socket closed.
    refused = await operation(idle, "m", """mutation($c: ID!) { reportAbsence(input: {
        childId: $c, firstAbsence: "2026-12-01"}) { userErrors { code: errorCode } } }""",
                              {"c": "Q2hpbGQ6MQ=="})
    assert refused[0]["type"] == "error", refused
    assert refused[0]["payload"][0]["extensions"] == {"code": "UNAUTHENTICATED",
                                                      "reason": "inactive"}
    code, _, _ = await closed_with(idle, 5)
    assert code == 4403

    # The subscription hears nothing more: the next event finds the user inactive.
    await asyncio.to_thread(report_absence, port)
    code, reason, seen = await closed_with(listening, 10)
    assert code == 4403 and "inactive" in reason, (code, reason)
    assert not [m for m in seen if m["type"] == "next"], seen


def http(port: int, query: str, user: str, variables: dict[str, Any] | None = None) -> Any:
    body = httpx.post(f"http://127.0.0.1:{port}/graphql",
                      headers={"Authorization": f"Bearer {token(user)}"},
                      json={"query": query, "variables": variables or {}}).json()
    assert not body.get("errors"), body
    return body["data"]


async def _grants_and_access_log(port: int) -> None:
    ws = await connect(port, "police_officer")
    me = "{ me { roles { role } } }"
    roles = (await operation(ws, "r1", me))[0]["payload"]["data"]["me"]["roles"]
    assert {"role": "police_officer"} in roles
    # An unmasked read over the socket is in the access log, as over HTTP.
    read = await operation(ws, "ids", "{ children(first: 3) { edges { node { nationalId "
                                      "{ value } } } } }")
    assert read[0]["type"] == "next" and "errors" not in read[0]["payload"], read
    log = await asyncio.to_thread(
        http, port, "{ accessLog(first: 50) { edges { node { username field } } } }",
        "edu_officer")
    entries = [e["node"] for e in log["accessLog"]["edges"]]
    assert entries.count({"username": "police_officer", "field": "national_id"}) == 3, entries
    # A revoked grant takes effect on the socket's next operation.
    users = await asyncio.to_thread(
        http, port, "{ users(first: 100) { edges { node { username roles { grantId role } } } } }",
        "admin")
    (police,) = [e["node"] for e in users["users"]["edges"]
                 if e["node"]["username"] == "police_officer"]
    for grant in police["roles"]:
        await asyncio.to_thread(
            http, port, "mutation($g: Int!) { revokeRole(input: {grantId: $g}) "
            "{ userErrors { code: errorCode } } }", "admin", {"g": grant["grantId"]})
    roles = (await operation(ws, "r2", me))[0]["payload"]["data"]["me"]["roles"]
    assert {"role": "police_officer"} not in roles, roles
    await ws.close()


def test_deactivated_user_loses_subscription_and_operations(tmp_path: Path) -> None:
    env = {"LIANBAO_WS_RECHECK_SECONDS": "600"}  # only the event and the operation re-check
    for ports in servers(f"sqlite+aiosqlite:///{tmp_path / 'deactivated.db'}", 1, env):
        asyncio.run(_grants_and_access_log(ports[0]))
        asyncio.run(_deactivated(ports[0]))
