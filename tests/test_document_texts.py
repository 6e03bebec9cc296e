"""Every document kind rendered in every shipped district: what it cites is in force there
and numbered as its source numbers it, no value prints as "None" or leaves a gap, and what a
document warns of follows the district's ladder."""

from __future__ import annotations

import dataclasses
import io
import json
from datetime import date
from pathlib import Path
from typing import Any

import jinja2
import pytest
from pypdf import PdfReader
from sqlalchemy.ext.asyncio import AsyncSession

from models.enums import EnforcementKind
from tests.helpers import font_names, signature_check, unembedded_fonts
from workflow import document
from workflow.document import specimens
from workflow.errors import InvalidInput
from workflow.infra import pdf
from workflow.infra.reference_json import DATA_DIR
from workflow.labour_rules import rules_for
from workflow.ladder import current_ladder, templates

DISTRICTS = sorted({t["jurisdiction"] for t in templates().values()})
KINDS = sorted(document.config().kinds)
RAW = json.loads((DATA_DIR / "documents.json").read_text(encoding="utf-8"))
# Signs of a value missing from a legal text.
GAPS = ("None", "（项）", "第条", "：“”", "（）", "依据，", "起日内", "，，", "。。")


def _own(district: str, row: dict[str, Any]) -> bool:
    src = document.config().sources[row["source_key"]]
    return not src.national and src.in_force_in(district)


@pytest.mark.parametrize("district", DISTRICTS)
async def test_every_kind_renders_whole_and_cites_what_is_in_force(
    session: AsyncSession, district: str
) -> None:
    ladder = await current_ladder(session, district)
    rendered = 0
    for kind in KINDS:
        if not specimens.issuable(ladder, kind):
            continue
        for full in (False, True):
            context = specimens.context(ladder, kind, district, full)
            text = document.render_text(district, kind, context)
            for gap in GAPS:
                assert gap not in text, (district, kind, full, gap, text)
            basis = context["basis"]
            assert basis, (district, kind)
            for b in basis:
                src = document.config().sources[b["source_key"]]
                assert src.in_force_in(district), (district, kind, b)
                assert f"{b['source']}{b['citation']}" in text, (district, kind, b)
            own = [b for b in basis if _own(district, b)]
            offered = [r for r in (*specimens.given(ladder, kind, district, full),
                                   *document.kind_config(kind).basis) if _own(district, r)]
            if offered:  # the district's own rule speaks: it is cited
                assert own, (district, kind)
            else:  # it is silent: national law is
                assert {(b["source_key"], b["article"]) for b in basis} >= {
                    (r["source_key"], r["article"]) for r in document.kind_config(kind).national}
            rendered += 1
    assert rendered >= 2 * 5, (district, rendered)  # each ladder has at least 2 of its kinds


def test_shanting_cites_its_own_rule_or_national_law() -> None:
    """山亭区's documents once cited Shapotou's and Genhe's rules."""
    for kind in KINDS:
        given = [{"source_key": k, "article": a, "quote": "…"} for k, a in
                 (("SPT", "7"), ("SPT", "6(8)"), ("GH", "二(七)"), ("NCL", "6"))]
        keys = {b["source_key"] for b in document.citations(kind, "370406", given)}
        assert keys <= {"ST", "CEL", "MPL", "NCL"} and keys, (kind, keys)
    order = document.citations("return_order", "370406", list(
        rules_for("370406").action(EnforcementKind.RETURN_ORDER).basis))
    assert [(b["source_key"], b["citation"]) for b in order] == [("NCL", "第六条"), ("ST", "第8点")]
    fine = document.citations("penalty_decision", "370406", list(
        rules_for("370406").action(EnforcementKind.FINE).basis))
    assert {b["source_key"] for b in fine} == {"NCL", "ST"}
    assert document.citations("enrol_notice", "640502", [])[0]["citation"] == "第七条"
    # A ladder a district defined may name a source the data does not know: not cited.
    unknown = [{"source_key": "XYZ", "article": "1", "quote": "…"}]
    assert {b["source_key"] for b in document.citations("enrol_notice", "370406", unknown)} == {
        "CEL", "MPL"}


def test_provisions_print_as_their_sources_number_them() -> None:
    src = document.config().sources
    assert src["SPT"].cite("7") == "第七条"
    assert src["SPT"].cite("6(8)") == "第六条第（八）项"
    assert src["LS"].cite("13(6)") == "第十三条第（六）项"
    assert src["CEL"].cite("58") == "第五十八条"
    assert src["MPL"].cite("16(5)") == "第十六条第（五）项"
    assert src["ST"].cite("10") == "第10点"
    assert src["GH"].cite("二(七)") == "二（七）"
    assert src["YQ"].cite("三(一)2") == "三（一）2"
    assert [document.zh_numeral(n) for n in (1, 10, 11, 20, 83, 100, 105, 118)] == [
        "一", "十", "十一", "二十", "八十三", "一百", "一百零五", "一百一十八"]


def test_local_citations_quote_their_seed(seeds_dir: Path) -> None:
    """Each local row of documents.json stands in the cited provision of its seed rule."""
    for code, kind in RAW["kinds"].items():
        for row in kind["basis"]:
            text = (seeds_dir / f"{row['source_key']}.txt").read_text(encoding="utf-8")
            marker = text.find(row["article_marker"])
            assert marker >= 0 and row["quote"] in text[marker:], (code, row)
        assert kind["national"], code
        for row in kind["national"]:
            assert document.config().sources[row["source_key"]].national, (code, row)


