"""Persisted queries (issue 19): the APQ protocol by the shipped manifest, and the planned
answers equal to the normal path's, byte for byte, for officers whose names are raw, masked
or mixed and whose cases are shown or withheld. On SQLite the planned statement does not
run: the hash runs the manifest text on the normal path, with the same answer."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import orjson
import pytest
import pytest_asyncio
from graphql import parse, validate
from sqlalchemy import func, literal, select, true
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api import persisted
from api.app import create_app
from api.settings import Settings
from authz.enforcer import Authorizer
from authz.masking import mask_name, mask_name_sql
from authz.policy import Rule, default_rules
from models.audit import AuditEvent
from models.case import CaseEvent, DropoutCase
from models.enums import AgencyKind, CaseStage, TaskStatus
from models.task import Task
from schema.root import build_schema
from tests.helpers import Api, Database, gid, report
from workflow import json_sql
from workflow.clock import FixedClock
from workflow.infra import reference_json

OFFICERS = ("edu_officer", "township_officer", "head_teacher", "principal", "village_officer",
            "police_officer", "judicial_officer", "admin")


def _operation(name: str) -> tuple[str, str]:
    text = reference_json.path(f"persisted/{name}.graphql").read_text(encoding="utf-8")
    return text, hashlib.sha256(text.encode()).hexdigest()


def _by_hash(digest: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"variables": variables,
            "extensions": {"persistedQuery": {"version": 1, "sha256Hash": digest}}}


def test_the_manifest_hashes_its_files_and_each_operation_is_valid() -> None:
    manifest = persisted.load_manifest()
    assert {op.name for op in manifest.values()} == {
        "AgencyQueue", "CaseTimeline", "RecordPersuasion"}
    schema = build_schema()._schema
    for digest, op in manifest.items():
        assert hashlib.sha256(op.text.encode()).hexdigest() == digest
        assert validate(schema, parse(op.text)) == [], op.name


async def test_the_sql_mask_is_mask_name(database: Database, session: AsyncSession) -> None:
    if not database.is_postgres:
        pytest.skip("the planned statements are PostgreSQL's")
    for name in ("", "张", "张伟", "欧阳娜娜", "Li Lei", "𠀀𠀁x"):
        shown = (await session.execute(select(
            mask_name_sql(literal(name), unmasked=~true())))).scalar_one()
        assert shown == mask_name(name), name


@pytest_asyncio.fixture
async def mixed(database: Database, sessions: async_sessionmaker[AsyncSession],
                settings_factory: Callable[[str], Settings]) -> AsyncIterator[Api]:
    """An app whose policy gives masked and mixed answers on the task page: the judicial
    bureau may read its tasks (never the names of cases before referral, nor those cases),
    the police's name grant is denied from a late stage on (raw before), and the tasks span
    cases at several stages, a task without a case, and case events with and without
    microseconds."""
    rules = default_rules()
    clock = FixedClock(datetime(2026, 11, 2, 8, 0, tzinfo=UTC))
    api = Api(httpx.AsyncClient(), settings_factory(database.url))
    authz = Authorizer(rules)
    app = create_app(api.settings, engine=database.engine, sessions=sessions, clock=clock,
                     authz=authz, check_schema=False)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://testserver") as client:
        api.client = client
        day0 = clock.now().date() - timedelta(days=8)
        children = (await api.gql("{ children(first: 3) { edges { node { id } } } }",
                                  user="principal"))["children"]["edges"]
        for child in children:
            await report(api, day0, child=child["node"]["id"])
        async with sessions() as s:
            cases = list((await s.execute(select(DropoutCase).order_by(DropoutCase.id)))
                         .scalars())
            cases[0].stage, cases[0].stage_rank = (CaseStage.REFERRED_TO_JUDICIAL,
                                                   CaseStage.REFERRED_TO_JUDICIAL.ordinal)
            for i, c in enumerate(cases):
                for kind in (AgencyKind.JUDICIAL, AgencyKind.POLICE):
                    s.add(Task(kind="review", title=f"审查{i}", case_id=c.id, agency_kind=kind,
                               scope_path=c.scope_path, due_on=day0 + timedelta(days=i),
                               priority=2, status=TaskStatus.OPEN, evidence={}))
                s.add(CaseEvent(case_id=c.id, kind="note", actor_username="edu_officer",
                                occurred_at=datetime(2026, 11, 1, 9, 30, 5, 120000, tzinfo=UTC),
                                reason="微秒", data={}, from_stage=CaseStage.REPORTED,
                                to_stage=None))
            s.add(Task(kind="note", title="无案件", case_id=None, agency_kind=AgencyKind.POLICE,
                       scope_path=cases[0].scope_path, due_on=day0, priority=1,
                       status=TaskStatus.CLAIMED, evidence={}))
            await s.commit()
        rules.extend([
            Rule("judicial_officer", "*", "task", "read", "*", "allow"),
            # From a stage on, a deny term in the compiled filter: masked for the one referred case.
            Rule("police_officer", "*", "field:name", "unmask", "referred_to_judicial", "deny"),
        ])
        authz.reload(rules, version=2)
        api.scratch["cases"] = [gid("DropoutCase", c.id) for c in cases]
        yield api


async def _both(api: Api, name: str, variables: dict[str, Any] | None, user: str,
                ) -> tuple[httpx.Response, httpx.Response]:
    text, digest = _operation(name)
    headers = {"Authorization": f"Bearer {api.token(user)}"}
    normal = await api.client.post("/graphql", json={"query": text, "variables": variables},
                                   headers=headers)
    by_hash = await api.client.post("/graphql", json=_by_hash(digest, variables),
                                    headers=headers)
    return normal, by_hash


@pytest.fixture
def planned(database: Database, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The planned statements run (their SQL), to prove the persisted answer was not the
    normal path's on PostgreSQL."""
    ran: list[str] = []
    fetch = json_sql.fetch_text

    async def recording(session: AsyncSession, sql: str, *args: Any) -> str | None:
        ran.append(sql)
        return await fetch(session, sql, *args)

    monkeypatch.setattr(persisted, "fetch_text", recording)
    return ran


