"""Marking children dirty for the statistics from a set-based writer, once, instead of by the
row triggers of every table it writes (docs/statistics.md, "How the figures are kept").

The triggers of migration 0022 mark each child a statement touches in ``child``,
``enrolment`` and ``register_event``: right for a request that changes one child, but an
import of 2,000,000 new children wrote the same 2,000,000 marks three times (one upsert of
the whole transition table per statement: 1.0–1.6 s per 200,000 rows each). A writer that
sets ``lianbao.stat_dirty_by_writer`` (transaction-local) takes the insert triggers' part
over and marks its children itself with :func:`mark`; the update and delete triggers still
mark. PostgreSQL only: SQLite's row triggers go on marking (a county's file, not a
province's), and a mark more is harmless (``n`` counts touches).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import literal, select
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncSession

from models.stats import StatDirty
from workflow.infra.transaction_flag import set_flag

FLAG = "lianbao.stat_dirty_by_writer"


def _postgresql(session: AsyncSession) -> bool:
    return session.get_bind().dialect.name == "postgresql"


async def by_writer(session: AsyncSession, on: bool) -> None:
    """Take the insert triggers' marking over (``on``) or give it back, in this transaction
    (a savepoint rolled back gives it back too)."""
    await set_flag(session, FLAG, on)


async def mark(session: AsyncSession, children: Any, *, distinct: bool = True) -> None:
    """Mark the children ``children`` (a select of ids) dirty: what the insert triggers
    would have. Only where the writer took their part over. Each id once (an upsert may
    not touch a row twice: two rows of a file can be one child); ``distinct=False`` where
    the ids are distinct already (new children's, drawn one a row: the DISTINCT was a sort
    of 2,000,000 ids)."""
    if not _postgresql(session):
        return
    rows = select(children.subquery().c[0], literal(1))
    if distinct:
        rows = rows.distinct()
    stmt = postgresql.insert(StatDirty).from_select(["child_id", "n"], rows)
    await session.execute(stmt.on_conflict_do_update(
        index_elements=["child_id"], set_={"n": StatDirty.n + 1}))
