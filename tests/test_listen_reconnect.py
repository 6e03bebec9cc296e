"""The LISTEN connection survives being dropped (PostgreSQL, a real uvicorn process).

After ``pg_terminate_backend`` on the server's LISTEN backend, subscribers are told to
refetch (RESYNC), a task event published afterwards still reaches them, and a policy change
still propagates through NOTIFY: the version poll is set to ten minutes here, so only the
re-established LISTEN can deliver it within seconds.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import insert, text
from sqlalchemy.ext.asyncio import AsyncSession

from authz.store import bump_version
from models.policy import AuthzRule
from models.session import create_engine
from tests.helpers import (
    create_empty_database,
    next_update,
    report_absence,
    servers,
    subscribe,
    token,
)

# Real server processes (or Node.js): seconds each. `make test` runs them; `-m "not slow"`
# skips them while iterating.
pytestmark = pytest.mark.slow

CHILDREN = "{ children(first: 1) { totalCount } }"

TERMINATE_LISTENERS = """
SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
WHERE datname = current_database() AND pid <> pg_backend_pid() AND query LIKE 'LISTEN%'
"""


async def _terminate_listeners(url: str) -> int:
    engine = create_engine(url, pool=False)
    try:
        async with engine.connect() as conn:
            killed: int = (await conn.execute(text(TERMINATE_LISTENERS))).scalar_one()
            await conn.commit()
            return killed
    finally:
        await engine.dispose()


async def _deny_police_reads(url: str) -> None:
    """A policy change made by another process: rule row, version bump and NOTIFY, committed."""
    engine = create_engine(url, pool=False)
    try:
        async with AsyncSession(engine) as session:
            await session.execute(insert(AuthzRule).values(
                role="police_officer", domain="370000/370400/370406", obj="child", act="read",
                stage="*", effect="deny", source="test: suspended pending review"))
            await bump_version(session)
            await session.commit()
    finally:
        await engine.dispose()


def _police_children(port: int) -> int:
    body = httpx.post(f"http://127.0.0.1:{port}/graphql", json={"query": CHILDREN},
                      headers={"Authorization": f"Bearer {token('police_officer')}"},
                      timeout=10).json()
    count: int = body["data"]["children"]["totalCount"]
    return count


async def _survives(url: str, port: int) -> None:
    school = await subscribe(port, "head_teacher")
    try:
        assert await _terminate_listeners(url) >= 1, "the server had no LISTEN backend"
        resync = await next_update(school, 10)
        assert resync == {"kind": "RESYNC", "task": None}, resync
        await asyncio.to_thread(report_absence, port)
        update = await next_update(school, 10)
        assert update is not None, "no task event after the LISTEN connection was dropped"
        assert update["kind"] == "CREATED" and update["task"]["agency"] == "SCHOOL"
    finally:
        await school.close()

    assert await asyncio.to_thread(_police_children, port) > 0
    await _deny_police_reads(url)
    started = time.monotonic()
    while time.monotonic() - started < 5:
        if await asyncio.to_thread(_police_children, port) == 0:
            break
        await asyncio.sleep(0.1)
    else:
        raise AssertionError("policy change not heard through NOTIFY after the reconnect")


def test_listen_connection_recovers_after_termination(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LIANBAO_POLICY_POLL_SECONDS", "600")
    url, drop = asyncio.run(create_empty_database("postgresql", tmp_path))
    try:
        for ports in servers(url, 1):
            asyncio.run(_survives(url, ports[0]))
    finally:
        asyncio.run(drop())
