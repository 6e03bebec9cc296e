"""Settings read once from the environment.

Everything that differs between a developer's laptop and a county's server is here, so that
the rest of the code never reads ``os.environ`` itself and tests can build a ``Settings`` by hand.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
VAR_DIR = PROJECT_ROOT / "var"
DEFAULT_SQLITE_URL = f"sqlite+aiosqlite:///{VAR_DIR / 'lianbao.db'}"


def _flag(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    return raw.strip().lower() in {"1", "true", "yes", "on"}


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


@dataclass(frozen=True)
class Settings:
    """Runtime configuration.

    ``environment`` is ``development`` or ``production``. Production refuses the HS256 shared
    secret and the GraphiQL IDE unless explicitly configured, because a county server must only
    trust tokens from its identity provider.
    """

    database_url: str = DEFAULT_SQLITE_URL
    environment: str = "development"
    jwt_secret: str | None = None
    jwt_public_key_file: str | None = None
    jwt_jwks_file: str | None = None
    jwt_issuer: str = "lianbao-dev"
    jwt_audience: str = "lianbao"
    graphiql: bool = True
    introspection: bool = True
    host: str = "127.0.0.1"
    port: int = 8000
    log_level: str = "INFO"
    max_query_depth: int = 12
    max_aliases: int = 30
    max_tokens: int = 2000
    max_page_size: int = 100
    tick_interval_seconds: float = 300.0
    # A TrueType font to embed in documents' PDFs; None references STSong-Light (workflow/pdf.py).
    pdf_font: str | None = None
    # How often each process re-reads the policy version as a safety net behind NOTIFY.
    policy_poll_seconds: float = 2.0
    # PostgreSQL timeouts, set on every server connection (models/session.py): a request
    # waiting on a row lock, a runaway statement or a transaction left open fails fast with a
    # retryable code instead of holding a pooled connection; 0 turns one off.
    db_lock_timeout_ms: int = 3000
    db_statement_timeout_ms: int = 15000
    db_idle_in_transaction_timeout_ms: int = 30000
    # How long a request waits for a pooled connection before DATABASE_UNAVAILABLE.
    db_pool_timeout_seconds: float = 5.0
    # The owner (DDL) connection for ``lianbao migrate`` / ``create-app-role``; None: DATABASE_URL.
    migration_database_url: str | None = None
    # The login role the server runs as on PostgreSQL: owns nothing, may not alter the audit
    # trail (``lianbao create-app-role``; ``lianbao migrate`` re-grants it after upgrading).
    app_role: str | None = None
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def is_production(self) -> bool:
        return self.environment == "production"

    @property
    def migration_url(self) -> str:
        """Where ``lianbao migrate`` connects: the schema owner, not the server's role."""
        return self.migration_database_url or self.database_url

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @classmethod
    def from_env(cls) -> Settings:
        environment = os.environ.get("LIANBAO_ENV", "development")
        production = environment == "production"
        public_key = os.environ.get("LIANBAO_JWT_PUBLIC_KEY_FILE") or None
        jwks = os.environ.get("LIANBAO_JWT_JWKS_FILE") or None
        secret = os.environ.get("LIANBAO_JWT_SECRET") or None
        if secret is None and not production and public_key is None and jwks is None:
            secret = _dev_secret()
        return cls(
            database_url=os.environ.get("DATABASE_URL") or DEFAULT_SQLITE_URL,
            environment=environment,
            jwt_secret=secret,
            jwt_public_key_file=public_key,
            jwt_jwks_file=jwks,
            jwt_issuer=os.environ.get("LIANBAO_JWT_ISSUER", "lianbao-dev"),
            jwt_audience=os.environ.get("LIANBAO_JWT_AUDIENCE", "lianbao"),
            graphiql=_flag("LIANBAO_GRAPHIQL", not production),
            introspection=_flag("LIANBAO_INTROSPECTION", not production),
            host=os.environ.get("LIANBAO_HOST", "127.0.0.1"),
            port=int(os.environ.get("LIANBAO_PORT", "8000")),
            log_level=os.environ.get("LIANBAO_LOG_LEVEL", "INFO"),
            tick_interval_seconds=float(os.environ.get("LIANBAO_TICK_INTERVAL", "300")),
            pdf_font=os.environ.get("LIANBAO_PDF_FONT") or None,
            policy_poll_seconds=float(os.environ.get("LIANBAO_POLICY_POLL_SECONDS", "2")),
            db_lock_timeout_ms=int(os.environ.get("LIANBAO_DB_LOCK_TIMEOUT_MS", "3000")),
            db_statement_timeout_ms=int(os.environ.get("LIANBAO_DB_STATEMENT_TIMEOUT_MS", "15000")),
            db_idle_in_transaction_timeout_ms=int(
                os.environ.get("LIANBAO_DB_IDLE_IN_TRANSACTION_TIMEOUT_MS", "30000")
            ),
            db_pool_timeout_seconds=float(os.environ.get("LIANBAO_DB_POOL_TIMEOUT", "5")),
            migration_database_url=os.environ.get("MIGRATION_DATABASE_URL") or None,
            app_role=os.environ.get("LIANBAO_APP_ROLE") or None,
        )
