"""Supervision (督导检查, LS 9; GH 三(六); ST 10) on the hand-counted district: the inspectorate
records an inspection of a township with its findings, each a rectification task due after
the district's days; the township reports, the inspectorate returns and accepts; the
supervision closes; findings link to the same unit's accountability items; the results
report opens with real readers."""

from __future__ import annotations

import base64
import io
import zipfile
from datetime import date, timedelta
from typing import Any

import pypdf
from python_calamine import CalamineWorkbook
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from models.accountability import AccountabilityItem
from models.audit import AuditEvent
from models.enums import AgencyKind, TaskStatus
from models.reference import Agency
from models.task import Task
from tests.helpers import Api, SmallDistrict, coded_failure, gid, hand_counted, payload_of
from workflow.supervision import rules_for

RECORD = """mutation($a: ID!, $d: Date!, $f: [SupervisionFindingInput!]!) {
    recordSupervision(input: {subjectAgencyId: $a, title: "控辍保学专项督导", visitedOn: $d,
    inspectors: "林海、陈东", summary: "台账不全", findings: $f}) {
    supervision { id status subjectName subjectKind subjectAgency { name } findings { id
    status dueOn version accountabilityItem { id ruleCode } } } userErrors { code field } } }"""
REPORT = """mutation($f: ID!, $r: String!) { reportRectification(input: {supervisionFindingId: $f,
    rectification: $r}) { finding { status rectification version } userErrors { code field } } }"""
REVIEW = """mutation($f: ID!, $d: RectificationDecision!, $n: String!) { reviewRectification(
    input: {supervisionFindingId: $f, decision: $d, note: $n}) { finding { status dueOn reviewNote }
    userErrors { code field } } }"""
LIST = """{ supervisions(first: 10) { totalCount edges { node { id status findings { status }
    } } } }"""
TODAY = date(2026, 11, 2)  # tests.helpers.NOW in China Standard Time


async def township_agency(d: SmallDistrict, key: str) -> Agency:
    return (await d.session.execute(select(Agency).where(
        Agency.kind == AgencyKind.TOWNSHIP,
        Agency.jurisdiction_code == d.townships[key].code))).scalar_one()


async def record(api: Api, agency: Agency, findings: list[dict[str, Any]],
                 user: str = "t_inspector", visited: str = "2026-10-30") -> dict[str, Any]:
    return (await api.post(RECORD, {"a": gid("Agency", agency.id), "d": visited,
                                    "f": findings}, user=user)).json()


async def rectification_tasks(session: AsyncSession) -> list[Task]:
    rows = await session.execute(select(Task).where(Task.kind == "supervision_rectification")
                                 .order_by(Task.id).execution_options(populate_existing=True))
    return list(rows.scalars())


