"""The demo county's agency lists (ST 1), written as the agencies send them and loaded
through the import path: the police household register (CSV, UTF-8 with BOM), the poverty
office's households (CSV in GB18030, as office software saves "ANSI"), the disabled
federation's list (XLSX) and civil affairs' list (CSV). Each has a couple of bad rows, and
the police list a few school-age children who are on no school register (what the
cross-check of household register and school register is for).

The lists are made from the generated county (``workflow.demo.data``), so the groups they
set are the ones the demo children already carry: loading them adds the provenance (which
list said so, for which period) and the base database, and changes no child.
``python -m workflow.demo.lists`` writes the default county's files, its school register
extract (``workflow.demo.files``, what ``seed-demo`` builds the children from) among them,
to ``docs/samples/``, where a newcomer finds them to read and re-import.
"""

from __future__ import annotations

import argparse
import io
from collections.abc import Callable
from datetime import date, datetime, timedelta
from pathlib import Path

import xlsxwriter
from sqlalchemy.ext.asyncio import AsyncSession

from authz.enforcer import Authorizer
from models.imports import ImportSource
from workflow.demo.data import DemoChild, DemoCounty
from workflow.demo.files import csv_content, load_file, register_name, register_rows
from workflow.demo.seed import SHANTING, district_county, seeded_county
from workflow.infra.id_number import make
from workflow.infra.reference_json import load

PERIOD = "2026-09"
POVERTY = {"registered_poor": "脱贫户", "unstable_poverty_exit": "监测户"}
CIVIL = {"orphan": "孤儿", "no_de_facto_carer": "事实无人抚养儿童", "subsistence_allowance": "低保",
         "rural_extreme_poverty": "特困"}
SEX = {"male": "男", "female": "女"}
# Who sends which list in the demo (a user of that agency).
SENDERS = {ImportSource.POLICE_HOUSEHOLD: "police_officer",
           ImportSource.POVERTY_HOUSEHOLD: "poverty_office",
           ImportSource.DISABLED_FEDERATION: "disabled_fed",
           ImportSource.CIVIL_AFFAIRS: "civil_affairs"}


def _flagged(county: DemoCounty, flags: dict[str, str]) -> list[tuple[DemoChild, str]]:
    return [(c, label) for c in county.children if c.id_number
            for flag, label in flags.items() if flag in c.flags]


def _xlsx(rows: list[list[str]]) -> bytes:
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True})
    sheet = book.add_worksheet("残疾儿童")
    for r, row in enumerate(rows):
        sheet.write_row(r, 0, row)
    book.close()
    return buffer.getvalue()


def police(county: DemoCounty, today: date) -> list[list[str]]:
    rows = [["姓名", "性别", "公民身份号码", "出生日期", "户号", "户主姓名"]]
    for i, c in enumerate(county.children):
        if c.id_number:
            head = c.guardians[0].name if c.guardians else ""
            rows.append([c.name, SEX[c.sex], c.id_number, c.birth_date.isoformat(),
                         f"H{i:07d}", head])
    # Resident children of school age on no school register (适龄失学 to be checked).
    for k, name in enumerate(("孙小川", "韩雨桐", "马立新")):
        born = today - timedelta(days=365 * (8 + k) + 40)
        rows.append([name, "男" if k != 1 else "女",
                     make(county.district_code, born, 801 + k * 2 - (k == 1)),
                     born.isoformat(), f"H9{k:06d}", "户主"])
    rows.append(["号码不全", "男", "3704062016", "2016-01-01", "H9999999", "户主"])
    return rows


def poverty(county: DemoCounty) -> list[list[str]]:
    rows = [["成员姓名", "成员证件号码", "出生日期", "户类型"]]
    rows += [[c.name, c.id_number or "", c.birth_date.isoformat(), label]
             for c, label in _flagged(county, POVERTY)]
    rows.append(["类型不明", make(county.district_code, date(2016, 5, 5), 7), "2016-05-05",
                 "一般户"])
    return rows


def disabled(county: DemoCounty) -> list[list[str]]:
    rows = [["姓名", "身份证号", "出生日期", "残疾类别"]]
    rows += [[c.name, c.id_number or "", c.birth_date.isoformat(), c.health_note or ""]
             for c, _ in _flagged(county, {"disabled": ""})]
    rows.append(["日期有误", make(county.district_code, date(2016, 2, 2), 9), "2016-02-30", ""])
    return rows


def civil(county: DemoCounty) -> list[list[str]]:
    rows = [["儿童姓名", "身份证号", "出生日期", "保障类别"]]
    rows += [[c.name, c.id_number or "", c.birth_date.isoformat(), label]
             for c, label in _flagged(county, CIVIL)]
    rows.append(["", make(county.district_code, date(2015, 3, 3), 11), "2015-03-03", "孤儿"])
    return rows


def list_files(county: DemoCounty, today: date) -> dict[ImportSource, tuple[str, bytes]]:
    """Each source's demo list: (file name, content)."""
    code = county.district_code
    makers: dict[ImportSource, tuple[str, Callable[[], bytes]]] = {
        ImportSource.POLICE_HOUSEHOLD: (
            f"户籍适龄儿童_{code}_{PERIOD}.csv", lambda: csv_content(police(county, today))),
        ImportSource.POVERTY_HOUSEHOLD: (
            f"脱贫户监测户_{code}_{PERIOD}.csv", lambda: csv_content(poverty(county), "gb18030")),
        ImportSource.DISABLED_FEDERATION: (
            f"残疾儿童_{code}_{PERIOD}.xlsx", lambda: _xlsx(disabled(county))),
        ImportSource.CIVIL_AFFAIRS: (
            f"民政救助儿童_{code}_{PERIOD}.csv", lambda: csv_content(civil(county), "utf-8")),
    }
    return {source: (name, make_file()) for source, (name, make_file) in makers.items()}


async def seed_demo_lists(session: AsyncSession, authz: Authorizer, now: datetime,
                          children: int) -> dict[str, int]:
    """Load 山亭's lists through the import path, each sent and applied by a user of its
    agency (``children`` as given to ``seed_demo``); returns the applied rows per source."""
    county = await seeded_county(session, children)
    loaded: dict[str, int] = {}
    for source, (name, content) in list_files(county, now.date()).items():
        job = await load_file(session, authz, now, username=SENDERS[source], source=source,
                              district_code=county.district_code, period=PERIOD, name=name,
                              content=content)
        loaded[source.value] = job.valid_rows
    return loaded


def main() -> None:
    parser = argparse.ArgumentParser(description="Write the demo county's list files.")
    parser.add_argument("--out", type=Path, default=Path("docs/samples"))
    parser.add_argument("--children", type=int, default=3000)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    townships = sorted((j["code"], j["name"]) for j in load("jurisdictions.json")
                       if j["parent"] == SHANTING.code)
    county = district_county(SHANTING, townships, args.children)
    files = [(register_name(county.district_code), csv_content(register_rows(county))),
             *list_files(county, date(2026, 9, 20)).values()]
    for name, content in files:
        (args.out / name).write_bytes(content)
        print(args.out / name)


if __name__ == "__main__":
    main()
