"""The police household-register clean-up (issue 15, ST 8) over HTTP: each kind of
correction, the tasks going to exactly the agencies holding the person, applying them (the
register follows, the agencies' base records are marked), withdrawal, the door-to-door
``confirm_death`` task completed by a DECEASED correction, the clean-up list set-based, and
the input refused with its code."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from models.audit import AuditEvent
from models.case import DropoutCase
from models.child import Child
from models.enums import AgencyKind
from models.household import HouseholdCorrection
from models.imports import BaseRecord, ImportSource
from models.task import Task
from tests.helpers import (
    Api,
    Database,
    counting,
    enrolled_children,
    gid,
    listed,
    payload_of,
    pupil_of_principal,
    report,
)
from workflow.infra import id_number


def _answer(data: dict[str, Any]) -> dict[str, Any]:
    """A mutation's payload, user errors and all."""
    payload: dict[str, Any] = next(iter(data.values()))
    return payload

CORRECTION = """correction { id kind status version name nationalId { value masked }
  baseRecordId child { id enrolment { status } } }
  userErrors { code field message }"""
RECORD = f"""mutation($in: RecordHouseholdCorrectionInput!) {{
  recordHouseholdCorrection(input: $in) {{ {CORRECTION} }} }}"""
RECORD_LIST = """mutation($in: RecordHouseholdCorrectionsInput!) {
  recordHouseholdCorrections(input: $in) { batch { recorded tasksOpened deathsConfirmed
  correctionIds } userErrors { code field message } } }"""
WITHDRAW = f"""mutation($in: WithdrawHouseholdCorrectionInput!) {{
  withdrawHouseholdCorrection(input: $in) {{ {CORRECTION} }} }}"""
APPLY = f"""mutation($in: ApplyHouseholdCorrectionInput!) {{
  applyHouseholdCorrection(input: $in) {{ {CORRECTION} }} }}"""
TASK = """query($id: ID!) { node(id: $id) { ... on Task { id agencyKind status evidence
  version } } }"""
EVENTS = """query($id: ID!) { node(id: $id) { ... on Child { enrolment { status }
  householdCorrections { kind status }
  registerEvents(first: 50) { edges { node { kind toStatus reason } } } } } }"""
TODAY = "2026-11-01"


@pytest.fixture(autouse=True)
def _sessions_for_tasks(api: Api, sessions: async_sessionmaker[AsyncSession]) -> None:
    api.scratch["sessions"] = sessions


async def _setup(sessions: async_sessionmaker[AsyncSession], n: int = 1,
                 sources: tuple[ImportSource, ...] = (ImportSource.POLICE_HOUSEHOLD,)
                 ) -> list[tuple[Child, dict[ImportSource, int]]]:
    """``n`` enrolled children, each on the lists of ``sources``."""
    async with sessions() as s:
        out = []
        for child in await enrolled_children(s, n):
            out.append((child, {src: await listed(s, src, child) for src in sources}))
        await s.commit()
        return out


async def _record(api: Api, user: str = "police_officer", **given: Any) -> dict[str, Any]:
    return _answer(await api.gql(RECORD, {"in": {"effectiveOn": TODAY, **given}}, user=user))


async def _tasks(api: Api, user: str, correction: str) -> list[dict[str, Any]]:
    """The household-correction tasks of ``user``'s agency about the correction, as the
    task's node shows them to that user (so the user does see them)."""
    sessions = api.scratch["sessions"]
    kind = AGENCY_KINDS[user]
    async with sessions() as s:
        ids = (await s.execute(select(Task.id).where(
            Task.kind == "household_correction", Task.agency_kind == kind,
            Task.evidence["household_correction_id"].as_integer() == int(_key(correction)),
        ).order_by(Task.id))).scalars().all()
    out = []
    for i in ids:
        node = (await api.gql(TASK, {"id": gid("Task", i)}, user=user))["node"]
        assert node is not None, f"{user} does not see its task"
        out.append(node)
    return out


def _key(global_id: str) -> str:
    import base64

    return base64.b64decode(global_id).decode().split(":")[1]


AGENCY_USERS = {"EDUCATION": "edu_officer", "POVERTY_OFFICE": "poverty_office",
                "DISABLED_FEDERATION": "disabled_fed", "CIVIL_AFFAIRS": "civil_affairs"}
AGENCY_KINDS = {user: AgencyKind[kind] for kind, user in AGENCY_USERS.items()}


