"""Settings read once from the environment.

Everything that differs between a developer's laptop and a county's server is here, so that
the rest of the code never reads ``os.environ`` itself and tests can build a ``Settings`` by hand.

The settings are a closed, validated set (pydantic-settings): ``LIANBAO_ENV=prod``, a port of
``80a`` or an unknown ``LIANBAO_*`` variable stops the process with a message naming the
variable, because a typo that silently falls back to a development default (an HS256 secret,
GraphiQL, introspection) is how a county server ends up open.

Adding a setting: one annotated field with a default below. Its variable is ``LIANBAO_`` plus
the field name in capitals (``request_timeout: float = 30.0`` is ``LIANBAO_REQUEST_TIMEOUT``)
unless the field names another with ``validation_alias``; pydantic parses and checks the value.
Document it in README.md's Configuration table (``tests/test_settings.py`` fails otherwise).
"""

from __future__ import annotations

import difflib
import ipaddress
import os
import re
import secrets
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

PROJECT_ROOT = Path(__file__).resolve().parent.parent
VAR_DIR = PROJECT_ROOT / "var"
DEFAULT_SQLITE_URL = f"sqlite+aiosqlite:///{VAR_DIR / 'lianbao.db'}"
ENV_PREFIX = "LIANBAO_"

Environment = Literal["development", "production"]
LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]


class SettingsError(ValueError):
    """The environment does not describe a valid configuration; the message says what to fix."""


def dev_signing_dir() -> Path:
    """Where development signing keys are generated (git-ignored, like the JWT secret)."""
    return VAR_DIR / "dev-signing"


def _dev_secret() -> str:
    """A per-checkout development signing secret, created on first use.

    Kept in ``var/`` (git-ignored) so that ``lianbao token`` and ``lianbao serve`` agree
    without anyone having to invent a secret, and no secret is ever committed.
    """
    path = VAR_DIR / "dev-jwt-secret"
    if not path.exists():
        VAR_DIR.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path.read_text().strip()


