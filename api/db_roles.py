"""The PostgreSQL role the server runs as: owns nothing, cannot rewrite history.

Two roles, kept apart:

- the **owner** (``MIGRATION_DATABASE_URL``) owns the schema: ``lianbao migrate`` and
  ``lianbao create-app-role`` connect as it. Owners may ALTER, DROP, TRUNCATE and disable
  triggers on their tables, so the server must not be it.
- the **app role** (``LIANBAO_APP_ROLE``, the user in ``DATABASE_URL``) gets exactly what
  serving needs: SELECT/INSERT/UPDATE/DELETE on the working tables, only SELECT and INSERT on
  the audit trail (``audit_event``) and the access log (``sensitive_access``), SELECT on
  ``alembic_version`` (the server checks it is at head), USAGE on the sequences. Not owning
  the tables it cannot ALTER, DROP or ``DISABLE TRIGGER``; without TRUNCATE privilege it
  cannot empty them; it is not a superuser, so ``session_replication_role`` (which skips
  triggers) is out of its reach too.

The grants are re-applied by ``lianbao migrate`` when ``LIANBAO_APP_ROLE`` is set, because
``GRANT ... ON ALL TABLES`` covers only tables that exist: a migration adding a table would
otherwise leave the server without access to it.
"""

from __future__ import annotations

import re

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

# Append-only for the server: who did what, and who saw which sensitive field.
APPEND_ONLY_TABLES = ("audit_event", "sensitive_access")
READ_ONLY_TABLES = ("alembic_version",)
_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def check_role_name(role: str) -> str:
    """Role names are interpolated into DDL (GRANT takes no parameters): allow plain
    lower-case identifiers only, so nothing needs quoting and nothing can be injected."""
    if not _NAME.match(role):
        raise ValueError(f"not a plain role name: {role!r} (use [a-z_][a-z0-9_]*)")
    return role


def grant_statements(role: str) -> list[str]:
    """The app role's privileges, from scratch each time (idempotent)."""
    r = check_role_name(role)
    append_only = ", ".join(APPEND_ONLY_TABLES)
    read_only = ", ".join(READ_ONLY_TABLES)
    return [
        f"REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {r}",
        f"REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM {r}",
        # Before PostgreSQL 15 every role may create tables in ``public`` and would then own
        # them; the schema belongs to the owner alone.
        "REVOKE CREATE ON SCHEMA public FROM PUBLIC",
        f"GRANT USAGE ON SCHEMA public TO {r}",
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {r}",
        f"REVOKE INSERT, UPDATE, DELETE ON {read_only} FROM {r}",
        f"REVOKE UPDATE, DELETE ON {append_only} FROM {r}",
        f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {r}",
    ]


async def role_exists(conn: AsyncConnection, role: str) -> bool:
    found = (
        await conn.execute(text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": role})
    ).scalar_one_or_none()
    return found is not None


async def grant_app_role(conn: AsyncConnection, role: str) -> bool:
    """Apply the app role's privileges on the current database (run as the owner).
    False, doing nothing, when the role does not exist yet."""
    if not await role_exists(conn, check_role_name(role)):
        return False
    for statement in grant_statements(role):
        await conn.execute(text(statement))
    return True


async def create_app_role(conn: AsyncConnection, role: str, password: str | None = None) -> bool:
    """Create the login role if it is missing (never a superuser, never an owner of
    anything), set its password when given, and grant it. True if the role was created."""
    r = check_role_name(role)
    exists = await role_exists(conn, r)
    if not exists:
        await conn.execute(text(
            f"CREATE ROLE {r} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION "
            "NOBYPASSRLS"
        ))
    if password is not None:
        # ALTER ROLE takes no bind parameters: let the server quote the literal.
        statement = (
            await conn.execute(text("SELECT format('ALTER ROLE %I PASSWORD %L', :r, :p)"),
                               {"r": r, "p": password})
        ).scalar_one()
        await conn.execute(text(statement))
    await grant_app_role(conn, r)
    return not exists


async def privilege_problem(conn: AsyncConnection) -> str | None:
    """Why the current connection's role should not serve, or None: a superuser, or the
    owner of the audit trail, could empty or rewrite it."""
    row = (
        await conn.execute(text(
            "SELECT r.rolsuper, pg_get_userbyid(c.relowner) = current_user "
            "FROM pg_roles r, pg_class c "
            "WHERE r.rolname = current_user AND c.oid = 'audit_event'::regclass"
        ))
    ).one_or_none()
    if row is None:
        return None
    superuser, owner = row
    if superuser:
        return "the server connects as a superuser"
    if owner:
        return "the server connects as the owner of the tables"
    return None
