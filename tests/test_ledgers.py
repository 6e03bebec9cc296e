"""The three ledgers (三个台账, issue 15): each entry follows from the data, the dropout ledger
closes entries off one by one (动态销号), the policy gives each office its rows, masking is
the children list's, and the exports open in a real XLSX reader."""

from __future__ import annotations

import io
from dataclasses import replace
from datetime import UTC, date, datetime
from typing import Any

import pytest
from python_calamine import CalamineWorkbook
from sqlalchemy import func, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from authz.enforcer import Authorizer
from authz.policy import default_rules
from authz.principal import Grant, Principal
from models import enums as en
from models.access_log import SensitiveAccess
from models.child import Child, ChildGroup, Guardian
from models.crosscheck import CrosscheckRun
from models.register import RegisterChange
from models.report import PeriodicReport
from models.school import Enrolment
from tests.helpers import (
    NOW,
    Api,
    Database,
    acting_as,
    hand_counted,
    pupil_of_principal,
    report,
)
from workflow import ledger as ledger_service
from workflow.clock import FixedClock
from workflow.context import ServiceContext
from workflow.engine import TickReport
from workflow.infra.transaction_flag import plan_each_run
from workflow.ledger.access import gathered
from workflow.ledger.schedule import scheduled_comparisons
from workflow.ledger.status import LedgerStatus
from workflow.pagination import PageRequest, encode_cursor
from workflow.report import open_reports

SCHOOL_AGE = """query($f: SchoolAgeLedgerFilter, $after: String) { schoolAgeLedger(filter: $f,
  first: 50, after: $after) { totalCount edges { node { child { id name nationalId { value
  masked } } status statusTitle since schoolName grade townshipName } }
  pageInfo { hasNextPage endCursor } } }"""
SUSPECTED = """query($f: SuspectedLedgerFilter) { suspectedLedger(filter: $f, first: 50) {
  totalCount edges { node { child { id name } reasons reasonTitles since schoolName } } } }"""
DROPOUT = """query($f: DropoutLedgerFilter) { dropoutLedger(filter: $f, first: 50) { totalCount
  edges { node { child { id name } firstAbsence stage stageTitle cause causeTitle closed
  closedOn closureReason closureTitle persuasionCount persuasionSummary
  persuasions { method outcome } case { id } } } } }"""
STATS = """query($in: StatsInput) { statistics(input: $in) { total { schoolAge enrolled
  deferredOrExempt suspected confirmedDropouts } } }"""
DISTRICT = {"jurisdictionCode": "370499"}


async def ledger(api: Api, query: str, user: str = "t_edu", **f: Any) -> dict[str, Any]:
    name = query.split("{", 2)[1].split("(")[0].strip()
    data: dict[str, Any] = (await api.gql(query, {"f": f or None}, user=user))[name]
    return data


def nodes(page: dict[str, Any]) -> list[dict[str, Any]]:
    return [e["node"] for e in page["edges"]]


def by_name(page: dict[str, Any], key: str = "status") -> dict[str, Any]:
    return {n["child"]["name"]: n[key] for n in nodes(page)}


async def test_school_age_ledger_gives_each_child_its_status(
    api: Api, session: AsyncSession
) -> None:
    await hand_counted(session)
    page = await ledger(api, SCHOOL_AGE, **DISTRICT)
    assert by_name(page) == {
        "小1": "ENROLLED", "小2": "DROPOUT", "小3": "SUSPECTED", "小4": "RETURNED",
        "小5": "DEFERRED_OR_EXEMPT", "小7": "NOT_ENROLLED",  # 小6 is 17: not of school age
    }
    titles = {n["child"]["name"]: n["statusTitle"] for n in nodes(page)}
    assert (titles["小2"], titles["小7"]) == ("辍学", "未入学")
    row = next(n for n in nodes(page) if n["child"]["name"] == "小2")
    assert (row["schoolName"], row["grade"], row["townshipName"], row["since"]) == (
        "A镇小学", 5, "A镇", "2026-10-10")
    # filters: a status, a township, a grade
    dropouts = await ledger(api, SCHOOL_AGE, status="DROPOUT", **DISTRICT)
    assert by_name(dropouts) == {"小2": "DROPOUT"} and dropouts["totalCount"] == 1
    assert set(by_name(await ledger(api, SCHOOL_AGE, jurisdictionCode="370499102"))) == {
        "小4", "小5", "小7"}
    assert set(by_name(await ledger(api, SCHOOL_AGE, grade=2, **DISTRICT))) == {"小3"}
    left_behind = await ledger(api, SCHOOL_AGE, specialGroup="LEFT_BEHIND", **DISTRICT)
    assert set(by_name(left_behind)) == {"小2", "小3"}


