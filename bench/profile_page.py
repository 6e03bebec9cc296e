"""Where a task page's time goes: database, GraphQL execution, the rest.

    python -m bench.profile_page [--requests 200] [--cprofile] [--persisted]

Runs Lianbao in process (no network, no uvicorn) against the bench database, one request at
a time, and splits each request's wall time into time inside ``cursor.execute`` (the
database and the driver) and everything else (token, principal, GraphQL parse/validate/
execute, DataLoaders, ORM row building, JSON). With ``--persisted`` the page is sent by its
hash alone (its planned statement runs through the driver, outside ``cursor.execute``: the
split then counts it as "elsewhere"). With ``--cprofile`` it prints the top functions by own
time.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import pstats
import time
from typing import Any

import httpx
from sqlalchemy import event

from api.app import create_app
from api.auth import issue_dev_token
from api.settings import Settings
from bench.common import DEFAULT_URL
from bench.load import TASK_PAGE, TASK_PAGE_HASH
from models.session import create_engine

SECRET = "bench-secret-" + "b" * 32


async def measure(url: str, requests: int, profile: bool, persisted: bool = False) -> None:
    # Rate limits off: one user sends hundreds of requests a second here.
    settings = Settings(database_url=url, jwt_secret=SECRET, rate_limit_user_per_minute=0,
                        rate_limit_address_per_minute=0)
    engine = create_engine(url)
    db_time = [0.0]
    statements = [0]

    @event.listens_for(engine.sync_engine, "before_cursor_execute")
    def _start(conn: Any, cursor: Any, stmt: str, params: Any, ctx: Any, many: bool) -> None:
        conn.info["t0"] = time.perf_counter()

    @event.listens_for(engine.sync_engine, "after_cursor_execute")
    def _end(conn: Any, cursor: Any, stmt: str, params: Any, ctx: Any, many: bool) -> None:
        db_time[0] += time.perf_counter() - conn.info.pop("t0")
        statements[0] += 1

    app = create_app(settings, engine=engine, check_schema=False)
    token = issue_dev_token(settings, "bench_edu")
    headers = {"Authorization": f"Bearer {token}"}
    request: dict[str, Any] = (
        {"extensions": {"persistedQuery": {"version": 1, "sha256Hash": TASK_PAGE_HASH}},
         "variables": {"first": 50}} if persisted
        else {"query": TASK_PAGE, "variables": {"first": 50}})
    transport = httpx.ASGITransport(app=app)
    # ASGITransport does not run the lifespan, which loads the policy: run it by hand.
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://bench") as client,
    ):

        async def one() -> None:
            r = await client.post("/graphql", json=request, headers=headers)
            answer = r.json()
            assert r.status_code == 200 and "errors" not in answer, r.text
            assert len(answer["data"]["agencyQueue"]["edges"]) == 50, r.text

        for _ in range(10):
            await one()
        db_time[0], statements[0] = 0.0, 0
        profiler = cProfile.Profile() if profile else None
        t0 = time.perf_counter()
        if profiler:
            profiler.enable()
        for _ in range(requests):
            await one()
        if profiler:
            profiler.disable()
        wall = (time.perf_counter() - t0) / requests * 1000
    db = db_time[0] / requests * 1000
    how = "by hash (persisted)" if persisted else "as text"
    print(f"tasks page {how}, one at a time, {requests} requests (in process, no network):")
    print(
        f"  wall {wall:.1f} ms/request; in cursor.execute {db:.1f} ms "
        f"({statements[0] / requests:.1f} statements); elsewhere {wall - db:.1f} ms"
    )
    if profiler:
        pstats.Stats(profiler).sort_stats("tottime").print_stats(25)
    await engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", default=DEFAULT_URL)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--cprofile", action="store_true")
    parser.add_argument("--persisted", action="store_true")
    args = parser.parse_args()
    asyncio.run(measure(args.url, args.requests, args.cprofile, args.persisted))


if __name__ == "__main__":
    main()
