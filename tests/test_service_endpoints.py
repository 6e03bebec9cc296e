"""/healthz and /readyz, and the refusal to start on a database that is behind."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.applications import Starlette

from api import migrate
from api.app import create_app
from api.auth import issue_dev_token
from api.settings import Settings
from authz.enforcer import Authorizer
from models.session import create_engine
from tests.helpers import ROOT, TEST_SECRET, Api, Database, free_port


async def test_healthz(api: Api) -> None:
    response = await api.client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_readyz_ready(api: Api) -> None:
    response = await api.client.get("/readyz")
    assert response.status_code == 200, response.text
    assert response.json() == {"status": "ready"}


async def _readyz(app: Starlette) -> httpx.Response:
    """``GET /readyz`` in process (the app's lifespan does not run)."""
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://t"
    ) as client:
        return await client.get("/readyz")


@pytest.mark.parametrize(
    "url",
    [
        "postgresql+asyncpg://postgres@127.0.0.1:1/nowhere",
        "sqlite+aiosqlite:////nonexistent-dir/lianbao.db",
    ],
)
async def test_readyz_503_when_database_is_gone(
    url: str, settings_factory: Callable[[str], Settings]
) -> None:
    response = await _readyz(create_app(settings_factory(url), check_schema=False))
    assert response.status_code == 503
    assert response.json()["status"] == "unavailable"
    assert "database unreachable" in response.json()["reason"]


async def test_readyz_503_and_startup_refused_when_behind(
    tmp_path: Path, settings_factory: Callable[[str], Settings]
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'behind.db'}"
    engine = create_engine(url)
    app = create_app(settings_factory(url), engine=engine)
    response = await _readyz(app)
    assert response.status_code == 503
    assert "lianbao migrate" in response.json()["reason"]
    lifespan = app.router.lifespan_context
    with pytest.raises(RuntimeError, match="lianbao migrate"):
        async with lifespan(app):
            pass
    await engine.dispose()


async def test_startup_accepts_a_migrated_database(
    database: Database, settings_factory: Callable[[str], Settings]
) -> None:
    engine = create_engine(database.url)
    app = create_app(settings_factory(database.url), engine=engine)
    async with app.router.lifespan_context(app):
        assert await migrate.schema_status(engine) is None


# --- CORS (a browser's preflight) and the request body limit, on every route ---

ALLOWED = "https://lianbao.example.gov.cn"
ME = '{"query": "{ me { username } }"}'


@contextlib.asynccontextmanager
async def _client(
    database: Database,
    sessions: async_sessionmaker[AsyncSession],
    authorizer: Authorizer,
    settings_factory: Callable[[str], Settings],
    **overrides: Any,
) -> AsyncIterator[httpx.AsyncClient]:
    settings = settings_factory(database.url).model_copy(update=overrides)
    app = create_app(
        settings, engine=database.engine, sessions=sessions, authz=authorizer, check_schema=False
    )
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver"
    ) as client:
        yield client


def _preflight(origin: str) -> dict[str, str]:
    return {
        "Origin": origin,
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization, content-type",
    }


async def test_cors_preflight_from_an_allowed_origin(
    database: Database,
    sessions: async_sessionmaker[AsyncSession],
    authorizer: Authorizer,
    settings_factory: Callable[[str], Settings],
) -> None:
    async with _client(
        database, sessions, authorizer, settings_factory, cors_origins=(ALLOWED,)
    ) as client:
        response = await client.options("/graphql", headers=_preflight(ALLOWED))
        assert response.status_code == 200, response.text
        assert response.headers["access-control-allow-origin"] == ALLOWED
        assert "POST" in response.headers["access-control-allow-methods"]
        allowed_headers = response.headers["access-control-allow-headers"].lower()
        assert "authorization" in allowed_headers and "content-type" in allowed_headers

        token = issue_dev_token(settings_factory(database.url), "edu_officer")
        actual = await client.post(
            "/graphql",
            content=ME,
            headers={
                "Origin": ALLOWED,
                "Authorization": f"Bearer {token}",
                "Content-Type": "application/json",
            },
        )
        assert actual.status_code == 200, actual.text
        assert actual.headers["access-control-allow-origin"] == ALLOWED
        assert "x-request-id" in actual.headers["access-control-expose-headers"].lower()


@pytest.mark.parametrize("origins", [(), (ALLOWED,)])
async def test_cors_preflight_from_another_origin_is_refused(
    database: Database,
    sessions: async_sessionmaker[AsyncSession],
    authorizer: Authorizer,
    settings_factory: Callable[[str], Settings],
    origins: tuple[str, ...],
) -> None:
    async with _client(
        database, sessions, authorizer, settings_factory, cors_origins=origins
    ) as client:
        response = await client.options("/graphql", headers=_preflight("https://evil.example"))
        assert response.status_code == 400  # answered (not 405), and refused
        assert "access-control-allow-origin" not in response.headers
        simple = await client.get("/healthz", headers={"Origin": "https://evil.example"})
        assert simple.status_code == 200
        assert "access-control-allow-origin" not in simple.headers


LIMIT = 4096


def _assert_too_large(response: httpx.Response, media_type: str = "application/json") -> None:
    assert response.status_code == 413, response.text
    assert response.headers["content-type"].startswith(media_type)
    body = response.json()
    assert "data" not in body, "refused before execution: no data entry"
    assert body["errors"][0]["extensions"] == {"code": "REQUEST_TOO_LARGE", "limit": LIMIT}


