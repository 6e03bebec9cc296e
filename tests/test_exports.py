"""Exports over HTTP (issue 14): any list a user can page through, as CSV and XLSX, masked
exactly as the API masks it for that agency, with the raw reads in the access log."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from typing import Any

from python_calamine import CalamineWorkbook
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from models.access_log import SensitiveAccess
from tests.helpers import Api, report
from workflow.clock import FixedClock

CHILDREN = """query($after: String) { children(first: 16, after: $after) { edges { node { id
  name nationalId { value masked } guardians { name phone { value } } } }
  pageInfo { hasNextPage endCursor } } }"""


async def export(api: Api, user: str, query: str, fmt: str = "csv",
                 **extra: Any) -> Any:
    return await api.client.post(
        "/exports", json={"query": query, "format": fmt, **extra},
        headers={"Authorization": f"Bearer {api.token(user)}"},
    )


async def api_rows(api: Api, user: str) -> list[dict[str, Any]]:
    """What the API itself answers, page by page."""
    nodes: list[dict[str, Any]] = []
    after = None
    while True:
        page = (await api.gql(CHILDREN, {"after": after}, user=user))["children"]
        nodes += [e["node"] for e in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            return nodes
        after = page["pageInfo"]["endCursor"]


async def _pupils(api: Api) -> list[str]:
    data = await api.gql("{ children(first: 2) { edges { node { id } } } }", user="principal")
    return [e["node"]["id"] for e in data["children"]["edges"]]


async def logged(session: AsyncSession, user: str) -> int:
    return int((await session.execute(select(func.count()).select_from(SensitiveAccess).where(
        SensitiveAccess.username == user, SensitiveAccess.field == "national_id"))).scalar_one())


async def test_csv_export_is_masked_as_the_api_masks_it(
    api: Api, session: AsyncSession
) -> None:
    for user in ("head_teacher", "police_officer"):
        expected = await api_rows(api, user)
        before = await logged(session, user)
        response = await export(api, user, CHILDREN)
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].startswith("text/csv")
        rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
        assert rows[0] == ["id", "name", "nationalId", "nationalId.masked", "guardians"]
        assert len(rows) - 1 == len(expected) > 16  # more than one page
        assert [r[2] for r in rows[1:]] == [n["nationalId"]["value"] or "" for n in expected]
        assert [r[0] for r in rows[1:]] == [n["id"] for n in expected]
        masked = {r[3] for r in rows[1:]}
        # the head teacher may not see ID numbers; the police may, and each read is logged
        if user == "head_teacher":
            assert masked == {"是"} and await logged(session, user) == before
        else:
            assert masked == {"否"}
            with_id = [n for n in expected if n["nationalId"]["value"]]
            assert await logged(session, user) == before + len(with_id) > before


async def test_xlsx_export_of_tasks_and_coded_refusals(api: Api, clock: FixedClock) -> None:
    for days in (8, 9):
        await report(api, clock.now().date() - timedelta(days=days),
                     child=(await _pupils(api))[days - 8])
    query = """query($after: String) { agencyQueue(first: 1, after: $after) { edges { node {
      title dueOn status } } pageInfo { hasNextPage endCursor } } }"""
    response = await export(api, "principal", query, "xlsx",
                            titles={"title": "任务", "dueOn": "期限", "status": "状态"})
    assert response.status_code == 200, response.text
    sheet = CalamineWorkbook.from_filelike(io.BytesIO(response.content)).get_sheet_by_index(0)
    rows = sheet.to_python()
    assert rows[0] == ["任务", "期限", "状态"]
    total = (await api.gql("{ agencyQueue(first: 1) { totalCount } }", user="principal"))[
        "agencyQueue"]["totalCount"]
    assert len(rows) - 1 == total > 1
    # an empty list still has its header, from the titles asked for
    empty = await export(api, "hr_officer", query, "xlsx", titles={"title": "任务"})
    assert CalamineWorkbook.from_filelike(io.BytesIO(empty.content)).get_sheet_by_index(
        0).to_python() == [["任务"]]
    bad = await export(api, "edu_officer", "{ me { username } }")
    assert bad.status_code == 400
    assert bad.json()["errors"][0]["extensions"]["code"] == "BAD_INPUT"
    broken = await export(api, "edu_officer", "query { nope }")
    assert broken.status_code == 400
    assert (await export(api, "edu_officer", CHILDREN, "pdf")).status_code == 400
    anonymous = await api.client.post("/exports", json={"query": CHILDREN})
    assert anonymous.status_code == 401
