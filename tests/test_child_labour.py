"""Child-labour inspections end to end over HTTP: an inspection finds two children at one
employer; each agency's tasks, documents and view; the return order's deadline passes and the
penalty escalates; a retried finding is recorded once; bad codes are refused with nothing
written."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from authz.enforcer import Authorizer
from models.case import DropoutCase
from models.child import Child
from models.enforcement import EnforcementAction
from models.enums import CaseStatus, EnforcementStatus
from models.finding import LabourFinding
from models.task import Task
from tests.helpers import (
    CREDIT_CODE,
    FINDING,
    ISSUE,
    LABOUR_DAY,
    REGISTER,
    Api,
    finding_input,
    gid,
    labour_setup,
    payload_of,
    scratch_postgres,
)
from workflow import employer as employers
from workflow import engine, finding
from workflow.clock import FixedClock
from workflow.context import ServiceContext
from workflow.jobs import SCHEDULED_JOBS
from workflow.user import load_principal

TODAY = LABOUR_DAY  # the day of the inspection
CODE = CREDIT_CODE  # the employer labour_setup registers
SERVE = """mutation($a: ID!, $on: Date!) { serveEnforcementAction(input: {actionId: $a,
  servedOn: $on, method: IN_PERSON, servedTo: "张某 本人签收"}) { action { id status dueOn
  servedOn } userErrors { code: errorCode field message } } }"""
FINE_TASKS = ("labour_penalty_review", "labour_overdue_fine")
QUEUE = """{ agencyQueue(first: 50) { edges { node { kind dueOn status } } } }"""
INSPECTION = """query($id: ID!) { node(id: $id) { ... on Inspection { status findings { id }
  enforcementActions { kind status } progress { agencyKind open done overdue nextDueOn } } } }"""


async def _queue(api: Api, user: str) -> list[dict[str, Any]]:
    data = await api.gql(QUEUE, user=user)
    return [e["node"] for e in data["agencyQueue"]["edges"]]


async def test_inspection_finds_two_children_and_the_penalty_escalates(
    api: Api, sessions: async_sessionmaker[AsyncSession], clock: FixedClock
) -> None:
    state = await labour_setup(api, sessions)
    findings = []
    for i in range(2):
        f = payload_of(
            await api.gql(
                FINDING,
                {"in": finding_input(state, i, f"patrol-2026-11-02-{i}")},
                user="police_officer",
            )
        )["finding"]
        assert f["under16"] and f["onRegister"]
        assert f["nationalId"]["masked"] is False  # police hold household registers (ST 8)
        assert f["case"] is None  # police see dropout cases only from the dropout report on
        findings.append(f)

    # Each finding opened the child's dropout case, so persuasion and enrolment follow.
    async with sessions() as s:
        cases = (
            (
                await s.execute(
                    select(DropoutCase).where(
                        DropoutCase.child_id.in_([k.id for k in state["kids"]]),
                        DropoutCase.status == CaseStatus.OPEN,
                    )
                )
            )
            .scalars()
            .all()
        )
        assert len(cases) == 2
        tasks = (await s.execute(select(Task).where(Task.finding_id.is_not(None)))).scalars().all()
    due = {(t.agency_kind.value, t.kind): t.due_on for t in tasks}
    assert due == {
        ("human_resources", "labour_return_order"): TODAY + timedelta(days=1),
        ("human_resources", "labour_penalty_review"): TODAY + timedelta(days=15),
        ("civil_affairs", "labour_assistance_check"): TODAY + timedelta(days=7),
        ("school", "labour_enrolment"): TODAY + timedelta(days=7),
    }
    assert len(tasks) == 8

    # Each agency's queue holds its own part, with its due dates.
    # 山亭 follows the national rule: the labour department orders the return and fines
    # (禁止使用童工规定 art. 6); market supervision has nothing to do yet.
    hr = [t for t in await _queue(api, "hr_officer") if t["kind"].startswith("labour_")]
    assert sorted((t["kind"], t["dueOn"]) for t in hr) == [
        ("labour_penalty_review", "2026-11-17"),
        ("labour_penalty_review", "2026-11-17"),
        ("labour_return_order", "2026-11-03"),
        ("labour_return_order", "2026-11-03"),
    ]
    market = [t for t in await _queue(api, "market_officer") if t["kind"].startswith("labour_")]
    assert market == []
    civil = [t for t in await _queue(api, "civil_affairs") if t["kind"].startswith("labour_")]
    assert [t["dueOn"] for t in civil] == ["2026-11-09"] * 2

    # The education bureau sees the cases with the findings linked.
    case_view = await api.gql(
        """query($id: ID!) { node(id: $id) { ... on DropoutCase { stage findings { id work
        nationalId { masked } employer { name } } tasks { kind
        agency: agencyKind } timeline { kind } } } }""",
        {"id": gid("DropoutCase", cases[0].id)},
    )
    node = case_view["node"]
    assert node["findings"][0]["employer"]["name"] == "山亭区张记餐馆"
    assert node["findings"][0]["nationalId"]["masked"] is False
    assert "labour_finding" in {e["kind"] for e in node["timeline"]}

    # Human resources orders the children returned: one numbered order naming both.
    order = payload_of(
        await api.gql(
            ISSUE,
            {
                "kind": "RETURN_ORDER",
                "e": state["employer"]["id"],
                "f": [f["id"] for f in findings],
            },
            user="hr_officer",
        )
    )
    order = order["action"]
    assert order["deadlineDays"] == 7 and order["status"] == "ISSUED"
    assert order["document"]["number"] == "山人社童返〔2026〕1号"
    body = order["document"]["body"]
    assert "7日内" in body and "全部由你单位承担" in body
    for kid in state["kids"]:
        assert kid.national_id not in body and kid.name not in body  # the employer sees masks
    hr = [t for t in await _queue(api, "hr_officer") if t["kind"] == "labour_return_order"]
    assert [t["status"] for t in hr] == ["DONE", "DONE"]  # issuing the order did them
    hr = [t for t in await _queue(api, "hr_officer") if t["kind"] == "labour_penalty_review"]
    assert [t["status"] for t in hr] == ["OPEN", "OPEN"]  # a return order is no fine
    served = payload_of(
        await api.gql(SERVE, {"a": order["id"], "on": "2026-11-02"}, user="hr_officer")
    )["action"]
    assert served["dueOn"] == "2026-11-09"

    # Market supervision cannot yet revoke the licence: nothing serious has happened.
    early = await api.gql(
        ISSUE,
        {"kind": "LICENCE_REVOCATION", "e": state["employer"]["id"], "f": []},
        user="market_officer",
    )
    assert early["issueEnforcementAction"]["userErrors"][0]["code"] == "WRONG_STAGE"

    # The deadline passes without compliance: the scheduler escalates, once.
    clock.advance(days=8)
    escalated = []
    for _ in range(2):
        async with sessions() as s:
            report = await engine.tick(s, clock.now(), SCHEDULED_JOBS)
            await s.commit()
        escalated.append(report.orders_escalated)
    assert escalated == [1, 0]
    view = await api.gql(INSPECTION, {"id": state["inspection"]["id"]}, user="hr_officer")
    actions = view["node"]["enforcementActions"]
    assert actions == [{"kind": "RETURN_ORDER", "status": "OVERDUE"}]
    market = [
        t for t in await _queue(api, "market_officer") if t["kind"] == "labour_licence_review"
    ]
    assert len(market) == 2
    hr = [t for t in await _queue(api, "hr_officer") if t["kind"] == "labour_overdue_fine"]
    assert len(hr) == 2

    # Outside 根河 market supervision does not fine: the rule gives fines to the labour
    # department (art. 6), and GH 二(七) binds 根河 only.
    refused = await api.post(
        ISSUE,
        {"kind": "FINE", "e": state["employer"]["id"], "f": [f["id"] for f in findings]},
        user="market_officer",
    )
    assert refused.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"

    # The fine now counts the ignored deadline at the higher rate (禁止使用童工规定 art. 6).
    fine = payload_of(
        await api.gql(
            ISSUE,
            {"kind": "FINE", "e": state["employer"]["id"], "f": [f["id"] for f in findings]},
            user="hr_officer",
        )
    )["action"]
    assert fine["document"]["number"].startswith("山人社罚〔2026〕")
    # Only the issuing agency carries a fine on, though the policy lets both agencies fine.
    settle = await api.post(
        """mutation($a: ID!) { recordFinePayment(input: {actionId: $a, paidOn: "2026-11-10"})
        { action { id } userErrors { code: errorCode } } }""",
        {"a": fine["id"]},
        user="market_officer",
    )
    assert settle.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    # 45 days worked: 2 months × 5,000; 1 month overdue × 10,000; two children.
    assert fine["amount"] == 2 * (2 * 5000 + 1 * 10000)
    assert fine["calculation"]["children"][0]["overdue_months"] == 1
    assert "逾期未送回1个月，每月10000元" in fine["document"]["body"]
    assert "罚款人民币40000元" in fine["document"]["body"]
    revoke = payload_of(
        await api.gql(
            ISSUE,
            {"kind": "LICENCE_REVOCATION", "e": state["employer"]["id"], "f": []},
            user="market_officer",
        )
    )["action"]
    payload_of(await api.gql(SERVE, {"a": revoke["id"], "on": "2026-11-10"}, user="market_officer"))
    employer = await api.gql(
        "query($id: ID!) { node(id: $id) { ... on Employer { licenceStatus "
        "enforcementActions { kind status } } } }",
        {"id": state["employer"]["id"]},
        user="market_officer",
    )
    assert employer["node"]["licenceStatus"] == "REVOKED"
    assert {(a["kind"], a["status"]) for a in employer["node"]["enforcementActions"]} == {
        ("RETURN_ORDER", "OVERDUE"),
        ("FINE", "ISSUED"),
        ("LICENCE_REVOCATION", "SERVED"),
    }
    market = [t for t in await _queue(api, "market_officer") if t["kind"].startswith("labour_")]
    assert {t["status"] for t in market} == {"DONE"}  # the revocation did them
    hr = [t for t in await _queue(api, "hr_officer") if t["kind"] in FINE_TASKS]
    assert {t["status"] for t in hr} == {"DONE"}  # the fine did the reviews and overdue fines

    # Roll-up: each agency's part of the inspection.
    view = await api.gql(INSPECTION, {"id": state["inspection"]["id"]}, user="hr_officer")
    parts = {p["agencyKind"]: p for p in view["node"]["progress"]}
    # Return orders, penalty reviews and overdue fines done; the compliance checks overdue.
    assert parts["HUMAN_RESOURCES"]["done"] == 6 and parts["HUMAN_RESOURCES"]["overdue"] == 2
    assert parts["MARKET_SUPERVISION"]["done"] == 2  # licence reviews
    assert parts["CIVIL_AFFAIRS"]["open"] == 2 and parts["CIVIL_AFFAIRS"]["overdue"] == 2
    assert parts["SCHOOL"]["open"] == 2

    # Each agency's view is only its part.
    market_view = await api.gql(
        "{ findings(first: 10) { edges { node { childName { value masked }"
        " nationalId { value masked } case { id } } } } }",
        user="market_officer",
    )
    for edge in market_view["findings"]["edges"]:
        node = edge["node"]
        assert node["nationalId"]["masked"] is True
        assert node["nationalId"]["value"] not in {k.national_id for k in state["kids"]}
        assert node["case"] is None
    market_cases = await api.gql("{ cases(first: 1) { totalCount } }", user="market_officer")
    assert market_cases["cases"]["totalCount"] == 0
    judicial = await api.gql("{ findings(first: 10) { totalCount } }", user="judicial_officer")
    assert judicial["findings"]["totalCount"] == 0
    for query in (
        "{ employers(first: 1) { totalCount } }",
        "{ inspections(first: 1) { totalCount } }",
        "{ enforcementActions(first: 1) { totalCount } }",
    ):
        errors = await api.post(query, user="judicial_officer")
        body = errors.json()
        assert body.get("errors") or next(iter(body["data"].values()))["totalCount"] == 0
    hr_view = await api.gql(
        "{ findings(first: 10) { edges { node { nationalId { masked } } } } }", user="hr_officer"
    )
    assert all(e["node"]["nationalId"]["masked"] for e in hr_view["findings"]["edges"])
    refused = await api.post(
        ISSUE,
        {"kind": "FINE", "e": state["employer"]["id"], "f": [findings[0]["id"]]},
        user="police_officer",
    )
    assert refused.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_a_retried_finding_is_recorded_once(
    api: Api, sessions: async_sessionmaker[AsyncSession]
) -> None:
    state = await labour_setup(api, sessions)
    payload = {"in": finding_input(state, 0, "retry-key-0001")}
    first = payload_of(await api.gql(FINDING, payload, user="police_officer"))["finding"]
    again = payload_of(await api.gql(FINDING, payload, user="police_officer"))["finding"]
    assert again["id"] == first["id"]
    async with sessions() as s:
        count = (await s.execute(select(func.count()).select_from(LabourFinding))).scalar_one()
        tasks = (
            await s.execute(
                select(func.count()).select_from(Task).where(Task.finding_id.is_not(None))
            )
        ).scalar_one()
    assert count == 1 and tasks == 4
    changed = {"in": finding_input(state, 0, "retry-key-0001", work="搬运")}
    reused = (await api.gql(FINDING, changed, user="police_officer"))["recordFinding"]
    assert reused["userErrors"][0]["code"] == "IDEMPOTENCY_KEY_REUSED"


async def test_bad_codes_are_refused_and_nothing_is_written(
    api: Api, sessions: async_sessionmaker[AsyncSession]
) -> None:
    bad = CODE[:-1] + ("0" if CODE[-1] != "0" else "1")
    data = await api.gql(REGISTER, {"code": bad, "township": "370406100"}, user="hr_officer")
    errors = data["registerEmployer"]["userErrors"]
    assert (
        errors and errors[0]["code"] == "INVALID_CREDIT_CODE" and errors[0]["field"] == "creditCode"
    )
    data = await api.gql(
        REGISTER, {"code": "91370406MA3C8Q2XIO", "township": "370406100"}, user="hr_officer"
    )
    assert data["registerEmployer"]["userErrors"][0]["code"] == "INVALID_CREDIT_CODE"

    state = await labour_setup(api, sessions)
    kid = state["kids"][0].national_id
    wrong = kid[:-1] + ("0" if kid[-1] != "0" else "1")
    for number in (wrong, "37040620101301123X", "12345"):
        data = await api.gql(
            FINDING,
            {"in": finding_input(state, 0, f"bad-id-{number}", nationalId=number)},
            user="police_officer",
        )
        err = data["recordFinding"]["userErrors"]
        assert err[0]["code"] == "INVALID_ID_NUMBER" and err[0]["field"] == "nationalId"
    async with sessions() as s:
        assert (await s.execute(select(func.count()).select_from(LabourFinding))).scalar_one() == 0
        assert (
            await s.execute(
                select(func.count()).select_from(Task).where(Task.finding_id.is_not(None))
            )
        ).scalar_one() == 0
        visits = (
            await s.execute(
                select(func.count())
                .select_from(DropoutCase)
                .where(
                    DropoutCase.child_id == state["kids"][0].id,
                    DropoutCase.status == CaseStatus.OPEN,
                )
            )
        ).scalar_one()
    assert visits == 0


async def test_a_child_not_on_the_register_is_recorded_and_the_township_identifies_them(
    api: Api, sessions: async_sessionmaker[AsyncSession]
) -> None:
    state = await labour_setup(api, sessions)

    async def unregistered(key: str, name: str, age: int) -> dict[str, Any]:
        """A finding of a child without an ID number, recorded by the police."""
        given = finding_input(state, 0, key, nationalId=None, childName=name, age=age)
        return payload_of(await api.gql(FINDING, {"in": given}, user="police_officer"))["finding"]

    data = await unregistered("no-id-child-01", "小李", 13)
    assert data["onRegister"] is False and data["case"] is None and data["under16"]
    async with sessions() as s:
        kinds = {
            (t.agency_kind.value, t.kind)
            for t in (await s.execute(select(Task).where(Task.finding_id.is_not(None)))).scalars()
        }
    assert ("township", "labour_enrolment") in kinds
    older = await unregistered("no-id-child-02", "小王", 16)
    assert older["under16"] is False and older["tasks"] == []


async def test_the_demo_county_has_a_campaign_under_way(
    session: AsyncSession, authorizer: Authorizer, clock: FixedClock
) -> None:
    from workflow.demo import labour

    assert await labour.seed_demo_labour(session, authorizer, clock.now()) == 6
    action = (await session.execute(select(EnforcementAction))).scalar_one()
    assert action.status is EnforcementStatus.SERVED and action.due_on is not None
    finding = (await session.execute(select(LabourFinding))).scalar_one()
    assert finding.case_id is not None and finding.under_16


async def test_concurrent_retries_record_one_finding(
    tmp_path: Path, authorizer: Authorizer
) -> None:
    """Eight copies of one request race on PostgreSQL: one finding, one set of tasks."""
    async with scratch_postgres(tmp_path, children=60) as db:
        clock = FixedClock(datetime(2026, 11, 2, 2, tzinfo=UTC))
        async with AsyncSession(db, expire_on_commit=False) as s:
            hr = await load_principal(s, "hr_officer")
            police = await load_principal(s, "police_officer")
            assert hr is not None and police is not None
            township = (await s.execute(select(Child.township_code).limit(1))).scalar_one()
            pupil = (
                await s.execute(
                    select(Child)
                    .where(
                        Child.national_id.is_not(None),
                        Child.birth_date > date(2011, 1, 1),
                    )
                    .limit(1)
                )
            ).scalar_one()
            employer = await employers.register(
                ServiceContext(s, hr, authorizer, clock),
                credit_code=CODE,
                name="某某餐馆",
                address="某路1号",
                township_code=township,
            )
            await s.commit()

        data = finding.FindingIn(
            employer_id=employer.id,
            found_on=TODAY,
            work="传菜",
            national_id=pupil.national_id,
            idempotency_key="race-0000-0001",
        )

        async def attempt() -> int:
            async with AsyncSession(db, expire_on_commit=False) as s:
                row = await finding.record(ServiceContext(s, police, authorizer, clock), data)
                await s.commit()
                return row.id

        ids = await asyncio.gather(*(attempt() for _ in range(8)))
        assert len(set(ids)) == 1
        async with AsyncSession(db) as s:
            count = (await s.execute(select(func.count()).select_from(LabourFinding))).scalar_one()
            tasks = (
                await s.execute(
                    select(func.count()).select_from(Task).where(Task.finding_id.is_not(None))
                )
            ).scalar_one()
        assert (count, tasks) == (1, 4)


async def test_a_campaign_is_seen_only_by_those_who_see_inspections(api: Api) -> None:
    created = await api.gql(
        """mutation { createCampaign(input: {name: "寒假童工专项检查", startsOn: "2027-01-20",
        endsOn: "2027-02-20"}) { campaign { id } userErrors { code: errorCode } } }""",
        user="hr_officer",
    )
    gid = created["createCampaign"]["campaign"]["id"]
    query = "query($id: ID!) { node(id: $id) { ... on InspectionCampaign { name } } }"
    seen = await api.gql(query, {"id": gid}, user="market_officer")
    assert seen["node"] == {"name": "寒假童工专项检查"}
    unseen = await api.gql(query, {"id": gid}, user="judicial_officer")
    assert unseen["node"] is None
