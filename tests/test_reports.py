"""Periodic reports on the hand-counted district: opened with their tasks on schedule, once;
drafted, submitted, returned, approved; reproduced later; exported as XLSX with native
charts and as a PDF in Chinese."""

from __future__ import annotations

import base64
import io
import zipfile
from datetime import date
from typing import Any

import pypdf
from python_calamine import CalamineWorkbook
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from models.child import Child
from models.enums import EnrolmentStatus, TaskStatus
from models.report import PeriodicReport
from models.school import Enrolment, RegisterEvent
from models.task import Task
from tests.helpers import NOW, Api, coded_failure, hand_counted
from workflow.engine import TickReport
from workflow.report import kinds_for, open_reports, period_for

REPORTS = """query($f: ReportFilterInput) { reports(filter: $f, first: 20) { totalCount edges {
    node { id kind unitName periodStart periodEnd dueOn status version figures } } } }"""
SUBMIT = """mutation($r: ID!) { submitReport(input: {reportId: $r}) { report { status version
    figures } userErrors { code field } } }"""
REVIEW = """mutation($r: ID!, $d: ReportDecision!, $n: String!) { reviewReport(input:
    {reportId: $r, decision: $d, note: $n}) { report { status reviewNote } userErrors { code
    field } } }"""


async def opened(session: AsyncSession) -> None:
    await hand_counted(session)
    await open_reports(session, NOW, TickReport())
    await session.commit()


async def reports(api: Api, user: str, **f: Any) -> list[dict[str, Any]]:
    data = await api.gql(REPORTS, {"f": f}, user=user)
    return [e["node"] for e in data["reports"]["edges"]]


async def test_reports_and_tasks_open_on_schedule_once(session: AsyncSession) -> None:
    await opened(session)
    await open_reports(session, NOW, TickReport())  # a second pass: nothing new
    rows = (await session.execute(
        select(PeriodicReport.kind, PeriodicReport.unit_name, PeriodicReport.period_start,
               PeriodicReport.due_on, Task.kind, Task.agency_kind, Task.status)
        .join(Task, Task.id == PeriodicReport.task_id)
        .where(PeriodicReport.district_code == "370499").order_by(PeriodicReport.id))).all()
    assert [tuple(r) for r in rows] == [
        ("school_monthly", "A镇小学", date(2026, 10, 1), date(2026, 11, 5), "periodic_report",
         "school", TaskStatus.OPEN),
        ("school_monthly", "B镇中学", date(2026, 10, 1), date(2026, 11, 5), "periodic_report",
         "school", TaskStatus.OPEN),
        ("county_quarterly", "测试区教育局", date(2026, 7, 1), date(2026, 10, 15),
         "periodic_report", "education", TaskStatus.OPEN),
    ]
    everywhere = (await session.execute(select(func.count()).select_from(PeriodicReport))).scalar()
    await open_reports(session, NOW, TickReport())
    again = (await session.execute(select(func.count()).select_from(PeriodicReport))).scalar()
    assert everywhere == again


def test_the_kinds_are_data_per_district() -> None:
    shanting = {k.code: k for k in kinds_for("370406")}
    assert {"school_monthly", "county_quarterly", "dropout_march", "dropout_october"} <= set(
        shanting)
    march = period_for(shanting["dropout_march"], date(2027, 3, 5))
    assert (march.start, march.end, march.due_on) == (
        date(2026, 9, 1), date(2027, 3, 31), date(2027, 3, 31))
    assert "register_change_monthly" in {k.code for k in kinds_for("150785")}
    assert "dropout_march" not in {k.code for k in kinds_for("370499")}


async def test_drafted_submitted_returned_and_approved(api: Api, session: AsyncSession) -> None:
    await opened(session)
    (mine,) = await reports(api, "t_principal")
    assert (mine["unitName"], mine["status"]) == ("A镇小学", "DRAFT")
    total = mine["figures"]["table"]["total"]
    assert (total["school_age"], total["confirmed_dropout"], total["lost"]) == (3, 1, 1)
    assert [m["month"] for m in mine["figures"]["trend"]] == ["2026-09", "2026-10"]
    body = (await api.post(REVIEW, {"r": mine["id"], "d": "APPROVE", "n": ""},
                           user="t_edu")).json()
    assert coded_failure(body) == ["WRONG_STAGE"]  # not submitted yet
    submitted = (await api.gql(SUBMIT, {"r": mine["id"]}, user="t_principal"))["submitReport"]
    assert submitted["report"]["status"] == "SUBMITTED"
    body = (await api.post(REVIEW, {"r": mine["id"], "d": "APPROVE", "n": ""},
                           user="t_principal")).json()
    assert coded_failure(body) == ["FORBIDDEN"]  # the level above reviews
    no_reason = (await api.gql(REVIEW, {"r": mine["id"], "d": "RETURN", "n": " "},
                               user="t_edu"))["reviewReport"]
    assert no_reason["userErrors"] == [{"code": "BAD_INPUT", "field": "note"}]
    back = (await api.gql(REVIEW, {"r": mine["id"], "d": "RETURN", "n": "请核对五年级辍学人数"},
                          user="t_edu"))["reviewReport"]
    assert back["report"] == {"status": "RETURNED", "reviewNote": "请核对五年级辍学人数"}
    tasks = (await session.execute(
        select(Task.title, Task.status).where(Task.evidence["report_id"].as_integer() ==
                                              int(base64.b64decode(mine["id"]).split(b":")[1]))
        .order_by(Task.id))).all()
    assert [t.status for t in tasks] == [TaskStatus.DONE, TaskStatus.OPEN]
    assert tasks[1].title.startswith("退回修改")
    await api.gql(SUBMIT, {"r": mine["id"]}, user="t_principal")
    approved = (await api.gql(REVIEW, {"r": mine["id"], "d": "APPROVE", "n": ""},
                              user="t_edu"))["reviewReport"]
    assert approved["report"]["status"] == "APPROVED"
    county = (await reports(api, "t_edu", kind="county_quarterly"))[0]
    await api.gql(SUBMIT, {"r": county["id"]}, user="t_edu")
    body = (await api.post(REVIEW, {"r": county["id"], "d": "APPROVE", "n": ""},
                           user="t_edu")).json()
    assert coded_failure(body) == ["FORBIDDEN"]  # not its own
    done = await api.gql(REVIEW, {"r": county["id"], "d": "APPROVE", "n": ""},
                         user="t_inspector")
    assert done["reviewReport"]["report"]["status"] == "APPROVED"
    assert await reports(api, "t_township") == []