class Settings(BaseSettings):
    """Runtime configuration.

    ``environment`` is ``development`` or ``production``. Production refuses the HS256 shared
    secret and, unless explicitly turned on, the GraphiQL IDE and introspection, because a
    county server must only trust tokens from its identity provider.

    ``Settings(...)`` takes exactly the keyword arguments given (the environment is not read, so
    tests are hermetic); ``Settings.from_env()`` reads the environment.
    """

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        case_sensitive=False,
        env_ignore_empty=True,  # VAR= means "not set", as it always has
        extra="forbid",
        frozen=True,
        validate_by_name=True,
        validate_by_alias=True,
    )

    database_url: str = Field(
        default=DEFAULT_SQLITE_URL, validation_alias="DATABASE_URL", min_length=1
    )
    environment: Environment = Field(default="development", validation_alias="LIANBAO_ENV")
    jwt_secret: str | None = None
    jwt_public_key_file: str | None = None
    jwt_jwks_file: str | None = None
    jwt_issuer: str = "lianbao-dev"
    jwt_audience: str = "lianbao"
    # Both default to "not production" (the validator below), so production is closed by default.
    graphiql: bool = True
    introspection: bool = True
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    log_level: LogLevel = "INFO"
    max_query_depth: int = Field(default=12, ge=1)
    max_aliases: int = Field(default=30, ge=0)
    max_tokens: int = Field(default=2000, ge=1)
    max_page_size: int = Field(default=100, ge=1)
    # Query cost limit (schema/limits.py): an upper bound on the field values a response holds.
    max_query_cost: int = Field(default=5_000, ge=1)
    # Most ids one nodes(ids:) call may ask for.
    max_node_ids: int = Field(default=100, ge=1)
    # What an unpaged list (a case's tasks, its timeline) counts as in the cost.
    cost_list_size: int = Field(default=10, ge=1)
    # 0 turns the in-server deadline engine off (then run `lianbao tick` from cron).
    tick_interval_seconds: float = Field(
        default=300.0, ge=0, validation_alias="LIANBAO_TICK_INTERVAL"
    )
    # The folder and family documents are set in (workflow/infra/pdf.py); only that folder's
    # fonts are used. Debian's fonts-noto-cjk by default; production refuses to start without
    # a usable one (api/checks.py).
    pdf_font_dir: str = "/usr/share/fonts/opentype/noto"
    pdf_font_family: str = "Noto Serif CJK SC"
    # Agencies' signing keys (workflow/infra/signing.py); None: var/dev-signing, generated on
    # first use in development, refused in production.
    signing_keys_dir: str | None = None
    # The public address printed under each document's QR code: {public_url}/verify?code=…
    public_url: str = "http://127.0.0.1:8000"
    # Requests per minute per client address on the public /verify page (0: off).
    verify_rate_limit_per_minute: int = Field(default=20, ge=0)
    # How often each process re-reads the policy version as a safety net behind NOTIFY.
    policy_poll_seconds: float = Field(default=2.0, gt=0)
    # How long a token's principal is reused without reading the user and grants again
    # (api/auth.PrincipalCache); rule, grant and user changes end it at once; 0: read always.
    principal_cache_seconds: float = Field(default=60.0, ge=0)
    # PostgreSQL timeouts, set on every server connection (models/session.py): a request
    # waiting on a row lock, a runaway statement or a transaction left open fails fast with a
    # retryable code instead of holding a pooled connection; 0 turns one off.
    db_lock_timeout_ms: int = Field(default=3000, ge=0)
    db_statement_timeout_ms: int = Field(default=15000, ge=0)
    db_idle_in_transaction_timeout_ms: int = Field(default=30000, ge=0)
    # How long a request waits for a pooled connection before DATABASE_UNAVAILABLE.
    db_pool_timeout_seconds: float = Field(
        default=5.0, gt=0, validation_alias="LIANBAO_DB_POOL_TIMEOUT"
    )
    # The owner (DDL) connection for ``lianbao migrate`` / ``create-app-role``; None: DATABASE_URL.
    migration_database_url: str | None = Field(
        default=None, validation_alias="MIGRATION_DATABASE_URL"
    )
    # The login role the server runs as on PostgreSQL: owns nothing, may not alter the audit
    # trail (``lianbao create-app-role``; ``lianbao migrate`` re-grants it after upgrading).
    app_role: str | None = None
    # Database connection pool (models/session.py): None keeps the backend's default size
    # (SQLite 5 + 10 overflow, PostgreSQL 10 + 10).
    db_pool_size: int | None = Field(default=None, ge=1)
    db_max_overflow: int | None = Field(default=None, ge=0)
    # GraphQL over WebSocket (api/sockets.py): sockets one user may hold open in one server
    # process (more are closed with 4429), operations in flight on one socket (more are
    # refused with TOO_MANY_SUBSCRIPTIONS), and how often an open socket re-checks that its
    # user is still active and what they may do (and it is closed with 4403 when not).
    ws_max_sockets_per_user: int = Field(default=8, ge=1)
    ws_max_subscriptions_per_socket: int = Field(default=10, ge=1)
    ws_recheck_seconds: float = Field(default=60.0, gt=0)
    # Browser origins allowed to call the API (CORS), comma-separated; none by default.
    cors_origins: Annotated[tuple[str, ...], NoDecode] = ()
    # The largest request body accepted, on every route (api/limits.py answers 413 above it).
    max_body_bytes: int = Field(default=1024 * 1024, ge=1)
    # The largest list file ``POST /imports`` accepts (that route's body limit instead).
    max_import_bytes: int = Field(default=256 * 1024 * 1024, ge=1)
    # /metrics (api/metrics.py): served only to these addresses or networks (comma-separated)
    # or to a scraper sending ``Authorization: Bearer <metrics_token>``; off when disabled.
    metrics_enabled: bool = True
    metrics_allow: Annotated[tuple[str, ...], NoDecode] = ("127.0.0.1/32", "::1/128")
    metrics_token: str | None = None
    # How long the per-agency task counts (one grouped query) are reused between scrapes.
    metrics_cache_seconds: float = Field(default=5.0, ge=0)
    # Rate limits per server process (api/ratelimit.py) on /graphql and /documents/…: requests
    # per minute per authenticated user and per client address, with bursts up to
    # rate_limit_burst; 0 turns one off.
    rate_limit_user_per_minute: int = Field(default=600, ge=0)
    rate_limit_address_per_minute: int = Field(default=1200, ge=0)
    rate_limit_burst: int = Field(default=60, ge=1)
    # OpenTelemetry (api/tracing.py): spans are exported over OTLP/HTTP to this URL (e.g.
    # http://collector:4318/v1/traces); unset, tracing is off and costs nothing.
    tracing_endpoint: str | None = None
    tracing_service_name: str = "lianbao"
    # JWKS from the identity provider's URL (PyJWT's PyJWKClient, cached; a token with an
    # unknown ``kid`` refetches, so rotated keys are picked up), and the clock skew allowed
    # on ``exp``/``nbf``/``iat``.
    jwt_jwks_url: str | None = None
    jwt_jwks_cache_seconds: int = Field(default=300, ge=1)
    # At most one refetch per this many seconds for unknown ``kid``s, so tokens with made-up
    # key ids cannot make every request call the identity provider.
    jwt_jwks_cooldown_seconds: float = Field(default=30.0, ge=0)
    jwt_leeway_seconds: int = Field(default=30, ge=0)
    # A direct (not pgbouncer transaction-pooled) URL for the LISTEN connection; None: the
    # server's DATABASE_URL. LISTEN needs a session of its own, which transaction pooling
    # does not give (docs/deploy.md).
    listen_database_url: str | None = Field(default=None, validation_alias="LISTEN_DATABASE_URL")
    # The language of messages and enum labels when a request's Accept-Language names neither
    # Chinese nor English (schema/languages.py); None: Chinese in production, English otherwise.
    language: Literal["zh-CN", "en"] | None = None

    @model_validator(mode="before")
    @classmethod
    def _closed_by_default_in_production(cls, data: Any) -> Any:
        """GraphiQL and introspection follow the environment unless set explicitly."""
        if not isinstance(data, dict):
            return data
        env = data.get("environment", data.get("LIANBAO_ENV", "development"))
        for name in ("graphiql", "introspection"):
            if name not in data and name.upper() not in data:
                data = {**data, name: env != "production"}
        return data

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper_level(cls, value: Any) -> Any:
        return value.upper() if isinstance(value, str) else value

    @field_validator("cors_origins", "metrics_allow", mode="before")
    @classmethod
    def _split_origins(cls, value: Any) -> Any:
        if isinstance(value, str):
            return tuple(o.strip() for o in value.split(",") if o.strip())
        return value

    @field_validator("cors_origins")
    @classmethod
    def _origins_are_origins(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        # An origin is scheme://host[:port]; a path or a trailing slash never matches a browser's
        # Origin header, so it would silently allow nothing.
        for origin in value:
            if origin != "*" and not re.fullmatch(r"https?://[^/\s]+", origin):
                raise ValueError(f"{origin!r} is not an origin like https://host[:port]")
        return value

    @field_validator("metrics_allow")
    @classmethod
    def _networks(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for network in value:
            try:
                ipaddress.ip_network(network, strict=False)
            except ValueError as exc:
                raise ValueError(f"{network!r} is not an address or network") from exc
        return value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # The constructor is hermetic; _FromEnvironment adds the environment.
        return (init_settings,)

    @property
    def is_production(self) -> bool:
        return self.environment == "production"

    @property
    def default_language(self) -> Literal["zh-CN", "en"]:
        """What a request that asks for no language we speak gets: the county's offices read
        Chinese; developers and the test suite read the English the code is written in."""
        if self.language is not None:
            return self.language
        return "zh-CN" if self.is_production else "en"

    @property
    def migration_url(self) -> str:
        """Where ``lianbao migrate`` connects: the schema owner, not the server's role."""
        return self.migration_database_url or self.database_url

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @classmethod
    def env_names(cls) -> dict[str, str]:
        """Field name → the environment variable that sets it."""
        names: dict[str, str] = {}
        for name, info in cls.model_fields.items():
            alias = info.validation_alias
            names[name] = alias if isinstance(alias, str) else f"{ENV_PREFIX}{name.upper()}"
        return names

    @classmethod
    def from_env(cls) -> Settings:
        """The settings of this process; raises ``SettingsError`` naming every bad variable."""
        env = os.environ
        known = set(cls.env_names().values())
        unknown = sorted(
            k for k in env if k.upper().startswith(ENV_PREFIX) and k.upper() not in known
        )
        problems = [f"{k}: not a Lianbao setting{_suggest(k, known)}" for k in unknown]
        loaded: Settings | None = None
        try:
            loaded = _FromEnvironment()
        except ValidationError as exc:
            problems.extend(_describe(exc))
        if problems or loaded is None:
            raise SettingsError(
                "invalid configuration:\n" + "\n".join(f"  {p}" for p in problems)
            )
        settings = Settings.model_validate(loaded.model_dump())
        if (
            settings.jwt_secret is None
            and not settings.is_production
            and settings.jwt_public_key_file is None
            and settings.jwt_jwks_file is None
            and settings.jwt_jwks_url is None
        ):
            settings = settings.model_copy(update={"jwt_secret": _dev_secret()})
        return settings


class _FromEnvironment(Settings):
    """``Settings`` read from the process environment (only ``from_env`` builds it)."""

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings)


def _suggest(name: str, known: set[str]) -> str:
    close = difflib.get_close_matches(name.upper(), sorted(known), n=1, cutoff=0.6)
    return f" (did you mean {close[0]}?)" if close else " (see README.md, Configuration)"


def _describe(exc: ValidationError) -> list[str]:
    """One line per bad value, named by its environment variable rather than the field."""
    by_alias = {v: v for v in Settings.env_names().values()}
    by_field = Settings.env_names()
    lines = []
    for error in exc.errors():
        loc = str(error["loc"][0]) if error["loc"] else ""
        variable = by_alias.get(loc.upper()) or by_field.get(loc, loc)
        value = error.get("input")
        shown = f" (got {value!r})" if isinstance(value, str | int | float) else ""
        lines.append(f"{variable}: {error['msg']}{shown}")
    return lines