async def test_the_task_page_by_hash_is_the_normal_page_byte_for_byte(
    mixed: Api, database: Database, planned: list[str]
) -> None:
    seen: dict[str, Any] = {}
    for user in OFFICERS:
        for variables in ({"first": 50}, None, {"first": 2}, {"first": 0}):
            normal, by_hash = await _both(mixed, "AgencyQueue", variables, user)
            assert normal.status_code == by_hash.status_code == 200
            assert normal.content == by_hash.content, (user, variables)
            seen.setdefault(user, normal.json()["data"]["agencyQueue"])
    names = {e["node"]["child"]["name"] for e in seen["judicial_officer"]["edges"]}
    assert any("*" in n for n in names) and any("*" not in n for n in names), names
    assert {e["node"]["case"] is None for e in seen["judicial_officer"]["edges"]} == {True, False}
    police = [e["node"]["child"] for e in seen["police_officer"]["edges"]]
    assert None in police, "the task without a case"
    police_names = {c["name"] for c in police if c}
    assert any("*" in n for n in police_names) and any("*" not in n for n in police_names)
    assert seen["admin"] == {"totalCount": 0, "edges": []}
    assert bool(planned) is database.is_postgres


async def test_the_case_timeline_by_hash_is_the_normal_answer(
    mixed: Api, database: Database, planned: list[str]
) -> None:
    first = mixed.scratch["cases"][0]
    for user in ("edu_officer", "judicial_officer", "police_officer", "head_teacher"):
        for case in mixed.scratch["cases"]:
            normal, by_hash = await _both(mixed, "CaseTimeline", {"id": case}, user)
            assert normal.content == by_hash.content, (user, case)
    body = (await _both(mixed, "CaseTimeline", {"id": first}, "edu_officer"))[0].json()
    assert ".120000+00:00" in str(body["data"]["node"]["timeline"])
    withheld = (await _both(mixed, "CaseTimeline", {"id": mixed.scratch["cases"][1]},
                            "judicial_officer"))[1].json()
    assert withheld == {"data": {"node": None}}
    # Ids the plan does not answer go to the normal path, with the same answers.
    for other in (gid("Child", 1), "bm9wZQ==", gid("DropoutCase", 2**40)):
        normal, by_hash = await _both(mixed, "CaseTimeline", {"id": other}, "edu_officer")
        assert normal.content == by_hash.content, other
    assert bool(planned) is database.is_postgres


