"""Imports over HTTP (issue 14): each source with good and bad rows, preview, apply, cancel,
idempotent re-import, the next period's update, children without ID numbers and their
candidates, a crash in the middle, the rejects as XLSX, the ST 1 reminders."""

from __future__ import annotations

import io
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from python_calamine import CalamineWorkbook
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from models.child import Child, ChildGroup, Guardian
from models.enums import SpecialGroup
from models.imports import BaseRecord, ImportJob, ImportSource, ValueProvenance
from models.reference import Jurisdiction
from models.school import Enrolment, School
from models.task import Task
from tests.helpers import REGISTER_HEADER, Api, gid, staged_list, upload_list
from workflow.demo.lists import list_files
from workflow.demo.seed import SHANTING, district_county
from workflow.engine import TickReport
from workflow.imports import merge as merge_module
from workflow.imports import operations as operations_module
from workflow.imports import staging
from workflow.imports.reading import csv_bytes, detect_encoding
from workflow.imports.reminders import remind_lists
from workflow.infra.id_number import make

JOB = """query($id: ID!) { node(id: $id) { ... on ImportJob { id status version totalRows
  validRows rejectedRows counts { created changed unchanged matched unmatched candidates
  groupsSet groupsRemoved dryRun } } }
  importRejects(importId: $id, first: 50) { totalCount edges { node { rowNo column
  reason value { value masked } } } } }"""
PREVIEW = """mutation($id: ID!) { previewImport(input: {importId: $id}) { importJob { status
  counts { created changed unchanged candidates dryRun } } userErrors { code message } } }"""
APPLY = """mutation($id: ID!, $v: Int) { applyImport(input: {importId: $id, expectedVersion: $v})
  { importJob { status counts { created changed unchanged matched unmatched candidates
  groupsSet groupsRemoved } } userErrors { code message } } }"""
CANCEL = """mutation($id: ID!) { cancelImport(input: {importId: $id}) { importJob { status }
  userErrors { code } } }"""
CANDIDATES = """query($id: ID) { matchCandidates(importId: $id, first: 10) { totalCount
  edges { node { id name status reason child { id } } } } }"""


def ident(birth: date, seq: int) -> str:
    return make("370406", birth, seq)


upload = upload_list
staged = staged_list


async def schools(session: AsyncSession, district: str = "370406") -> list[School]:
    return list((await session.execute(
        select(School).join(Jurisdiction, Jurisdiction.code == School.township_code)
        .where(Jurisdiction.parent_code == district).order_by(School.id)
    )).scalars())


def register_rows(school: str, other: str, known: Child) -> list[list[str]]:
    b1, b2 = date(2016, 3, 4), date(2015, 10, 9)
    return [
        REGISTER_HEADER,
        ["新生甲", "男", "2016-03-04", ident(b1, 11), school, "四年级", "2", "新家长", "父亲",
         "13800000001"],
        ["新生乙", "女", "2015/10/09", ident(b2, 22), school, "5", "1班", "", "", ""],
        # the known child moves school and grade
        [known.name, "男" if known.sex == "male" else "女", known.birth_date.isoformat(),
         known.national_id or "", other, "6", "1", "", "", ""],
        # without an ID number: a new child (register type Z-other)
        ["无证丙", "女", "2017年5月6日", "", school, "3", "1", "丙妈妈", "母亲", "13900000003"],
        # bad rows
        ["坏号丁", "男", "2016-01-01", ident(date(2016, 1, 1), 5)[:-1] + "0", school, "4", "1",
         "", "", ""],
        ["未来戊", "男", "2030-01-01", "", school, "1", "1", "", "", ""],
        ["", "男", "2016-01-01", "", school, "1", "1", "", "", ""],
        ["外校己", "男", "2016-02-02", ident(date(2016, 2, 2), 7), "不存在的学校", "4", "1",
         "", "", ""],
        ["重复庚", "男", "2016-03-04", ident(b1, 11), school, "4", "1", "", "", ""],
    ]


async def a_known_child(session: AsyncSession) -> Child:
    return (await session.execute(
        select(Child).where(Child.national_id.is_not(None), Child.scope_path.like("%370406%"))
        .order_by(Child.id).limit(1)
    )).scalar_one()