async def test_a_period_the_text_states_is_required_or_defaulted(session: AsyncSession) -> None:
    """A judicial document drafted without deadlineDays once printed "None日内"."""
    ladder = await current_ladder(session, "370406")
    cfg = document.kind_config("judicial")
    fields = document.drafted_fields(ladder, cfg, "370406", deadline_days=None, amount=None)
    assert fields["deadline_days"] == cfg.default_deadline_days == 10
    text = document.render_text(
        "370406", "judicial", specimens.context(ladder, "judicial", "370406", True))
    assert "自本文书送达之日起10日内" in text
    undefaulted = dataclasses.replace(cfg, default_deadline_days=None)
    with pytest.raises(InvalidInput) as refused:
        document.drafted_fields(ladder, undefaulted, "370406", deadline_days=None, amount=None)
    assert refused.value.field == "deadlineDays"
    # A value missing from the context, or held as None, fails loudly instead of printing.
    context = specimens.context(ladder, "judicial", "370406", True)
    for broken in ({**context, "deadline_days": None},
                   {k: v for k, v in context.items() if k != "school_name"}):
        with pytest.raises(jinja2.UndefinedError):
            document.render_text("370406", "judicial", broken)


@pytest.mark.parametrize("district", DISTRICTS)
async def test_warnings_follow_the_ladder(session: AsyncSession, district: str) -> None:
    """The township order warns of a judicial step only where the ladder has one."""
    ladder = await current_ladder(session, district)
    judicial = any(s.document_kind in {"judicial_referral", "judicial"} for s in ladder.steps)
    for kind in ("enrol_notice", "township_order"):
        if not specimens.issuable(ladder, kind):
            continue
        text = document.render_text(
            district, kind, specimens.context(ladder, kind, district, False))
        assert ("司法文书" in text) is judicial, (district, kind, text)
    if district in {"640502", "540100", "150785"}:
        assert not judicial


@pytest.mark.parametrize("district", DISTRICTS)
async def test_every_kind_prints_with_its_fonts_embedded_and_its_issuer_signature(
    session: AsyncSession, district: str
) -> None:
    """The acceptance of issue 17, per district: every kind it issues is in its layout,
    prints after GB/T 9704 (red header, number, title, body, page numbers, the verification
    block), carries every font it uses, and verifies with pyHanko against the issuer's key."""
    ladder = await current_ladder(session, district)
    layout = document.layout_for(district, ladder)
    printed = 0
    for kind in KINDS:
        if not specimens.issuable(ladder, kind):
            continue
        assert kind in layout.cites, (district, kind, "the layout prints every kind issued")
        context = specimens.served(ladder, kind, district)
        raw = await pdf.off_loop(
            specimens.specimen_pdf, ladder, kind, district, "山亭区教育和体育局")
        assert unembedded_fonts(raw) == [], (district, kind)
        assert font_names(raw) <= {"NotoSerifCJKsc-Regular-Identity-H",
                                   "NotoSerifCJKsc-Bold-Identity-H"}, (district, kind)
        text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(raw)).pages)
        flat = text.replace("\n", "")
        number = f"样{document.kind_config(kind).number_word}〔2026〕1号"
        for printed_part in (number, context["title"], "核验码：WF6K-XNHV-8A9Q",
                             "— 1 —", "lianbao.example.gov.cn/verify", context["addressee"]):
            assert printed_part in flat, (district, kind, printed_part)
        status = await signature_check(raw)
        assert status.bottom_line and status.intact and status.trusted, (district, kind)
        assert status.signing_cert.subject.native["common_name"] == "山亭区教育和体育局"
        printed += 1
    assert printed >= 5, (district, printed)


def test_the_same_document_prints_to_the_same_bytes() -> None:
    """Before signing, the PDF is a function of the document (its hash at issue means it)."""
    printable = pdf.Printable(
        issuer="沙坡头区教育局", title="限期入学通知书", number="沙教入通〔2026〕1号",
        body="张三的父母或者其他法定监护人：\n\n你（们）的子女张三，自2026年11月2日起未到校。",
        issued_on="2026年11月2日", verification_code="WF6K-XNHV-8A9Q", basis="依据",
        header="沙坡头区教育局", verify_url="https://x/verify?code=WF6K", verify_site="x/verify")
    once = pdf.render(printable, date(2026, 11, 2))
    assert once == pdf.render(printable, date(2026, 11, 2))
    assert once != pdf.render(printable, date(2026, 11, 3)), "the issue date is its timestamp"


def test_every_layout_cites_what_is_in_force_where_it_is_used() -> None:
    """The layouts kept with the ladders (reference_data/document_layouts.json): each kind a
    layout prints rests on rows of that kind (its local rule or national law), in force in
    every district whose ladder uses the layout; the national layout, anywhere."""
    layouts = document.layouts()
    assert {"ST", "SPT", "national"} <= set(layouts)
    for code, layout in layouts.items():
        used_in = [t["jurisdiction"] for c, t in templates().items() if c == code]
        districts = used_in or (DISTRICTS if code == "national" else [code])
        assert layout.cites, code
        for kind, cites in layout.cites.items():
            cfg = document.kind_config(kind)
            rows = {(r["source_key"], r["article"]) for r in (*cfg.basis, *cfg.national)}
            assert cites, (code, kind)
            for c in cites:
                assert (c["source_key"], c["article"]) in rows, (code, kind, c)
                for district in districts:
                    src = document.config().sources[c["source_key"]]
                    assert src.in_force_in(district), (code, kind, c, district)
