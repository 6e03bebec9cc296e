"""Settings for the rest of a transaction (``set_config(name, value, true)``), PostgreSQL
only: a flag the database's triggers read (``current_setting(name, true)``), which is how a
set-based job tells a trigger that it does the trigger's work itself (the comparisons' own
writes, an import's statistics marks); and the planner's mode for a read whose filters are
skewed (``plan_each_run``). SQLite's triggers read no settings and it keeps no plans."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession


async def _set_local(session: AsyncSession, name: str, value: str) -> None:
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(text("SELECT set_config(:name, :value, true)"),
                              {"name": name, "value": value})


async def set_flag(session: AsyncSession, name: str, on: bool) -> None:
    """Set ``name`` on or off until the transaction ends (a savepoint rolled back undoes
    it)."""
    await _set_local(session, name, "on" if on else "off")


async def plan_each_run(session: AsyncSession) -> None:
    """Until the transaction ends, plan each prepared statement for its values.

    asyncpg prepares every statement, and after five runs PostgreSQL may keep one generic
    plan that no longer sees the values (models/inline.py). For a ledger filtered by a
    status that is 1 % of the children (``enrolment.status = $1``), the generic plan takes
    it for any status and walks the province: the province's first page of dropouts went
    from 16 ms to 120 ms from its sixth run (docs/ledgers.md). A plan per run costs about a
    millisecond of planning; the round trip that sets it, a tenth of one."""
    await _set_local(session, "plan_cache_mode", "force_custom_plan")