async def _agencies_tasked(api: Api, correction: str) -> set[str]:
    found = set()
    for agency, user in AGENCY_USERS.items():
        for t in await _tasks(api, user, correction):
            assert t["agencyKind"] == agency
            found.add(agency)
    return found


async def test_a_death_tasks_the_agencies_holding_the_child_and_applying_follows(
    api: Api, sessions: async_sessionmaker[AsyncSession],
) -> None:
    """The child is on the register, the police list and the poverty office's list: education
    and the poverty office get a task, the disabled federation and civil affairs none."""
    ((child, records),) = await _setup(
        sessions, sources=(ImportSource.POLICE_HOUSEHOLD, ImportSource.POVERTY_HOUSEHOLD))
    out = await _record(api, kind="DECEASED",
                        baseRecordId=gid("BaseRecord", records[ImportSource.POLICE_HOUSEHOLD]))
    assert out["userErrors"] == []
    c = out["correction"]
    assert c["kind"] == "DECEASED" and c["status"] == "RECORDED"
    assert c["child"]["id"] == gid("Child", child.id)
    assert c["nationalId"] == {"value": child.national_id, "masked": False}
    assert await _agencies_tasked(api, c["id"]) == {"EDUCATION", "POVERTY_OFFICE"}

    (edu,) = await _tasks(api, "edu_officer", c["id"])
    applied = payload_of(await api.gql(APPLY, {"in": {"taskId": edu["id"],
                                                      "expectedVersion": edu["version"]}}))
    assert applied["userErrors"] == []
    node = (await api.gql(EVENTS, {"id": gid("Child", child.id)}))["node"]
    assert node["enrolment"]["status"] == "DECEASED"
    assert node["householdCorrections"] == [{"kind": "DECEASED", "status": "RECORDED"}]
    last = node["registerEvents"]["edges"][-1]["node"]
    assert last["kind"] == "household_deceased" and last["toStatus"] == "DECEASED"
    assert await _tasks(api, "edu_officer", c["id"]) == [
        {**edu, "status": "DONE", "evidence": edu["evidence"], "version": edu["version"] + 1}]

    (poverty,) = await _tasks(api, "poverty_office", c["id"])
    assert payload_of(await api.gql(APPLY, {"in": {"taskId": poverty["id"]}},
                                    user="poverty_office"))["userErrors"] == []
    async with sessions() as s:
        marks = dict((await s.execute(select(BaseRecord.source, BaseRecord.correction_id).where(
            BaseRecord.child_id == child.id))).all())
    assert marks[ImportSource.POVERTY_HOUSEHOLD] == int(_key(c["id"]))
    assert marks[ImportSource.POLICE_HOUSEHOLD] is None  # the police's own list is theirs
    async with sessions() as s:
        trail = (await s.execute(select(AuditEvent.operation, AuditEvent.change).where(
            AuditEvent.record_type == "household_correction").order_by(AuditEvent.id))).all()
    assert [op for op, _ in trail] == ["record_household_corrections",
                                       "apply_household_correction", "apply_household_correction"]
    assert trail[0][1]["tasks"] == 2
    assert trail[1][1]["agency"] == "education" and trail[1][1]["entry_was"] == "enrolled"
    assert trail[2][1] == {"task": int(_key(poverty["id"])), "agency": "poverty_office",
                           "records": 1, "source": "poverty_household"}
    # done once: applying again is the wrong stage
    again = _answer(await api.gql(APPLY, {"in": {"taskId": poverty["id"]}},
                                     user="poverty_office"))
    assert [e["code"] for e in again["userErrors"]] == ["WRONG_STAGE"]


async def test_a_move_away_ends_the_entry_as_transferred_and_says_where(
    api: Api, sessions: async_sessionmaker[AsyncSession],
) -> None:
    ((child, _),) = await _setup(sessions)
    out = await _record(api, kind="MOVED_AWAY", childId=gid("Child", child.id), movedTo="110101")
    c = out["correction"]
    assert out["userErrors"] == [] and await _agencies_tasked(api, c["id"]) == {"EDUCATION"}
    (edu,) = await _tasks(api, "edu_officer", c["id"])
    await api.gql(APPLY, {"in": {"taskId": edu["id"]}})
    node = (await api.gql(EVENTS, {"id": gid("Child", child.id)}))["node"]
    assert node["enrolment"]["status"] == "TRANSFERRED"
    last = node["registerEvents"]["edges"][-1]["node"]
    assert last == {"kind": "household_moved_away", "toStatus": "TRANSFERRED",
                    "reason": "迁出注销：110101"}