async def test_a_page_beyond_the_cap_is_refused_alike(mixed: Api) -> None:
    normal, by_hash = await _both(mixed, "AgencyQueue", {"first": 10_000}, "edu_officer")
    assert normal.content == by_hash.content and by_hash.json()["errors"]


@pytest.fixture
def planned_writes(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The planned mutations' transactions (the resolvers' go through schema.mutation's
    own reference), to prove a persisted persuasion did not run on the normal path."""
    ran: list[str] = []
    transact = persisted.transact

    async def recording(ctx: Any, operation: Any, bus: Any, on_retry: Any = None) -> Any:
        ran.append(ctx.principal.username)
        return await transact(ctx, operation, bus, on_retry)

    monkeypatch.setattr(persisted, "transact", recording)
    return ran


async def test_a_persuasion_by_hash_is_the_normal_answer(
    mixed: Api, sessions: async_sessionmaker[AsyncSession], planned_writes: list[str]
) -> None:
    """RecordPersuasion by hash calls its service without GraphQL execution: the same
    bytes as the text, the same rows written (an attempt, its case event, an audit row), the
    same userErrors rolled back; an input the plan does not take as it is, a refusal that
    is no userError and GET all go to the normal path."""
    case = mixed.scratch["cases"][1]

    async def written() -> tuple[int, int]:
        async with sessions() as s:
            events = await s.scalar(select(func.count()).select_from(CaseEvent).where(
                CaseEvent.kind == "persuasion"))
            audits = await s.scalar(select(func.count()).select_from(AuditEvent))
        return int(events or 0), int(audits or 0)

    def persuasion(**change: Any) -> dict[str, Any]:
        given = {"caseId": case, "method": "PHONE", "outcome": "UNREACHABLE",
                 "attemptedAt": "2026-11-01T08:00:00Z", "participants": "班主任",
                 "note": "电话无人接听"}
        return {"input": {k: v for k, v in {**given, **change}.items() if v is not ...}}

    before = await written()
    normal, by_hash = await _both(mixed, "RecordPersuasion", persuasion(), "head_teacher")
    assert normal.content == by_hash.content == (
        b'{"data":{"recordPersuasion":{"userErrors":[]}}}')
    events, audits = await written()
    assert events == before[0] + 2 and audits >= before[1] + 2
    assert planned_writes == ["head_teacher"]
    # The service's userErrors, rolled back on both sides.
    future = persuasion(attemptedAt="2030-01-01T08:00:00+08:00")
    normal, by_hash = await _both(mixed, "RecordPersuasion", future, "head_teacher")
    assert normal.content == by_hash.content
    assert by_hash.json()["data"]["recordPersuasion"]["userErrors"][0]["code"] == "BAD_INPUT"
    assert (await written())[0] == events and len(planned_writes) == 2
    # A case the caller may not see is absent (a userError); a case it sees but may not
    # persuade on is refused without one (FORBIDDEN, tried planned, rolled back, answered by
    # the normal path). Nothing written either way.
    normal, by_hash = await _both(mixed, "RecordPersuasion", persuasion(), "judicial_officer")
    assert normal.content == by_hash.content
    assert by_hash.json()["data"]["recordPersuasion"]["userErrors"][0]["code"] == "NOT_FOUND"
    normal, by_hash = await _both(mixed, "RecordPersuasion", persuasion(), "police_officer")
    assert normal.content == by_hash.content
    assert by_hash.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert (await written())[0] == events
    # Inputs the plan leaves to the normal path, answered alike: defaults, a time without an
    # offset, an unknown method, another type's id, an oversized note, a null, an extra key.
    planned_before = len(planned_writes)
    for variables in (persuasion(participants=..., note=...),
                      persuasion(attemptedAt="2026-11-01T08:00:00"),
                      persuasion(method="CARRIER_PIGEON"), persuasion(caseId=gid("Child", 1)),
                      persuasion(note="长" * 4001), persuasion(note=None),
                      persuasion(expectedVersion=1), {"input": "x"}):
        normal, by_hash = await _both(mixed, "RecordPersuasion", variables, "head_teacher")
        assert normal.content == by_hash.content, variables
    assert len(planned_writes) == planned_before + 1, "only the one with defaults is planned"
    # A mutation over GET is the normal path's 405, by hash too.
    _, digest = _operation("RecordPersuasion")
    got = await mixed.client.get("/graphql", params={
        "extensions": f'{{"persistedQuery":{{"version":1,"sha256Hash":"{digest}"}}}}',
        "variables": orjson.dumps(persuasion()).decode()},
        headers={"Authorization": f"Bearer {mixed.token('head_teacher')}"})
    assert got.status_code == 405 and len(planned_writes) == planned_before + 1


async def test_a_planned_persuasion_failing_after_its_write_is_not_run_again(
    mixed: Api, sessions: async_sessionmaker[AsyncSession], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A failure in or after the commit may leave the write kept: the planned mutation is
    then not handed to the normal path (which would record the attempt a second time); the
    endpoint answers the fault with its code."""
    import workflow.case as case_service

    record = case_service.record_persuasion

    async def then_fail(ctx: Any, **kwargs: Any) -> Any:
        attempt = await record(ctx, **kwargs)

        async def hook() -> None:
            raise RuntimeError("after the commit")

        ctx.after_commit.append(hook)
        return attempt

    monkeypatch.setattr(case_service, "record_persuasion", then_fail)

    async def persuasions() -> int:
        async with sessions() as s:
            return int(await s.scalar(select(func.count()).select_from(CaseEvent).where(
                CaseEvent.kind == "persuasion")) or 0)

    before = await persuasions()
    _, digest = _operation("RecordPersuasion")
    response = await mixed.client.post("/graphql", json=_by_hash(digest, {"input": {
        "caseId": mixed.scratch["cases"][1], "method": "PHONE", "outcome": "UNREACHABLE",
        "attemptedAt": "2026-11-01T08:00:00Z"}}), headers={
        "Authorization": f"Bearer {mixed.token('head_teacher')}"})
    assert response.status_code == 500
    assert response.json()["errors"][0]["extensions"]["code"] == "INTERNAL"
    assert await persuasions() == before + 1, "recorded once, not again by the normal path"


