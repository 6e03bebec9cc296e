"""Settings are a closed, validated set: a typo in a name or a value stops the process."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from api.settings import Settings, SettingsError
from tests.helpers import clean_environment

README = Path(__file__).resolve().parent.parent / "README.md"
SECRET = "settings-test-secret-" + "x" * 32


@pytest.fixture(autouse=True)
def no_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test starts from an environment with no Lianbao settings at all."""
    clean_environment(monkeypatch, SECRET)


def test_defaults_from_an_empty_environment() -> None:
    settings = Settings.from_env()
    assert settings.environment == "development"
    assert settings.graphiql and settings.introspection
    assert settings.port == 8000
    assert settings.tick_interval_seconds == 300.0
    assert settings.cors_origins == ()
    assert settings.max_body_bytes == 1024 * 1024


def test_values_are_parsed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql+asyncpg://u@db/lianbao")
    monkeypatch.setenv("LIANBAO_PORT", "9001")
    monkeypatch.setenv("LIANBAO_TICK_INTERVAL", "0")
    monkeypatch.setenv("LIANBAO_LOG_LEVEL", "warning")
    monkeypatch.setenv("LIANBAO_INTROSPECTION", "off")
    monkeypatch.setenv("LIANBAO_MAX_PAGE_SIZE", "50")
    monkeypatch.setenv("LIANBAO_CORS_ORIGINS", "https://a.example, http://localhost:5173")
    monkeypatch.setenv("LIANBAO_SIGNING_KEYS_DIR", "")  # empty means unset
    settings = Settings.from_env()
    assert settings.database_url == "postgresql+asyncpg://u@db/lianbao"
    assert settings.port == 9001
    assert settings.tick_interval_seconds == 0.0
    assert settings.log_level == "WARNING"
    assert settings.introspection is False
    assert settings.graphiql is True
    assert settings.max_page_size == 50
    assert settings.cors_origins == ("https://a.example", "http://localhost:5173")
    assert settings.signing_keys_dir is None


@pytest.mark.parametrize("value", ["prod", "Production ", "staging", "dev"])
def test_unknown_environment_name_stops(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("LIANBAO_ENV", value)
    with pytest.raises(SettingsError) as caught:
        Settings.from_env()
    message = str(caught.value)
    assert "LIANBAO_ENV" in message
    assert repr(value) in message


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("LIANBAO_PORT", "80a"),
        ("LIANBAO_PORT", "70000"),
        ("LIANBAO_TICK_INTERVAL", "5 minutes"),
        ("LIANBAO_TICK_INTERVAL", "-1"),
        ("LIANBAO_MAX_QUERY_DEPTH", "twelve"),
        ("LIANBAO_MAX_BODY_BYTES", "1MB"),
        ("LIANBAO_GRAPHIQL", "maybe"),
        ("LIANBAO_LOG_LEVEL", "LOUD"),
        ("LIANBAO_CORS_ORIGINS", "https://a.example/app"),
    ],
)
def test_malformed_value_stops(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingsError) as caught:
        Settings.from_env()
    assert variable in str(caught.value)


def test_unknown_variable_stops_with_a_suggestion(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LIANBAO_GRAPHIQ", "false")
    monkeypatch.setenv("LIANBAO_PORT", "oops")
    with pytest.raises(SettingsError) as caught:
        Settings.from_env()
    message = str(caught.value)
    assert "LIANBAO_GRAPHIQ: not a Lianbao setting (did you mean LIANBAO_GRAPHIQL?)" in message
    # Every problem is reported at once, not the first only.
    assert "LIANBAO_PORT" in message


def test_production_is_closed_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LIANBAO_JWT_SECRET")
    monkeypatch.setenv("LIANBAO_ENV", "production")
    monkeypatch.setenv("LIANBAO_JWT_PUBLIC_KEY_FILE", "/etc/lianbao/idp.pem")
    settings = Settings.from_env()
    assert settings.is_production
    assert settings.graphiql is False and settings.introspection is False
    assert settings.jwt_secret is None  # no development secret is generated
    monkeypatch.setenv("LIANBAO_GRAPHIQL", "true")
    assert Settings.from_env().graphiql is True


def test_constructor_is_hermetic_and_validated(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LIANBAO_ENV", "production")
    monkeypatch.setenv("DATABASE_URL", "postgresql+asyncpg://u@db/other")
    settings = Settings(jwt_secret="s", tick_interval_seconds=0)
    assert settings.environment == "development"
    assert settings.database_url.startswith("sqlite")
    assert settings.tick_interval_seconds == 0
    assert Settings(environment="production").graphiql is False
    with pytest.raises(ValueError, match="environment"):
        Settings(environment="prod")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="no_such_setting"):
        Settings(no_such_setting=1)  # type: ignore[call-arg]


def _readme_configuration_variables() -> set[str]:
    text = README.read_text(encoding="utf-8")
    section = text.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| `")]
    names: set[str] = set()
    for row in rows:
        first_cell = row.split("|")[1]
        names.update(re.findall(r"`([A-Z0-9_]+)`", first_cell))
    return names


def test_every_setting_is_documented_in_the_readme() -> None:
    documented = _readme_configuration_variables()
    variables = set(Settings.env_names().values())
    missing = sorted(variables - documented)
    assert not missing, f"add these to README.md's Configuration table: {missing}"
    stale = sorted(documented - variables)
    assert not stale, f"README.md documents variables that are not settings: {stale}"
