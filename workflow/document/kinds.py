"""Document kinds and their legal sources (``reference_data/documents.json``): what each
kind cites in a district, what it needs drafted, what follows it on the ladder, and the
Chinese words a document prints.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from functools import cache
from typing import Any

from models.enums import (
    AgencyKind,
    CaseStage,
    DocumentStatus,
)
from models.ladder import Ladder, LadderStep
from workflow.errors import InvalidInput
from workflow.infra import reference_json

LIVE = (DocumentStatus.ISSUED, DocumentStatus.SERVED)


STAGE_ZH = {
    CaseStage.REPORTED: "已报告",
    CaseStage.SCHOOL_PERSUASION: "学校劝返",
    CaseStage.DROPOUT_REPORTED: "辍学上报",
    CaseStage.ENROL_NOTICE: "限期入学通知",
    CaseStage.TOWNSHIP_ORDER: "乡镇责令改正",
    CaseStage.REFERRED_TO_JUDICIAL: "移送司法",
    CaseStage.JUDICIAL_DOCUMENT: "司法文书",
    CaseStage.LEGAL_ACTION: "依法追责",
    CaseStage.CLOSED: "已结案",
}


METHOD_ZH = {
    "phone": "电话",
    "home_visit": "家访",
    "joint_visit": "联合家访",
    "school_talk": "到校谈话",
}


OUTCOME_ZH = {
    "promised_return": "承诺返校",
    "refused": "拒绝",
    "unreachable": "未联系上",
    "returned": "已返校",
    "other": "其他",
}


CAUSE_ZH = {
    "learning_difficulty": "学习困难",
    "school_aversion": "厌学",
    "family_poverty": "家庭经济困难",
    "illness_or_disability": "疾病或残疾",
    "working": "外出务工",
    "early_marriage": "早婚早育",
    "religious_instruction": "宗教活动影响",
    "family_neglect": "家庭监护缺失",
    "other": "其他",
}


@dataclass(frozen=True)
class Source:
    """A legal source a document may cite: where it is in force, how it numbers provisions."""

    key: str
    title: str
    in_force: str  # "national", or the GB/T 2260 code of the district or city that issued it
    numbering: str  # "article" (条, 项), "point" (点) or "part" (二（七）)

    @property
    def national(self) -> bool:
        return self.in_force == "national"

    def in_force_in(self, district_code: str) -> bool:
        """National law everywhere; a local rule in its own district, or, for a city's rule,
        in the districts below it (540100 covers 540102: GB/T 2260 codes nest by prefix)."""
        if self.national:
            return True
        prefix = self.in_force
        while prefix.endswith("00"):
            prefix = prefix[:-2]
        return district_code.startswith(prefix)

    def cite(self, article: str) -> str:
        """The provision as the source numbers it: 第七条, 第六条第（八）项, 第10点, 二（七）."""
        if self.numbering == "part":
            return article.replace("(", "（").replace(")", "）")
        found = _PROVISION.fullmatch(article)
        if found is None:
            # A ladder a district defined itself may write the provision out already.
            return article
        number, item = int(found.group(1)), found.group(2)
        head = f"第{zh_numeral(number)}条" if self.numbering == "article" else f"第{number}点"
        return head + (f"第（{zh_numeral(int(item))}）项" if item else "")


_PROVISION = re.compile(r"(\d+)(?:\((\d+)\))?")


_DIGITS = "零一二三四五六七八九"


def zh_numeral(n: int) -> str:
    """1 → 一, 10 → 十, 16 → 十六, 58 → 五十八, 118 → 一百一十八 (how articles are numbered)."""
    if not 0 < n < 1000:
        raise ValueError(f"no article {n}")
    hundreds, rest = divmod(n, 100)
    tens, ones = divmod(rest, 10)
    out = f"{_DIGITS[hundreds]}百" if hundreds else ""
    if tens:
        out += ("" if tens == 1 and not hundreds else _DIGITS[tens]) + "十"
    elif hundreds and ones:
        out += "零"
    return out + (_DIGITS[ones] if ones else "")


@dataclass(frozen=True)
class KindConfig:
    code: str
    title: str
    number_word: str
    addressee: str  # "guardian", "employer" or "agency:<kind>"
    recipient_role: str | None
    # The kind's own citations, per district's rule; cited where the rows given for the
    # document (ladder step, labour rules) include none of the district's own rule.
    basis: tuple[dict[str, str], ...]
    # National law, cited where the district's own rule is silent.
    national: tuple[dict[str, str], ...]
    default_deadline_days: int | None
    # Exists only as a step of a ladder: a district whose ladder has no such step issues none.
    needs_ladder_step: bool
    # Issued as an enforcement action on an employer (workflow/enforcement.py), not on a case.
    via_enforcement: bool
    # Further agencies the document goes to ("agency:<kind>", the case's own township for
    # ``agency:township``) and the roles that read it there: the school's dropout report goes
    # to the bureau *and* the township (SPT 7, ST 4, GH 三(二), YQ 三(一)2).
    copies_to: tuple[str, ...] = ()
    copy_roles: tuple[str, ...] = ()


@dataclass(frozen=True)
class Config:
    sources: dict[str, Source]
    kinds: dict[str, KindConfig]


@cache
def config() -> Config:
    raw = reference_json.load("documents.json")
    sources = {
        key: Source(key=key, title=v["title"], in_force=v["in_force"], numbering=v["numbering"])
        for key, v in raw["sources"].items()
    }
    kinds = {
        code: KindConfig(
            code=code,
            title=k["title"],
            number_word=k["number_word"],
            addressee=k["addressee"],
            recipient_role=k.get("recipient_role"),
            basis=tuple(k["basis"]),
            national=tuple(k["national"]),
            default_deadline_days=k.get("default_deadline_days"),
            needs_ladder_step=bool(k.get("needs_ladder_step", False)),
            via_enforcement=bool(k.get("via_enforcement", False)),
            copies_to=tuple(k.get("copies_to", ())),
            copy_roles=tuple(k.get("copy_roles", ())),
        )
        for code, k in raw["kinds"].items()
    }
    for k in kinds.values():
        for row in (*k.basis, *k.national):
            if row["source_key"] not in sources:
                raise ValueError(f"documents.json: {k.code} cites unknown {row['source_key']}")
            if (row in k.national) != sources[row["source_key"]].national:
                raise ValueError(f"documents.json: {k.code}: national rows cite national law")
    return Config(sources=sources, kinds=kinds)


def citations(
    kind: str, district_code: str, given: Sequence[dict[str, str]]
) -> list[dict[str, Any]]:
    """What a document of ``kind`` issued in ``district_code`` cites: only what is in force
    there. Of the rows given for it (the ladder step's, the district's labour rules), those
    in force; if none is the district's own rule, the kind's rows of that rule; if the local
    rule is silent, the kind's national law. National law first, as its rank has it; each row
    with the source's title and the provision as the source numbers it (``citation``)."""
    cfg = kind_config(kind)
    sources = config().sources

    def source(row: dict[str, str]) -> Source:
        found = sources.get(row["source_key"])
        if found is None:
            raise ValueError(f"{kind}: no legal source {row['source_key']!r}")
        return found

    # A row of a source the data does not know (a ladder a district defined) cannot be shown
    # to be in force here, so it is not cited.
    rows = [r for r in given if r["source_key"] in sources
            and source(r).in_force_in(district_code)]
    if not any(not source(r).national for r in rows):
        rows += [r for r in cfg.basis if source(r).in_force_in(district_code)]
    if not any(not source(r).national for r in rows):
        rows += list(cfg.national)
    seen: set[tuple[str, str, str]] = set()
    out: list[dict[str, Any]] = []
    for r in sorted(rows, key=lambda r: not source(r).national):
        key = (r["source_key"], r["article"], r.get("quote", ""))
        if key in seen:
            continue
        seen.add(key)
        src = source(r)
        out.append({
            "source_key": r["source_key"], "article": r["article"], "quote": r.get("quote", ""),
            "source": src.title, "citation": src.cite(r["article"]),
        })
    if not out:
        raise ValueError(f"documents.json: {kind} has nothing to cite in {district_code}")
    return out


