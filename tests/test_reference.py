"""Reference data over GraphQL, and the duty catalogue's citations checked against the seeds."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from models.enums import AgencyKind
from tests.conftest import Api
from workflow.reference import DATA_DIR

DUTIES = json.loads((DATA_DIR / "duties.json").read_text(encoding="utf-8"))
JURISDICTIONS = json.loads((DATA_DIR / "jurisdictions.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize("duty", DUTIES, ids=lambda d: f"{d['agency']}-{d['code']}")
def test_every_duty_cites_an_article_that_exists(duty: dict[str, str], seeds_dir: Path) -> None:
    text = (seeds_dir / f"{duty['source_key']}.txt").read_text(encoding="utf-8")
    marker = text.find(duty["article_marker"])
    assert marker >= 0, f"article marker {duty['article_marker']!r} not in {duty['source_key']}"
    assert duty["quote"] in text[marker:], "the quote must stand in the cited article"


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


@pytest.mark.parametrize(
    "step", [(lad["code"], s) for lad in LADDERS for s in lad["steps"]],
    ids=lambda p: f"{p[0]}-{p[1]['code']}",
)
def test_every_ladder_step_cites_its_basis(step: tuple[str, dict[str, Any]],
                                           seeds_dir: Path) -> None:
    _, s = step
    basis = s["legal_basis"]
    text = (seeds_dir / f"{basis['source_key']}.txt").read_text(encoding="utf-8")
    marker = text.find(basis["article_marker"])
    assert marker >= 0 and basis["quote"] in text[marker:]


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