async def test_recorded_rectified_returned_accepted_and_closed(
    api: Api, session: AsyncSession
) -> None:
    d = await hand_counted(session)
    township = await township_agency(d, "A")
    await session.commit()
    body = await record(api, township, [{"description": "辍学学生台账未按月更新"},
                                        {"description": "劝返记录缺少家长签字"}])
    made = payload_of(body["data"])["supervision"]
    assert (made["status"], made["subjectName"], made["subjectKind"]) == (
        "RECTIFYING", "A镇人民政府", "TOWNSHIP")
    assert made["subjectAgency"] == {"name": "A镇人民政府"}
    due = TODAY + timedelta(days=rules_for("370499").rectification_days)
    assert [f["dueOn"] for f in made["findings"]] == [due.isoformat()] * 2
    tasks = await rectification_tasks(session)
    assert [(t.agency_kind, t.scope_path, t.due_on, t.status) for t in tasks] == [
        (AgencyKind.TOWNSHIP, township.scope_path, due, TaskStatus.OPEN)] * 2
    # who sees it: the inspectorate, the bureau and the township itself; not another one
    for user, seen in (("t_inspector", 1), ("t_edu", 1), ("t_township", 1),
                       ("t_township_b", 0), ("t_principal", 0)):
        assert (await api.gql(LIST, user=user))["supervisions"]["totalCount"] == seen, user
    first, second = (f["id"] for f in made["findings"])
    assert coded_failure((await api.post(REPORT, {"f": first, "r": "已整改"},
                                         user="t_township_b")).json()) == ["NOT_FOUND"]
    assert coded_failure((await api.post(REVIEW, {"f": first, "d": "ACCEPT", "n": ""},
                                         user="t_inspector")).json()) == ["WRONG_STAGE"]
    done = payload_of(await api.gql(REPORT, {"f": first, "r": "台账已逐月补齐"},
                                    user="t_township"))
    assert done["finding"]["status"] == "REPORTED"
    assert [t.status for t in await rectification_tasks(session)] == [TaskStatus.DONE,
                                                                        TaskStatus.OPEN]
    assert coded_failure((await api.post(REVIEW, {"f": first, "d": "ACCEPT", "n": ""},
                                         user="t_township")).json()) == ["FORBIDDEN"]
    assert coded_failure((await api.post(REVIEW, {"f": first, "d": "RETURN", "n": " "},
                                         user="t_inspector")).json()) == ["BAD_INPUT"]
    back = payload_of(await api.gql(REVIEW, {"f": first, "d": "RETURN", "n": "缺十月份台账"},
                                    user="t_inspector"))["finding"]
    again = TODAY + timedelta(days=rules_for("370499").resubmit_days)
    assert back == {"status": "RETURNED", "dueOn": again.isoformat(), "reviewNote": "缺十月份台账"}
    tasks = await rectification_tasks(session)
    assert [(t.status, t.due_on) for t in tasks[2:]] == [(TaskStatus.OPEN, again)]
    assert tasks[2].title.startswith("督导整改退回")
    for finding in (first, second):
        payload_of(await api.gql(REPORT, {"f": finding, "r": "已整改到位"}, user="t_township"))
        accepted = payload_of(await api.gql(REVIEW, {"f": finding, "d": "ACCEPT", "n": "同意"},
                                            user="t_inspector"))
        assert accepted["finding"]["status"] == "ACCEPTED"
    listed = (await api.gql(LIST, user="t_inspector"))["supervisions"]["edges"][0]["node"]
    assert listed["status"] == "CLOSED"
    assert all(t.status is TaskStatus.DONE for t in await rectification_tasks(session))
    operations = (await session.execute(select(AuditEvent.operation).where(
        AuditEvent.operation.like("%rectification%") | (AuditEvent.operation ==
                                                         "record_supervision")))).scalars()
    assert sorted(set(operations)) == ["accept_rectification", "record_supervision",
                                       "report_rectification", "return_rectification"]


async def test_nothing_found_closes_at_once_and_bad_input_is_refused(
    api: Api, session: AsyncSession
) -> None:
    d = await hand_counted(session)
    township = await township_agency(d, "B")
    inspectorate = (await session.execute(select(Agency).where(
        Agency.kind == AgencyKind.INSPECTORATE, Agency.jurisdiction_code == "370499"))).scalar_one()
    await session.commit()
    made = payload_of((await record(api, township, []))["data"])["supervision"]
    assert (made["status"], made["findings"]) == ("CLOSED", [])
    assert await rectification_tasks(session) == []
    assert coded_failure(await record(api, township, [], user="t_township_b")) == ["FORBIDDEN"]
    assert coded_failure(await record(api, township, [], visited="2026-11-03")) == ["BAD_INPUT"]
    assert coded_failure(await record(api, inspectorate, [])) == ["BAD_INPUT"]
    assert coded_failure(await record(api, township, [{"description": "  "}])) == ["BAD_INPUT"]