def kind_config(kind: str) -> KindConfig:
    found = config().kinds.get(kind)
    if found is None:
        raise InvalidInput(f"no document kind {kind!r}", field="kind")
    return found


def what_follows(ladder: Ladder, kind: str) -> dict[str, bool]:
    """What the district's ladder does after the step this document stands for, so that a
    document warns only of steps the ladder has (no judicial step where there is none)."""
    step = _step_for(ladder, kind)
    after = [s for s in ladder.steps if step is None or s.position > step.position]
    kinds = {s.document_kind for s in after}
    return {
        "township_order": "township_order" in kinds,
        "judicial": bool(kinds & {"judicial_referral", "judicial"}),
        "legal_action": any(s.stage is CaseStage.LEGAL_ACTION for s in after),
    }


def zh_date(day: date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


def _step_for(ladder: Ladder, kind: str) -> LadderStep | None:
    return next((s for s in ladder.steps if s.document_kind == kind), None)


def _deadline_days(ladder: Ladder, cfg: KindConfig, requested: int | None) -> int | None:
    """The days the addressee is given: fixed by the ladder where a step waits on this
    document being served (the notice must say what the engine will count), else asked."""
    anchored = next((s for s in ladder.steps if s.anchor == f"served:{cfg.code}"), None)
    if anchored is not None:
        if requested is not None and requested != anchored.offset_days:
            raise InvalidInput(
                f"this district's ladder gives {anchored.offset_days} days after serving",
                field="deadlineDays",
            )
        return anchored.offset_days
    if requested is not None:
        if not 1 <= requested <= 90:
            raise InvalidInput("a deadline is 1 to 90 days", field="deadlineDays")
        return requested
    return cfg.default_deadline_days


def citation_of(row: dict[str, Any]) -> str:
    """A stored row's provision as printed (rows frozen before ``citation`` was kept)."""
    if row.get("citation"):
        return str(row["citation"])
    found = config().sources.get(row["source_key"])
    return found.cite(row["article"]) if found else str(row["article"])


def _basis_line(basis: list[dict[str, Any]]) -> str:
    return "；".join(f"{b['source']}{b['citation']}" for b in basis)


_AGENCY_ZH = {
    AgencyKind.SCHOOL: "学校",
    AgencyKind.TOWNSHIP: "乡镇（街道）",
    AgencyKind.EDUCATION: "教育部门",
    AgencyKind.VILLAGE: "村（居）委会",
    AgencyKind.POLICE: "公安机关",
    AgencyKind.JUDICIAL: "司法行政部门",
    AgencyKind.CIVIL_AFFAIRS: "民政部门",
}