@pytest.mark.parametrize("path", ["/graphql", "/healthz", "/documents/1/pdf"])
async def test_body_over_the_limit_by_content_length(
    database: Database,
    sessions: async_sessionmaker[AsyncSession],
    authorizer: Authorizer,
    settings_factory: Callable[[str], Settings],
    path: str,
) -> None:
    async with _client(
        database, sessions, authorizer, settings_factory, max_body_bytes=LIMIT
    ) as client:
        big = '{"query": "{ me { username } }", "pad": "' + "x" * LIMIT + '"}'
        response = await client.post(
            path, content=big, headers={"Content-Type": "application/json"}
        )
        _assert_too_large(response)
        # Negotiated like every other refusal (GraphQL over HTTP).
        negotiated = await client.post(path, content=big, headers={
            "Content-Type": "application/json", "Accept": "application/graphql-response+json"})
        _assert_too_large(negotiated, "application/graphql-response+json")


async def test_chunked_body_over_the_limit_is_cut_off_while_streaming(
    database: Database,
    sessions: async_sessionmaker[AsyncSession],
    authorizer: Authorizer,
    settings_factory: Callable[[str], Settings],
) -> None:
    sent = 0

    async def chunks() -> AsyncIterator[bytes]:
        nonlocal sent
        yield b'{"query": "{ me { username } }", "pad": "'
        for _ in range(1000):  # 1 MB on offer; the limit is 4 KB
            sent += 1
            yield b"x" * 1024
        yield b'"}'

    async with _client(
        database, sessions, authorizer, settings_factory, max_body_bytes=LIMIT
    ) as client:
        token = issue_dev_token(settings_factory(database.url), "edu_officer")
        response = await client.post(
            "/graphql",
            content=chunks(),
            headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
        )
        assert "content-length" not in response.request.headers
        _assert_too_large(response)
        # The server stopped reading soon after the limit, not at the end of the body.
        assert sent <= LIMIT // 1024 + 2
        # A body within the limit still works.
        small = await client.post(
            "/graphql",
            content=ME,
            headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
        )
        assert small.status_code == 200, small.text
        assert small.json()["data"]["me"]["username"] == "edu_officer"


# --- JSON logs from every uvicorn worker ---


@pytest.mark.slow
def test_every_worker_logs_json_with_request_ids(tmp_path: Path) -> None:
    db = tmp_path / "workers.db"
    env = {k: v for k, v in os.environ.items() if not k.startswith("LIANBAO_")}
    env.update(
        DATABASE_URL=f"sqlite+aiosqlite:///{db}",
        LIANBAO_JWT_SECRET=TEST_SECRET,
        LIANBAO_LOG_LEVEL="INFO",
        LIANBAO_TICK_INTERVAL="0",
    )
    subprocess.run(
        [sys.executable, "-m", "api.cli", "migrate"], env=env, cwd=ROOT, check=True,
        capture_output=True,
    )
    port = free_port()
    log_path = tmp_path / "server.log"
    with log_path.open("wb") as log_file:
        proc = subprocess.Popen(
            [sys.executable, "-m", "api.cli", "serve", "--port", str(port), "--workers", "2"],
            env=env, cwd=ROOT, stdout=log_file, stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + 60
            while True:
                started = [
                    line for line in log_path.read_text().splitlines()
                    if "Application startup complete" in line
                ]
                if len(started) >= 2:
                    break
                assert time.monotonic() < deadline, log_path.read_text()
                assert proc.poll() is None, log_path.read_text()
                time.sleep(0.2)
            # Break the database under the running workers: every authenticated request now
            # fails with an unhandled exception, whose traceback the worker logs.
            with sqlite3.connect(db) as raw:
                raw.execute("ALTER TABLE app_user RENAME TO app_user_gone")
            token = issue_dev_token(Settings(jwt_secret=TEST_SECRET), "edu_officer")
            ids = {f"worker-test-{i}" for i in range(8)}
            for rid in sorted(ids):
                response = httpx.post(
                    f"http://127.0.0.1:{port}/graphql",
                    content=ME,
                    headers={
                        "Content-Type": "application/json",
                        "Authorization": f"Bearer {token}",
                        "X-Request-ID": rid,
                    },
                    timeout=10,
                )
                assert response.status_code == 500
        finally:
            proc.send_signal(signal.SIGINT)
            proc.wait(timeout=30)
    lines = [line for line in log_path.read_text().splitlines() if line.strip()]
    entries = []
    for line in lines:
        try:
            entries.append(json.loads(line))
        except json.JSONDecodeError:
            pytest.fail(f"a log line is not JSON: {line!r}\n" + "\n".join(lines))
    workers = {e["pid"] for e in entries if e["msg"].startswith("Started server process")}
    assert len(workers) == 2, lines
    # Each failure's traceback: logged by the GraphQL endpoint's last-resort handler (the
    # client gets a coded INTERNAL), or by uvicorn for anything that escapes the app.
    failures = [e for e in entries if "app_user" in (e.get("exc") or "")]
    assert len(failures) == len(ids), lines
    assert {e["request_id"] for e in failures} == ids
    assert all("app_user" in e["exc"] for e in failures)
    assert {e["pid"] for e in failures} <= workers
    access = [e for e in entries if e["logger"] == "lianbao.access" and e.get("status") == 500]
    assert {e["request_id"] for e in access} == ids