async def _every_status(session: AsyncSession) -> None:
    """The hand-counted district with a child of every status, and one whose register entry
    says deceased with no police record (not enrolled by the rules)."""
    d = await hand_counted(session)
    st = en.EnrolmentStatus
    for status in (st.SUSPENDED, st.GRADUATED, st.TRANSFERRED, st.EXEMPT, st.DECEASED):
        await d.child("A", status=status)
    closed = datetime(2026, 10, 25, 2, 0, tzinfo=UTC)
    dead = await d.child("B")
    await d.case(dead, "B", date(2026, 10, 1), en.CaseStage.REPORTED,
                 closed=(closed, en.ClosureReason.DECEASED))
    gone = await d.child("B", status=None)
    await d.case(gone, "B", date(2026, 10, 1), en.CaseStage.REPORTED,
                 closed=(closed, en.ClosureReason.MOVED_AWAY))
    await session.commit()


async def test_a_status_filter_gives_exactly_the_children_shown_with_that_status(
    api: Api, session: AsyncSession
) -> None:
    """The filter (``status.is_status``: anti-joins and plain tests, for the planner) and the
    status shown (``status.status``: a CASE) are built from the same rules; a child of each
    status, and one whose register entry says deceased with no police record (not enrolled
    by the rules: a filter that required no register entry for that status missed it)."""
    await _every_status(session)
    shown = by_name(await ledger(api, SCHOOL_AGE, **DISTRICT))
    assert set(shown.values()) == {s.name for s in LedgerStatus}
    assert list(shown.values()).count("NOT_ENROLLED") == 2
    for status in LedgerStatus:
        page = await ledger(api, SCHOOL_AGE, status=status.name, **DISTRICT)
        wanted = {name: s for name, s in shown.items() if s == status.name}
        assert (by_name(page), page["totalCount"]) == (wanted, len(wanted)), status


