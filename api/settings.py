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
    # Query cost limit (schema/limits.py): an upper bound on the field values a response holds.
    max_query_cost: int = 5_000
    # Most ids one nodes(ids:) call may ask for.
    max_node_ids: int = 100
    # What an unpaged list (a case's tasks, its timeline) counts as in the cost.
    cost_list_size: int = 10
    tick_interval_seconds: float = 300.0
    # A TrueType font to embed in documents' PDFs; None references STSong-Light (workflow/pdf.py).
    pdf_font: str | None = None
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def is_production(self) -> bool:
        return self.environment == "production"

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
            max_query_depth=int(os.environ.get("LIANBAO_MAX_QUERY_DEPTH", "12")),
            max_aliases=int(os.environ.get("LIANBAO_MAX_ALIASES", "30")),
            max_tokens=int(os.environ.get("LIANBAO_MAX_TOKENS", "2000")),
            max_page_size=int(os.environ.get("LIANBAO_MAX_PAGE_SIZE", "100")),
            max_query_cost=int(os.environ.get("LIANBAO_MAX_QUERY_COST", "5000")),
            max_node_ids=int(os.environ.get("LIANBAO_MAX_NODE_IDS", "100")),
            cost_list_size=int(os.environ.get("LIANBAO_COST_LIST_SIZE", "10")),
        )
