"""The register as data that changes (issue 14): schools, children, guardians, enrolments,
register changes with their approvals and refusals, deferrals, the register history, the
scheduled job, and masking of the new sensitive fields — over HTTP."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from models.enums import AgencyKind, SchoolKind
from models.reference import Agency
from models.school import School
from models.task import Task
from models.user import RoleGrant, User
from tests.helpers import Api, coded_failure, gid, payload_of
from workflow import engine
from workflow.clock import FixedClock
from workflow.infra import id_number
from workflow.jobs import SCHEDULED_JOBS
from workflow.register import deferred_child_ids, transfers_not_received

CHILD = """id version name studentNo { value } nationalId { value masked } address
  enrolment { school { id name } grade status startedOn springEntrant }
  guardians { id name relation phone { value } }
  registerEvents(first: 50) { totalCount edges { node { kind reason toStatus detail } } }"""
CREATE = f"""mutation($in: CreateChildInput!) {{ createChild(input: $in) {{ child {{ {CHILD} }}
  userErrors {{ code field message }} }} }}"""
UPDATE = f"""mutation($in: UpdateChildInput!) {{ updateChild(input: $in) {{ child {{ {CHILD} }}
  userErrors {{ code field message }} }} }}"""
CHANGE = """change { id status kind version notReceived decisionReason
  child { id enrolment { school { id } status } } toSchool { id } }
  userErrors { code field message }"""
REQUEST = f"mutation($in: RequestTransferInput!) {{ requestTransfer(input: $in) {{ {CHANGE} }} }}"
SUSPEND = f"""mutation($in: RequestSuspensionInput!) {{ requestSuspension(input: $in)
  {{ {CHANGE} }} }}"""
DECIDE = f"""mutation($in: DecideRegisterChangeInput!) {{ decideRegisterChange(input: $in)
  {{ {CHANGE} }} }}"""
DEFERRAL = """deferral { id status version validToday assessmentNeeded ground { value masked }
  evidence { value masked } assessment { value masked } child { id } }
  userErrors { code field message }"""
APPLY = f"""mutation($in: ApplyForDeferralInput!) {{ applyForDeferral(input: $in)
  {{ {DEFERRAL} }} }}"""
DECIDE_DEFERRAL = f"""mutation($in: DecideDeferralInput!) {{ decideDeferral(input: $in)
  {{ {DEFERRAL} }} }}"""
ASSESS = f"""mutation($in: RecordDeferralAssessmentInput!) {{ recordDeferralAssessment(input:
  $in) {{ {DEFERRAL} }} }}"""
TOWNSHIP = "370406101"


async def _principal_school(sessions: async_sessionmaker[AsyncSession]) -> School:
    async with sessions() as s:
        agency_id = (await s.execute(
            select(User.agency_id).where(User.username == "principal"))).scalar_one()
        return (await s.execute(select(School).where(School.agency_id == agency_id))).scalar_one()


async def _other_school(sessions: async_sessionmaker[AsyncSession], school: School,
                        kind: SchoolKind | None = None) -> School:
    """Another school of the district teaching the same grades (or of ``kind``)."""
    async with sessions() as s:
        stmt = select(School).where(School.id != school.id, School.township_code.like("370406%"))
        stmt = stmt.where(School.kind == (kind or school.kind)).order_by(School.id)
        return (await s.execute(stmt)).scalars().first()  # type: ignore[return-value]


async def _principal_at(sessions: async_sessionmaker[AsyncSession], school: School,
                        username: str) -> str:
    """A principal of ``school`` (the demo has one principal, at one school)."""
    async with sessions() as s:
        agency = await s.get(Agency, school.agency_id)
        assert agency is not None
        user = User(username=username, display_name="接收校长", agency_id=agency.id)
        s.add(user)
        await s.flush()
        s.add(RoleGrant(user_id=user.id, role="school_principal", domain=agency.scope_path,
                        jurisdiction_code=agency.jurisdiction_code))
        await s.commit()
    return username


def _id(born: date, seq: int) -> str:
    return id_number.make("370406", born, seq)


async def _new_pupil(api: Api, school: School, *, grade: int = 3, seq: int = 501,
                     started_on: str | None = None, born: date = date(2016, 3, 4)
                     ) -> dict[str, Any]:
    placement: dict[str, Any] = {"school": gid("School", school.id), "grade": grade,
                                 "enrolledOn": "2026-09-01"}
    if started_on:
        placement["startedOn"] = started_on
    data = await api.gql(CREATE, {"in": {
        "details": {"name": "孙小明", "sex": "MALE", "birthDate": born.isoformat(),
                    "registerType": "ID_CARD", "nationalId": _id(born, seq),
                    "townshipCode": TOWNSHIP, "village": "东村", "address": "东村12号"},
        "placement": placement,
        "guardians": [{"name": "孙大山", "relation": "FATHER", "phone": "13800000001"}]}})
    child: dict[str, Any] = payload_of(data)["child"]
    return child


async def _tick(sessions: async_sessionmaker[AsyncSession], now: datetime) -> engine.TickReport:
    async with sessions() as s:
        report = await engine.tick(s, now, SCHEDULED_JOBS)
        await s.commit()
    return report


async def _tasks(sessions: async_sessionmaker[AsyncSession], kind: str) -> list[Task]:
    async with sessions() as s:
        return list((await s.execute(select(Task).where(Task.kind == kind))).scalars())


# --- children, guardians ---------------------------------------------------------------------


async def test_create_and_change_a_child(api: Api, sessions: async_sessionmaker[AsyncSession]
                                         ) -> None:
    school = await _principal_school(sessions)
    child = await _new_pupil(api, school)
    assert child["enrolment"]["school"]["id"] == gid("School", school.id)
    assert child["studentNo"]["value"].startswith("G37040620160304")
    kinds = [e["node"]["kind"] for e in child["registerEvents"]["edges"]]
    assert kinds == ["child_created", "guardian_added", "enrolled"]
    # The school sees its new pupil; the ID number is masked for the head teacher.
    seen = await api.gql("query($id: ID!) { node(id: $id) { ... on Child { nationalId "
                         "{ masked } } } }", {"id": child["id"]}, user="head_teacher")
    assert seen["node"]["nationalId"]["masked"] is True
    changed = await api.gql(UPDATE, {"in": {"childId": child["id"], "expectedVersion":
                                            child["version"], "details": {"name": "孙晓明",
                                                                          "village": "西村"}}},
                            user="principal")
    after = payload_of(changed)["child"]
    assert after["name"] == "孙晓明" and after["version"] == child["version"] + 1
    event = after["registerEvents"]["edges"][-1]["node"]
    assert event["kind"] == "child_changed" and event["detail"] == {"fields": ["name",
                                                                               "village"]}
    stale = (await api.post(UPDATE, {"in": {"childId": child["id"], "expectedVersion":
                                            child["version"], "details": {"name": "孙明"}}})
             ).json()
    assert coded_failure(stale) == ["CONFLICT"]


async def test_bad_and_duplicate_id_numbers_and_z_other(api: Api,
                                                        sessions: async_sessionmaker[AsyncSession]
                                                        ) -> None:
    school = await _principal_school(sessions)
    good = _id(date(2015, 5, 6), 77)
    bad = good[:-1] + ("0" if good[-1] != "0" else "1")
    details = {"name": "李四", "sex": "MALE", "birthDate": "2015-05-06",
               "registerType": "ID_CARD", "townshipCode": TOWNSHIP}
    body = (await api.post(CREATE, {"in": {"details": {**details, "nationalId": bad}}})).json()
    assert coded_failure(body) == ["INVALID_ID_NUMBER"]
    wrong_sex = (await api.post(CREATE, {"in": {"details": {**details, "sex": "FEMALE",
                                                           "nationalId": good}}})).json()
    assert coded_failure(wrong_sex) == ["BAD_INPUT"]
    payload_of(await api.gql(CREATE, {"in": {"details": {**details, "nationalId": good}}}))
    again = (await api.post(CREATE, {"in": {"details": {**details, "nationalId": good}}})).json()
    assert coded_failure(again) == ["DUPLICATE"]
    other = payload_of(await api.gql(CREATE, {"in": {
        "details": {**details, "registerType": "OTHER", "nationalId": None},
        "placement": {"school": gid("School", school.id)}}}))["child"]
    assert other["nationalId"]["value"] is None and other["studentNo"]["value"].startswith(
        "Z370406")
    # The police read children but do not write the register.
    denied = (await api.post(CREATE, {"in": {"details": {**details, "nationalId": None,
                                                         "registerType": "OTHER"}}},
                             user="police_officer")).json()
    assert coded_failure(denied) == ["FORBIDDEN"]


async def test_guardians_added_changed_removed(api: Api,
                                               sessions: async_sessionmaker[AsyncSession]) -> None:
    child = await _new_pupil(api, await _principal_school(sessions))
    added = payload_of(await api.gql("""mutation($c: ID!) { addGuardian(input: {childId: $c,
        guardian: {name: "王秀兰", relation: MOTHER, phone: "139-0000-0002"}}) { child {
        guardians { id name phone { value } } } userErrors { code } } }""", {"c": child["id"]},
                                     user="principal"))["child"]["guardians"]
    mother = next(g for g in added if g["name"] == "王秀兰")
    assert mother["phone"]["value"] == "13900000002"
    bad = (await api.post("""mutation($g: ID!) { updateGuardian(input: {guardianId: $g,
        phone: "call me"}) { child { id } userErrors { code field } } }""",
                          {"g": mother["id"]})).json()
    assert coded_failure(bad) == ["BAD_INPUT"]
    payload_of(await api.gql("""mutation($g: ID!) { updateGuardian(input: {guardianId: $g,
        relation: GRANDMOTHER}) { child { id } userErrors { code } } }""", {"g": mother["id"]}))
    removed = payload_of(await api.gql(f"""mutation($g: ID!) {{ removeGuardian(input:
        {{guardianId: $g, reason: "登记有误"}}) {{ child {{ {CHILD} }}
        userErrors {{ code }} }} }}""",
                                       {"g": mother["id"]}))["child"]
    assert [g["name"] for g in removed["guardians"]] == ["孙大山"]
    kinds = [e["node"]["kind"] for e in removed["registerEvents"]["edges"]]
    assert kinds[-3:] == ["guardian_added", "guardian_changed", "guardian_removed"]
    # A guardian of a child the caller cannot read is not found.
    hidden = (await api.post("""mutation($g: ID!) { removeGuardian(input: {guardianId: $g,
        reason: "x"}) { child { id } userErrors { code } } }""", {"g": mother["id"]},
                             user="hr_officer")).json()
    assert coded_failure(hidden) == ["NOT_FOUND"]


# --- transfers ---------------------------------------------------------------------------------


async def test_transfer_within_the_county(api: Api,
                                          sessions: async_sessionmaker[AsyncSession]) -> None:
    school = await _principal_school(sessions)
    target = await _other_school(sessions, school)
    receiving = await _principal_at(sessions, target, "receiving_principal")
    child = await _new_pupil(api, school)
    requested = payload_of(await api.gql(REQUEST, {"in": {
        "childId": child["id"], "toSchool": gid("School", target.id), "reason": "随父母迁居"}},
        user="principal"))["change"]
    assert requested["status"] == "REQUESTED"
    approve = {"in": {"changeId": requested["id"], "approve": True}}
    # The sending school and the police may not approve it (FORBIDDEN, not the record's news).
    for user in ("principal", "police_officer"):
        assert coded_failure((await api.post(DECIDE, approve, user=user)).json()) == [
            "FORBIDDEN"]
    listed = await api.gql("{ registerChanges(filter: {status: REQUESTED}) { totalCount } }",
                           user=receiving)
    assert listed["registerChanges"]["totalCount"] == 1
    done = payload_of(await api.gql(DECIDE, approve, user=receiving))["change"]
    assert done["status"] == "RECEIVED"
    assert done["child"]["enrolment"]["school"]["id"] == gid("School", target.id)
    # The child's records moved with it: the sending school no longer reads them.
    gone = await api.gql("query($id: ID!) { node(id: $id) { id } }", {"id": child["id"]},
                         user="principal")
    assert gone["node"] is None
    again = (await api.post(DECIDE, approve, user=receiving)).json()
    assert coded_failure(again) == ["WRONG_STAGE"]


async def test_transfer_refused_with_a_reason(api: Api,
                                              sessions: async_sessionmaker[AsyncSession]) -> None:
    school = await _principal_school(sessions)
    target = await _other_school(sessions, school)
    child = await _new_pupil(api, school)
    change = payload_of(await api.gql(REQUEST, {"in": {
        "childId": child["id"], "toSchool": gid("School", target.id), "reason": "择校"}},
        user="principal"))["change"]
    refuse = {"in": {"changeId": change["id"], "approve": False}}
    assert coded_failure((await api.post(DECIDE, refuse)).json()) == ["BAD_INPUT"]
    refuse["in"]["reason"] = "接收学校学位已满"
    refused = payload_of(await api.gql(DECIDE, refuse))["change"]
    assert refused["status"] == "REFUSED" and refused["decisionReason"] == "接收学校学位已满"
    assert refused["child"]["enrolment"]["school"]["id"] == gid("School", school.id)


async def test_transfer_out_of_the_county_not_received(
    api: Api, sessions: async_sessionmaker[AsyncSession], clock: FixedClock
) -> None:
    school = await _principal_school(sessions)
    child = await _new_pupil(api, school)
    change = payload_of(await api.gql(REQUEST, {"in": {
        "childId": child["id"], "toDistrictCode": "110101", "reason": "随父母到北京"}},
        user="principal"))["change"]
    release = {"in": {"changeId": change["id"], "approve": True}}
    # The sending school's principal does not release its own pupil: the bureau does.
    assert coded_failure((await api.post(DECIDE, release, user="principal")).json()) == [
        "FORBIDDEN"]
    sent = payload_of(await api.gql(DECIDE, release))["change"]
    assert sent["status"] == "SENT" and sent["child"]["enrolment"]["status"] == "TRANSFERRED"
    later = clock.now() + timedelta(days=31)
    await _tick(sessions, later)
    await _tick(sessions, later)  # safe twice: one mark, one task
    flagged = await _tasks(sessions, "transfer_not_received")
    assert len(flagged) == 1 and flagged[0].agency_kind is AgencyKind.SCHOOL
    async with sessions() as s:
        ids = await transfers_not_received(s, "370406", later.date())
    assert await _child_key(child) in ids
    listed = await api.gql("""query($on: Date!) { registerChanges(filter: {notReceivedIn:
        "370406", on: $on}) { edges { node { id notReceived } } } }""",
                           {"on": later.date().isoformat()})
    assert [e["node"] for e in listed["registerChanges"]["edges"]] == [
        {"id": change["id"], "notReceived": True}]
    received = payload_of(await api.gql("""mutation($c: ID!) { receiveTransfer(input:
        {changeId: $c, receivedOn: "2026-12-10"}) { change { status } userErrors { code } } }""",
                                        {"c": change["id"]}))
    assert received["change"]["status"] == "RECEIVED"


async def _child_key(child: dict[str, Any]) -> int:
    import base64

    return int(base64.b64decode(child["id"]).decode().split(":")[1])


# --- suspension, graduation, spring entrants ---------------------------------------------------


async def test_suspension_approved_ended_and_resumed(
    api: Api, sessions: async_sessionmaker[AsyncSession], clock: FixedClock
) -> None:
    child = await _new_pupil(api, await _principal_school(sessions))
    asked = payload_of(await api.gql(SUSPEND, {"in": {
        "childId": child["id"], "startsOn": "2026-11-03", "endsOn": "2027-01-31",
        "reason": "因病住院治疗"}}, user="principal"))["change"]
    approve = {"in": {"changeId": asked["id"], "approve": True}}
    assert coded_failure((await api.post(DECIDE, approve, user="principal")).json()) == [
        "FORBIDDEN"]
    done = payload_of(await api.gql(DECIDE, approve))["change"]
    assert done["status"] == "APPROVED" and done["child"]["enrolment"]["status"] == "SUSPENDED"
    await _tick(sessions, datetime(2027, 2, 2, 1, 0, tzinfo=clock.now().tzinfo))
    assert len(await _tasks(sessions, "suspension_ended")) == 1
    resumed = payload_of(await api.gql("""mutation($c: ID!) { resumeSchooling(input:
        {changeId: $c, resumedOn: "2027-02-03"}) { change { status child { enrolment
        { status } } } userErrors { code } } }""", {"c": asked["id"]}, user="principal"))
    assert resumed["change"]["status"] == "ENDED"
    assert resumed["change"]["child"]["enrolment"]["status"] == "ENROLLED"
    assert [t.status.value for t in await _tasks(sessions, "suspension_ended")] == ["done"]


async def test_graduation_needs_the_full_years(api: Api,
                                               sessions: async_sessionmaker[AsyncSession]) -> None:
    school = await _principal_school(sessions)
    junior = await _other_school(sessions, school, SchoolKind.JUNIOR)
    full = await _new_pupil(api, junior, grade=9, seq=611, started_on="2018-09-01",
                            born=date(2012, 1, 9))
    short = await _new_pupil(api, junior, grade=9, seq=613, started_on="2021-09-01",
                             born=date(2012, 2, 9))
    certify = """mutation($c: ID!) { certifyGraduation(input: {childId: $c, graduatedOn:
        "2027-06-30"}) { child { enrolment { status } } userErrors { code message } } }"""
    ok = payload_of(await api.gql(certify, {"c": full["id"]}))
    assert ok["child"]["enrolment"]["status"] == "GRADUATED"
    refused = (await api.post(certify, {"c": short["id"]})).json()
    assert coded_failure(refused) == ["WRONG_STAGE"]
    assert "LS 10(5)" in refused["data"]["certifyGraduation"]["userErrors"][0]["message"]
    assert coded_failure((await api.post(certify, {"c": short["id"]}, user="principal")
                          ).json()) == ["NOT_FOUND"]


async def test_spring_entrant_and_early_leaver(api: Api,
                                               sessions: async_sessionmaker[AsyncSession]) -> None:
    school = await _principal_school(sessions)
    junior = await _other_school(sessions, school, SchoolKind.JUNIOR)
    made = payload_of(await api.gql("""mutation { createSchool(input: {name: "山亭区职业中专",
        kind: SECONDARY_VOCATIONAL, townshipCode: "370406101"}) { school { id gradeFrom
        gradeTo kind } userErrors { code } } }"""))["school"]
    assert (made["gradeFrom"], made["gradeTo"]) == (10, 12)
    pupil = await _new_pupil(api, junior, grade=9, seq=615, born=date(2011, 4, 1))
    moved = payload_of(await api.gql("""mutation($c: ID!, $s: ID!) { enrolChild(input:
        {childId: $c, springEntrant: true, placement: {school: $s, enrolledOn: "2027-03-01"}})
        { child { enrolment { springEntrant school { id } } } userErrors { code } } }""",
                                     {"c": pupil["id"], "s": made["id"]}))
    assert moved["child"]["enrolment"] == {"springEntrant": True, "school": {"id": made["id"]}}
    left = payload_of(await api.gql("""mutation($c: ID!) { recordEarlyLeaving(input:
        {childId: $c, leftOn: "2027-04-10", reason: "外出打工"}) { child { enrolment
        { status } } userErrors { code } } }""", {"c": pupil["id"]}))
    assert left["child"]["enrolment"]["status"] == "DROPOUT_MARKED"
    assert len(await _tasks(sessions, "persuade_spring_entrant")) == 1
    assert len(await _tasks(sessions, "follow_spring_entrant")) == 1
    # Another school's register holds a pupil: enrolling it elsewhere is a transfer (ST 3).
    other = await _new_pupil(api, school, seq=617)
    held = (await api.post("""mutation($c: ID!, $s: ID!) { enrolChild(input: {childId: $c,
        placement: {school: $s}}) { child { id } userErrors { code } } }""",
                           {"c": other["id"], "s": gid("School", junior.id)})).json()
    assert coded_failure(held) == ["WRONG_STAGE"]


async def test_schools_created_and_changed_by_the_bureau(api: Api) -> None:
    point = """mutation($p: ID) { createSchool(input: {name: "东村教学点", kind: TEACHING_POINT,
        townshipCode: "370406101", parentSchool: $p}) { school { id kind gradeTo }
        userErrors { code field } } }"""
    assert coded_failure((await api.post(point, {"p": None})).json()) == ["BAD_INPUT"]
    central = (await api.gql("{ schools(kind: PRIMARY, first: 1) { edges { node { id } } } }")
               )["schools"]["edges"][0]["node"]["id"]
    made = payload_of(await api.gql(point, {"p": central}))["school"]
    assert made["kind"] == "TEACHING_POINT"
    assert coded_failure((await api.post(point, {"p": central}, user="principal")).json()) == [
        "FORBIDDEN"]
    changed = payload_of(await api.gql("""mutation($s: ID!) { updateSchool(input: {schoolId: $s,
        gradeTo: 3, address: "东村1号"}) { school { gradeTo address } userErrors { code } } }""",
                                       {"s": made["id"]}))
    assert changed["school"] == {"gradeTo": 3, "address": "东村1号"}
    twin = (await api.post(point, {"p": central})).json()
    assert coded_failure(twin) == ["DUPLICATE"]


# --- deferrals ---------------------------------------------------------------------------------


def _application(child: str, ground: str, **extra: Any) -> dict[str, Any]:
    return {"in": {"childId": child, "kind": "DEFERRAL", "ground": ground,
                   "appliedOn": "2026-09-05", "applicantName": "孙大山",
                   "applicantRelation": "FATHER", "evidence": "区人民医院诊断证明：肾病综合征",
                   "startsOn": "2026-09-01", "endsOn": "2027-08-31", **extra}}


async def test_deferral_applied_granted_and_expired(
    api: Api, sessions: async_sessionmaker[AsyncSession], clock: FixedClock
) -> None:
    child = await _new_pupil(api, await _principal_school(sessions))
    late = (await api.post(APPLY, _application(child["id"], "ILLNESS", appliedOn="2026-10-08"),
                           user="principal")).json()
    assert coded_failure(late) == ["BAD_INPUT"]
    applied = payload_of(await api.gql(APPLY, _application(child["id"], "ILLNESS"),
                                       user="principal"))["deferral"]
    assert applied["status"] == "AWAITING_DECISION" and not applied["assessmentNeeded"]
    # The school has no health grant: the ground and evidence read as withheld.
    assert applied["ground"] == {"value": None, "masked": True}
    assert applied["evidence"]["masked"] is True
    grant = {"in": {"deferralId": applied["id"], "grant": True}}
    assert coded_failure((await api.post(DECIDE_DEFERRAL, grant, user="principal")).json()) == [
        "FORBIDDEN"]
    granted = payload_of(await api.gql(DECIDE_DEFERRAL, grant))["deferral"]
    assert granted["status"] == "GRANTED" and granted["validToday"] is True
    assert granted["ground"] == {"value": "illness", "masked": False}
    log = await api.gql('{ accessLog(recordType: "deferral", first: 5) { totalCount } }')
    assert log["accessLog"]["totalCount"] >= 1
    valid = await api.gql('{ deferrals(filter: {validOn: "2027-03-01"}) { totalCount } }')
    assert valid["deferrals"]["totalCount"] == 1
    key = await _child_key(child)
    async with sessions() as s:
        assert key in await deferred_child_ids(s, "370406", date(2027, 3, 1))
        assert key not in await deferred_child_ids(s, "370406", date(2027, 9, 2))
    after = datetime(2027, 9, 2, 1, 0, tzinfo=clock.now().tzinfo)
    await _tick(sessions, after)
    await _tick(sessions, after)
    ended = await _tasks(sessions, "deferral_ended")
    assert len(ended) == 1 and ended[0].agency_kind is AgencyKind.SCHOOL
    state = await api.gql("query($id: ID!) { node(id: $id) { ... on Deferral { status } } }",
                          {"id": applied["id"]})
    assert state["node"]["status"] == "ENDED"


async def test_exemption_needs_the_assessment_and_may_be_refused(
    api: Api, sessions: async_sessionmaker[AsyncSession]
) -> None:
    child = await _new_pupil(api, await _principal_school(sessions))
    applied = payload_of(await api.gql(APPLY, _application(child["id"], "UNABLE_TO_LEARN",
                                                           kind="EXEMPTION")))["deferral"]
    assert applied["status"] == "AWAITING_ASSESSMENT"
    assert len(await _tasks(sessions, "assess_deferral")) == 1
    grant = {"in": {"deferralId": applied["id"], "grant": True}}
    assert coded_failure((await api.post(DECIDE_DEFERRAL, grant)).json()) == ["WRONG_STAGE"]
    assess = {"in": {"deferralId": applied["id"], "confirmed": False,
                     "assessedOn": "2026-10-10", "note": "可随班就读"}}
    assert coded_failure((await api.post(ASSESS, assess)).json()) == ["FORBIDDEN"]
    assessed = payload_of(await api.gql(ASSESS, assess, user="disabled_fed"))["deferral"]
    assert assessed["status"] == "AWAITING_DECISION"
    assert assessed["assessment"]["value"] == "able_to_learn: 可随班就读"
    assert [t.status.value for t in await _tasks(sessions, "assess_deferral")] == ["done"]
    assert coded_failure((await api.post(DECIDE_DEFERRAL, grant)).json()) == ["WRONG_STAGE"]
    refused = payload_of(await api.gql(DECIDE_DEFERRAL, {"in": {
        "deferralId": applied["id"], "grant": False, "reason": "鉴定可随班就读"}}))["deferral"]
    assert refused["status"] == "REFUSED"
    async with sessions() as s:
        n = (await s.execute(select(func.count()).select_from(Task).where(
            Task.kind == "decide_deferral", Task.status == "open"))).scalar_one()
    assert n == 0
