"""Schools as the API lists them: reference data, read under the ``reference`` policy.

Every signed-in member may read schools' names and kinds (policy.csv: ``member, reference,
read``, SPT 4: each agency's part is public), as they read agencies and jurisdictions; the list
filters in SQL, so a page costs the same whatever the county's size.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select

from models.enums import SchoolKind
from models.school import School
from workflow.common import rows_by_ids
from workflow.context import ServiceContext
from workflow.pagination import Page, PageRequest, keyset_page
from workflow.reference import within


def _require_read(ctx: ServiceContext) -> None:
    ctx.authz.require(ctx.principal, "reference", "read", ctx.principal.agency_scope)




async def schools_page(
    ctx: ServiceContext,
    request: PageRequest,
    *,
    kind: SchoolKind | None = None,
    jurisdiction_code: str | None = None,
) -> Page[School]:
    """One page of the schools, optionally of one kind and within a jurisdiction (a township,
    or a district and the townships below it); Forbidden without the reference grant."""
    _require_read(ctx)
    stmt = select(School)
    if kind is not None:
        stmt = stmt.where(School.kind == kind)
    if jurisdiction_code is not None:
        stmt = within(stmt, School.township_code, jurisdiction_code)
    return await keyset_page(ctx, stmt, School.id, request, prefix="school")


async def get_schools(ctx: ServiceContext, ids: Sequence[int]) -> list[School | None]:
    """Schools by id, in the order asked (``node``/``nodes``); Forbidden as ``schools_page``."""
    _require_read(ctx)
    return await rows_by_ids(ctx, select(School), School.id, ids)