async def test_a_district_gathered_and_a_province_walked_give_the_same_entries(
    session: AsyncSession,
) -> None:
    """The bureau's and the poverty office's pages gather the district's children from the
    domain indexes first (``access.gathered``); the same officer granted the province walks
    the children in key order. Both ways, with every filter of each ledger, the same
    entries, counts and pages (a page of two, the next, and one past the end); and the
    district's unfiltered pages are the province's filtered to the district, so a gathering
    that read beyond the grant (the demo county's children are in the database too) fails."""
    await _every_status(session)
    c7 = (await session.execute(select(Child).where(Child.name == "小7"))).scalar_one()
    session.add(ChildGroup(child_id=c7.id, group=en.SpecialGroup.REGISTERED_POOR))
    await session.commit()
    authz = Authorizer(default_rules())
    f, sus = ledger_service.SchoolAgeFilter, ledger_service.SuspectedFilter
    where = {"jurisdiction_code": "370499"}
    asked: list[tuple[Any, Any]] = [
        (ledger_service.school_age_page, f(**where)),
        *((ledger_service.school_age_page, f(status=s, **where)) for s in LedgerStatus),
        (ledger_service.school_age_page, f(special_group=en.SpecialGroup.LEFT_BEHIND, **where)),
        (ledger_service.school_age_page, f(grade=5, since=date(2026, 10, 1), **where)),
        (ledger_service.school_age_page, f(until=date(2026, 10, 1), **where)),
        (ledger_service.school_age_page, f(jurisdiction_code="370499102")),
        (ledger_service.suspected_page, sus(**where)),
        *((ledger_service.suspected_page, sus(reason=r, **where))
          for r in ledger_service.SuspicionReason),
        (ledger_service.suspected_page, sus(since=date(2026, 10, 1), **where)),
        (ledger_service.suspected_page, sus(special_group=en.SpecialGroup.LEFT_BEHIND, **where)),
    ]
    prefixes = {ledger_service.school_age_page: "ledger-school-age",
                ledger_service.suspected_page: "ledger-suspected"}

    async def entries(ctx: ServiceContext, page_of: Any, flt: Any) -> tuple[Any, ...]:
        first = await page_of(ctx, flt, PageRequest(first=2, after=None, cap=100))
        rest = [] if not first.has_next else (await page_of(
            ctx, flt, PageRequest(first=50, after=first.cursors[-1], cap=100))).items
        if first.items:  # past the end: no rows, the count still the list's
            last = encode_cursor(prefixes[page_of], 2**31 - 1)
            past = await page_of(ctx, flt, PageRequest(first=5, after=last, cap=100))
            assert (past.items, past.total_count) == ([], first.total_count)
        return first.total_count, [
            (e.child.name if e.child else e.place, getattr(e, "status", None),
             getattr(e, "reasons", None), e.since, e.place) for e in [*first.items, *rest]]

    seen: dict[str, int] = {}
    for user in ("t_edu", "t_poverty"):
        district = await acting_as(session, user, authz, FixedClock(NOW))
        province = ServiceContext(session, replace(district.principal, grants=tuple(
            replace(g, domain="370000") for g in district.principal.grants)), authz,
            district.clock)
        kind = ledger_service.LedgerKind
        assert gathered(district, kind.SCHOOL_AGE) and not gathered(province, kind.SCHOOL_AGE)
        seen[user] = 0
        for page_of, flt in asked:
            gathered_entries = await entries(district, page_of, flt)
            assert gathered_entries == await entries(province, page_of, flt), (user, flt)
            seen[user] += gathered_entries[0]
        for page_of, flt in ((ledger_service.school_age_page, f(**where)),
                             (ledger_service.suspected_page, sus(**where))):
            assert await entries(district, page_of, type(flt)()) == await entries(
                province, page_of, flt), (user, flt)  # unfiltered: the grant alone
    # the filters found children, not only empty pages; the poverty office its one child
    assert seen["t_edu"] > 20 and seen["t_poverty"] >= 2


@pytest.mark.parametrize(("domains", "expected"), [
    (["370000/370400/370499"], True),  # a district
    (["370000/370400/370499/370499101"], True),  # a township
    (["370000/370400/370499/370499101/school:7"], True),  # a school
    ([f"370000/370400/3704{n:02}" for n in range(1, 5)], True),  # four districts
    ([f"370000/370400/3704{n:02}" for n in range(1, 6)], False),  # five: most of a city
    (["370000/370400"], False),  # a city
    (["370000/370400/370499", "370000"], False),  # a district and the province
    (["*"], False),
    ([], False),  # no grant: nothing to gather, nothing to walk
])
def test_a_district_or_narrower_is_gathered_a_city_or_wider_walked(
    domains: list[str], expected: bool
) -> None:
    grants = tuple(Grant("education_officer", d, d.rsplit("/", 1)[-1]) for d in domains)
    principal = replace(Principal.machine("t", "t"), grants=grants)
    ctx = ServiceContext(None, principal, Authorizer(default_rules()),  # type: ignore[arg-type]
                         FixedClock(NOW))
    for kind in ledger_service.LedgerKind:
        assert gathered(ctx, kind) is expected, kind


