"""Reference data over GraphQL, and the duty catalogue's citations checked against the seeds."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest

from models.enums import AgencyKind
from tests.helpers import Api
from tests.seed_articles import article_text, cited_units, squeeze
from workflow.infra.reference_json import DATA_DIR

DUTIES = json.loads((DATA_DIR / "duties.json").read_text(encoding="utf-8"))
JURISDICTIONS = json.loads((DATA_DIR / "jurisdictions.json").read_text(encoding="utf-8"))


def _citations(node: Any, where: str) -> Iterator[tuple[str, dict[str, str]]]:
    """Every object in a reference-data file that cites a rule (has a source key and a quote),
    wherever it sits: duties, ladder steps, document kinds, child-labour actions and settings."""
    if isinstance(node, dict):
        if "source_key" in node and "quote" in node:
            yield where, node
        for key, value in node.items():
            yield from _citations(value, f"{where}.{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            label = value.get("code", i) if isinstance(value, dict) else i
            yield from _citations(value, f"{where}[{label}]")


CITATIONS = [
    c
    for path in sorted(DATA_DIR.glob("*.json"))
    for c in _citations(json.loads(path.read_text(encoding="utf-8")), path.stem)
]

# Where a clause of the seeds ends (or an aside opens): a quote must stop at one, not inside a
# word.
CLAUSE_END = "，。；：、）)”》（("


def test_the_data_files_cite_rules() -> None:
    files = {where.split(".")[0].split("[")[0] for where, _ in CITATIONS}
    assert {"duties", "ladders", "documents", "child_labour", "special_groups"} <= files


@pytest.mark.parametrize("citation", CITATIONS, ids=lambda c: c[0])
def test_every_quote_stands_in_its_cited_article(citation: tuple[str, dict[str, str]],
                                                 seeds_dir: Path) -> None:
    """The quote is inside the cited unit (marker to the next marker of the same or a higher
    rank), not merely somewhere after it; and it ends where a clause ends."""
    _, c = citation
    chain = [squeeze(u) for u in cited_units(seeds_dir, c["source_key"], c["article"])]
    unit = chain[-1]
    if "article_marker" in c:
        # The marker heads the cited unit or one that contains it (第六条 for 6(8)).
        assert any(u.startswith(squeeze(c["article_marker"])) for u in chain), (
            f"marker {c['article_marker']!r} does not head {c['source_key']} {c['article']}"
        )
    quote = squeeze(c["quote"])
    at = unit.find(quote)
    assert at >= 0, f"{quote!r} is not in {c['source_key']} {c['article']}"
    after = unit[at + len(quote):at + len(quote) + 1]
    assert after in ("", *CLAUSE_END), f"{quote!r} stops mid-clause (next: {after!r})"


# What each agency is called in the seeds. A duty's cited unit must name the agency: an
# article that names only other bodies gives this one no duty.
AGENCY_NAMES = {
    "education": ("教育", "教体"),
    "school": ("学校", "校长", "班主任", "教师"),
    "township": ("乡镇", "镇街", "镇级", "乡（镇）"),
    "village": ("村（居）民委员会", "村民委员会"),
    "police": ("公安",),
    "civil_affairs": ("民政", "民社"),
    "human_resources": ("人社", "人力资源", "人力社保", "劳动"),
    "market_supervision": ("市场监管", "工商"),
    "judicial": ("司法",),
    "youth_league": ("共青团", "团区委", "团市委", "团委"),
    "womens_federation": ("妇联",),
    "disabled_federation": ("残联", "残疾人联合会"),
    "poverty_office": ("扶贫", "乡村振兴"),
    "inspectorate": ("督导", "督查"),
    "united_front": ("统战",),
    "cyberspace": ("网信",),
    "law_enforcement": ("综合执法", "文化和旅游", "文旅"),
}


@pytest.mark.parametrize("duty", DUTIES, ids=lambda d: f"{d['agency']}-{d['code']}")
def test_every_duty_cites_an_article_naming_its_agency(duty: dict[str, str],
                                                       seeds_dir: Path) -> None:
    chain = [squeeze(u) for u in cited_units(seeds_dir, duty["source_key"], duty["article"])]
    # The cited unit, and the lead-in of each unit containing it ("第十三条 本市各级各类实施
    # 义务教育的学校……履行以下职责" names who (五) binds); not the containing unit's other items.
    unit = "".join(outer[: outer.find(inner)] for outer, inner in pairwise(chain))
    unit += chain[-1]
    names = AGENCY_NAMES[duty["agency"]]
    assert any(n in unit for n in names), (
        f"{duty['source_key']} {duty['article']} does not name the {duty['agency']} agency"
    )


# Terms a duty's English title may claim, and the words the quote must then contain: a title
# that promises more than its quote says (the cost clause, a group the rule does not name)
# misstates the rule.
TITLE_TERMS = {
    "single-parent": ("单亲",),
    "left-behind": ("留守",),
    "orphan": ("孤儿",),
    "disabled": ("残疾",),
    "cost": ("费用", "承担"),
    "migrant": ("流动", "随迁", "进城务工"),
    "prisoner": ("服刑",),
    "early marriage": ("早婚",),
}


@pytest.mark.parametrize("duty", DUTIES, ids=lambda d: f"{d['agency']}-{d['code']}")
def test_every_duty_title_is_borne_out_by_its_quote(duty: dict[str, str]) -> None:
    title = duty["title_en"].lower()
    for term, words in TITLE_TERMS.items():
        if term in title:
            assert any(w in duty["quote"] for w in words), (
                f"the title claims {term!r}; the quote says none of {words}"
            )


_NUM = "一二三四五六七八九十"
POLICY_CITATION = re.compile(
    rf"\b(LS|SPT|GH|YQ|ST|NCL) ((?:\d+|[{_NUM}]+)(?:\([{_NUM}\d]+\))?\d*)"
)


def test_every_policy_comment_cites_an_existing_article(seeds_dir: Path) -> None:
    policy = (Path(__file__).resolve().parent.parent / "authz" / "policy.csv").read_text(
        encoding="utf-8"
    )
    cited = {m.groups() for line in policy.splitlines() if "#" in line
             for m in POLICY_CITATION.finditer(line.split("#", 1)[1])}
    assert len(cited) > 20
    for key, article in cited:
        article_text(seeds_dir, key, article)


def test_the_health_unmask_cites_the_special_needs_census() -> None:
    """ST 7 is the census of special-needs pupils; ST 3 is register control."""
    policy = (Path(__file__).resolve().parent.parent / "authz" / "policy.csv").read_text(
        encoding="utf-8"
    )
    for line in policy.splitlines():
        if "field:health, unmask" in line and "census" in line:
            assert "# ST 7 " in line, line


def test_every_agency_code_has_duties() -> None:
    assert {d["agency"] for d in DUTIES} == {k.value for k in AgencyKind}


def test_jurisdiction_codes_are_well_formed() -> None:
    codes = {j["code"] for j in JURISDICTIONS}
    for j in JURISDICTIONS:
        width = 9 if j["level"] == "township" else 6
        assert re.fullmatch(rf"\d{{{width}}}", j["code"]), j
        if j["parent"]:
            assert j["parent"] in codes
            prefix = {"city": 2, "district": 4, "township": 6}[j["level"]]
            assert j["code"][:prefix] == j["parent"][:prefix], j
    for district in ("370406", "640502", "330382", "150785", "540100"):
        assert district in codes


async def test_duties_for_police_with_citations(api: Api) -> None:
    data = await api.gql(
        "{ duties(agency: POLICE) { agency title sourceKey article citation quote } }",
        user="market_officer",
    )
    duties = data["duties"]
    assert len(duties) >= 3
    assert all(d["agency"] == "POLICE" for d in duties)
    assert all(d["citation"] == f"{d['sourceKey']} {d['article']}" for d in duties)
    assert {"LS", "SPT", "GH", "ST"} & {d["sourceKey"] for d in duties}


async def test_jurisdiction_tree(api: Api) -> None:
    data = await api.gql(
        """{ jurisdictions { code name children { code children { code name level
             children { code level parent { code } } } } } }"""
    )
    roots = {j["code"]: j for j in data["jurisdictions"]}
    assert {"370000", "640000", "330000", "150000", "540000"} <= set(roots)
    zaozhuang = next(c for c in roots["370000"]["children"] if c["code"] == "370400")
    shanting = next(c for c in zaozhuang["children"] if c["code"] == "370406")
    assert shanting["name"] == "山亭区"
    assert len(shanting["children"]) >= 10
    assert all(
        t["level"] == "TOWNSHIP" and t["parent"]["code"] == "370406" for t in shanting["children"]
    )


async def test_agencies_connection_pages_in_sql(api: Api) -> None:
    query = """query($after: String) {
        agencies(jurisdictionCode: "370406", first: 7, after: $after) {
          totalCount pageInfo { hasNextPage endCursor } edges { node { id name kind } } } }"""
    seen: list[str] = []
    after = None
    total = None
    while True:
        page = (await api.gql(query, {"after": after}))["agencies"]
        total = page["totalCount"]
        seen += [e["node"]["id"] for e in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert len(seen) == len(set(seen)) == total
    assert total > 40  # district offices, townships, schools and a village committee


async def test_node_refetch_by_global_id(api: Api) -> None:
    data = await api.gql('{ jurisdiction(code: "370406") { id name } }')
    gid = data["jurisdiction"]["id"]
    node = await api.gql(
        "query($id: ID!) { node(id: $id) { ... on Jurisdiction { code name } } }", {"id": gid}
    )
    assert node["node"] == {"code": "370406", "name": "山亭区"}


async def test_bad_page_size_is_a_coded_error(api: Api) -> None:
    errors = await api.errors("{ agencies(first: -1) { totalCount } }")
    assert errors[0]["extensions"]["code"] == "BAD_INPUT"
    errors = await api.errors("{ agencies(first: 100000) { totalCount } }")
    assert errors[0]["extensions"]["code"] == "BAD_INPUT"


LADDERS = json.loads((DATA_DIR / "ladders.json").read_text(encoding="utf-8"))


def test_genhe_enforcement_team_tasks_every_member(seeds_dir: Path) -> None:
    """GH 三(五): the township leads a team of police, judicial, education and market
    supervision (工商); the ladder step that stands for the team tasks each of them."""
    unit = squeeze(article_text(seeds_dir, "GH", "三(五)"))
    members = re.search("由政府牵头，(.+?)等部门参加的教育执法组", unit)
    assert members
    expected = {"township"} | {
        agency
        for name in members.group(1).split("、")
        for agency, names in AGENCY_NAMES.items()
        if any(n == name or name.startswith(n) for n in names)
    }
    assert expected == {"township", "police", "judicial", "education", "market_supervision"}
    step = next(s for lad in LADDERS if lad["code"] == "GH" for s in lad["steps"]
                if s["code"] == "enforcement_team")
    assert {t["agency"] for t in step["tasks"]} == expected


def test_the_five_seed_variants_are_shipped() -> None:
    assert {lad["code"] for lad in LADDERS} == {"SPT", "YQ", "ST", "LS", "GH"}
    stages = {lad["code"]: [s["stage"] for s in lad["steps"]] for lad in LADDERS}
    assert "judicial_document" in stages["ST"] and "judicial_document" in stages["YQ"]
    assert "judicial_document" not in stages["LS"]
    spt = {s["code"]: s["offset_days"] for s in LADDERS[0]["steps"] if s["anchor"] == "day0"}
    assert sorted(spt.values()) == [0, 3, 7, 15]


ANSWERS = json.loads((DATA_DIR / "task_answers.json").read_text(encoding="utf-8"))["answers"]
DOCUMENT_KINDS = json.loads((DATA_DIR / "documents.json").read_text(encoding="utf-8"))["kinds"]


@pytest.mark.parametrize("answer", ANSWERS, ids=lambda a: a["task_kind"])
def test_every_task_answer_names_real_kinds_and_cites_its_basis(
    answer: dict[str, Any], seeds_dir: Path
) -> None:
    """A task closed by an act: the task kind is one a shipped ladder creates, the act is the
    issuing or serving of a known document kind, and the basis stands in the cited article."""
    task_kinds = {t["kind"] for lad in LADDERS for s in lad["steps"] for t in s["tasks"]}
    assert answer["task_kind"] in task_kinds
    verb, _, kind = answer["act"].partition(":")
    assert verb in {"document_issued", "document_served"} and kind in DOCUMENT_KINDS
    basis = answer["legal_basis"]
    text = (seeds_dir / f"{basis['source_key']}.txt").read_text(encoding="utf-8")
    marker = text.find(basis["article_marker"])
    assert marker >= 0 and basis["quote"] in text[marker:]
