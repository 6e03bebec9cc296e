"""The ``lianbao`` command line.

Each subcommand is a small function that wires settings, engine and a service call; the
work itself lives in ``workflow/`` so the server and the command line do the same thing.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import os
import sys
from collections.abc import Callable, Coroutine
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from alembic.util import CommandError
from sqlalchemy import make_url, select
from sqlalchemy.orm import joinedload

from api import cli_jobs as jobs
from api import db_roles
from api import migrate as migrations
from api.auth import issue_dev_token
from api.settings import VAR_DIR, Settings, SettingsError
from authz.enforcer import Authorizer
from authz.errors import LianbaoError
from authz.principal import Principal
from authz.store import ensure_default_policy, load_policy
from models.enums import AgencyKind
from models.session import create_engine, session_factory
from models.user import RoleGrant, User
from workflow import ladder, reference
from workflow.clock import SystemClock
from workflow.context import ServiceContext
from workflow.user import create_first_admin, load_principal


def _fail(message: str, code: int = 1) -> int:
    """A refusal or failure the operator can act on: one line on stderr, no traceback."""
    print(f"lianbao: {message}", file=sys.stderr)
    return code


def _confirm(question: str, assume_yes: bool) -> bool:
    """Ask before anything destructive; only the word ``yes`` (or ``--yes``) goes ahead.

    The answer is read from stdin, so a script must say ``--yes`` (or pipe ``yes``): an
    unattended run with no answer is refused rather than assumed.
    """
    if assume_yes:
        return True
    print(f"{question}\nType 'yes' to continue: ", end="", file=sys.stderr, flush=True)
    answer = sys.stdin.readline()
    return answer.strip().lower() == "yes"


def _shown_url(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


def _run(coro_fn: Callable[[Settings], Coroutine[Any, Any, int]], settings: Settings) -> int:
    return asyncio.run(coro_fn(settings))


async def _migrate(settings: Settings) -> int:
    """As the schema owner (``MIGRATION_DATABASE_URL``): upgrade, load reference data, and
    re-grant the server's role so that tables a migration added are covered too."""
    if settings.is_sqlite:
        VAR_DIR.mkdir(parents=True, exist_ok=True)
    url = settings.migration_url
    migrations.upgrade(url)
    engine = create_engine(url, pool=False)
    try:
        async with session_factory(engine)() as session:
            counts = await reference.load_reference_data(session)
            counts["policy_rules"] = await ensure_default_policy(session)
            counts["ladders"] = await ladder.install_templates(session)
            await session.commit()
        if settings.app_role and engine.dialect.name == "postgresql":
            async with engine.begin() as conn:
                granted = await db_roles.grant_app_role(conn, settings.app_role)
            print(f"privileges of {settings.app_role} re-applied" if granted else
                  f"role {settings.app_role} does not exist yet: run `lianbao create-app-role`")
    finally:
        await engine.dispose()
    print(f"database at head; reference data: {counts}")
    return 0


async def _create_app_role(settings: Settings, role: str, password_env: str | None) -> int:
    url = settings.migration_url
    engine = create_engine(url, pool=False)
    if engine.dialect.name != "postgresql":
        print("create-app-role is for PostgreSQL; SQLite has no roles", file=sys.stderr)
        await engine.dispose()
        return 2
    password = None
    if password_env is not None:
        password = os.environ.get(password_env)
        if not password:
            print(f"{password_env} is empty", file=sys.stderr)
            await engine.dispose()
            return 2
    try:
        async with engine.begin() as conn:
            created = await db_roles.create_app_role(conn, role, password)
    finally:
        await engine.dispose()
    print(f"role {role} {'created' if created else 'exists'}; privileges granted. Serve with "
          f"DATABASE_URL=postgresql+asyncpg://{role}@…/… LIANBAO_APP_ROLE={role}")
    return 0