async def test_a_page_of_drafts_reads_as_each_draft_alone(
    api: Api, session: AsyncSession
) -> None:
    """The drafts of a page are drafted together (one grouped statement for all the units):
    each must still get its own unit's figures, as when it is read alone."""
    await opened(session)
    page = await reports(api, "t_edu")
    assert {r["kind"] for r in page} == {"school_monthly", "county_quarterly"}
    assert len(page) >= 3
    for report in page:
        alone = await api.gql("""query($r: ID!) { node(id: $r) { ... on PeriodicReport {
            figures } } }""", {"r": report["id"]}, user="t_edu")
        assert alone["node"]["figures"] == report["figures"], report["unitName"]
    by_unit = {r["unitName"]: r["figures"]["table"]["total"] for r in page}
    assert by_unit["A镇小学"]["school_age"] == 3
    assert by_unit["A镇小学"] != by_unit["B镇中学"]


async def test_a_submitted_report_is_reproduced_later(api: Api, session: AsyncSession) -> None:
    await opened(session)
    (mine,) = await reports(api, "t_principal")
    frozen = (await api.gql(SUBMIT, {"r": mine["id"]}, user="t_principal"))["submitReport"]
    figures = frozen["report"]["figures"]
    stats = """query($d: Date!) { statistics(input: {asOf: $d, dimension: GRADE}) { total {
        schoolAge enrolled suspected confirmedDropouts lost } } }"""
    recomputed = (await api.gql(stats, {"d": "2026-10-31"}, user="t_principal"))["statistics"]
    total = figures["table"]["total"]
    assert recomputed["total"] == {
        "schoolAge": total["school_age"], "enrolled": total["enrolled"],
        "suspected": total["suspected"], "confirmedDropouts": total["confirmed_dropout"],
        "lost": total["lost"]}
    # In June the register is corrected for October (c1 out from 10-20): the submitted report
    # still reads as it was submitted; the figures as of 10-31 now tell the correction.
    c1 = (await session.execute(
        select(Enrolment).join(Child, Child.id == Enrolment.child_id)
        .where(Child.student_no == "T3704990001"))).scalar_one()
    session.add(RegisterEvent(child_id=c1.child_id, school_id=c1.school_id,
                              on_date=date(2026, 10, 20), from_status=EnrolmentStatus.ENROLLED,
                              to_status=EnrolmentStatus.DROPOUT_MARKED, recorded_at=NOW))
    c1.status = EnrolmentStatus.DROPOUT_MARKED
    await session.commit()
    (later,) = await reports(api, "t_principal")
    assert later["figures"] == figures
    now = (await api.gql(stats, {"d": "2026-10-31"}, user="t_principal"))["statistics"]
    assert now["total"]["confirmedDropouts"] == total["confirmed_dropout"] + 1


EXPORT = """query($f: ReportFilterInput, $x: ExportFormat!) { reports(filter: $f, first: 1) {
    edges { node { export(format: $x) { filename contentType sizeBytes sha256 base64 } } } } }"""


async def export(api: Api, fmt: str) -> bytes:
    data = await api.gql(EXPORT, {"f": {"kind": "county_quarterly"}, "x": fmt}, user="t_edu")
    file = data["reports"]["edges"][0]["node"]["export"]
    content = base64.b64decode(file["base64"])
    assert file["sizeBytes"] == len(content)
    return content


async def test_exports_open_with_real_readers_and_hold_charts(
    api: Api, session: AsyncSession
) -> None:
    await opened(session)
    book = await export(api, "XLSX")
    workbook = CalamineWorkbook.from_filelike(io.BytesIO(book))
    assert workbook.sheet_names == ["汇总", "逐月趋势"]
    table = workbook.get_sheet_by_name("汇总").to_python()
    assert table[0][:6] == ["单位", "适龄儿童", "在籍在校", "缓学免学", "疑似辍学", "辍学"]
    assert [row[0] for row in table[1:]] == ["A镇", "B镇", "合计"]
    trend = workbook.get_sheet_by_name("逐月趋势").to_python()
    assert [row[0] for row in trend[1:]] == ["2026-09"]  # the school year to the quarter's end
    parts = zipfile.ZipFile(io.BytesIO(book)).namelist()
    charts = sorted(p for p in parts if p.startswith("xl/charts/chart"))
    assert charts == ["xl/charts/chart1.xml", "xl/charts/chart2.xml"]
    kinds = [zipfile.ZipFile(io.BytesIO(book)).read(c).decode() for c in charts]
    assert "<c:barChart>" in kinds[0] and "<c:lineChart>" in kinds[1]
    pdf = await export(api, "PDF")
    text = pypdf.PdfReader(io.BytesIO(pdf)).pages[0].extract_text()
    assert "县级控辍保学季度审核报告" in text and "分单位辍学人数" in text
