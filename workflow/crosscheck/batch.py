"""What the statements of one computing pass share: the districts it computes (one or the
whole province, same rules and as-of date), their runs, the time, and the dialect's pieces.

The districts of a pass are a temporary table of this connection (``crosscheck_batch``:
code, run, path) that the statements join: every district's records in one pass, and the
fixed cost of a run (matching, the comparisons, the upsert, the clearing, the tasks, the
counts: ~30 statements) paid once for all of them instead of once per district.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    Column,
    ColumnElement,
    Integer,
    MetaData,
    String,
    Table,
    func,
    insert,
    literal_column,
    text,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from models.crosscheck import CrosscheckFinding, CrosscheckRun
from models.reference import Jurisdiction
from workflow.crosscheck.rules import CrosscheckRules

BATCH = "crosscheck_batch"  # the pass's districts and their runs
FOUND = "crosscheck_found"  # what the pass found
# Not in the models' metadata: a temporary table of the job's connection, never migrated.
batch_table = Table(
    BATCH, MetaData(),
    Column("district_code", String(12), primary_key=True),
    Column("run_id", Integer, nullable=False),
    Column("path", String(160), nullable=False),
)


class Batch:
    """The districts one pass computes, with the rules they share."""

    def __init__(self, session: AsyncSession, districts: Iterable[Jurisdiction],
                 runs: dict[str, CrosscheckRun], as_of: date, rules: CrosscheckRules,
                 now: datetime) -> None:
        self.session = session
        self.districts = sorted(districts, key=lambda d: d.code)
        self.codes = [d.code for d in self.districts]
        self.runs = {code: runs[code] for code in self.codes}
        self.run_ids = [self.runs[code].id for code in self.codes]
        self.as_of = as_of
        self.rules = rules
        self.now = now
        self.dialect = session.get_bind().dialect.name
        self.b = batch_table.c
        self._found: Any = None

    # --- the pass's districts ---------------------------------------------------------

    async def create(self) -> None:
        """The temporary table of the pass's districts (planned from its statistics)."""
        await self.drop()
        await self.session.execute(text(
            f"CREATE TEMPORARY TABLE {BATCH} (district_code VARCHAR(12) PRIMARY KEY, "
            "run_id INTEGER NOT NULL, path VARCHAR(160) NOT NULL)"))
        await self.session.execute(insert(batch_table), [
            {"district_code": d.code, "run_id": self.runs[d.code].id, "path": d.path}
            for d in self.districts])
        if self.dialect == "postgresql":
            await self.session.execute(text(f"ANALYZE {BATCH}"))

    async def drop(self) -> None:
        await self.session.execute(text(f"DROP TABLE IF EXISTS {FOUND}"))
        await self.session.execute(text(f"DROP TABLE IF EXISTS {BATCH}"))

    def in_batch(self, column: Any) -> ColumnElement[bool]:
        """``column`` is one of the pass's district codes (a literal list: the planner
        sees each code's share of the table)."""
        return column.in_(self.codes)  # type: ignore[no-any-return]

    def touched(self) -> ColumnElement[bool]:
        """The findings this pass wrote."""
        F = CrosscheckFinding
        return self.in_batch(F.district_code) & F.last_run_id.in_(self.run_ids)

    def found(self) -> Any:
        """What the comparisons found (``compare.materialize``)."""
        return self._found

    @staticmethod
    def per_district(rows: Iterable[Any]) -> Counter[str]:
        """Rows returned by a write (their first column the district), counted."""
        return Counter(str(r[0]) for r in rows)

    # --- dialect-specific pieces ------------------------------------------------------

    def json_literal(self, value: str) -> Any:
        if self.dialect == "postgresql":
            return literal_column(f"'{value}'::jsonb")
        return literal_column(f"'{value}'")

    def json_object(self, key: str, value: Any) -> Any:
        if self.dialect == "postgresql":
            return func.jsonb_build_object(key, value)
        return func.json_object(key, value)

    def json_array_of(self, column: Any) -> Any:
        if self.dialect == "postgresql":
            return func.coalesce(func.jsonb_agg(column), literal_column("'[]'::jsonb"))
        return func.json_group_array(column)

    def upsert(self) -> Any:
        return (postgresql.insert if self.dialect == "postgresql" else sqlite.insert)(
            CrosscheckFinding)