async def test_a_ledger_page_plans_each_statement_in_its_own_transaction_only(
    session: AsyncSession, database: Database
) -> None:
    """PostgreSQL: a ledger page's transaction plans each statement for its values
    (``plan_each_run``): a generic plan takes ``enrolment.status = $1`` for any status, and
    the province's page of dropouts walked the province from its sixth run. The setting
    ends with the transaction: the pooled connection's next user plans as PostgreSQL does."""
    if not database.is_postgres:
        pytest.skip("SQLite keeps no plans")
    await hand_counted(session)
    mode = text("SELECT current_setting('plan_cache_mode')")
    assert (await session.execute(mode)).scalar_one() == "auto"
    ctx = await acting_as(session, "t_edu", Authorizer(default_rules()), FixedClock(NOW))
    page = await ledger_service.school_age_page(
        ctx, ledger_service.SchoolAgeFilter(status=LedgerStatus.DROPOUT),
        PageRequest(first=5, after=None, cap=100))
    assert [entry.child.name for entry in page.items] == ["小2"]
    assert (await session.execute(mode)).scalar_one() == "force_custom_plan"
    # On a connection of its own (the fixture's session is one long transaction): the
    # setting ends with the transaction that set it.
    async with database.engine.connect() as conn:
        async with AsyncSession(bind=conn) as own:
            await plan_each_run(own)
            assert (await own.execute(mode)).scalar_one() == "force_custom_plan"
            await own.commit()
        assert (await conn.execute(mode)).scalar_one() == "auto"


async def test_the_ledger_agrees_with_the_statistics(api: Api, session: AsyncSession) -> None:
    """Issue 16: the figures come from the same data the ledgers use."""
    await hand_counted(session)
    page = await ledger(api, SCHOOL_AGE, **DISTRICT)
    statuses = list(by_name(page).values())
    figures = (await api.gql(STATS, {"in": DISTRICT}, user="t_edu"))["statistics"]["total"]
    assert figures["schoolAge"] == page["totalCount"] == 6
    assert figures["suspected"] == statuses.count("SUSPECTED")
    assert figures["confirmedDropouts"] == statuses.count("DROPOUT")
    assert figures["deferredOrExempt"] == statuses.count("DEFERRED_OR_EXEMPT")
    suspected = await ledger(api, SUSPECTED, **DISTRICT)
    assert suspected["totalCount"] == figures["suspected"]
    open_dropouts = await ledger(api, DROPOUT, closed=False, **DISTRICT)
    assert open_dropouts["totalCount"] == figures["confirmedDropouts"]


async def test_suspected_ledger_follows_cases_and_transfers(
    api: Api, session: AsyncSession
) -> None:
    d = await hand_counted(session)
    page = await ledger(api, SUSPECTED, **DISTRICT)
    assert by_name(page, "reasons") == {"小3": ["LONG_ABSENCE"]}
    assert nodes(page)[0]["since"] == "2026-10-28"
    assert nodes(page)[0]["reasonTitles"] == ["长期缺课（已立案）"]
    # a transfer out sent to another county and flagged not received by the register's job
    c1 = (await session.execute(select(Child).where(Child.name == "小1"))).scalar_one()
    change = RegisterChange(
        kind=en.RegisterChangeKind.TRANSFER, status=en.RegisterChangeStatus.SENT,
        from_school_id=d.schools["A"].id, from_district_code="370499", to_district_code="110101",
        requested_on=date(2026, 9, 1), decided_on=date(2026, 9, 2), child_id=c1.id,
        scope_path=c1.scope_path, residence_path=c1.residence_path,
        flagged_at=datetime(2026, 10, 3, tzinfo=UTC))
    session.add(change)
    await session.execute(update(Enrolment).where(Enrolment.child_id == c1.id)
                          .values(status=en.EnrolmentStatus.TRANSFERRED))
    await session.commit()
    page = await ledger(api, SUSPECTED, **DISTRICT)
    assert by_name(page, "reasons") == {"小1": ["TRANSFER_NOT_RECEIVED"], "小3": ["LONG_ABSENCE"]}
    only = await ledger(api, SUSPECTED, reason="TRANSFER_NOT_RECEIVED", **DISTRICT)
    assert set(by_name(only, "reasons")) == {"小1"}
    assert by_name(await ledger(api, SCHOOL_AGE, **DISTRICT))["小1"] == "SUSPECTED"
    # the receiving county confirms: the child leaves the suspected ledger by itself
    change.status = en.RegisterChangeStatus.RECEIVED
    await session.commit()
    assert set(by_name(await ledger(api, SUSPECTED, **DISTRICT), "reasons")) == {"小3"}
    assert by_name(await ledger(api, SCHOOL_AGE, **DISTRICT))["小1"] == "ELSEWHERE"