async def test_findings_link_to_the_same_units_accountability_items(
    api: Api, session: AsyncSession
) -> None:
    d = await hand_counted(session)
    a, b = await township_agency(d, "A"), await township_agency(d, "B")
    items = {}
    for key, agency in (("A", a), ("B", b)):
        item = AccountabilityItem(
            district_code="370499", rule_code="township_not_acted", subject_kind="township",
            subject_path=agency.scope_path, subject_name=agency.name, month=date(2026, 11, 1),
            consequence="约谈", since=date(2026, 10, 1), evidence={"count": 3}, review_note="")
        session.add(item)
        await session.flush()
        items[key] = gid("AccountabilityItem", item.id)
    await session.commit()
    other = await record(api, a, [{"description": "劝返不力", "accountabilityItemId": items["B"]}])
    assert coded_failure(other) == ["BAD_INPUT"]
    gone = await record(api, a, [{"description": "劝返不力",
                                  "accountabilityItemId": gid("AccountabilityItem", 99999)}])
    assert coded_failure(gone) == ["NOT_FOUND"]
    made = payload_of((await record(api, a, [
        {"description": "三名辍学学生逾期未劝返", "accountabilityItemId": items["A"]},
        {"description": "宣传不到位"}]))["data"])["supervision"]
    linked = [f["accountabilityItem"] for f in made["findings"]]
    assert linked == [{"id": items["A"], "ruleCode": "township_not_acted"}, None]


EXPORT = """query($x: ExportFormat!) { supervisionResults(input: {periodStart: "2026-09-01",
    periodEnd: "2026-11-30"}, format: $x) { filename contentType sizeBytes base64 } }"""


async def test_results_report_opens_with_real_readers_and_holds_charts(
    api: Api, session: AsyncSession
) -> None:
    d = await hand_counted(session)
    a, b = await township_agency(d, "A"), await township_agency(d, "B")
    await session.commit()
    made = payload_of((await record(api, a, [{"description": "台账不全"},
                                             {"description": "劝返滞后"}]))["data"])
    payload_of((await record(api, b, [{"description": "未建专班"}], visited="2026-09-20"))["data"])
    first = made["supervision"]["findings"][0]["id"]
    payload_of(await api.gql(REPORT, {"f": first, "r": "已补齐"}, user="t_township"))
    payload_of(await api.gql(REVIEW, {"f": first, "d": "ACCEPT", "n": ""}, user="t_inspector"))
    assert coded_failure((await api.post(EXPORT, {"x": "XLSX"}, user="t_township")).json()) == [
        "FORBIDDEN"]
    file = (await api.gql(EXPORT, {"x": "XLSX"}, user="t_inspector"))["supervisionResults"]
    book = base64.b64decode(file["base64"])
    assert file["sizeBytes"] == len(book) and file["filename"].endswith(".xlsx")
    workbook = CalamineWorkbook.from_filelike(io.BytesIO(book))
    assert workbook.sheet_names == ["督导结果", "逐月问题"]
    table = workbook.get_sheet_by_name("督导结果").to_python()
    assert table[0] == ["被督导单位", "督导日期", "发现问题", "整改中", "待验收", "已验收",
                        "退回整改", "逾期未整改"]
    assert [r[:6] for r in table[1:]] == [["B镇人民政府", "2026-09-20", 1.0, 1.0, 0.0, 0.0],
                                          ["A镇人民政府", "2026-10-30", 2.0, 1.0, 0.0, 1.0]]
    months = workbook.get_sheet_by_name("逐月问题").to_python()
    assert months[1:] == [["2026-09", 1.0], ["2026-10", 2.0]]
    parts = zipfile.ZipFile(io.BytesIO(book))
    charts = sorted(p for p in parts.namelist() if p.startswith("xl/charts/chart"))
    assert charts == ["xl/charts/chart1.xml", "xl/charts/chart2.xml"]
    assert "<c:barChart>" in parts.read(charts[0]).decode()
    assert "<c:lineChart>" in parts.read(charts[1]).decode()
    pdf = base64.b64decode((await api.gql(EXPORT, {"x": "PDF"}, user="t_edu"))
                           ["supervisionResults"]["base64"])
    text = "".join(pypdf.PdfReader(io.BytesIO(pdf)).pages[0].extract_text().split())
    assert "控辍保学督导检查结果报告" in text and "A镇人民政府" in text
    assert "同级人民政府" in text and "限期整改" in text
