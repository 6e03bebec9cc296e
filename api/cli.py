"""The ``lianbao`` command line.

Each subcommand is a small function that wires settings, engine and a service call; the
work itself lives in ``workflow/`` so the server and the command line do the same thing.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from api import migrate as migrations
from api.auth import issue_dev_token
from api.settings import VAR_DIR, Settings
from authz.enforcer import Authorizer
from authz.store import ensure_default_policy, load_policy
from models.session import create_engine, session_factory
from models.user import RoleGrant, User
from workflow import engine, ladder, reference
from workflow.events import notify


def _run(coro_fn: Callable[[Settings], Coroutine[Any, Any, int]], settings: Settings) -> int:
    return asyncio.run(coro_fn(settings))


async def _migrate(settings: Settings) -> int:
    if settings.is_sqlite:
        VAR_DIR.mkdir(parents=True, exist_ok=True)
    migrations.upgrade(settings.database_url)
    engine = create_engine(settings.database_url, pool=False)
    async with session_factory(engine)() as session:
        counts = await reference.load_reference_data(session)
        counts["policy_rules"] = await ensure_default_policy(session)
        counts["ladders"] = await ladder.install_templates(session)
        await session.commit()
    await engine.dispose()
    print(f"database at head; reference data: {counts}")
    return 0


async def _seed(settings: Settings, if_empty: bool, children: int) -> int:
    from workflow import demo

    engine = create_engine(settings.database_url, pool=False)
    try:
        async with session_factory(engine)() as session:
            if not await demo.is_empty(session):
                if if_empty:
                    print("demo county already loaded")
                    return 0
                print("the database already holds children; refusing to seed", file=sys.stderr)
                return 1
            counts = await demo.seed_demo(session, children=children)
            await session.commit()
            rules, version = await load_policy(session)
            authz = Authorizer(rules, version)
            counts["cases"] = await demo.seed_demo_cases(session, authz, datetime.now(UTC))
            counts["employers"] = await demo.seed_demo_labour(session, authz, datetime.now(UTC))
            await session.commit()
            print(f"demo districts 山亭区 (370406) and 沙坡头区 (640502) loaded: {counts}")
            return 0
    finally:
        await engine.dispose()


async def _users(settings: Settings) -> list[dict[str, Any]]:
    engine = create_engine(settings.database_url, pool=False)
    try:
        async with session_factory(engine)() as session:
            users = (
                (
                    await session.execute(
                        select(User).options(joinedload(User.agency)).order_by(User.id)
                    )
                )
                .scalars()
                .all()
            )
            grants = (await session.execute(select(RoleGrant).order_by(RoleGrant.id))).scalars()
            roles: dict[int, list[str]] = {}
            for g in grants:
                roles.setdefault(g.user_id, []).append(g.role)
            return [
                {
                    "username": u.username,
                    "display_name": u.display_name,
                    "agency": u.agency.kind.value,
                    "agency_name": u.agency.name,
                    "jurisdiction": u.agency.jurisdiction_code,
                    "roles": roles.get(u.id, []),
                }
                for u in users
            ]
    finally:
        await engine.dispose()


def cmd_users(settings: Settings, as_json: bool) -> int:
    rows = asyncio.run(_users(settings))
    if as_json:
        print(json.dumps(rows, ensure_ascii=False, indent=2))
        return 0
    # Columns as wide as the longest name (沙坡头's users are spt_…, longer than 山亭's).
    width = max((len(r["username"]) for r in rows), default=0)
    for r in rows:
        roles = ",".join(r["roles"]) or "-"
        print(f"{r['username']:<{width}} {r['agency']:<20} {r['jurisdiction']:<10} {roles:<50}"
              f" {r['agency_name']}")
    return 0


async def _tick(settings: Settings, now: datetime | None) -> int:
    engine_ = create_engine(settings.database_url, pool=False)
    try:
        async with session_factory(engine_)() as session:
            report = await engine.tick(session, now or datetime.now(UTC))
            await session.commit()
        if engine_.dialect.name == "postgresql":
            # Running servers hear about the new tasks, reminders and breaches.
            await notify(engine_, report.events)
    finally:
        await engine_.dispose()
    if report.skipped:
        print("another tick is running; nothing done")
    else:
        print(
            f"steps entered: {report.steps_entered}, tasks created: {report.tasks_created}, "
            f"reminders: {report.reminders}, breaches: {report.breaches}, "
            f"return orders overdue: {report.orders_escalated}"
        )
    return 0


def cmd_hello(settings: Settings) -> int:
    base = f"http://{settings.host}:{settings.port}"
    ide = "   (GraphiQL: open it in a browser)" if settings.graphiql else ""
    print(
        f"""
