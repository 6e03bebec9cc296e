"""The demo's files through the import path (issue 14: "the demo county is built through the
same import path from sample files shipped in the repository").

``register_rows`` writes a district's school register extract (学籍信息) as the education
bureau exports it: Chinese headers, one row per pupil with the school by name, the grade and
class and the first guardian, and one bad row (a transferring pupil whose ID number has a
wrong check character) so the newcomer sees a reject. ``load_file`` uploads and applies a
file as a given user, through ``workflow.imports`` exactly as ``POST /imports`` and
``applyImport`` do. ``python -m workflow.demo.lists`` writes 山亭's register with its agency
lists to ``docs/samples/``.
"""

from __future__ import annotations

import codecs
import csv
import io
import tempfile
from datetime import date, datetime
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession

from authz.enforcer import Authorizer
from models.imports import ImportJob, ImportSource
from workflow import imports
from workflow.clock import FixedClock
from workflow.context import ServiceContext
from workflow.demo.data import DemoCounty
from workflow.infra.id_number import make
from workflow.user import load_principal

REGISTER_PERIOD = "2026-09"
REGISTER_HEADER = ["学生姓名", "性别", "出生日期", "身份证件号", "学校名称", "年级", "班级",
                   "村（社区）", "监护人姓名", "与学生关系", "联系电话"]
SEX = {"male": "男", "female": "女"}
RELATION = {"father": "父亲", "mother": "母亲", "grandfather": "祖父", "grandmother": "祖母",
            "other": "其他"}


def register_name(district_code: str) -> str:
    return f"学籍信息_{district_code}_{REGISTER_PERIOD}.csv"


def register_rows(county: DemoCounty) -> list[list[str]]:
    """The county's school register extract, the header first (row ``i + 2`` of the file is
    ``county.children[i]``); the bad row last."""
    schools = {s.key: s.name for s in county.schools}
    rows = [REGISTER_HEADER]
    for c in county.children:
        first = c.guardians[0] if c.guardians else None
        rows.append([
            c.name, SEX[c.sex], c.birth_date.isoformat(), c.id_number or "",
            schools[c.school_key], str(c.grade), str(c.class_no), c.village,
            first.name if first else "", RELATION[first.relation] if first else "",
            first.phone if first else "",
        ])
    wrong = make(county.district_code, date(2016, 4, 4), 15)
    wrong = wrong[:-1] + ("0" if wrong[-1] != "0" else "1")
    rows.append(["转入待核", "男", "2016-04-04", wrong, schools[county.schools[0].key], "4",
                 "1", "", "", "", ""])
    return rows


def csv_content(rows: list[list[str]], encoding: str = "utf-8") -> bytes:
    """Rows as CSV in ``encoding`` (UTF-8 with a byte-order mark, as office software saves)."""
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    data = out.getvalue().encode(encoding)
    return codecs.BOM_UTF8 + data if encoding == "utf-8" else data


async def load_file(
    session: AsyncSession, authz: Authorizer, now: datetime, *, username: str,
    source: ImportSource, district_code: str, period: str, name: str, content: bytes,
) -> ImportJob:
    """Upload and apply one file as ``username`` (the caller commits)."""
    principal = await load_principal(session, username)
    if principal is None:
        raise RuntimeError("the demo users are missing")
    ctx = ServiceContext(session, principal, authz, FixedClock(now), request_id="seed-demo")
    with tempfile.TemporaryDirectory(prefix="lianbao-demo-") as folder:
        path = Path(folder) / name
        path.write_bytes(content)
        uploaded = await imports.upload(ctx, source=source, district_code=district_code,
                                        period=period, filename=name, path=path)
    return await imports.apply(ctx, uploaded.job.id, None)
