"""The server's PostgreSQL role cannot change the audit trail in any way, yet serves.

A scratch database is migrated by its owner; ``create_app_role`` makes a login role, and the
test connects as it and tries every way of changing history: UPDATE, DELETE, TRUNCATE, DROP,
ALTER, disabling the triggers (by ALTER TABLE, by dropping them, by
``session_replication_role``), on ``audit_event`` and the access log. Each is refused with
``insufficient_privilege``. The same role then runs the app (``{ me }``, a mutation that
writes an audit row). The owner, too, cannot TRUNCATE the trail (the 0008 trigger).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import pytest_asyncio
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import exc as sa_exc
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from api.app import create_app
from api.auth import issue_dev_token
from api.db_roles import check_role_name, create_app_role, privilege_problem
from api.migrate import schema_status
from api.settings import Settings
from authz.enforcer import Authorizer
from authz.policy import default_rules
from models.faults import sqlstate
from models.session import create_engine
from tests.helpers import NOW, TEST_SECRET, pg_admin, scratch_postgres
from workflow.clock import FixedClock


@pytest_asyncio.fixture
async def owner_and_app(tmp_path: Path) -> AsyncIterator[tuple[AsyncEngine, AsyncEngine]]:
    role = f"lianbao_app_{uuid.uuid4().hex[:8]}"
    try:
        async with scratch_postgres(tmp_path, 30) as owner:
            async with owner.begin() as conn:
                assert await create_app_role(conn, role) is True
                assert await create_app_role(conn, role) is False  # idempotent
            url = make_url(owner.url.render_as_string(hide_password=False)).set(username=role)
            app_engine = create_engine(url.render_as_string(hide_password=False))
            try:
                yield owner, app_engine
            finally:
                await app_engine.dispose()
    finally:
        await pg_admin(f"DROP ROLE IF EXISTS {role}")


TAMPERING = [
    "UPDATE audit_event SET actor_username = 'nobody'",
    "DELETE FROM audit_event",
    "TRUNCATE audit_event",
    "DROP TABLE audit_event CASCADE",
    "ALTER TABLE audit_event ADD COLUMN forged text",
    "ALTER TABLE audit_event DISABLE TRIGGER ALL",
    "ALTER TABLE audit_event DISABLE TRIGGER audit_event_no_change",
    "DROP TRIGGER audit_event_no_change ON audit_event",
    "DROP FUNCTION audit_event_append_only() CASCADE",
    "SET session_replication_role = replica",
    "UPDATE sensitive_access SET record_type = 'nothing'",
    "DELETE FROM sensitive_access",
    "TRUNCATE sensitive_access",
    "UPDATE alembic_version SET version_num = '0001'",
    "CREATE TABLE owned_by_the_app (id int)",
]


async def test_app_role_cannot_change_the_audit_trail(
    owner_and_app: tuple[AsyncEngine, AsyncEngine],
) -> None:
    _, app_engine = owner_and_app
    refused = []
    async with app_engine.connect() as conn:
        assert await privilege_problem(conn) is None
        for statement in TAMPERING:
            try:
                await conn.execute(text(statement))
            except sa_exc.DBAPIError as exc:
                refused.append((statement, sqlstate(exc)))
            await conn.rollback()
    assert refused == [(s, "42501") for s in TAMPERING], refused


async def test_owner_cannot_truncate_the_audit_trail(
    owner_and_app: tuple[AsyncEngine, AsyncEngine],
) -> None:
    owner, _ = owner_and_app
    async with owner.connect() as conn:
        before = (await conn.execute(text("SELECT count(*) FROM audit_event"))).scalar_one()
        with pytest.raises(sa_exc.DBAPIError, match="append-only"):
            await conn.execute(text("TRUNCATE audit_event"))
        await conn.rollback()
        after = (await conn.execute(text("SELECT count(*) FROM audit_event"))).scalar_one()
        assert after == before
        assert await privilege_problem(conn) == "the server connects as a superuser"


async def test_app_role_serves(owner_and_app: tuple[AsyncEngine, AsyncEngine]) -> None:
    owner, app_engine = owner_and_app
    assert await schema_status(app_engine) is None  # reads alembic_version
    url = app_engine.url.render_as_string(hide_password=False)
    settings = Settings(database_url=url, jwt_secret=TEST_SECRET, tick_interval_seconds=0)
    app = create_app(settings, engine=app_engine, authz=Authorizer(default_rules()),
                     clock=FixedClock(NOW), check_schema=False)

    async def post(query: str, user: str, variables: dict[str, str] | None = None) -> dict:
        headers = {"Authorization": f"Bearer {issue_dev_token(settings, user)}"}
        response = await client.post("/graphql", json={"query": query, "variables": variables},
                                     headers=headers)
        body: dict = response.json()
        assert "errors" not in body, body
        return body

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://t") as client:
        assert (await post("{ me { username } }", "principal"))["data"]["me"]
        kids = await post("{ children(first: 1) { edges { node { id } } } }", "principal")
        child = kids["data"]["children"]["edges"][0]["node"]["id"]
        done = await post("""mutation($c: ID!, $d: Date!) { reportAbsence(input: {childId: $c,
            firstAbsence: $d}) { case { id } userErrors { code: errorCode } } }""", "head_teacher",
                          {"c": child, "d": NOW.date().isoformat()})
        assert done["data"]["reportAbsence"]["userErrors"] == []
    async with owner.connect() as conn:
        written = (await conn.execute(text(
            "SELECT count(*) FROM audit_event WHERE operation = 'report_absence'"))).scalar_one()
    assert written >= 1


async def test_production_refuses_to_serve_as_the_owner(
    owner_and_app: tuple[AsyncEngine, AsyncEngine], tmp_path: Path
) -> None:
    """A superuser or the tables' owner could truncate or rewrite the audit trail: in
    production the server will not start on such a connection (development only warns)."""
    owner, _ = owner_and_app
    pem = tmp_path / "idp.pem"
    key = ec.generate_private_key(ec.SECP256R1())
    pem.write_bytes(key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    settings = Settings(database_url=owner.url.render_as_string(hide_password=False),
                        environment="production", jwt_public_key_file=str(pem),
                        tick_interval_seconds=0)
    app = create_app(settings, engine=owner, authz=Authorizer(default_rules()),
                     clock=FixedClock(NOW), check_schema=False)
    with pytest.raises(RuntimeError, match="will not start in production: the server connects"):
        async with app.router.lifespan_context(app):
            pass


def test_role_names_are_plain_identifiers() -> None:
    assert check_role_name("lianbao_app") == "lianbao_app"
    for bad in ("Lianbao", "app; DROP TABLE audit_event", "a-b", "", "x" * 64):
        with pytest.raises(ValueError):
            check_role_name(bad)