async def test_school_register_preview_apply_and_reimport(
    api: Api, session: AsyncSession
) -> None:
    school, other = (await schools(session))[:2]
    known = await a_known_child(session)
    content = csv_bytes(register_rows(school.name, other.name, known))
    job = await staged(api, "school_register", content)
    answer = await api.gql(JOB, {"id": job})
    data = answer["node"]
    assert (data["status"], data["totalRows"], data["validRows"], data["rejectedRows"]) == (
        "STAGED", 9, 4, 5)
    reasons = {e["node"]["rowNo"]: (e["node"]["column"], e["node"]["reason"])
               for e in answer["importRejects"]["edges"]}
    assert reasons[6] == ("身份证号", "身份证号校验位错误（GB 11643）")
    assert reasons[7] == ("出生日期", "日期晚于今天")
    assert reasons[8][1] == "必填项为空"
    assert reasons[9] == ("学校", "学校不在本区学校名单中")
    assert reasons[10][1].startswith("文件中身份证号重复")
    preview = (await api.gql(PREVIEW, {"id": job}))["previewImport"]
    assert preview["userErrors"] == []
    assert preview["importJob"]["counts"] == {
        "created": 3, "changed": 1, "unchanged": 0, "candidates": 0, "dryRun": True}
    # a dry run changes nothing
    assert (await session.execute(
        select(func.count()).select_from(Child).where(Child.name == "新生甲"))).scalar_one() == 0
    version = (await api.gql(JOB, {"id": job}))["node"]["version"]
    applied = (await api.gql(APPLY, {"id": job, "v": version}))["applyImport"]
    assert applied["userErrors"] == []
    assert applied["importJob"]["status"] == "APPLIED"
    assert applied["importJob"]["counts"]["created"] == 3
    new = (await session.execute(select(Child).where(Child.name == "新生甲"))).scalar_one()
    enrolment = (await session.execute(
        select(Enrolment).where(Enrolment.child_id == new.id))).scalar_one()
    assert (enrolment.school_id, enrolment.grade, enrolment.class_no) == (school.id, 4, 2)
    guardian = (await session.execute(
        select(Guardian).where(Guardian.child_id == new.id))).scalar_one()
    assert (guardian.name, guardian.phone) == ("新家长", "13800000001")
    no_id = (await session.execute(select(Child).where(Child.name == "无证丙"))).scalar_one()
    assert no_id.national_id is None and no_id.register_type.value == "other"
    moved = (await session.execute(
        select(Enrolment).where(Enrolment.child_id == known.id))).scalar_one()
    assert (moved.school_id, moved.grade) == (other.id, 6)
    await session.refresh(known)
    provenance = (await session.execute(select(ValueProvenance).where(
        ValueProvenance.child_id == known.id, ValueProvenance.field == "register"))).scalar_one()
    assert (provenance.source.value, provenance.period) == ("school_register", "2026-09")
    # the same file again: the earlier job, nothing staged or changed
    again = await upload(api, "school_register", content)
    assert again.status_code == 200 and again.json()["duplicate"] is True
    assert again.json()["importJob"]["id"] == job
    # applying twice is refused
    twice = (await api.gql(APPLY, {"id": job, "v": None}))["applyImport"]
    assert twice["userErrors"][0]["code"] == "WRONG_STAGE"


