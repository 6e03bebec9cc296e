"""The comparisons of many districts as of one date (the whole province, the CLI's
``--all``, the calendar's districts due the same day).

Each district is still its own run (findings, tasks and counts are the district's, ST 2),
taken in code order so that two batches at once queue on the districts' advisory locks in
the same order and never deadlock. What a batch saves is the districts whose inputs did not
change since their last run: each is one query (``inputs.py``), the log pruned once.
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
from workflow.crosscheck.run import crosscheck_district


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
    run per district, in code order."""
    return [await crosscheck_district(ctx, code, as_of, trigger)
            for code in sorted(set(codes))]
