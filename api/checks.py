"""``lianbao check-config``: what the server would run with, and what is unsafe about it.

Settings validation (api/settings.py) refuses values that cannot work; this refuses values
that work but must not go to production: a shared HS256 secret, the IDE or introspection open,
any origin allowed, SQLite, a superuser database role, key files that are not there, /metrics
open to the world. Each problem is one line saying what to change; the command exits 1 when
there is any, so a deployment pipeline can run it before rolling workers.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import make_url

from api.settings import Settings
from workflow.infra import pdf

SECRET_FIELDS = {"jwt_secret", "metrics_token"}
URL_FIELDS = {"database_url", "migration_database_url", "listen_database_url"}
MIN_SECRET_LENGTH = 32
OPEN_NETWORKS = {"0.0.0.0/0", "::/0"}


def effective(settings: Settings) -> dict[str, str]:
    """Every setting by its environment variable, with secrets and passwords hidden."""
    names = Settings.env_names()
    shown: dict[str, str] = {}
    for field, variable in names.items():
        value: Any = getattr(settings, field)
        if value is None:
            text = "(unset)"
        elif field in SECRET_FIELDS:
            text = "(set, hidden)"
        elif field in URL_FIELDS:
            text = make_url(str(value)).render_as_string(hide_password=True)
        elif isinstance(value, tuple):
            text = ",".join(value) or "(none)"
        else:
            text = str(value)
        shown[variable] = text
    return shown


def problems(settings: Settings) -> list[str]:
    """What is unsafe for production in these settings (empty in development: only the
    key files are checked there, since a missing file fails the server at start anyway)."""
    found: list[str] = []
    for variable, path in (
        ("LIANBAO_JWT_PUBLIC_KEY_FILE", settings.jwt_public_key_file),
        ("LIANBAO_JWT_JWKS_FILE", settings.jwt_jwks_file),
    ):
        if path and not Path(path).is_file():
            found.append(f"{variable}: {path} does not exist or is not a file")
    found += document_problems(settings)
    if settings.jwt_secret and len(settings.jwt_secret) < MIN_SECRET_LENGTH:
        found.append(f"LIANBAO_JWT_SECRET: shorter than {MIN_SECRET_LENGTH} characters")
    if settings.metrics_token and len(settings.metrics_token) < MIN_SECRET_LENGTH:
        found.append(f"LIANBAO_METRICS_TOKEN: shorter than {MIN_SECRET_LENGTH} characters")
    if not settings.is_production:
        return found
    if settings.jwt_secret:
        found.append("LIANBAO_JWT_SECRET: HS256 shared secrets are refused in production; "
                     "unset it and use LIANBAO_JWT_JWKS_URL (or a public key / JWKS file)")
    if not (settings.jwt_jwks_url or settings.jwt_jwks_file or settings.jwt_public_key_file):
        found.append("no token verification key: set LIANBAO_JWT_JWKS_URL")
    if settings.jwt_jwks_url and not settings.jwt_jwks_url.startswith("https://"):
        found.append("LIANBAO_JWT_JWKS_URL: fetch the identity provider's keys over https")
    if settings.graphiql:
        found.append("LIANBAO_GRAPHIQL: the IDE is on in production; unset it")
    if settings.introspection:
        found.append("LIANBAO_INTROSPECTION: introspection is on in production; unset it")
    if "*" in settings.cors_origins:
        found.append("LIANBAO_CORS_ORIGINS: '*' lets any web page call the API with a "
                     "user's token; list the front-end's origins")
    if settings.is_sqlite:
        found.append("DATABASE_URL: SQLite is for development; use PostgreSQL")
    if settings.metrics_enabled and not settings.metrics_token and (
        OPEN_NETWORKS & set(settings.metrics_allow)
    ):
        found.append("LIANBAO_METRICS_ALLOW: /metrics is open to every address; "
                     "narrow it or set LIANBAO_METRICS_TOKEN")
    if settings.rate_limit_user_per_minute == 0 and settings.rate_limit_address_per_minute == 0:
        found.append("LIANBAO_RATE_LIMIT_*: every rate limit is off")
    if not settings.is_sqlite and not settings.app_role:
        found.append("LIANBAO_APP_ROLE: unset; run the server as the app role, not the "
                     "schema owner (lianbao create-app-role)")
    return found


def font_problems(settings: Settings) -> list[str]:
    """A font that cannot set Chinese (the PDF would show empty boxes): start-up refuses it
    in production (``api/documents.configure_documents``)."""
    font = pdf.problem(settings.pdf_font_dir, settings.pdf_font_family)
    return [f"LIANBAO_PDF_FONT_DIR / LIANBAO_PDF_FONT_FAMILY: {font}"] if font else []


def document_problems(settings: Settings) -> list[str]:
    """What stops documents from being issued as they must be: the font (checked
    everywhere), and in production agencies' signing keys (without them issuing is refused,
    ``SIGNING_KEY_MISSING``) and a public https address for the QR code."""
    found = font_problems(settings)
    if not settings.is_production:
        return found
    keys = settings.signing_keys_dir
    if not keys or not Path(keys).is_dir():
        found.append("LIANBAO_SIGNING_KEYS_DIR: set it to the folder of agencies' signing "
                     "keys (docs/documents.md, Signatures); development keys are not for use")
    if not settings.public_url.startswith("https://"):
        found.append("LIANBAO_PUBLIC_URL: documents' QR codes must point at the public "
                     "https address of /verify")
    return found


async def database_problems(settings: Settings) -> list[str]:
    """What the database connection itself says: unreachable, or a role that could rewrite
    the audit trail (superuser, owner of the tables)."""
    if settings.is_sqlite:
        return []
    from api import db_roles
    from models.session import create_engine

    engine = create_engine(settings.database_url, pool=False)
    try:
        async with engine.connect() as conn:
            unsafe = await db_roles.privilege_problem(conn)
    except Exception as exc:
        return [f"DATABASE_URL: cannot connect ({type(exc).__name__}: {exc})"]
    finally:
        await engine.dispose()
    return [f"DATABASE_URL: {unsafe}"] if unsafe else []