async def test_dropout_ledger_closes_entries_off_one_by_one(
    api: Api, session: AsyncSession
) -> None:
    await hand_counted(session)
    page = await ledger(api, DROPOUT, **DISTRICT)
    rows = {n["child"]["name"]: n for n in nodes(page)}
    assert set(rows) == {"小2", "小4"}
    assert (rows["小2"]["closed"], rows["小2"]["stage"], rows["小2"]["causeTitle"]) == (
        False, "DROPOUT_REPORTED", "家庭贫困")
    assert (rows["小4"]["closed"], rows["小4"]["closedOn"], rows["小4"]["closureReason"],
            rows["小4"]["closureTitle"]) == (True, "2026-10-20", "RETURNED", "复学")
    assert set(by_name(await ledger(api, DROPOUT, closed=True, **DISTRICT), "closed")) == {"小4"}
    assert set(by_name(await ledger(api, DROPOUT, closed=False, **DISTRICT), "closed")) == {"小2"}
    # by the first absence's date
    assert set(by_name(await ledger(api, DROPOUT, since="2026-09-25", **DISTRICT),
                       "closed")) == {"小2"}


async def test_the_ledgers_follow_the_case_operations(api: Api) -> None:
    """Report, mark, persuade, return: the child moves through the ledgers with no flag set."""
    child = await pupil_of_principal(api)

    async def status() -> str:
        page = await ledger(api, SCHOOL_AGE, user="principal")
        return str(next(n["status"] for n in nodes(page) if n["child"]["id"] == child))

    assert await status() == "ENROLLED"
    case = (await report(api, date(2026, 10, 28), user="principal", child=child))["case"]
    assert await status() == "SUSPECTED"
    suspected = await ledger(api, SUSPECTED, user="principal")
    assert child in {n["child"]["id"] for n in nodes(suspected)}
    marked = await api.gql("""mutation($c: ID!, $v: Int!) { markDropout(input: {caseId: $c,
        expectedVersion: $v}) { case { version } userErrors { code } } }""",
                           {"c": case["id"], "v": case["version"]}, user="principal")
    assert marked["markDropout"]["userErrors"] == []
    assert await status() == "DROPOUT"
    assert child not in {n["child"]["id"] for n in nodes(
        await ledger(api, SUSPECTED, user="principal"))}
    await api.gql("""mutation($c: ID!) { recordPersuasion(input: {caseId: $c, method: HOME_VISIT,
        outcome: REFUSED, attemptedAt: "2026-10-31T02:00:00Z"}) { userErrors { code } } }""",
                  {"c": case["id"]}, user="principal")
    entry = next(n for n in nodes(await ledger(api, DROPOUT, user="principal"))
                 if n["case"]["id"] == case["id"])
    assert (entry["closed"], entry["persuasionCount"], entry["persuasions"]) == (
        False, 1, [{"method": "HOME_VISIT", "outcome": "REFUSED"}])
    assert entry["persuasionSummary"] == "2026-10-31 家访 拒绝"
    version = (await api.gql("query($id: ID!) { node(id: $id) { ... on DropoutCase { version } } }",
                             {"id": case["id"]}, user="principal"))["node"]["version"]
    back = await api.gql("""mutation($c: ID!, $v: Int!) { recordReturn(input: {caseId: $c,
        expectedVersion: $v, returnedOn: "2026-11-02"}) { userErrors { code } } }""",
                         {"c": case["id"], "v": version}, user="principal")
    assert back["recordReturn"]["userErrors"] == []
    assert await status() == "RETURNED"
    entry = next(n for n in nodes(await ledger(api, DROPOUT, user="principal"))
                 if n["case"]["id"] == case["id"])
    assert (entry["closed"], entry["closureReason"], entry["closureTitle"]) == (
        True, "RETURNED", "复学")