async def test_a_duplicate_and_a_missing_person_leave_the_entry_and_note_the_history(
    api: Api, sessions: async_sessionmaker[AsyncSession],
) -> None:
    """A duplicate names the record it duplicates; neither kind ends the register entry."""
    (first, records), (second, other) = await _setup(
        sessions, 2, (ImportSource.POLICE_HOUSEHOLD, ImportSource.CIVIL_AFFAIRS))
    police = ImportSource.POLICE_HOUSEHOLD
    dup = await _record(api, kind="DUPLICATE", baseRecordId=gid("BaseRecord", records[police]),
                        duplicateOfBaseRecordId=gid("BaseRecord", other[police]))
    missing = await _record(api, kind="MISSING", nationalId=second.national_id)
    assert dup["userErrors"] == [] and missing["userErrors"] == []
    for out in (dup, missing):
        assert await _agencies_tasked(api, out["correction"]["id"]) == {"EDUCATION",
                                                                        "CIVIL_AFFAIRS"}
    for out, child, kind in ((dup, first, "household_duplicate"),
                             (missing, second, "household_missing")):
        (edu,) = await _tasks(api, "edu_officer", out["correction"]["id"])
        await api.gql(APPLY, {"in": {"taskId": edu["id"]}})
        node = (await api.gql(EVENTS, {"id": gid("Child", child.id)}))["node"]
        assert node["enrolment"]["status"] == "ENROLLED"
        assert node["registerEvents"]["edges"][-1]["node"]["kind"] == kind