Lianbao is starting on {base}
  GraphQL endpoint:  {base}/graphql{ide}
  Demo users:        .venv/bin/lianbao users
  A token:           .venv/bin/lianbao token edu_officer   (沙坡头区: spt_edu_officer)
  Try:  curl -s {base}/graphql \\
          -H "Authorization: Bearer $(.venv/bin/lianbao token edu_officer)" \\
          -H 'Content-Type: application/json' \\
          -d '{{"query":"{{ me {{ username agency {{ name }} }} }}"}}'
"""
    )
    return 0


def cmd_serve(settings: Settings, host: str | None, port: int | None, workers: int) -> int:
    import uvicorn

    from api.logs import configure_logging

    configure_logging(settings.log_level)
    uvicorn.run(
        "api.main:app",
        host=host or settings.host,
        port=port or settings.port,
        workers=workers,
        log_config=None,
        ws="websockets-sansio",
    )
    return 0


def cmd_export_schema() -> int:
    from strawberry.printer import print_schema

    from schema.root import build_schema

    print(print_schema(build_schema()))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="lianbao", description="Lianbao (联保) backend")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("migrate", help="upgrade the database to head and load reference data")
    down = sub.add_parser("downgrade", help="downgrade the database (default: to base)")
    down.add_argument("revision", nargs="?", default="base")
    seed = sub.add_parser(
        "seed-demo", help="load the demo districts 山亭区 and 沙坡头区 into an empty database"
    )
    seed.add_argument("--if-empty", action="store_true", help="do nothing when data exists")
    seed.add_argument("--children", type=int, default=3000)
    users = sub.add_parser("users", help="list users with agency and roles")
    users.add_argument("--json", action="store_true")
    token = sub.add_parser("token", help="print a development token for USERNAME")
    token.add_argument("username")
    token.add_argument("--hours", type=float, default=12.0)
    serve = sub.add_parser("serve", help="serve the ASGI app with uvicorn")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.add_argument("--workers", type=int, default=1)
    sub.add_parser("hello", help="print how to reach the server and get a token")
    tick = sub.add_parser("tick", help="run the deadline engine once (safe to run twice)")
    tick.add_argument("--now", type=datetime.fromisoformat,
                      help="ISO timestamp to run as (default: now); naive means UTC")
    sub.add_parser("export-schema", help="print the GraphQL SDL")
    sub.add_parser("authz-docs", help="print docs/authz.md from the policy file")

    args = parser.parse_args(argv)
    settings = Settings.from_env()
    match args.command:
        case "migrate":
            return _run(_migrate, settings)
        case "downgrade":
            migrations.downgrade(settings.database_url, args.revision)
            return 0
        case "seed-demo":
            return asyncio.run(_seed(settings, args.if_empty, args.children))
        case "users":
            return cmd_users(settings, args.json)
        case "token":
            print(issue_dev_token(settings, args.username, timedelta(hours=args.hours)))
            return 0
        case "serve":
            return cmd_serve(settings, args.host, args.port, args.workers)
        case "hello":
            return cmd_hello(settings)
        case "tick":
            now = args.now
            if now is not None and now.tzinfo is None:
                now = now.replace(tzinfo=UTC)
            return asyncio.run(_tick(settings, now))
        case "export-schema":
            return cmd_export_schema()
        case "authz-docs":
            from authz.docs import render

            sys.stdout.write(render())
            return 0
    parser.error(f"unknown command {args.command}")
    return 2


if __name__ == "__main__":
    sys.exit(main())