async def _seed(settings: Settings, if_empty: bool, children: int) -> int:
    from api.documents import configure_documents
    from workflow.calendar import local_date
    from workflow.demo import labour, lists
    from workflow.demo import seed as demo
    from workflow.stats_tally import rebuild

    configure_documents(settings)  # the demo issues documents: set, signed, with the QR URL

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
            counts["employers"] = await labour.seed_demo_labour(session, authz, datetime.now(UTC))
            # 山亭's agency lists (ST 1) through the import path: provenance, base database.
            loaded = await lists.seed_demo_lists(session, authz, datetime.now(UTC), children)
            counts["list_rows"] = sum(loaded.values())
            # Today's figures from the kept facts, as an operator builds them after a first
            # load (``stats-rebuild``); the engine's pass folds what changes after.
            now = datetime.now(UTC)
            counts["statistics_rows"] = await rebuild(session, local_date(now), now)
            await session.commit()
            print(f"demo districts 山亭区 (370406) and 沙坡头区 (640502) loaded: {counts}")
            return 0
    finally:
        await engine.dispose()


def cmd_downgrade(settings: Settings, revision: str, assume_yes: bool) -> int:
    where = _shown_url(settings.database_url)
    question = (
        f"This downgrades {where} to revision {revision!r}: every table and column added by "
        "later revisions is dropped, with its data."
    )
    if not _confirm(question, assume_yes):
        return _fail("downgrade not confirmed; nothing changed (pass --yes to skip the question)")
    try:
        migrations.downgrade(settings.migration_url, revision)
    except CommandError as exc:
        return _fail(f"cannot downgrade to {revision!r}: {exc}")
    print(f"database {where} downgraded to {revision}")
    return 0


def _operator() -> Principal:
    """Who acts from the server's shell, as the audit trail names them."""
    try:
        who = getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (containers)
        who = "unknown"
    return Principal.machine(f"cli:{who}"[:64], "lianbao command line")


async def _create_admin(
    settings: Settings,
    username: str,
    display_name: str,
    jurisdiction: str,
    agency_kind: AgencyKind,
    agency_name: str | None,
) -> int:
    engine_ = create_engine(settings.database_url, pool=False)
    try:
        async with session_factory(engine_)() as session:
            # Nothing is authorized through the policy here (there is nobody to authorize
            # yet); create_first_admin refuses once an administrator exists.
            ctx = ServiceContext(
                session=session,
                principal=_operator(),
                authz=Authorizer([], version=-1),
                clock=SystemClock(),
            )
            try:
                user = await create_first_admin(
                    ctx,
                    username=username,
                    display_name=display_name,
                    jurisdiction_code=jurisdiction,
                    agency_kind=agency_kind,
                    agency_name=agency_name,
                )
            except LianbaoError as exc:
                await session.rollback()
                return _fail(f"create-admin refused: {exc.message}")
            await session.commit()
            print(
                f"administrator {user.username} created with the admin role over {jurisdiction}; "
                "they sign in through the identity provider (token subject "
                f"{user.username!r}) and create further users with createUser"
            )
            return 0
    finally:
        await engine_.dispose()


