"""/healthz and /readyz, and the refusal to start on a database that is behind."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from api import migrate
from api.app import create_app
from api.settings import Settings
from models.session import create_engine
from tests.conftest import Api, Database


async def test_healthz(api: Api) -> None:
    response = await api.client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_readyz_ready(api: Api) -> None:
    response = await api.client.get("/readyz")
    assert response.status_code == 200, response.text
    assert response.json() == {"status": "ready"}


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
    app = create_app(settings_factory(url), check_schema=False)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://t"
    ) as client:
        response = await client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["status"] == "unavailable"
    assert "database unreachable" in response.json()["reason"]


async def test_readyz_503_and_startup_refused_when_behind(
    tmp_path: Path, settings_factory: Callable[[str], Settings]
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'behind.db'}"
    engine = create_engine(url)
    app = create_app(settings_factory(url), engine=engine)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://t"
    ) as client:
        response = await client.get("/readyz")
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