async def test_a_person_only_on_the_police_list_tasks_nobody_and_is_still_recorded(
    api: Api, sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions() as s:
        record = await listed(s, ImportSource.POLICE_HOUSEHOLD, None,
                              national_id="370406201505010014")
        await s.commit()
    out = await _record(api, kind="DECEASED", baseRecordId=gid("BaseRecord", record))
    assert out["userErrors"] == [] and out["correction"]["child"] is None
    assert await _agencies_tasked(api, out["correction"]["id"]) == set()


async def test_withdrawal_cancels_the_open_tasks_and_not_once_applied(
    api: Api, sessions: async_sessionmaker[AsyncSession],
) -> None:
    (a, _), (b, _) = await _setup(sessions, 2, (ImportSource.POLICE_HOUSEHOLD,
                                                ImportSource.DISABLED_FEDERATION))
    one = (await _record(api, kind="MISSING", childId=gid("Child", a.id)))["correction"]
    no_reason = _answer(await api.gql(WITHDRAW, {"in": {"correctionId": one["id"],
                                                           "reason": " "}},
                                         user="police_officer"))
    assert [e["code"] for e in no_reason["userErrors"]] == ["BAD_INPUT"]
    stale = _answer(await api.gql(WITHDRAW, {"in": {"correctionId": one["id"], "reason": "错录",
                                                       "expectedVersion": 9}},
                                     user="police_officer"))
    assert [e["code"] for e in stale["userErrors"]] == ["CONFLICT"]
    done = payload_of(await api.gql(WITHDRAW, {"in": {"correctionId": one["id"],
                                                      "reason": "错录"}}, user="police_officer"))
    assert done["userErrors"] == [] and done["correction"]["status"] == "WITHDRAWN"
    assert {t["status"] for t in await _tasks(api, "edu_officer", one["id"])} == {"CANCELLED"}
    assert {t["status"] for t in await _tasks(api, "disabled_fed", one["id"])} == {"CANCELLED"}
    # withdrawn: the same correction may be recorded again
    assert (await _record(api, kind="MISSING", childId=gid("Child", a.id)))["userErrors"] == []

    two = (await _record(api, kind="MISSING", childId=gid("Child", b.id)))["correction"]
    (fed,) = await _tasks(api, "disabled_fed", two["id"])
    await api.gql(APPLY, {"in": {"taskId": fed["id"]}}, user="disabled_fed")
    late = _answer(await api.gql(WITHDRAW, {"in": {"correctionId": two["id"],
                                                      "reason": "错录"}}, user="police_officer"))
    assert [e["code"] for e in late["userErrors"]] == ["WRONG_STAGE"]


async def test_a_death_completes_the_door_to_door_confirm_death_task(
    api: Api, sessions: async_sessionmaker[AsyncSession],
) -> None:
    """cross opens ``confirm_death`` for the police with the finding in its evidence; the
    DECEASED correction of the same child is the confirmation. Another child's stays open."""
    (a, _), (b, _) = await _setup(sessions, 2)
    async with sessions() as s:
        for child in (a, b):
            s.add(Task(kind="confirm_death", title="核实死亡", agency_kind=AgencyKind.POLICE,
                       scope_path="370406", due_on=date(2026, 11, 20),
                       evidence={"crosscheck_finding_id": child.id, "child_id": child.id}))
        await s.commit()
    out = await _record(api, kind="DECEASED", childId=gid("Child", a.id))
    assert out["userErrors"] == []
    async with sessions() as s:
        rows = (await s.execute(select(Task.evidence, Task.status).where(
            Task.kind == "confirm_death"))).all()
    status = {e["child_id"]: (st.value, e.get("household_correction_id")) for e, st in rows}
    assert status == {a.id: ("done", int(_key(out["correction"]["id"]))), b.id: ("open", None)}


async def test_the_clean_up_list_is_set_based(
    api: Api, sessions: async_sessionmaker[AsyncSession], database: Database,
) -> None:
    """A list of 12 costs the statements a list of 2 does, tasks and all: five to resolve the
    persons, one check for corrections recorded before, one insert of the corrections, one
    read of the other agencies' lists, one insert of their tasks and the audit row."""
    people = await _setup(sessions, 15, (ImportSource.POLICE_HOUSEHOLD,
                                         ImportSource.POVERTY_HOUSEHOLD))
    rows = [{"kind": "MOVED_AWAY", "effectiveOn": TODAY,
             "baseRecordId": gid("BaseRecord", r[ImportSource.POLICE_HOUSEHOLD])}
            for _, r in people]
    costs, seen = [], []
    # the first of the three warms the principal's cache; the other two are counted
    for part in (rows[:1], rows[1:3], rows[3:]):
        with counting(database) as statements:
            data = await api.gql(RECORD_LIST, {"in": {"districtCode": "370406", "rows": part}},
                                 user="police_officer")
        batch = payload_of(data)["batch"]
        assert batch["recorded"] == len(part) and batch["tasksOpened"] == 2 * len(part)
        costs.append(len(statements))
        seen.append("\n".join(x[:90] for x in statements))
    assert costs[1] == costs[2], "\n\n".join(seen[1:])


async def test_bad_input_is_refused_with_its_code(
    api: Api, sessions: async_sessionmaker[AsyncSession],
) -> None:
    ((child, records),) = await _setup(sessions)
    base = gid("BaseRecord", records[ImportSource.POLICE_HOUSEHOLD])

    async def codes(user: str = "police_officer", **given: Any) -> list[tuple[str, str]]:
        out = await _record(api, user, **given)
        return [(e["code"], e["field"]) for e in out["userErrors"]]

    assert await codes(kind="DECEASED", baseRecordId=base, effectiveOn="2026-12-31") == [
        ("BAD_INPUT", "effectiveOn")]
    valid = id_number.make("370406", date(2015, 5, 1), 7)
    wrong = valid[:17] + ("0" if valid[17] != "0" else "1")
    assert await codes(kind="MISSING", nationalId=wrong) == [
        ("INVALID_ID_NUMBER", "nationalId")]
    assert await codes(kind="MISSING") == [("BAD_INPUT", "baseRecordId")]
    assert await codes(kind="DUPLICATE", baseRecordId=base) == [
        ("BAD_INPUT", "duplicateOfBaseRecordId")]
    assert await codes(kind="MISSING", baseRecordId=base, movedTo="110101") == [
        ("BAD_INPUT", "movedTo")]
    assert await codes(kind="MISSING", baseRecordId=gid("BaseRecord", 999999)) == [
        ("NOT_FOUND", "baseRecordId")]
    assert await codes(kind="MISSING", baseRecordId=gid("Child", child.id)) == [
        ("BAD_INPUT", "baseRecordId")]
    (other, _), = await _setup(sessions)
    assert await codes(kind="MISSING", baseRecordId=base, childId=gid("Child", other.id)) == [
        ("BAD_INPUT", "childId")]
    assert await codes(kind="MISSING", baseRecordId=base) == []
    assert await codes(kind="MISSING", childId=gid("Child", child.id)) == [
        ("DUPLICATE", "baseRecordId")]
    forbidden = await api.errors(RECORD, {"in": {"kind": "MISSING", "effectiveOn": TODAY,
                                                 "childId": gid("Child", child.id)}},
                                 user="edu_officer")
    assert forbidden[0]["extensions"]["code"] == "FORBIDDEN"
    listed_twice = await api.gql(RECORD_LIST, {"in": {"districtCode": "370406", "rows": [
        {"kind": "DECEASED", "effectiveOn": TODAY, "baseRecordId": base},
        {"kind": "DECEASED", "effectiveOn": TODAY, "childId": gid("Child", child.id)}]}},
        user="police_officer")
    assert [(e["code"], e["field"]) for e in _answer(listed_twice)["userErrors"]] == [
        ("DUPLICATE", "rows.1.baseRecordId")]
    elsewhere = await api.gql(RECORD_LIST, {"in": {"districtCode": "640502", "rows": [
        {"kind": "DECEASED", "effectiveOn": TODAY, "baseRecordId": base}]}},
        user="police_officer")
    assert [e["code"] for e in _answer(elsewhere)["userErrors"]] == ["NOT_FOUND"]


async def test_the_list_masks_identity_as_the_child_is_masked(
    api: Api, sessions: async_sessionmaker[AsyncSession],
) -> None:
    ((child, _),) = await _setup(sessions)
    await _record(api, kind="MISSING", childId=gid("Child", child.id))
    query = """query($k: HouseholdCorrectionKind) { householdCorrections(filter: {kind: $k}) {
      totalCount edges { node { name nationalId { value masked } } } } }"""
    shown = (await api.gql(query, {"k": "MISSING"}, user="police_officer"))
    assert shown["householdCorrections"]["edges"][0]["node"] == {
        "name": child.name, "nationalId": {"value": child.national_id, "masked": False}}
    hidden = (await api.gql(query, {"k": "MISSING"}, user="inspector"))
    node = hidden["householdCorrections"]["edges"][0]["node"]
    assert node["name"] != child.name and node["name"].startswith(child.name[0])
    assert node["nationalId"]["masked"] is True and node["nationalId"]["value"] != (
        child.national_id)
    none = await api.gql(query, {"k": "DECEASED"}, user="police_officer")
    assert none["householdCorrections"]["totalCount"] == 0
    nobody = await api.gql(query, {"k": "MISSING"}, user="head_teacher")
    assert nobody["householdCorrections"]["totalCount"] == 0


async def test_free_text_is_bounded(api: Api, sessions: async_sessionmaker[AsyncSession]) -> None:
    """The note, the withdrawal's reason and the agency's outcome are bounded like every
    free text: BAD_INPUT on the field, nothing stored."""
    ((a, ra),) = await _setup(sessions)
    long = "很" * 2001
    out = await _record(api, kind="MISSING", note=long,
                        baseRecordId=gid("BaseRecord", ra[ImportSource.POLICE_HOUSEHOLD]))
    assert [(e["code"], e["field"]) for e in out["userErrors"]] == [("BAD_INPUT", "note")]
    c = (await _record(api, kind="MISSING", childId=gid("Child", a.id)))["correction"]
    withdrawn = _answer(await api.gql(WITHDRAW, {"in": {"correctionId": c["id"],
                                                        "reason": long}}, user="police_officer"))
    assert [(e["code"], e["field"]) for e in withdrawn["userErrors"]] == [("BAD_INPUT", "reason")]
    (edu,) = await _tasks(api, "edu_officer", c["id"])
    applied = _answer(await api.gql(APPLY, {"in": {"taskId": edu["id"], "outcome": long}}))
    assert [(e["code"], e["field"]) for e in applied["userErrors"]] == [("BAD_INPUT", "outcome")]
    assert (await _tasks(api, "edu_officer", c["id"]))[0]["status"] == "OPEN"


async def test_recording_the_same_twice_is_duplicate_when_the_check_is_raced(
    api: Api, sessions: async_sessionmaker[AsyncSession], monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Two recordings racing both pass the read-then-insert check: the partial unique
    indexes refuse the second, DUPLICATE, not INTERNAL and not a second correction."""
    ((child, records),) = await _setup(sessions)

    async def unchecked(*_: object) -> None:
        return None

    monkeypatch.setattr("workflow.household.corrections._not_recorded_twice", unchecked)
    base = gid("BaseRecord", records[ImportSource.POLICE_HOUSEHOLD])
    assert (await _record(api, kind="MISSING", baseRecordId=base))["userErrors"] == []
    again = await _record(api, kind="MISSING", baseRecordId=base)
    assert [(e["code"], e["field"]) for e in again["userErrors"]] == [
        ("DUPLICATE", "baseRecordId")]
    by_child = await _record(api, kind="MISSING", childId=gid("Child", child.id))
    assert [e["code"] for e in by_child["userErrors"]] == ["DUPLICATE"]
    listed_again = await api.gql(RECORD_LIST, {"in": {"districtCode": "370406", "rows": [
        {"kind": "MISSING", "effectiveOn": TODAY, "baseRecordId": base}]}},
        user="police_officer")
    assert [e["code"] for e in _answer(listed_again)["userErrors"]] == ["DUPLICATE"]
    # another kind of the same person is still recorded
    assert (await _record(api, kind="DECEASED", baseRecordId=base))["userErrors"] == []


async def test_a_child_of_the_other_district_is_corrected_by_its_own_bureau(
    api: Api, sessions: async_sessionmaker[AsyncSession],
) -> None:
    """The police of 山亭区 record a death on their list whose ID number is a child on
    沙坡头区's register: 沙坡头's bureau gets the education task and applies it, 山亭's
    bureau cannot end the other district's register entry."""
    async with sessions() as s:
        (child,) = await enrolled_children(s, 1, district="640502")
        base = await listed(s, ImportSource.POLICE_HOUSEHOLD, None,
                            national_id=child.national_id)
        await s.commit()
    out = await _record(api, kind="DECEASED", baseRecordId=gid("BaseRecord", base),
                        nationalId=child.national_id)
    assert out["userErrors"] == []
    c = out["correction"]
    async with sessions() as s:
        (task,) = (await s.execute(select(Task).where(
            Task.kind == "household_correction", Task.agency_kind == AgencyKind.EDUCATION,
            Task.evidence["household_correction_id"].as_integer() == int(_key(c["id"]))
        ))).scalars().all()
    assert task.scope_path.split("/")[-1] == "640502" and task.evidence["child_id"] == child.id
    tid = gid("Task", task.id)
    refused = await api.gql(APPLY, {"in": {"taskId": tid}}, user="edu_officer")
    assert [e["code"] for e in _answer(refused)["userErrors"]] in (["NOT_FOUND"],
                                                                      ["FORBIDDEN"])
    # A task left in the police's district (as it used to be opened): the register write
    # right over the child's own domain still refuses 山亭's bureau.
    async with sessions() as s:
        row = await s.get(Task, task.id)
        assert row is not None
        recorded = await s.get(HouseholdCorrection, int(_key(c["id"])))
        assert recorded is not None and recorded.district_code == "370406"
        own, row.scope_path = row.scope_path, recorded.scope_path
        await s.commit()
    forbidden = await api.errors(APPLY, {"in": {"taskId": tid}}, user="edu_officer")
    assert [e["extensions"]["code"] for e in forbidden] == ["FORBIDDEN"]
    async with sessions() as s:
        row = await s.get(Task, task.id)
        assert row is not None
        row.scope_path = own
        await s.commit()
    node = (await api.gql(EVENTS, {"id": gid("Child", child.id)}, user="spt_edu_officer"))["node"]
    assert node["enrolment"]["status"] == "ENROLLED"
    applied = await api.gql(APPLY, {"in": {"taskId": tid}}, user="spt_edu_officer")
    assert payload_of(applied)["userErrors"] == []
    node = (await api.gql(EVENTS, {"id": gid("Child", child.id)}, user="spt_edu_officer"))["node"]
    assert node["enrolment"]["status"] == "DECEASED"


async def test_an_applied_death_closes_the_childs_open_dropout_case(
    api: Api, sessions: async_sessionmaker[AsyncSession],
) -> None:
    """The case of a child the police found deceased ends with the death (closure reason
    DECEASED, its open tasks cancelled) in the transaction that ends the register entry."""
    pupil = await pupil_of_principal(api)
    case = (await report(api, date(2026, 10, 28), child=pupil))["case"]
    assert case is not None and case["status"] == "OPEN"
    async with sessions() as s:
        child = await s.get(Child, int(_key(pupil)))
        assert child is not None
        await listed(s, ImportSource.POLICE_HOUSEHOLD, child)
        await s.commit()
    c = (await _record(api, kind="DECEASED", childId=pupil))["correction"]
    (edu,) = await _tasks(api, "edu_officer", c["id"])
    assert payload_of(await api.gql(APPLY, {"in": {"taskId": edu["id"]}}))["userErrors"] == []
    async with sessions() as s:
        row = await s.get(DropoutCase, int(_key(case["id"])))
        assert row is not None
        assert (row.status.value, row.closure_reason) == ("closed", "deceased")
        left = (await s.execute(select(Task.status).where(Task.case_id == row.id))).scalars()
        assert all(st.value != "open" for st in left)