async def test_the_protocol(api: Api) -> None:
    headers = {"Authorization": f"Bearer {api.token('edu_officer')}"}

    async def send(body: dict[str, Any]) -> dict[str, Any]:
        response = await api.client.post("/graphql", json=body, headers=headers)
        assert response.status_code == 200
        result: dict[str, Any] = response.json()
        return result

    def code(body: dict[str, Any]) -> str:
        return str(body["errors"][0]["extensions"]["code"])

    own = "{ me { username } }"
    own_hash = hashlib.sha256(own.encode()).hexdigest()
    assert code(await send(_by_hash(own_hash))) == "PERSISTED_QUERY_NOT_FOUND"
    # A text with its right hash runs, but registers nothing: only the manifest is known.
    answered = await send({"query": own, **_by_hash(own_hash)})
    assert answered == {"data": {"me": {"username": "edu_officer"}}}
    assert code(await send(_by_hash(own_hash))) == "PERSISTED_QUERY_NOT_FOUND"
    assert code(await send({"query": own, **_by_hash("0" * 64)})) == "PERSISTED_QUERY_INVALID"
    for bad in ({"version": 2, "sha256Hash": own_hash}, {"version": 1}, "x"):
        assert code(await send({"extensions": {"persistedQuery": bad}})) == (
            "PERSISTED_QUERY_INVALID"), bad
    # Over GET too (a CDN may cache those), and with graphql-response+json a 400.
    _, digest = _operation("AgencyQueue")
    got = await api.client.get("/graphql", params={
        "extensions": f'{{"persistedQuery":{{"version":1,"sha256Hash":"{digest}"}}}}',
        "variables": '{"first":3}'}, headers=headers)
    assert got.status_code == 200 and "agencyQueue" in got.json()["data"]
    refused = await api.client.post("/graphql", json=_by_hash(own_hash), headers={
        **headers, "Accept": "application/graphql-response+json"})
    assert refused.status_code == 400
