"""The poverty office and the disabled federation read only the children on their own lists
(issue 14, "Authorization and privacy"; ST 1, 3, 7; ``workflow/agency_lists.py``): through
the API, single reads, the children list and its export alike, and the rest of the register
looks to them as if it did not exist."""

from __future__ import annotations

import csv
import io
from typing import Any

from sqlalchemy import select, union
from sqlalchemy.ext.asyncio import AsyncSession

from models.child import Child, ChildGroup
from models.enums import SpecialGroup
from models.imports import BaseRecord, ImportSource
from models.register import Deferral
from tests.helpers import IMPORT_APPLY, Api, gid, payload_of, staged_list
from workflow.imports.reading import csv_bytes

NODE = 'query($id: ID!) { node(id: $id) { ... on Child { id name } } }'
PAGE = """query($after: String) { children(first: 100, after: $after) { totalCount
  edges { node { id } } pageInfo { hasNextPage endCursor } } }"""
APPLY_DEFERRAL = """mutation($in: ApplyForDeferralInput!) { applyForDeferral(input: $in)
  { deferral { id status } userErrors { code field message } } }"""
DEFERRALS = "{ deferrals(first: 50) { edges { node { id child { id } } } } }"

POVERTY_GROUPS = (SpecialGroup.REGISTERED_POOR, SpecialGroup.SUBSISTENCE_ALLOWANCE,
                  SpecialGroup.UNSTABLE_POVERTY_EXIT, SpecialGroup.SUDDEN_HARDSHIP)


def _poverty_households() -> Any:
    """The poverty office's children, counted here by hand from the tables: on its list in
    the base database or in a group of its households."""
    return union(
        select(BaseRecord.child_id).where(BaseRecord.source == ImportSource.POVERTY_HOUSEHOLD,
                                          BaseRecord.child_id.is_not(None)),
        select(ChildGroup.child_id).where(ChildGroup.group.in_(POVERTY_GROUPS)),
    )


async def _unlisted(session: AsyncSession, n: int) -> list[Child]:
    """Children of the demo district on no agency's list, in no group, with no deferral."""
    on_any = union(
        select(BaseRecord.child_id).where(BaseRecord.child_id.is_not(None)),
        select(ChildGroup.child_id), select(Deferral.child_id))
    return list((await session.execute(
        select(Child).where(Child.national_id.is_not(None), Child.id.not_in(on_any))
        .order_by(Child.id).limit(n)
    )).scalars())


async def _seen(api: Api, user: str, child: Child) -> bool:
    return (await api.gql(NODE, {"id": gid("Child", child.id)}, user=user))["node"] is not None


async def _all_ids(api: Api, user: str) -> tuple[int, set[str]]:
    ids: set[str] = set()
    after = None
    while True:
        page = (await api.gql(PAGE, {"after": after}, user=user))["children"]
        ids |= {e["node"]["id"] for e in page["edges"]}
        if not page["pageInfo"]["hasNextPage"]:
            return page["totalCount"], ids
        after = page["pageInfo"]["endCursor"]


HEADERS = {
    "poverty_household": ("poverty_office", ["成员姓名", "成员证件号码", "出生日期", "户类型"]),
    "disabled_federation": ("disabled_fed", ["姓名", "身份证号", "出生日期", "残疾类别"]),
}


async def _one_listed(api: Api, session: AsyncSession, source: str, kind: str
                      ) -> tuple[Child, Child]:
    """Two children on no list; the source's agency then sends a list naming the first."""
    listed, other = await _unlisted(session, 2)
    user, header = HEADERS[source]
    rows = [header, [listed.name, listed.national_id or "", listed.birth_date.isoformat(), kind]]
    job = await staged_list(api, source, csv_bytes(rows), user=user)
    await api.gql(IMPORT_APPLY, {"id": job}, user=user)
    return listed, other


async def test_the_poverty_office_reads_only_its_households_children(
    api: Api, session: AsyncSession
) -> None:
    for child in await _unlisted(session, 2):
        assert await _seen(api, "edu_officer", child)
        assert not await _seen(api, "poverty_office", child)
    on_list, other = await _one_listed(api, session, "poverty_household", "监测户")
    assert await _seen(api, "poverty_office", on_list)
    assert not await _seen(api, "poverty_office", other)
    # The list answers the same: exactly the children on its lists, counted by hand.
    households = {gid("Child", int(i))
                  for i in (await session.execute(_poverty_households())).scalars()}
    # Its grant covers its district: the bureau's view of the same district.
    _, district = await _all_ids(api, "edu_officer")
    total, ids = await _all_ids(api, "poverty_office")
    assert ids == households & district and total == len(ids)
    assert gid("Child", on_list.id) in ids and gid("Child", other.id) not in ids
    # A group that puts a child in its care counts whoever recorded it.
    session.add(ChildGroup(child_id=other.id, group=SpecialGroup.REGISTERED_POOR))
    await session.commit()
    assert await _seen(api, "poverty_office", other)
    # The disabled federation's reach is its own list, not the poverty office's.
    assert not await _seen(api, "disabled_fed", on_list)


async def test_the_disabled_federation_reads_its_list_and_its_referrals(
    api: Api, session: AsyncSession
) -> None:
    on_list, referred = await _one_listed(api, session, "disabled_federation", "肢体")
    assert await _seen(api, "disabled_fed", on_list)
    assert not await _seen(api, "disabled_fed", referred)
    assert await _seen(api, "poverty_office", on_list) is False
    # A guardian asks for an exemption the assessment must confirm (ST 3): the child and its
    # deferral reach the disabled federation with the task.
    applied = payload_of(await api.gql(APPLY_DEFERRAL, {"in": {
        "childId": gid("Child", referred.id), "kind": "EXEMPTION", "ground": "UNABLE_TO_LEARN",
        "appliedOn": "2026-09-05", "applicantName": "孙大山", "applicantRelation": "FATHER",
        "evidence": "区残疾儿童入学鉴定", "startsOn": "2026-09-01", "endsOn": "2027-08-31"}}))
    assert applied["deferral"]["status"] == "AWAITING_ASSESSMENT"
    assert await _seen(api, "disabled_fed", referred)
    seen = (await api.gql(DEFERRALS, user="disabled_fed"))["deferrals"]["edges"]
    assert applied["deferral"]["id"] in {e["node"]["id"] for e in seen}
    assert not (await api.gql(DEFERRALS, user="poverty_office"))["deferrals"]["edges"]


async def test_the_export_holds_only_the_listed_children(
    api: Api, session: AsyncSession
) -> None:
    on_list, other = await _one_listed(api, session, "poverty_household", "脱贫户")
    query = """query($after: String) { children(first: 100, after: $after) {
      edges { node { id name } } pageInfo { hasNextPage endCursor } } }"""
    response = await api.client.post(
        "/exports", json={"query": query, "format": "csv"},
        headers={"Authorization": f"Bearer {api.token('poverty_office')}"})
    assert response.status_code == 200, response.text
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    exported = {r[0] for r in rows[1:]}
    _, ids = await _all_ids(api, "poverty_office")
    assert exported == ids and gid("Child", on_list.id) in exported
    assert gid("Child", other.id) not in exported
