"""Persons on no register in the ledgers (适龄未入学, issue 15): a school-age person on the
police's household list whom no rule matched to a child is a row of the 适龄儿童台账 and of
the 疑似辍学学生台账 from the comparison that finds it until its verification resolves it;
after the children in a page, counted, filtered, read by each office as its rows, exported
with its name."""

from __future__ import annotations

import csv
import datetime as dt
import io
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from models.reference import Jurisdiction
from tests.helpers import IMPORT_APPLY, Api, staged_list
from workflow.infra.id_number import make as make_id

RUN = """mutation { runCrosscheck(input: {districtCode: "370406", asOf: "2026-09-30"})
  { crosscheckRun { id } userErrors { code } } }"""
ENTRY = """child { id } person { id name } townshipName schoolName since"""
SCHOOL_AGE = """query($f: SchoolAgeLedgerFilter, $after: String, $n: Int) {
  schoolAgeLedger(filter: $f, first: $n, after: $after) { totalCount edges { node {
  """ + ENTRY + """ status specialGroupTitles } } pageInfo { hasNextPage endCursor } } }"""
SUSPECTED = """query($f: SuspectedLedgerFilter, $after: String, $n: Int) {
  suspectedLedger(filter: $f, first: $n, after: $after) { totalCount edges { node {
  """ + ENTRY + """ reasons } } pageInfo { hasNextPage endCursor } } }"""
RESOLVE = """mutation($i: ResolveVerificationInput!) { resolveVerification(input: $i) {
  crosscheckFinding { id status } userErrors { code } } }"""


async def _persons_found(api: Api) -> str:
    """Two school-age children on the police list only, in the township officer's township,
    one of a registered-poor household; the comparison run; the township's code."""
    me = await api.gql("{ me { agency { jurisdiction { code } } } }", user="township_officer")
    township = me["me"]["agency"]["jurisdiction"]["code"]
    born = dt.date(2016, 5, 1)
    poor, other = make_id("370406", born, 801), make_id("370406", born, 802)
    police = (f"姓名,公民身份号码,出生日期,乡镇代码\n未入学甲,{poor},{born},{township}\n"
              f"未入学乙,{other},{born},{township}\n")
    poverty = f"成员姓名,成员证件号码,出生日期,户类型\n未入学甲,{poor},{born},脱贫户\n"
    for source, body in (("police_household", police), ("poverty_household", poverty)):
        await api.gql(IMPORT_APPLY, {"id": await staged_list(api, source, body.encode())})
    assert (await api.gql(RUN))["runCrosscheck"]["userErrors"] == []
    return str(township)


