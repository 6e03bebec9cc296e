"""The ``lianbao`` command line: destructive commands ask, tokens only for real users, the first
administrator of a fresh database, configuration errors without tracebacks."""

from __future__ import annotations

import asyncio
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from api import migrate
from api.auth import TokenVerifier
from api.cli import main
from api.settings import Settings
from authz.enforcer import Authorizer
from authz.policy import default_rules
from models.session import create_engine
from tests.helpers import TEST_SECRET, clean_environment, create_empty_database
from workflow.user import load_principal

DISTRICT = "370406"


@pytest.fixture(autouse=True)
def no_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    clean_environment(monkeypatch, TEST_SECRET)


@pytest.fixture(params=["sqlite", "postgresql"])
def fresh_db(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[str]:
    """A database as ``lianbao migrate`` leaves it on a new server: reference data, no users."""
    url, drop = asyncio.run(create_empty_database(request.param, tmp_path))
    monkeypatch.setenv("DATABASE_URL", url)
    try:
        assert main(["migrate"]) == 0
        yield url
    finally:
        asyncio.run(drop())


def _rows(url: str, sql: str, **params: Any) -> list[tuple[Any, ...]]:
    async def run() -> list[tuple[Any, ...]]:
        engine = create_engine(url, pool=False)
        try:
            async with engine.connect() as conn:
                result = await conn.execute(text(sql), params)
                return [tuple(r) for r in result] if result.returns_rows else []
        finally:
            await engine.dispose()

    return asyncio.run(run())


def _execute(url: str, sql: str) -> None:
    async def run() -> None:
        engine = create_engine(url, pool=False)
        try:
            async with engine.begin() as conn:
                await conn.execute(text(sql))
        finally:
            await engine.dispose()

    asyncio.run(run())


def _revisions(url: str) -> set[str]:
    async def run() -> set[str]:
        engine = create_engine(url, pool=False)
        try:
            return await migrate.current_revisions(engine)
        finally:
            await engine.dispose()

    return asyncio.run(run())


def _create_admin(username: str = "county_admin", *extra: str) -> int:
    return main(
        ["create-admin", username, "--display-name", "何平", "--jurisdiction", DISTRICT, *extra]
    )


# --- downgrade: an explicit target and a confirmation ---


def test_downgrade_needs_an_explicit_revision(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["downgrade"])
    assert caught.value.code == 2
    assert "revision" in capsys.readouterr().err


@pytest.mark.parametrize("answer", ["", "no\n", "y\n"])
def test_downgrade_without_confirmation_changes_nothing(
    fresh_db: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
    answer: str,
) -> None:
    head = _revisions(fresh_db)
    monkeypatch.setattr("sys.stdin", io.StringIO(answer))
    assert main(["downgrade", "base"]) == 1
    err = capsys.readouterr().err
    assert "dropped" in err and "not confirmed" in err
    assert _revisions(fresh_db) == head
    assert _rows(fresh_db, "SELECT count(*) FROM jurisdiction")[0][0] > 0


def test_downgrade_after_yes(
    fresh_db: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    head = _revisions(fresh_db)
    assert main(["downgrade", "-1", "--yes"]) == 0
    one_down = _revisions(fresh_db)
    assert one_down and one_down != head
    monkeypatch.setattr("sys.stdin", io.StringIO("yes\n"))
    assert main(["downgrade", "base"]) == 0
    assert _revisions(fresh_db) == set()
    assert "downgraded to base" in capsys.readouterr().out


def test_downgrade_to_an_unknown_revision_is_a_message(
    fresh_db: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["downgrade", "nosuchrev", "--yes"]) == 1
    err = capsys.readouterr().err
    assert "cannot downgrade to 'nosuchrev'" in err
    assert "Traceback" not in err


# --- create-admin: the first administrator of a fresh database ---


def test_create_admin_bootstraps_the_first_administrator(
    fresh_db: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # A fresh database has no agencies: the administrator's one must be named.
    assert _create_admin() == 1
    assert "--agency-name" in capsys.readouterr().err
    assert _rows(fresh_db, "SELECT count(*) FROM app_user")[0][0] == 0

    assert _create_admin("county_admin", "--agency-name", "山亭区教育和体育局") == 0
    assert "county_admin" in capsys.readouterr().out

    async def principal_can_manage_users() -> bool:
        engine = create_engine(fresh_db, pool=False)
        try:
            async with engine.connect() as conn:
                from sqlalchemy.ext.asyncio import AsyncSession

                async with AsyncSession(conn) as session:
                    principal = await load_principal(session, "county_admin")
                    assert principal is not None
                    path = (
                        await session.execute(
                            text("SELECT path FROM jurisdiction WHERE code = :c"), {"c": DISTRICT}
                        )
                    ).scalar_one()
                    authz = Authorizer(default_rules())
                    return authz.allowed(principal, "user", "manage", path) and authz.allowed(
                        principal, "role_grant", "manage", path
                    )
        finally:
            await engine.dispose()

    # What an administrator is: createUser and grantRole are allowed in the jurisdiction.
    assert asyncio.run(principal_can_manage_users())
    audit = _rows(
        fresh_db, "SELECT operation, actor_username FROM audit_event ORDER BY id"
    )
    assert [op for op, _ in audit] == ["create_agency", "create_user", "grant_role"]
    assert all(actor.startswith("cli:") for _, actor in audit)

    # Once an administrator exists, the command refuses: further users come from createUser.
    assert _create_admin("second_admin", "--agency-name", "x") == 1
    assert "administrator exists" in capsys.readouterr().err
    assert _rows(fresh_db, "SELECT username FROM app_user") == [("county_admin",)]


def test_create_admin_rejects_bad_input(
    fresh_db: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["create-admin", "a b", "--display-name", "x", "--jurisdiction", DISTRICT,
                 "--agency-name", "y"]) == 1
    assert main(["create-admin", "someone", "--display-name", "x", "--jurisdiction", "999999",
                 "--agency-name", "y"]) == 1
    err = capsys.readouterr().err
    assert "usernames are" in err and "no jurisdiction '999999'" in err
    assert _rows(fresh_db, "SELECT count(*) FROM audit_event")[0][0] == 0


# --- token: only for users that exist and are active ---


def test_token_only_for_active_users(
    fresh_db: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _create_admin("county_admin", "--agency-name", "山亭区教育和体育局") == 0
    capsys.readouterr()
    assert main(["token", "nobody"]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "no user 'nobody'" in captured.err

    assert main(["token", "county_admin"]) == 0
    token = capsys.readouterr().out.strip()
    claims = TokenVerifier(Settings(jwt_secret=TEST_SECRET)).verify(token)
    assert claims.username == "county_admin"

    _execute(fresh_db, "UPDATE app_user SET is_active = false WHERE username = 'county_admin'")
    assert main(["token", "county_admin"]) == 1
    captured = capsys.readouterr()
    assert captured.out == "" and "deactivated" in captured.err


def test_token_in_production_points_to_the_identity_provider(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    monkeypatch.delenv("LIANBAO_JWT_SECRET")
    monkeypatch.setenv("LIANBAO_ENV", "production")
    monkeypatch.setenv("LIANBAO_JWT_PUBLIC_KEY_FILE", str(tmp_path / "idp.pem"))
    assert main(["token", "edu_officer"]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "identity provider" in captured.err
    assert "Traceback" not in captured.err


# --- configuration errors stop every command with a message ---


@pytest.mark.parametrize(
    ("variable", "value"), [("LIANBAO_ENV", "prod"), ("LIANBAO_PORT", "80a"), ("LIANBAO_POTR", "1")]
)
def test_bad_configuration_stops_the_command(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
    variable: str, value: str,
) -> None:
    monkeypatch.setenv(variable, value)
    assert main(["users"]) == 2
    err = capsys.readouterr().err
    assert f"  {variable}:" in err
    assert "Traceback" not in err


def test_seed_demo_builds_todays_statistics(fresh_db: str,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    """The demo county's figures come from the kept facts from the start, as an operator's
    ``stats-rebuild`` after a first load leaves them: a row per child, summed in the tally."""
    assert main(["seed-demo", "--children", "40"]) == 0
    assert "'statistics_rows': 80" in capsys.readouterr().out  # 40 children in each district
    (children,), = _rows(fresh_db, "SELECT count(*) FROM child")
    (kept,), = _rows(fresh_db, "SELECT count(*) FROM stat_child")
    (tallied,), = _rows(fresh_db, "SELECT sum(n) FROM stat_tally")
    assert children == kept == tallied == 80
    assert _rows(fresh_db, "SELECT count(*) FROM stat_state")[0][0] == 1
