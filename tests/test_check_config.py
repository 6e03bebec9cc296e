"""``lianbao check-config``: the effective settings, secrets hidden, and a refusal of anything
unsafe for production (issue 18)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from api import cli
from api.settings import ENV_PREFIX
from tests.helpers import Database

SECRET = "check-config-secret-" + "z" * 32


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.upper().startswith(ENV_PREFIX) or name in {"DATABASE_URL", "LISTEN_DATABASE_URL",
                                                           "MIGRATION_DATABASE_URL"}:
            monkeypatch.delenv(name)


@pytest.fixture
def jwks_file(tmp_path: Path) -> Path:
    path = tmp_path / "jwks.json"
    path.write_text('{"keys": []}')
    return path


def _safe_production(monkeypatch: pytest.MonkeyPatch, jwks_file: Path) -> None:
    monkeypatch.setenv("LIANBAO_ENV", "production")
    monkeypatch.setenv("DATABASE_URL", "postgresql+asyncpg://lianbao_app:s3cret-pw@db/lianbao")
    monkeypatch.setenv("LIANBAO_JWT_JWKS_FILE", str(jwks_file))
    monkeypatch.setenv("LIANBAO_APP_ROLE", "lianbao_app")
    monkeypatch.setenv("LIANBAO_METRICS_TOKEN", "m" * 40)
    monkeypatch.setenv("LIANBAO_SIGNING_KEYS_DIR", str(jwks_file.parent))
    monkeypatch.setenv("LIANBAO_PUBLIC_URL", "https://lianbao.example.gov.cn")


def test_safe_production_settings_pass_and_hide_secrets(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], jwks_file: Path
) -> None:
    _safe_production(monkeypatch, jwks_file)
    assert cli.main(["check-config", "--offline"]) == 0
    out, err = capsys.readouterr()
    assert "LIANBAO_ENV" in out and "production" in out
    assert "s3cret-pw" not in out and "m" * 40 not in out
    assert "LIANBAO_METRICS_TOKEN" in out and "(set, hidden)" in out
    assert "no problems" in err


@pytest.mark.parametrize(
    ("variable", "value", "reported"),
    # Each report names the variable, except where it names the trouble.
    [(variable, value, variable) for variable, value in [
        ("LIANBAO_JWT_SECRET", SECRET),
        ("LIANBAO_PDF_FONT_FAMILY", "No Such Song"),
        ("LIANBAO_SIGNING_KEYS_DIR", ""),
        ("LIANBAO_PUBLIC_URL", "http://lianbao.example.gov.cn"),
        ("LIANBAO_GRAPHIQL", "true"),
        ("LIANBAO_INTROSPECTION", "true"),
        ("LIANBAO_CORS_ORIGINS", "*"),
        ("LIANBAO_METRICS_TOKEN", "short"),
        ("LIANBAO_APP_ROLE", ""),
    ]] + [
        ("DATABASE_URL", "sqlite+aiosqlite:///var/x.db", "SQLite"),
        ("LIANBAO_JWT_JWKS_FILE", "/nonexistent/jwks.json", "does not exist"),
        ("LIANBAO_JWT_JWKS_URL", "http://idp.example/jwks", "https"),
    ],
)
def test_each_unsafe_setting_fails(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    jwks_file: Path,
    variable: str,
    value: str,
    reported: str,
) -> None:
    _safe_production(monkeypatch, jwks_file)
    if value:
        monkeypatch.setenv(variable, value)
    else:
        monkeypatch.delenv(variable)
    assert cli.main(["check-config", "--offline"]) == 1
    out, err = capsys.readouterr()
    unsafe = [line for line in err.splitlines() if "UNSAFE" in line]
    assert any(reported in line for line in unsafe), err
    assert SECRET not in out + err


def test_metrics_open_to_the_world_without_a_token(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], jwks_file: Path
) -> None:
    _safe_production(monkeypatch, jwks_file)
    monkeypatch.delenv("LIANBAO_METRICS_TOKEN")
    monkeypatch.setenv("LIANBAO_METRICS_ALLOW", "0.0.0.0/0")
    assert cli.main(["check-config", "--offline"]) == 1
    assert "LIANBAO_METRICS_ALLOW" in capsys.readouterr().err


def test_development_defaults_pass(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("LIANBAO_JWT_SECRET", SECRET)
    assert cli.main(["check-config", "--offline"]) == 0
    assert SECRET not in capsys.readouterr().out


async def test_superuser_database_role_fails(
    database: Database,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    jwks_file: Path,
) -> None:
    if not database.is_postgres:
        pytest.skip("the role check is PostgreSQL's")
    from api import checks
    from api.settings import Settings

    _safe_production(monkeypatch, jwks_file)
    monkeypatch.setenv("DATABASE_URL", database.url)  # the test server's postgres: a superuser
    found = await checks.database_problems(Settings.from_env())
    assert any("superuser" in p for p in found), found