async def test_a_large_file_is_checked_in_worker_processes_alike(
    api: Api, session: AsyncSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Above ``PARALLEL_FROM_BYTES`` the rows are validated in worker processes, in
    batches: the same rows staged, the same rejects, in the file's order."""
    school, other = (await schools(session))[:2]
    known = await a_known_child(session)
    rows = register_rows(school.name, other.name, known)
    content = csv_bytes(rows)
    alone = await staged(api, "school_register", content, period="2026-03")
    monkeypatch.setattr(staging, "PARALLEL_FROM_BYTES", 0)
    monkeypatch.setattr(staging, "DEFAULT_BATCH", 2)
    # Another file (the same rows once more, a blank line between): not a duplicate.
    spread = await staged(api, "school_register", csv_bytes([*rows, [""] * 10]),
                          period="2026-03")

    def seen(answer: dict[str, Any]) -> tuple[Any, ...]:
        node = answer["node"]
        return (node["totalRows"], node["validRows"], node["rejectedRows"],
                [(e["node"]["rowNo"], e["node"]["column"], e["node"]["reason"])
                 for e in answer["importRejects"]["edges"]])

    assert seen(await api.gql(JOB, {"id": spread})) == seen(await api.gql(JOB, {"id": alone}))
    assert seen(await api.gql(JOB, {"id": alone}))[:3] == (9, 4, 5)


async def test_tabs_newlines_and_backslashes_are_staged_as_sent(
    api: Api, session: AsyncSession
) -> None:
    """PostgreSQL stages through COPY's text format, escaped where the rows are checked:
    a value with a backslash, a tab or a line break inside (a quoted CSV field) arrives
    as sent, in the register and in a reject."""
    school = (await schools(session))[0]
    born = date(2016, 3, 4)
    name, guardian, bad_sex = "王\\小明", "李\t四\n（外婆）", "男\\\t女"
    content = csv_bytes([
        REGISTER_HEADER,
        [name, "男", born.isoformat(), ident(born, 31), school.name, "4", "1", guardian,
         "其他", ""],
        ["坏性别", bad_sex, born.isoformat(), ident(born, 41), school.name, "4", "1", "",
         "", ""],
    ])
    job = await staged(api, "school_register", content)
    answer = await api.gql(JOB, {"id": job})
    assert [(e["node"]["column"], e["node"]["value"]["value"])
            for e in answer["importRejects"]["edges"]] == [("性别", bad_sex)]
    applied = (await api.gql(APPLY, {"id": job, "v": None}))["applyImport"]
    assert applied["userErrors"] == []
    child = (await session.execute(select(Child).where(
        Child.national_id == ident(born, 31)))).scalar_one()
    assert child.name == name
    assert (await session.execute(select(Guardian.name).where(
        Guardian.child_id == child.id))).scalar_one() == guardian


async def test_next_period_updates_in_place_and_no_id_children_become_candidates(
    api: Api, session: AsyncSession
) -> None:
    school, other = (await schools(session))[:2]
    first = [REGISTER_HEADER,
             ["同名", "男", "2016-06-01", "", school.name, "4", "1", "老王", "父亲", ""],
             ["有证", "女", "2016-07-01", ident(date(2016, 7, 1), 44), school.name, "4", "1",
              "", "", ""]]
    job = await staged(api, "school_register", csv_bytes(first), period="2026-03")
    assert (await api.gql(APPLY, {"id": job}))["applyImport"]["userErrors"] == []
    # next period: the ID child moves up a grade; the no-ID child's row names another guardian
    second = [REGISTER_HEADER,
              ["同名", "男", "2016-06-01", "", school.name, "5", "1", "老李", "父亲", ""],
              ["有证", "女", "2016-07-01", ident(date(2016, 7, 1), 44), other.name, "5", "1",
               "", "", ""]]
    job2 = await staged(api, "school_register", csv_bytes(second), period="2026-09")
    counts = (await api.gql(APPLY, {"id": job2}))["applyImport"]["importJob"]["counts"]
    assert (counts["created"], counts["changed"], counts["candidates"]) == (0, 1, 1)
    assert (await session.execute(select(func.count()).select_from(Child)
                                  .where(Child.name == "同名"))).scalar_one() == 1
    found = (await api.gql(CANDIDATES, {"id": job2}))["matchCandidates"]
    assert found["totalCount"] == 1
    candidate = found["edges"][0]["node"]
    assert candidate["status"] == "OPEN" and candidate["child"] is not None
    # the police may not decide on the register's candidates
    refused = await api.post(
        'mutation($c: ID!) { confirmMatch(input: {candidateId: $c}) { userErrors { code } } }',
        {"c": candidate["id"]}, user="police_officer")
    assert refused.json()["data"]["confirmMatch"]["userErrors"][0]["code"] == "NOT_FOUND"
    confirmed = await api.gql(
        """mutation($c: ID!) { confirmMatch(input: {candidateId: $c}) { matchCandidate {
        status } userErrors { code message } } }""", {"c": candidate["id"]})
    assert confirmed["confirmMatch"] == {"matchCandidate": {"status": "CONFIRMED"},
                                         "userErrors": []}
    child = (await session.execute(select(Child).where(Child.name == "同名"))).scalar_one()
    grade = (await session.execute(
        select(Enrolment.grade).where(Enrolment.child_id == child.id))).scalar_one()
    assert grade == 5
    names = set((await session.execute(
        select(Guardian.name).where(Guardian.child_id == child.id))).scalars())
    assert names == {"老王", "老李"}


async def test_one_child_on_two_rows_of_a_file_is_changed_once(
    api: Api, session: AsyncSession
) -> None:
    """A child without an ID number listed twice in the next period's file (the same name,
    birth date and guardian): the first row moves the child, the second is rejected as a
    repeated ID number is (an upsert may not write one child twice: it was INTERNAL)."""
    school = (await schools(session))[0]
    row = ["双行", "男", "2016-06-01", "", school.name, "4", "1", "老张", "父亲", ""]
    job = await staged(api, "school_register", csv_bytes([REGISTER_HEADER, row]),
                       period="2026-03")
    assert (await api.gql(APPLY, {"id": job}))["applyImport"]["userErrors"] == []
    moved = [*row[:5], "5", *row[6:]]
    job = await staged(api, "school_register", csv_bytes([REGISTER_HEADER, moved, moved]),
                       period="2026-09")
    applied = (await api.gql(APPLY, {"id": job}))["applyImport"]
    assert applied["userErrors"] == []
    assert applied["importJob"]["counts"]["created"] == 0
    child = (await session.execute(select(Child).where(Child.name == "双行"))).scalar_one()
    assert (await session.execute(select(Enrolment.grade).where(
        Enrolment.child_id == child.id))).scalar_one() == 5
    answer = await api.gql(JOB, {"id": job})
    assert (answer["node"]["validRows"], answer["node"]["rejectedRows"]) == (1, 1)
    assert [(e["node"]["rowNo"], e["node"]["reason"])
            for e in answer["importRejects"]["edges"]] == [
        (3, "文件中多行为同一儿童（以首次出现的行为准）")]


async def test_cancel_drops_the_staged_rows(api: Api, session: AsyncSession) -> None:
    school = (await schools(session))[0]
    rows = [REGISTER_HEADER, ["取消", "男", "2016-06-01", "", school.name, "4", "1", "", "", ""]]
    job = await staged(api, "school_register", csv_bytes(rows))
    assert (await api.gql(CANCEL, {"id": job}))["cancelImport"]["importJob"]["status"] == (
        "CANCELLED")
    after = (await api.gql(APPLY, {"id": job}))["applyImport"]
    assert after["userErrors"][0]["code"] == "WRONG_STAGE"
    assert (await session.execute(select(func.count()).select_from(Child)
                                  .where(Child.name == "取消"))).scalar_one() == 0


async def test_a_crash_in_the_middle_applies_nothing(
    api: Api, session: AsyncSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    school = (await schools(session))[0]
    rows = [REGISTER_HEADER, ["崩溃", "男", "2016-06-01", ident(date(2016, 6, 1), 9),
                              school.name, "4", "1", "", "", ""]]
    job = await staged(api, "school_register", csv_bytes(rows))

    async def broken(ctx: Any) -> None:
        raise RuntimeError("injected failure after the children were written")

    # children are inserted, then the register entries fail
    monkeypatch.setattr(merge_module, "_enrol", broken)
    response = await api.post(APPLY, {"id": job})
    assert response.json()["errors"][0]["extensions"]["code"] == "INTERNAL"
    assert (await session.execute(select(func.count()).select_from(Child)
                                  .where(Child.name == "崩溃"))).scalar_one() == 0
    monkeypatch.undo()
    status = (await api.gql(JOB, {"id": job}))["node"]["status"]
    assert status == "STAGED"
    assert (await api.gql(APPLY, {"id": job}))["applyImport"]["importJob"]["status"] == "APPLIED"


async def civil_rows(children: list[Child], kinds: list[str]) -> bytes:
    rows = [["儿童姓名", "身份证号", "出生日期", "保障类别", "监护人"]]
    for c, kind in zip(children, kinds, strict=True):
        rows.append([c.name, c.national_id or "", c.birth_date.isoformat(), kind, ""])
    rows.append(["不在册", ident(date(2015, 1, 1), 99), "2015-01-01", "孤儿", ""])
    rows.append(["坏类别", ident(date(2015, 1, 2), 98), "2015-01-02", "无此类", ""])
    return csv_bytes(rows)


async def test_lists_set_groups_for_their_period_and_the_next_list_takes_them_off(
    api: Api, session: AsyncSession
) -> None:
    children = list((await session.execute(
        select(Child).where(Child.national_id.is_not(None), Child.scope_path.like("%370406%"))
        .order_by(Child.id.desc()).limit(2))).scalars())
    content = await civil_rows(children, ["孤儿", "事实无人抚养儿童"])
    job = await staged(api, "civil_affairs", content, user="civil_affairs", period="2026-03")
    data = (await api.gql(JOB, {"id": job}, user="civil_affairs"))["node"]
    assert (data["validRows"], data["rejectedRows"]) == (3, 1)
    counts = (await api.gql(APPLY, {"id": job}, user="civil_affairs"))["applyImport"][
        "importJob"]["counts"]
    assert (counts["matched"], counts["unmatched"], counts["groupsSet"]) == (2, 1, 2)
    groups = set((await session.execute(
        select(ChildGroup.group).where(ChildGroup.child_id == children[1].id))).scalars())
    assert SpecialGroup.NO_DE_FACTO_CARER in groups
    outside = (await session.execute(
        select(BaseRecord).where(BaseRecord.name == "不在册"))).scalar_one()
    assert outside.child_id is None and outside.group == "orphan"
    # September's list leaves the second child out: its flag goes, and that is remembered
    job2 = await staged(api, "civil_affairs", await civil_rows(children[:1], ["孤儿"]),
                        user="civil_affairs", period="2026-09")
    counts = (await api.gql(APPLY, {"id": job2}, user="civil_affairs"))["applyImport"][
        "importJob"]["counts"]
    assert counts["groupsRemoved"] == 1
    groups = set((await session.execute(
        select(ChildGroup.group).where(ChildGroup.child_id == children[1].id))).scalars())
    assert SpecialGroup.NO_DE_FACTO_CARER not in groups
    gone = (await session.execute(select(ValueProvenance).where(
        ValueProvenance.child_id == children[1].id,
        ValueProvenance.field == "group:no_de_facto_carer"))).scalar_one()
    assert gone.removed_at is not None and gone.period == "2026-03"


@pytest.mark.parametrize(("source", "user", "header", "kind"), [
    ("police_household", "police_officer", ["姓名", "公民身份号码", "出生日期", "户号"], "A1"),
    ("poverty_household", "poverty_office",
     ["成员姓名", "成员证件号码", "出生日期", "户类型"], "监测户"),
    ("disabled_federation", "disabled_fed", ["姓名", "身份证号", "出生日期", "残疾类别"], "肢体"),
])
async def test_each_agency_loads_its_own_list(
    api: Api, session: AsyncSession, source: str, user: str, header: list[str], kind: str
) -> None:
    child = await a_known_child(session)
    rows = [header, [child.name, child.national_id or "", child.birth_date.isoformat(), kind],
            ["坏", "12345", "2015-01-01", kind]]
    job = await staged(api, source, csv_bytes(rows), user=user)
    answer = await api.gql(JOB, {"id": job}, user=user)
    data = answer["node"]
    assert (data["validRows"], data["rejectedRows"]) == (1, 1)
    assert answer["importRejects"]["edges"][0]["node"]["reason"] == "身份证号应为18位"
    counts = (await api.gql(APPLY, {"id": job}, user=user))["applyImport"]["importJob"]["counts"]
    assert counts["matched"] == 1
    # no other agency sees the list
    other = "civil_affairs" if user != "civil_affairs" else "police_officer"
    seen = await api.gql('query($id: ID!) { node(id: $id) { id } }', {"id": job}, user=other)
    assert seen["node"] is None
    refused = await api.post(JOB, {"id": job}, user=other)
    assert refused.json()["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    # nor may it send one in this agency's name
    refused = await upload(api, source, csv_bytes(rows), user="hr_officer")
    assert refused.status_code == 403
    assert refused.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_xlsx_gb18030_and_the_rejects_download(api: Api, session: AsyncSession) -> None:
    import xlsxwriter

    school = (await schools(session))[0]
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True})
    sheet = book.add_worksheet()
    for r, row in enumerate([REGISTER_HEADER,
                             ["表格", "男", "2016-06-01", "", school.name, 4, 1, "", "", ""],
                             ["表格坏", "男", "2016-13-01", "", school.name, 4, 1, "", "", ""]]):
        sheet.write_row(r, 0, row)
    book.close()
    job = await staged(api, "school_register", buffer.getvalue(), filename="学籍.xlsx")
    data = (await api.gql(JOB, {"id": job}))["node"]
    assert (data["validRows"], data["rejectedRows"]) == (1, 1)
    got = await api.client.get(f"/imports/{job}/rejects.xlsx",
                               headers={"Authorization": f"Bearer {api.token('edu_officer')}"})
    assert got.status_code == 200, got.text
    sheet_rows = CalamineWorkbook.from_filelike(io.BytesIO(got.content)).get_sheet_by_index(
        0).to_python()
    assert sheet_rows[0] == ["行号", "列", "原因", "值"]
    assert sheet_rows[1][:3] == ["3", "出生日期", "不是有效日期（如 2015-09-01）"]
    gb = "\n".join(",".join(r) for r in [
        REGISTER_HEADER, ["国标", "女", "2016-06-01", "", school.name, "4", "1", "", "", ""]]
    ).encode("gb18030")
    assert detect_encoding(gb) == "gb18030"
    job = await staged(api, "school_register", gb)
    assert (await api.gql(JOB, {"id": job}))["node"]["validRows"] == 1


async def test_a_long_gb18030_list_is_read_as_gb18030(session: AsyncSession) -> None:
    """The demo county's poverty list (3,000 children, GB18030, the encoding office software
    writes as "ANSI") is what charset-normalizer alone called EUC-JIS: make run then failed."""
    townships = (await session.execute(
        select(Jurisdiction.code, Jurisdiction.name).where(Jurisdiction.parent_code == "370406")
        .order_by(Jurisdiction.code))).all()
    county = district_county(SHANTING, list(townships), 3000)
    _, data = list_files(county, date(2026, 9, 1))[ImportSource.POVERTY_HOUSEHOLD]
    assert detect_encoding(data) == "gb18030"


async def test_bad_files_and_fields_are_coded(api: Api, session: AsyncSession) -> None:
    no_headers = await upload(api, "school_register", csv_bytes([["甲", "乙"], ["1", "2"]]))
    assert no_headers.status_code == 400
    assert "缺少必需的列" in no_headers.json()["errors"][0]["message"]
    for data in ({"source": "nope"}, {"period": "2026-13"}, {"districtCode": "999999"}):
        fields = {"source": "school_register", "districtCode": "370406", "period": "2026-09",
                  **data}
        response = await api.client.post(
            "/imports", data=fields, files={"file": ("a.csv", b"x")},
            headers={"Authorization": f"Bearer {api.token('edu_officer')}"})
        assert response.status_code in (400, 404), response.text
        assert response.json()["errors"][0]["extensions"]["code"] in ("BAD_INPUT", "NOT_FOUND")
    anonymous = await api.client.post("/imports", files={"file": ("a.csv", b"x")})
    assert anonymous.status_code == 401


async def test_reminders_at_the_end_of_march_and_september(
    api: Api, session: AsyncSession
) -> None:
    report = TickReport()
    now = datetime(2027, 3, 21, 1, 0, tzinfo=datetime.now().astimezone().tzinfo)
    await remind_lists(session, now, report)
    await remind_lists(session, now + timedelta(hours=1), report)  # safe twice
    tasks = list((await session.execute(
        select(Task).where(Task.kind.like("send_list:%:2027-03")))).scalars())
    kinds = {(t.agency_kind.value, t.scope_path.rsplit("/", 1)[1]) for t in tasks}
    assert ("police", "370406") in kinds and ("civil_affairs", "370406") in kinds
    assert len(tasks) == len(kinds)
    assert all(t.due_on == date(2027, 3, 31) for t in tasks)
    await session.commit()
    queue = await api.gql("{ agencyQueue(first: 20) { edges { node { title } } } }",
                          user="police_officer")
    assert any("ST 1" in e["node"]["title"] for e in queue["agencyQueue"]["edges"])
    assert gid  # the helper module's ids are the API's


async def test_the_demo_lists_load_through_the_import_path_and_change_no_child(
    api: Api, session: AsyncSession, authorizer: Any, clock: Any
) -> None:
    from tests.helpers import DEMO_CHILDREN
    from workflow.demo.lists import seed_demo_lists

    groups = select(func.count()).select_from(ChildGroup)
    before = (await session.execute(groups)).scalar_one()
    loaded = await seed_demo_lists(session, authorizer, clock.now(), DEMO_CHILDREN)
    await session.commit()
    assert set(loaded) == {"police_household", "poverty_household", "disabled_federation",
                           "civil_affairs"} and all(loaded.values())
    assert (await session.execute(groups)).scalar_one() == before
    said = (await session.execute(select(func.count()).select_from(ValueProvenance).where(
        ValueProvenance.field.like("group:%")))).scalar_one()
    assert said > 0
    unregistered = (await session.execute(select(BaseRecord.name).where(
        BaseRecord.source == "police_household", BaseRecord.child_id.is_(None)))).scalars()
    assert set(unregistered) == {"孙小川", "韩雨桐", "马立新"}
    jobs = (await api.gql("{ importJobs(first: 10) { edges { node { source rejectedRows } } } }"
                          ))["importJobs"]["edges"]
    assert {e["node"]["rejectedRows"] for e in jobs} == {1}
    # every list was applied by its own agency, which sees only its own
    mine = await api.gql("{ importJobs(first: 10) { totalCount } }", user="disabled_fed")
    assert mine["importJobs"]["totalCount"] == 1


def _shipped(name: str) -> bytes:
    from tests.helpers import ROOT

    return (ROOT / "docs" / "samples" / name).read_bytes()


async def test_the_demo_children_come_from_its_register_file_through_the_import_path(
    api: Api, session: AsyncSession
) -> None:
    """``seed-demo`` builds 山亭's children from its school register extract, uploaded and
    applied by the education officer; the file shipped in docs/samples is that of the
    default county, and sending the test county's file again changes nothing."""
    from tests.helpers import DEMO_CHILDREN
    from workflow.demo.files import csv_content, register_name, register_rows

    townships = [(t.code, t.name) for t in (await session.execute(
        select(Jurisdiction).where(Jurisdiction.parent_code == SHANTING.code)
        .order_by(Jurisdiction.code))).scalars()]
    assert _shipped(register_name(SHANTING.code)) == csv_content(register_rows(
        district_county(SHANTING, townships, 3000)))
    jobs = (await api.gql("""{ importJobs(first: 20, filter: {source: SCHOOL_REGISTER,
        districtCode: "370406"}) { edges { node { id status validRows rejectedRows
        counts { created } } } } }"""))["importJobs"]["edges"]
    assert [(j["node"]["status"], j["node"]["validRows"], j["node"]["rejectedRows"],
             j["node"]["counts"]["created"]) for j in jobs] == [
        ("APPLIED", DEMO_CHILDREN, 1, DEMO_CHILDREN)]
    job = (await session.execute(select(ImportJob).where(
        ImportJob.source == ImportSource.SCHOOL_REGISTER,
        ImportJob.district_code == "370406"))).scalar_one()
    registered = select(func.count()).select_from(ValueProvenance).where(
        ValueProvenance.field == "register", ValueProvenance.job_id == job.id)
    assert (await session.execute(registered)).scalar_one() == DEMO_CHILDREN
    county = district_county(SHANTING, townships, DEMO_CHILDREN)
    again = await upload(api, "school_register", csv_content(register_rows(county)),
                         filename=register_name(SHANTING.code))
    assert again.status_code == 200 and again.json()["duplicate"] is True
    # What the extract does not carry is the demo's own: second guardians, groups, notes.
    guardians = (await session.execute(select(func.count()).select_from(Guardian).join(
        Child, Child.id == Guardian.child_id).where(Child.scope_path.like("%/370406/%"))
    )).scalar_one()
    assert guardians == sum(len(c.guardians) for c in county.children)


async def test_progress_is_pushed_on_the_subscription(
    api: Api, session: AsyncSession, sessions: Any, authorizer: Any, clock: Any
) -> None:
    import asyncio

    from authz.guard import FieldGuard
    from schema.context import AppResources, Context
    from schema.loaders import Loaders
    from schema.root import build_schema
    from workflow.context import ServiceContext
    from workflow.imports import progress_event
    from workflow.infra.events import LocalBus
    from workflow.user import load_principal

    school = (await schools(session))[0]
    rows = [REGISTER_HEADER, ["推送", "男", "2016-06-01", "", school.name, "4", "1", "", "", ""]]
    job_gid = await staged(api, "school_register", csv_bytes(rows))
    job = (await session.execute(select(ImportJob).order_by(ImportJob.id.desc()))).scalars().first()
    assert job is not None
    bus = LocalBus()

    async def progress(user: str) -> Any:
        principal = await load_principal(session, user)
        assert principal is not None
        services = ServiceContext(session, principal, authorizer, clock)
        context = Context(services=services, loaders=Loaders(services),
                          guard=FieldGuard(authorizer, principal, clock.now()),
                          app=AppResources(bus=bus, sessions=sessions))
        return await build_schema().subscribe(
            "subscription($id: ID!) { importProgress(importId: $id) { id status } }",
            variable_values={"id": job_gid}, context_value=context)

    mine, theirs = await progress("edu_officer"), await progress("police_officer")
    first, other = (asyncio.ensure_future(s.__anext__()) for s in (mine, theirs))
    await asyncio.sleep(0.1)  # both subscribed
    await bus.publish([progress_event(job)])
    result = await asyncio.wait_for(first, 5)
    assert result.data == {"importProgress": {"id": job_gid, "status": "STAGED"}}
    # the police may not read the register's import: nothing reaches them
    await asyncio.sleep(0.2)
    assert not other.done()
    other.cancel()


async def test_a_new_child_colliding_with_a_register_number_is_a_conflict(
    api: Api, session: AsyncSession
) -> None:
    """A new row's child gets the register number G + its ID number; a child already holding
    that number under another ID number (corrected since) refuses the file with a userError
    naming the clash, not an INTERNAL fault, and nothing is written."""
    school = (await schools(session))[0]
    born = date(2016, 6, 2)
    number = ident(born, 17)
    holder = (await session.execute(select(Child).order_by(Child.id).limit(1))).scalar_one()
    holder.student_no = "G" + number
    await session.commit()
    rows = [REGISTER_HEADER, ["撞号", "男", born.isoformat(), number, school.name, "4", "1",
                              "", "", ""]]
    job = await staged(api, "school_register", csv_bytes(rows))
    body = (await api.post(APPLY, {"id": job})).json()
    assert "errors" not in body, body
    (error,) = body["data"]["applyImport"]["userErrors"]
    assert error["code"] == "CONFLICT" and "G" + number not in error["message"], error
    assert (await session.execute(select(func.count()).select_from(Child)
                                  .where(Child.name == "撞号"))).scalar_one() == 0
    assert (await api.gql(JOB, {"id": job}))["node"]["status"] == "STAGED"


@pytest.mark.parametrize(("said", "code"), [
    ("UNIQUE constraint failed: child.national_id", "CONFLICT"),
    ("UNIQUE constraint failed: value_provenance.child_id", "INTERNAL"),
])
async def test_only_a_clash_of_a_childs_numbers_is_the_files_fault(
    api: Api, session: AsyncSession, monkeypatch: pytest.MonkeyPatch, said: str, code: str
) -> None:
    """An ID number taken meanwhile (another import's new child) is a conflict to apply
    again; any other unique index refusing the merge is a fault of ours, not hidden as the
    file's."""
    school = (await schools(session))[0]
    rows = [REGISTER_HEADER, ["并发", "男", "2016-06-03", ident(date(2016, 6, 3), 18),
                              school.name, "4", "1", "", "", ""]]
    job = await staged(api, "school_register", csv_bytes(rows))

    async def clash(_: Any) -> None:
        raise IntegrityError("INSERT …", {}, Exception(said))

    monkeypatch.setattr(operations_module, "merge", clash)
    body = (await api.post(APPLY, {"id": job})).json()
    if code == "CONFLICT":
        (error,) = body["data"]["applyImport"]["userErrors"]
        assert error["code"] == "CONFLICT" and "ID number" in error["message"], error
    else:
        assert body["errors"][0]["extensions"]["code"] == "INTERNAL", body
