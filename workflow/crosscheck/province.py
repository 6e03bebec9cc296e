"""The comparisons of many districts as of one date (the whole province, the CLI's
``--all``, the calendar's districts due the same day).

Each district is still its own run (findings, tasks and counts are the district's, ST 2),
its advisory lock taken in code order so that two batches at once queue in the same order
and never deadlock. The districts whose inputs did not change since their last run are one
query each (``inputs.py``); the others are computed in one pass (``run.py``, ``batch.py``):
every district's records in the same statements, the fixed cost of a run paid once.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from models.crosscheck import CrosscheckRun
from models.enums import JurisdictionLevel
from models.reference import Jurisdiction
from workflow.context import ServiceContext
from workflow.crosscheck.run import crosscheck_districts


async def district_codes(session: AsyncSession) -> Sequence[str]:
    """Every district held in the database, in code order (those the comparisons run for:
    a GB/T 2260 code of digits)."""
    codes = (await session.execute(
        select(Jurisdiction.code).where(Jurisdiction.level == JurisdictionLevel.DISTRICT)
        .order_by(Jurisdiction.code))).scalars().all()
    return [c for c in codes if c.isdigit()]


async def crosscheck_province(
    ctx: ServiceContext, codes: Iterable[str], as_of: date, trigger: str,
) -> list[CrosscheckRun]:
    """Run the comparisons of ``codes`` as of ``as_of`` in the caller's one transaction, one
    run per district, in code order, the changed districts computed together."""
    return await crosscheck_districts(ctx, codes, as_of, trigger)