async def _token(settings: Settings, username: str, hours: float) -> int:
    if settings.is_production:
        return _fail(
            "development tokens are not issued in production (LIANBAO_ENV=production refuses "
            "HS256): users get their tokens from the county's identity provider"
        )
    if not settings.jwt_secret:
        return _fail(
            "no LIANBAO_JWT_SECRET: this server verifies the identity provider's tokens only, "
            "so development tokens would not be accepted"
        )
    if hours <= 0:
        return _fail("--hours must be positive")
    engine_ = create_engine(settings.database_url, pool=False)
    try:
        async with session_factory(engine_)() as session:
            principal = await load_principal(session, username)
            if principal is None:
                known = await session.execute(
                    select(User.is_active).where(User.username == username)
                )
                row = known.first()
                if row is None:
                    return _fail(f"no user {username!r} (`lianbao users` lists them)")
                return _fail(f"user {username!r} is deactivated; no token issued")
    finally:
        await engine_.dispose()
    print(issue_dev_token(settings, username, timedelta(hours=hours)))
    return 0


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

    from api.logs import logging_config

    if workers > 1 or os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        # Several workers: each writes its samples to files there and any worker's /metrics
        # sums them (api/metrics.py). The files of a previous run must go before the workers
        # start, as prometheus-client requires; the directory itself may belong to systemd
        # (RuntimeDirectory), so only its contents are removed.
        metrics_dir = Path(os.environ.get("PROMETHEUS_MULTIPROC_DIR") or VAR_DIR / "prometheus")
        metrics_dir.mkdir(parents=True, exist_ok=True)
        for stale in metrics_dir.glob("*.db"):
            stale.unlink()
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(metrics_dir)
    # uvicorn applies log_config in the parent and again in every worker process it spawns,
    # so all of them write JSON lines with request ids.
    uvicorn.run(
        "api.main:app",
        host=host or settings.host,
        port=port or settings.port,
        workers=workers,
        log_config=logging_config(settings.log_level),
        access_log=False,
        ws="websockets-sansio",
    )
    return 0


def cmd_check_config(settings: Settings, offline: bool) -> int:
    """Print the effective settings (secrets hidden) and fail on anything unsafe."""
    from api import checks

    shown = checks.effective(settings)
    width = max(len(k) for k in shown)
    for variable, value in sorted(shown.items()):
        print(f"{variable:<{width}}  {value}")
    found = checks.problems(settings)
    if not offline:
        found += asyncio.run(checks.database_problems(settings))
    if found:
        print(f"\n{len(found)} problem(s) for production:", file=sys.stderr)
        for problem in found:
            print(f"  UNSAFE {problem}", file=sys.stderr)
        return 1
    print("\nno problems found", file=sys.stderr)
    return 0


def cmd_specimen(settings: Settings, kind: str, district: str, issuer: str, out: str) -> int:
    """A specimen of ``kind`` as ``district`` prints and signs it: what a reviewer checks
    against GB/T 9704 and what ``make doc-images`` turns into page images."""
    from api.documents import configure_documents
    from workflow.document import specimens
    from workflow.errors import InvalidInput

    configure_documents(settings)
    try:
        ladder = specimens.template_ladder(district)
        if not specimens.issuable(ladder, kind):
            return _fail(f"{district}'s ladder issues no {kind}")
        Path(out).write_bytes(specimens.specimen_pdf(ladder, kind, district, issuer))
    except InvalidInput as exc:
        return _fail(exc.message)
    print(out)
    return 0


def cmd_export_schema() -> int:
    from strawberry.printer import print_schema

    from schema.root import build_schema

    print(print_schema(build_schema()))
    return 0


