"""A policy change made through one server process is enforced by another within 5 seconds
(PostgreSQL: NOTIFY on commit, plus the version poll). Two real uvicorn processes share one
database."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from api.auth import issue_dev_token
from api.settings import Settings
from tests.helpers import (
    TEST_SECRET,
    create_empty_database,
    migrate_and_seed,
    running,
    server_env,
)

# Real server processes (or Node.js): seconds each. `make test` runs them; `-m "not slow"`
# skips them while iterating.
pytestmark = pytest.mark.slow

CHILDREN = "{ children(first: 1) { totalCount } }"


@pytest.fixture
def two_servers(tmp_path: Path) -> Iterator[tuple[str, str]]:
    url, drop = asyncio.run(create_empty_database("postgresql", tmp_path))
    try:
        env = server_env(url)
        migrate_and_seed(env)
        with running(env, 2) as (port_a, port_b):
            yield f"http://127.0.0.1:{port_a}", f"http://127.0.0.1:{port_b}"
    finally:
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
        source: "ST 8 (suspended pending review)"}) { rule { ruleId }
        userErrors { code: errorCode } } }""")
    assert added["data"]["addPolicyRule"]["userErrors"] == []  # type: ignore[index]
    started = time.monotonic()
    while time.monotonic() - started < 5:
        seen = _post(url_b, "police_officer", CHILDREN)
        if seen["data"]["children"]["totalCount"] == 0:  # type: ignore[index]
            break
        time.sleep(0.1)
    else:
        raise AssertionError("process B still allows the read 5 s after the change")