async def test_each_office_reads_its_own_rows(api: Api, session: AsyncSession) -> None:
    await hand_counted(session)
    c7 = (await session.execute(select(Child).where(Child.name == "小7"))).scalar_one()
    session.add(ChildGroup(child_id=c7.id, group=en.SpecialGroup.REGISTERED_POOR))
    await session.commit()
    def ids(page: dict[str, Any]) -> set[str]:
        return {n["child"]["id"] for n in nodes(page)}

    def statuses(page: dict[str, Any]) -> list[str]:
        return sorted(n["status"] for n in nodes(page))

    # the inspectorate reads every row (its status, school, township), the child only under
    # a child read grant, which it has not
    bureau = await ledger(api, SCHOOL_AGE)
    everyone = ids(bureau)
    inspected = await ledger(api, SCHOOL_AGE, user="t_inspector")
    assert len(everyone) == 6 and inspected["totalCount"] == 6
    assert statuses(inspected) == statuses(bureau)
    assert all(n["child"] is None for n in nodes(inspected))
    assert set(by_name(await ledger(api, SCHOOL_AGE, user="t_township"))) == {"小1", "小2", "小3"}
    assert set(by_name(await ledger(api, SCHOOL_AGE, user="t_township_b"))) == {"小4", "小5", "小7"}
    # the poverty office reads only its households' rows (a poor household's child)
    poverty = await ledger(api, SCHOOL_AGE, user="t_poverty")
    assert poverty["totalCount"] == 1 and len(nodes(poverty)) == 1
    assert (await ledger(api, DROPOUT, user="t_poverty"))["totalCount"] == 0
    # a township's filter for another's children finds nothing it may not read
    other = await ledger(api, SCHOOL_AGE, user="t_township", jurisdictionCode="370499102")
    assert other["totalCount"] == 0
    missing = (await api.post(SCHOOL_AGE, {"f": {"jurisdictionCode": "379999"}},
                              user="t_edu")).json()
    assert missing["errors"][0]["extensions"]["code"] == "NOT_FOUND"


async def test_entries_are_masked_as_the_children_list(api: Api, session: AsyncSession) -> None:
    await hand_counted(session)
    await session.execute(update(Child).where(Child.name == "小1")
                          .values(national_id="370499201503010011"))
    await session.commit()

    def logged() -> Any:
        return select(func.count()).select_from(SensitiveAccess).where(
            SensitiveAccess.username == "t_edu", SensitiveAccess.field == "national_id")

    before = (await session.execute(logged())).scalar_one()
    raw = {n["child"]["name"]: n["child"]["nationalId"]
           for n in nodes(await ledger(api, SCHOOL_AGE, **DISTRICT))}
    assert raw["小1"] == {"value": "370499201503010011", "masked": False}
    assert (await session.execute(logged())).scalar_one() > before  # the raw read is logged
    # the inspectorate (ledger grants, no child read) sees the rows, never the child
    seen = nodes(await ledger(api, SCHOOL_AGE, user="t_inspector", **DISTRICT))
    assert len(seen) == 6 and all(n["child"] is None for n in seen)
    assert {n["townshipName"] for n in seen} == {n["townshipName"] for n in nodes(
        await ledger(api, SCHOOL_AGE, **DISTRICT))}


IDENTITY = """{ child { name address guardians { name } } }"""


async def test_a_child_the_reader_may_not_read_is_null_in_every_ledger(
    api: Api, session: AsyncSession
) -> None:
    """The inspectorate has the ledgers but no child read: no address, no guardians (the
    guardians' and enrolment loaders trust their caller); the bureau still sees them."""
    await hand_counted(session)
    for child in (await session.execute(select(Child))).scalars():
        child.address = f"{child.name}家住址"
        session.add(Guardian(child_id=child.id, name=f"{child.name}之父",
                             relation=en.GuardianRelation.FATHER))
    await session.commit()
    for field in ("schoolAgeLedger", "suspectedLedger", "dropoutLedger"):
        query = f"{{ {field}(first: 50) {{ totalCount edges {{ node {IDENTITY} }} }} }}"
        bureau = (await api.gql(query, user="t_edu"))[field]
        inspector = (await api.gql(query, user="t_inspector"))[field]
        assert bureau["totalCount"] > 0 and inspector["totalCount"] == bureau["totalCount"]
        assert all(n["child"]["address"] for n in nodes(bureau)), field
        assert all(n["child"]["guardians"] for n in nodes(bureau)), field
        assert all(n["child"] is None for n in nodes(inspector)), field
        shown = str(inspector)
        for n in nodes(bureau):
            assert n["child"]["address"] not in shown
            assert all(g["name"] not in shown for g in n["child"]["guardians"])


