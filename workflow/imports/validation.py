"""Validating one row of an agency's file: each field parsed into the register's terms, or
a reason in Chinese naming the column (shown to the clerk who sent the file).

Checks: required fields present; ID numbers by GB 11643 (length, digits, a real birth date,
the check character) and not born in the future; the birth date a real date, not in the
future, agreeing with the ID number; sex, grade, class and guardian relation from their
closed sets; the list's category known to the mapping.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Any

from models.names import name_key
from workflow.imports.reading import SourceMapping, text_of
from workflow.infra.id_number import InvalidIdNumber, validate

HEADER_NAMES = {
    "national_id": "身份证号", "name": "姓名", "sex": "性别", "birth_date": "出生日期",
    "school_name": "学校", "grade": "年级", "class_no": "班级", "township_code": "乡镇代码",
    "village": "村（社区）", "guardian_name": "监护人", "guardian_relation": "与学生关系",
    "guardian_phone": "联系电话", "household_no": "户号", "group": "类别",
}
ID_REASONS = {
    "length": "身份证号应为18位",
    "characters": "身份证号应为17位数字加一位数字或X",
    "birth_date": "身份证号中的出生日期不是有效日期",
    "checksum": "身份证号校验位错误（GB 11643）",
}
SEX = {"男": "male", "女": "female", "1": "male", "2": "female", "male": "male",
       "female": "female"}
RELATION = {"父亲": "father", "父": "father", "母亲": "mother", "母": "mother",
            "祖父": "grandfather", "爷爷": "grandfather", "外祖父": "grandfather",
            "祖母": "grandmother", "奶奶": "grandmother", "外祖母": "grandmother",
            "其他": "other", "其他监护人": "other"}
GRADES = {"一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
DATE_FORMS = (
    re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$"),
    re.compile(r"^(\d{4})/(\d{1,2})/(\d{1,2})$"),
    re.compile(r"^(\d{4})\.(\d{1,2})\.(\d{1,2})$"),
    re.compile(r"^(\d{4})年(\d{1,2})月(\d{1,2})日$"),
    re.compile(r"^(\d{4})(\d{2})(\d{2})$"),
)
PHONE = re.compile(r"^[0-9+\-]{7,20}$")
TOWNSHIP = re.compile(r"^\d{9}$")


@dataclass(frozen=True)
class Reject:
    row_no: int
    column: str
    reason: str
    value: str


class RowError(Exception):
    def __init__(self, field: str, reason: str, value: str) -> None:
        super().__init__(reason)
        self.field, self.reason, self.value = field, reason, value


def parse_date(raw: str, field: str, today: date) -> date:
    for form in DATE_FORMS:
        m = form.match(raw)
        if m:
            try:
                found = date(int(m[1]), int(m[2]), int(m[3]))
            except ValueError:
                break
            if found > today:
                raise RowError(field, "日期晚于今天", raw)
            if found.year < 1900:
                raise RowError(field, "日期早于1900年", raw)
            return found
    raise RowError(field, "不是有效日期（如 2015-09-01）", raw)


def _grade(raw: str) -> int:
    text = raw.removesuffix("年级").removeprefix("初").strip()
    if text.isdigit():
        value = int(text)
        # 初一…初三 and 7–9 both name the junior grades.
        value = value + 6 if raw.startswith("初") else value
    elif text in GRADES:
        value = GRADES[text] + (6 if raw.startswith("初") else 0)
    else:
        raise RowError("grade", "年级应为1至9", raw)
    if not 1 <= value <= 9:
        raise RowError("grade", "年级应为1至9", raw)
    return value


def _national_id(raw: str, today: date) -> tuple[str, date]:
    try:
        info = validate(raw)
    except InvalidIdNumber as exc:
        raise RowError("national_id", ID_REASONS.get(exc.reason, "身份证号无效"), raw) from exc
    if info.birth_date > today:
        raise RowError("national_id", "身份证号中的出生日期晚于今天", raw)
    return info.number, info.birth_date


def _parse(m: SourceMapping, cells: dict[str, str], today: date) -> dict[str, Any]:
    out: dict[str, Any] = dict.fromkeys(HEADER_NAMES)
    for f in m.required:
        if not cells.get(f):
            raise RowError(f, "必填项为空", "")
    id_birth: date | None = None
    if cells.get("national_id"):
        out["national_id"], id_birth = _national_id(cells["national_id"], today)
    out["name"] = cells.get("name", "")[:64]
    if not out["name"]:
        raise RowError("name", "必填项为空", "")
    raw_birth = cells.get("birth_date", "")
    out["birth_date"] = parse_date(raw_birth, "birth_date", today) if raw_birth else id_birth
    if out["birth_date"] is None:
        raise RowError("birth_date", "必填项为空", "")
    if id_birth is not None and id_birth != out["birth_date"]:
        raise RowError("birth_date", "出生日期与身份证号不一致", raw_birth)
    if cells.get("sex"):
        if cells["sex"] not in SEX:
            raise RowError("sex", "性别应为男或女", cells["sex"])
        out["sex"] = SEX[cells["sex"]]
    if cells.get("grade"):
        out["grade"] = _grade(cells["grade"])
    if cells.get("class_no"):
        digits = cells["class_no"].removesuffix("班")
        if not digits.isdigit() or not 1 <= int(digits) <= 99:
            raise RowError("class_no", "班级应为1至99的数字", cells["class_no"])
        out["class_no"] = int(digits)
    if cells.get("guardian_relation"):
        out["guardian_relation"] = RELATION.get(cells["guardian_relation"], "other")
    phone = cells.get("guardian_phone", "")
    if phone and not PHONE.match(phone):
        raise RowError("guardian_phone", "联系电话格式不正确", phone)
    out["guardian_phone"] = phone or None
    township = cells.get("township_code", "")
    if township and not TOWNSHIP.match(township):
        raise RowError("township_code", "乡镇代码应为9位数字", township)
    out["township_code"] = township or None
    for f, size in (("school_name", 128), ("village", 64), ("guardian_name", 64),
                    ("household_no", 32)):
        out[f] = (cells.get(f) or "")[:size] or None
    out["group"] = _group(m, cells.get("group", ""))
    # Matching keys computed once here, where the row enters (models/names.py).
    out["name_key"] = name_key(out["name"])
    out["guardian_key"] = name_key(out["guardian_name"])
    return out


def _group(m: SourceMapping, raw: str) -> str | None:
    if m.fixed_group is not None:
        return m.fixed_group
    if not raw:
        return None
    group = m.groups.get("".join(raw.split()))
    if group is None:
        raise RowError("group", f"类别不在本来源的类别表中（{'、'.join(m.groups)}）", raw)
    return group


def check_row(
    m: SourceMapping, at: dict[str, int], row_no: int, row: list[object], today: date
) -> dict[str, Any] | Reject:
    """The row as a staged ``import_row`` (without the job id), or its first fault."""
    width = len(row)
    cells: dict[str, str] = {}
    for f, i in at.items():
        value = row[i] if i < width else ""
        # A CSV's cells are all text: stripped here rather than through text_of's checks
        # (a province's file is 20,000,000 cells).
        cells[f] = value.strip() if type(value) is str else text_of(value)
    try:
        parsed = _parse(m, cells, today)
    except RowError as error:
        return Reject(row_no, HEADER_NAMES.get(error.field, error.field), error.reason,
                      error.value[:200])
    parsed["row_no"] = row_no
    return parsed
