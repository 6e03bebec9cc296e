"""A policy change made through one server process is enforced by another within 5 seconds
(PostgreSQL: NOTIFY on commit, plus the version poll). Two real uvicorn processes share one
database."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from api.auth import issue_dev_token
from api.settings import Settings
from tests.conftest import TEST_SECRET, create_empty_database

ROOT = Path(__file__).resolve().parent.parent
CHILDREN = "{ children(first: 1) { totalCount } }"


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _start(env: dict[str, str]) -> tuple[subprocess.Popen[bytes], str]:
    port = _port()
    proc = subprocess.Popen([sys.executable, "-m", "api.cli", "serve", "--port", str(port)],
                            env=env, cwd=ROOT, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    proc.kill()
    raise RuntimeError("server did not become ready")


@pytest.fixture
def two_servers(tmp_path: Path) -> Iterator[tuple[str, str]]:
    url, drop = asyncio.run(create_empty_database("postgresql", tmp_path))
    env = {**os.environ, "DATABASE_URL": url, "LIANBAO_JWT_SECRET": TEST_SECRET,
           "LIANBAO_LOG_LEVEL": "WARNING"}
    procs = []
    try:
        for command in (["migrate"], ["seed-demo", "--children", "60"]):
            subprocess.run([sys.executable, "-m", "api.cli", *command], env=env, cwd=ROOT,
                           check=True, capture_output=True)
        a, url_a = _start(env)
        procs.append(a)
        b, url_b = _start(env)
        procs.append(b)
        yield url_a, url_b
    finally:
        for p in procs:
            p.terminate()
            p.wait(timeout=10)
        asyncio.run(drop())


def _post(url: str, user: str, query: str) -> dict[str, object]:
    token = issue_dev_token(Settings(jwt_secret=TEST_SECRET), user)
    response = httpx.post(f"{url}/graphql", json={"query": query},
                          headers={"Authorization": f"Bearer {token}"}, timeout=10)
    body: dict[str, object] = response.json()
    return body


def test_policy_change_reaches_the_other_process(two_servers: tuple[str, str]) -> None:
    url_a, url_b = two_servers
    before = _post(url_b, "police_officer", CHILDREN)
    assert before["data"]["children"]["totalCount"] > 0  # type: ignore[index]
    added = _post(url_a, "admin", """mutation { addPolicyRule(input: {role: "police_officer",
        domain: "370000/370400/370406", obj: "child", act: "read", effect: "deny",
        source: "ST 8 (suspended pending review)"}) { rule { ruleId } userErrors { code } } }""")
    assert added["data"]["addPolicyRule"]["userErrors"] == []  # type: ignore[index]
    started = time.monotonic()
    while time.monotonic() - started < 5:
        seen = _post(url_b, "police_officer", CHILDREN)
        if seen["data"]["children"]["totalCount"] == 0:  # type: ignore[index]
            break
        time.sleep(0.1)
    else:
        raise AssertionError("process B still allows the read 5 s after the change")
