"""Whether a district's inputs changed since its last run (PostgreSQL), so that a rerun with
nothing changed is one query instead of the comparisons.

Every table the comparisons read has a statement trigger (migration 0023) that logs the
writing transaction's id in ``crosscheck_input_change`` (one row per transaction). A run
stores the snapshot it read its inputs from (``txid_current_snapshot()``) with the rules'
hash in ``crosscheck_run.input_stamp``. A later run of the district, with the same rules and
as-of date, is unchanged when no logged transaction is invisible in that snapshot: every
write committed since was none of the comparisons' inputs. Writes in progress when the stamp
was taken are invisible in it, so they count as changes once they commit (a rerun then
recomputes: conservative, never stale).

The job's own writes (matching, findings) are derived from its inputs and are read only by
its own district, so it sets ``lianbao.crosscheck_run`` for its statements and the trigger
leaves them out: otherwise every district's first run would make every other district's
rerun recompute. The log is one table for the province (a write anywhere makes every
district recompute once); rows older than every district's latest stamp are deleted.

SQLite has no snapshots: there every run computes.
"""

from __future__ import annotations

import copy
import zlib
from dataclasses import astuple
from datetime import date
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from models.crosscheck import CrosscheckRun
from workflow.crosscheck.rules import CrosscheckRules
from workflow.infra.transaction_flag import set_flag

FLAG = "lianbao.crosscheck_run"
# A stamp is ``rules key|snapshot|transaction id``: the snapshot, and the run's own
# transaction (a snapshot counts its own transaction's writes as seen, yet the caller's
# transaction may write inputs after the run: those count as changes).
_STAMP_SNAPSHOT = "split_part(r.input_stamp, '|', 2)::txid_snapshot"
_STAMP_XID = "split_part(r.input_stamp, '|', 3)::bigint"
_SNAPSHOT = "txid_current_snapshot()::text || '|' || txid_current()::text"


def _postgresql(session: AsyncSession) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def rules_key(rules: CrosscheckRules, as_of: date) -> str:
    """The rules and the as-of date as one short string: a stamp holds only for them."""
    return f"{as_of.isoformat()}:{zlib.crc32(repr(astuple(rules)).encode()):08x}"


async def own_writes(session: AsyncSession, on: bool) -> None:
    """Keep the job's own writes out of the input log (``on``) or log them again (the
    caller's transaction may go on writing, as the deadline engine's tick does)."""
    await set_flag(session, FLAG, on)


async def log_change(session: AsyncSession) -> None:
    """Log this transaction as a writer of the comparisons' inputs, as the tables' statement
    triggers do: for a writer that had them off (an import's new children)."""
    if _postgresql(session):
        await session.execute(text(
            "INSERT INTO crosscheck_input_change (xid) SELECT txid_current() "
            "WHERE coalesce(current_setting(:flag, true), '') <> 'on' ON CONFLICT DO NOTHING"
        ), {"flag": FLAG})


async def snapshot(session: AsyncSession) -> str | None:
    """The snapshot this statement reads from (taken before the job reads its inputs)."""
    if not _postgresql(session):
        return None
    return str((await session.execute(text(f"SELECT {_SNAPSHOT}"))).scalar())


def stamp(key: str, snap: str | None) -> str | None:
    return None if snap is None else f"{key}|{snap}"


async def unchanged(session: AsyncSession, district_code: str, key: str
                    ) -> tuple[CrosscheckRun | None, str | None]:
    """The district's last run, if it was made with ``key`` and no transaction changed an
    input since (else None), and the snapshot of this check (the stamp a skipped run keeps:
    the inputs it saw are the last run's)."""
    if not _postgresql(session):
        return None, None
    row = (await session.execute(text(
        f"""
        SELECT r.id, {_SNAPSHOT} AS snap,
               NOT EXISTS (SELECT 1 FROM crosscheck_input_change c
                           WHERE c.xid = {_STAMP_XID}
                              OR c.xid >= txid_snapshot_xmin({_STAMP_SNAPSHOT})
                             AND NOT txid_visible_in_snapshot(c.xid, {_STAMP_SNAPSHOT}))
                 AS same
        FROM crosscheck_run r
        WHERE r.id = (SELECT max(id) FROM crosscheck_run WHERE district_code = :district)
          AND split_part(r.input_stamp, '|', 1) = :key AND r.finished_at IS NOT NULL
        """), {"district": district_code, "key": key})).first()
    if row is None:
        return None, await snapshot(session)
    if not row.same:
        return None, str(row.snap)
    return await session.get(CrosscheckRun, int(row.id)), str(row.snap)


def unchanged_counts(last: dict[str, Any], last_run_id: int) -> dict[str, Any]:
    """What a run would count with nothing changed since ``last``: the same findings and
    statuses, nothing new, changed, cleared or created; records matched then are linked."""
    counts = copy.deepcopy(last)
    for rules in counts.get("matching", {}).values():
        rules["linked"] += rules["national_id"] + rules["name_birth_guardian"]
        rules["national_id"] = rules["name_birth_guardian"] = 0
    for kind in counts.get("findings", {}).values():
        kind["new"] = kind["changed"] = kind["cleared_now"] = 0
    counts.update(cleared=0, tasks_created=0, cases_linked=0, unchanged_since=last_run_id)
    return counts


async def tune(session: AsyncSession, on: bool) -> None:
    """PostgreSQL settings for the job's statements (``on``), or back to the session's: no
    JIT (compiling the comparison statement costs more than running it at a district's
    size) and room to hash a district's records in memory. Put back after the job because
    the caller's transaction may go on (the deadline engine's tick)."""
    if not _postgresql(session):
        return
    for setting, value in (("jit", "off"), ("work_mem", "'128MB'")):
        await session.execute(text(f"SET LOCAL {setting} TO {value if on else 'DEFAULT'}"))


async def prune(session: AsyncSession) -> None:
    """Forget the transactions every district's latest run saw already."""
    if not _postgresql(session):
        return
    await session.execute(text(
        f"""
        DELETE FROM crosscheck_input_change WHERE xid < (
            SELECT min(least(txid_snapshot_xmin({_STAMP_SNAPSHOT}), {_STAMP_XID}))
            FROM crosscheck_run r
            WHERE r.id IN (SELECT max(id) FROM crosscheck_run GROUP BY district_code)
              AND r.input_stamp IS NOT NULL)
        """))
