"""A flag for the rest of the writing transaction that the database's triggers read
(``current_setting(name, true)``): how a set-based job tells a trigger that it does the
trigger's work itself (the comparisons' own writes, an import's statistics marks).
PostgreSQL only: SQLite's triggers read no settings."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession


async def set_flag(session: AsyncSession, name: str, on: bool) -> None:
    """Set ``name`` on or off until the transaction ends (a savepoint rolled back undoes
    it)."""
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(text("SELECT set_config(:flag, :value, true)"),
                              {"flag": name, "value": "on" if on else "off"})