async def _walk(api: Api, query: str, user: str = "edu_officer", n: int = 7,
                **f: Any) -> tuple[int, list[dict[str, Any]]]:
    """Every entry of a ledger, page by page (``n`` a page): its count and the entries."""
    name = query.split("{", 2)[1].split("(")[0].strip()
    after, entries, total = None, [], -1
    while True:
        page = (await api.gql(query, {"f": f or None, "after": after, "n": n}, user=user))[name]
        assert total in (-1, page["totalCount"])  # the same count on every page
        total = page["totalCount"]
        entries += [e["node"] for e in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            return total, entries
        after = page["pageInfo"]["endCursor"]


def _persons(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e for e in entries if e["child"] is None]


async def test_a_person_on_no_register_is_in_both_ledgers_after_the_children(
    api: Api,
) -> None:
    before, _ = await _walk(api, SUSPECTED, n=50)
    township = await _persons_found(api)
    total, entries = await _walk(api, SUSPECTED)
    found = _persons(entries)
    assert sorted(p["person"]["name"] for p in found) == ["未入学乙", "未入学甲"]
    assert all(p["reasons"] == ["UNREGISTERED"] and p["since"] == "2026-09-30"
               and p["schoolName"] is None and p["townshipName"] for p in found)
    # after every child, each entry once, counted with them
    assert entries[-2:] == found and total == len(entries) == before + 2
    assert len({(e["child"] or e["person"])["id"] for e in entries}) == total
    # the school-age ledger: suspected, on no register's date
    total, entries = await _walk(api, SCHOOL_AGE, n=50)
    assert [(p["status"], p["since"]) for p in _persons(entries)] == [("SUSPECTED", None)] * 2
    assert total == len(entries)
    for f, persons in (({"status": "SUSPECTED"}, 2), ({"status": "ENROLLED"}, 0),
                       ({"jurisdictionCode": township}, 2), ({"grade": 3}, 0),
                       ({"jurisdictionCode": "370406"}, 2),
                       ({"specialGroup": "REGISTERED_POOR"}, 0)):  # no groups yet
        assert len(_persons((await _walk(api, SCHOOL_AGE, n=50, **f))[1])) == persons, f
    for f, persons in (({"reason": "UNREGISTERED"}, 2), ({"reason": "LONG_ABSENCE"}, 0),
                       ({"since": "2026-09-30"}, 2), ({"until": "2026-09-29"}, 0)):
        assert len(_persons((await _walk(api, SUSPECTED, n=50, **f))[1])) == persons, f


async def test_each_office_reads_its_persons_and_a_resolved_one_leaves(api: Api) -> None:
    await _persons_found(api)
    # the poverty office: only the poor household's person, and its details
    _, rows = await _walk(api, SUSPECTED, user="poverty_office", n=50)
    assert [p["person"]["name"] for p in _persons(rows)] == ["未入学甲"]
    # the inspectorate reads the rows and the findings, the names masked as that list has them
    _, rows = await _walk(api, SUSPECTED, user="inspector", n=50)
    assert sorted(p["person"]["name"] for p in _persons(rows)) == ["未***", "未***"]
    # the township visits one: moved away, it leaves both ledgers
    _, rows = await _walk(api, SUSPECTED, user="township_officer", n=50)
    moved = next(p for p in _persons(rows) if p["person"]["name"] == "未入学乙")
    done = await api.gql(RESOLVE, {"i": {"crosscheckFindingId": moved["person"]["id"],
                                         "outcome": "MOVED_AWAY"}}, user="township_officer")
    assert done["resolveVerification"]["userErrors"] == []
    for query in (SUSPECTED, SCHOOL_AGE):
        left = _persons((await _walk(api, query, n=50))[1])
        assert [p["person"]["name"] for p in left] == ["未入学甲"]


async def test_each_ledger_exports_a_person_on_no_register(api: Api) -> None:
    """The name, birth date and ID number come from the person where the child is null; the
    ID number as the findings list shows it to the bureau."""
    await _persons_found(api)
    shown = (await api.gql("""{ crosscheckFindings(filter: {kind: UNREGISTERED}, first: 50) {
        edges { node { name nationalId { value } } } } }"""))["crosscheckFindings"]["edges"]
    numbers = sorted(e["node"]["nationalId"]["value"] for e in shown
                     if e["node"]["name"].startswith("未入学"))
    for ledger, f, column, value in (
            ("suspected", {"reason": "UNREGISTERED"}, "疑似原因", "适龄未入学"),
            ("school_age", {"status": "SUSPECTED"}, "入学状态", "疑似辍学")):
        reply = await api.client.post(
            "/exports", json={"ledger": ledger, "format": "csv", "filter": f},
            headers={"Authorization": f"Bearer {api.token('edu_officer')}"})
        assert reply.status_code == 200, reply.text
        rows = list(csv.reader(io.StringIO(reply.content.decode("utf-8-sig"))))
        head = rows[0]
        found = [r for r in rows[1:] if r[head.index("姓名")].startswith("未入学")]
        assert sorted(r[head.index("姓名")] for r in found) == ["未入学乙", "未入学甲"], ledger
        assert {r[head.index("出生日期")] for r in found} == {"2016-05-01"}
        assert sorted(r[head.index("身份证号")] for r in found) == numbers and numbers
        assert {r[head.index(column)] for r in found} == {value}


async def test_pages_of_one_cross_from_the_children_to_the_persons(
    api: Api, session: AsyncSession
) -> None:
    """Pages of one walk every boundary, the last child's page included: the same entries in
    the same order as one page of all; a person's cursor belongs to its own ledger; a page
    of none still counts; another township's filter finds none of them."""
    township = await _persons_found(api)
    for query in (SUSPECTED, SCHOOL_AGE):
        whole = await _walk(api, query, n=100)
        assert len(_persons(whole[1])) == 2
        assert await _walk(api, query, n=1) == whole
        name = query.split("{", 2)[1].split("(")[0].strip()
        none = (await api.gql(query, {"f": None, "after": None, "n": 0}))[name]
        assert (none["edges"], none["totalCount"], none["pageInfo"]["hasNextPage"]) == (
            [], whole[0], True)
    # a cursor among the suspected ledger's persons, sent to the school-age ledger
    total, _ = await _walk(api, SUSPECTED, n=100)
    last = (await api.gql(SUSPECTED, {"f": None, "after": None, "n": total - 1})
            )["suspectedLedger"]["pageInfo"]["endCursor"]
    among = (await api.gql(SUSPECTED, {"f": None, "after": last, "n": 5}))["suspectedLedger"]
    assert [e["node"]["child"] for e in among["edges"]] == [None]
    person_cursor = among["pageInfo"]["endCursor"]
    refused = (await api.post(SCHOOL_AGE, {"f": None, "after": person_cursor, "n": 5},
                              user="edu_officer")).json()
    assert refused["errors"][0]["extensions"]["code"] == "BAD_INPUT"
    other = (await session.execute(select(Jurisdiction.code).where(
        Jurisdiction.parent_code == "370406", Jurisdiction.code != township))).scalars().first()
    assert other is not None
    assert _persons((await _walk(api, SUSPECTED, n=50, jurisdictionCode=other))[1]) == []


async def test_a_school_sees_no_person_the_poverty_office_its_households(api: Api) -> None:
    await _persons_found(api)
    for query in (SUSPECTED, SCHOOL_AGE):
        assert _persons((await _walk(api, query, user="principal", n=50))[1]) == []
        poor = _persons((await _walk(api, query, user="poverty_office", n=50))[1])
        assert [p["person"]["name"] for p in poor] == ["未入学甲"]
        township = _persons((await _walk(api, query, user="township_officer", n=50))[1])
        assert len(township) == 2