async def test_each_ledger_exports_its_columns_to_xlsx_and_csv(
    api: Api, session: AsyncSession
) -> None:
    await hand_counted(session)
    c7 = (await session.execute(select(Child).where(Child.name == "小7"))).scalar_one()
    session.add_all([ChildGroup(child_id=c7.id, group=en.SpecialGroup.LEFT_BEHIND),
                     ChildGroup(child_id=c7.id, group=en.SpecialGroup.REGISTERED_POOR)])
    await session.commit()
    headers = {"Authorization": f"Bearer {api.token('t_edu')}"}
    response = await api.client.post("/exports", headers=headers, json={
        "ledger": "school_age", "format": "xlsx", "filter": DISTRICT})
    assert response.status_code == 200, response.text
    sheet = CalamineWorkbook.from_filelike(io.BytesIO(response.content)).get_sheet_by_index(0)
    rows = sheet.to_python()
    assert rows[0][:4] == ["姓名", "性别", "出生日期", "身份证号"]
    assert rows[0][8] == "入学状态"
    assert len(rows) == 7  # the header and six school-age children
    sexes = {r[1] for r in rows[1:]}
    assert sexes and sexes <= {"男", "女"}, sexes  # an enum's value as its Chinese label
    assert rows[0][10] == "特殊群体"  # the groups as the county's sheet names them
    groups = {r[10] for r in rows[1:]}
    assert "留守儿童；建档立卡户" in groups and not any(g.isascii() and g for g in groups)
    assert {r[8] for r in rows[1:]} == {"在校就读", "辍学", "疑似辍学", "劝返复学", "缓学/免学",
                                        "未入学"}
    response = await api.client.post("/exports", headers=headers, json={
        "ledger": "dropout", "format": "csv", "filter": DISTRICT})
    assert response.status_code == 200
    lines = response.content.decode("utf-8-sig").splitlines()
    assert lines[0].split(",")[-3:] == ["是否销号", "销号日期", "销号原因"]
    assert len(lines) == 3 and any(line.endswith("是,2026-10-20,复学") for line in lines)
    bad = await api.client.post("/exports", headers=headers, json={"ledger": "nope"})
    assert bad.status_code == 400


async def test_the_calendar_runs_each_comparison_once(session: AsyncSession) -> None:
    """ST 2: the end-of-September and end-of-November comparisons, data per district."""

    async def runs() -> list[tuple[str, date]]:
        rows = await session.execute(select(CrosscheckRun.district_code, CrosscheckRun.as_of)
                                     .where(CrosscheckRun.trigger == "schedule")
                                     .order_by(CrosscheckRun.id))
        return [tuple(r) for r in rows]  # type: ignore[misc]

    await hand_counted(session)  # 370499: the default calendar, no comparisons of its own
    await scheduled_comparisons(session, datetime(2026, 9, 29, 2, tzinfo=UTC), TickReport())
    assert await runs() == []  # not yet
    for day in (30, 30):  # twice on the day: once
        await scheduled_comparisons(session, datetime(2026, 9, day, 2, tzinfo=UTC), TickReport())
    await scheduled_comparisons(session, datetime(2026, 10, 3, 2, tzinfo=UTC), TickReport())
    assert await runs() == [("370406", date(2026, 9, 30))]
    await scheduled_comparisons(session, datetime(2026, 11, 22, 2, tzinfo=UTC), TickReport())
    await scheduled_comparisons(session, datetime(2026, 11, 23, 2, tzinfo=UTC), TickReport())
    assert await runs() == [("370406", date(2026, 9, 30)), ("370406", date(2026, 11, 20))]
    # the November report of the comparison, opened once by the reports' job
    for _ in range(2):
        await open_reports(session, datetime(2026, 11, 25, 2, tzinfo=UTC), TickReport())
    made = (await session.execute(select(PeriodicReport.unit_name, PeriodicReport.due_on).where(
        PeriodicReport.kind == "comparison_november"))).all()
    assert [tuple(r) for r in made] == [("山亭区教育和体育局", date(2026, 11, 30))]