def _parser() -> argparse.ArgumentParser:
    """The command line: one sub-command per operator task."""
    parser = argparse.ArgumentParser(prog="lianbao", description="Lianbao (联保) backend")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("migrate", help="upgrade the database to head and load reference data")
    role = sub.add_parser("create-app-role", help="create/grant the PostgreSQL role the server "
                          "runs as (connects as MIGRATION_DATABASE_URL, the owner)")
    role.add_argument("role", nargs="?", help="default: LIANBAO_APP_ROLE or lianbao_app")
    role.add_argument("--password-env", metavar="VAR",
                      help="set the role's password from this environment variable")
    down = sub.add_parser(
        "downgrade",
        help="downgrade the database to REVISION ('base' drops every table); asks first",
    )
    down.add_argument("revision", help="target revision, e.g. 0006, -1 or base")
    down.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    seed = sub.add_parser(
        "seed-demo", help="load the demo districts 山亭区 and 沙坡头区 into an empty database"
    )
    seed.add_argument("--if-empty", action="store_true", help="do nothing when data exists")
    seed.add_argument("--children", type=int, default=3000)
    users = sub.add_parser("users", help="list users with agency and roles")
    users.add_argument("--json", action="store_true")
    admin = sub.add_parser(
        "create-admin",
        help="create the first administrator of a fresh database (refused once one exists)",
    )
    admin.add_argument("username")
    admin.add_argument("--display-name", required=True)
    admin.add_argument("--jurisdiction", required=True,
                       help="code of the jurisdiction administered, e.g. 370406")
    admin.add_argument("--agency-kind", default=AgencyKind.EDUCATION.value,
                       choices=[k.value for k in AgencyKind],
                       help="the administrator's agency (default: education)")
    admin.add_argument("--agency-name",
                       help="the agency's name, to create it when the jurisdiction has none")
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
    check = sub.add_parser(
        "check-config",
        help="print the effective settings (secrets hidden); exit 1 on anything unsafe",
    )
    check.add_argument("--offline", action="store_true",
                       help="do not connect to the database (skip the role check)")
    specimen = sub.add_parser(
        "specimen", help="print a specimen document (样张) of KIND as a district issues it"
    )
    specimen.add_argument("kind", help="e.g. enrol_notice, judicial, return_order")
    specimen.add_argument("--district", default="370406", help="a shipped district's code")
    specimen.add_argument("--issuer", required=True, help="the issuing agency's full name")
    specimen.add_argument("--out", required=True, help="where to write the signed PDF")
    cross = sub.add_parser("crosscheck", help="run the three comparisons (四查三比对) for a "
                           "district, or every district, as of a date (safe to run twice)")
    which = cross.add_mutually_exclusive_group(required=True)
    which.add_argument("--district", help="the district's GB/T 2260 code")
    which.add_argument("--all", action="store_true", dest="all_districts",
                       help="every district in the database, in one pass and one transaction")
    cross.add_argument("--as-of", required=True, type=date.fromisoformat, dest="as_of",
                       help="the comparison date, YYYY-MM-DD")
    sub.add_parser("stats-rebuild", help="rebuild the statistics' facts of every child "
                   "(stat_child) from scratch (safe to run twice)")
    sub.add_parser("export-schema", help="print the GraphQL SDL")
    sub.add_parser("authz-docs", help="print docs/authz.md from the policy file")

    return parser


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        settings = Settings.from_env()
    except SettingsError as exc:
        return _fail(str(exc), code=2)
    match args.command:
        case "migrate":
            return _run(_migrate, settings)
        case "create-app-role":
            return asyncio.run(_create_app_role(
                settings, args.role or settings.app_role or "lianbao_app", args.password_env))
        case "downgrade":
            return cmd_downgrade(settings, args.revision, args.yes)
        case "create-admin":
            return asyncio.run(
                _create_admin(
                    settings,
                    args.username,
                    args.display_name,
                    args.jurisdiction,
                    AgencyKind(args.agency_kind),
                    args.agency_name,
                )
            )
        case "seed-demo":
            return asyncio.run(_seed(settings, args.if_empty, args.children))
        case "users":
            return cmd_users(settings, args.json)
        case "token":
            return asyncio.run(_token(settings, args.username, args.hours))
        case "serve":
            return cmd_serve(settings, args.host, args.port, args.workers)
        case "hello":
            return cmd_hello(settings)
        case "tick":
            now = args.now
            if now is not None and now.tzinfo is None:
                now = now.replace(tzinfo=UTC)
            return asyncio.run(jobs.tick(settings, now))
        case "check-config":
            return cmd_check_config(settings, args.offline)
        case "specimen":
            return cmd_specimen(settings, args.kind, args.district, args.issuer, args.out)
        case "crosscheck":
            return asyncio.run(jobs.crosscheck(
                settings, None if args.all_districts else args.district, args.as_of))
        case "stats-rebuild":
            return asyncio.run(jobs.stats_rebuild(settings))
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
