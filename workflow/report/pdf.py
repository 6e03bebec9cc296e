"""A report as a printable PDF in Chinese, typeset by Typst (PyPI ``typst``, in-process),
with two bar charts (by unit, and month by month) drawn in the page itself.

The figures go in as JSON through ``sys.inputs``, never spliced into the markup, so no name
or label can change the document's structure. Fonts: Noto Serif/Sans CJK SC from the
system (Debian ``fonts-noto-cjk``). This module is the reports' own; the legal documents'
Typst rendering (``workflow/infra/pdf.py``) is to be unified with it.
"""

from __future__ import annotations

import json
from typing import Any

from workflow.report.drafting import MEASURE_NAMES, RATE_NAMES

TEMPLATE = r"""
#let d = json(bytes(sys.inputs.data))
#set page(paper: "a4", margin: (x: 1.8cm, y: 2cm),
          footer: context align(center, text(size: 9pt, counter(page).display())))
#set text(font: ("Noto Serif CJK SC", "Noto Sans CJK SC"), size: 10pt, lang: "zh", region: "cn")
#let bars(items, colour) = {
  let top = calc.max(1, ..items.map(i => i.value))
  grid(columns: (3.4cm, 1fr, 1.2cm), row-gutter: 5pt, column-gutter: 6pt,
    ..items.map(i => (text(size: 9pt, i.label),
                      box(width: 100% * (i.value / top), height: 0.42cm, fill: colour),
                      text(size: 9pt, str(i.value)))).flatten())
}
#align(center, text(size: 17pt, weight: "bold", d.title))
#align(center, text(size: 10.5pt, d.subtitle))
#v(6pt)
#table(columns: (auto,) + (1fr,) * (d.headers.len() - 1), inset: 4pt, align: center + horizon,
  table.header(..d.headers.map(h => text(size: 8.5pt, weight: "bold", h))),
  ..d.rows.flatten().map(c => text(size: 8.5pt, c)))
#v(10pt)
#text(weight: "bold", d.by_unit_title)
#bars(d.by_unit, rgb("#c0392b"))
#v(10pt)
#text(weight: "bold", d.by_month_title)
#bars(d.by_month, rgb("#2c3e50"))
#v(8pt)
#text(size: 9pt, d.note)
#v(14pt)
#align(right)[#d.unit #linebreak() #d.as_of]
"""


def _cell(value: Any, column: str) -> str:
    if value is None:
        return "—"
    return f"{value * 100:.2f}%" if column in RATE_NAMES else str(value)


def document(figures: dict[str, Any]) -> dict[str, Any]:
    """What the template shows, all as text or numbers."""
    columns = [m.value for m in MEASURE_NAMES] + list(RATE_NAMES)
    table = figures["table"]
    rows = [*table["rows"], {**table["total"], "label": "合计"}]
    return {
        "title": figures["title"],
        "subtitle": f"{figures['unit']}　统计截至 {figures['as_of']}"
                    f"（报告期 {figures['period_start']} 至 {figures['period_end']}）",
        "unit": figures["unit"],
        "as_of": figures["as_of"],
        "headers": ["单位", *MEASURE_NAMES.values(), *RATE_NAMES.values()],
        "rows": [[str(r["label"]), *(_cell(r[c], c) for c in columns)] for r in rows],
        "by_unit_title": "分单位辍学人数",
        "by_unit": [{"label": str(r["label"]), "value": r["confirmed_dropout"]}
                    for r in table["rows"]],
        "by_month_title": "逐月辍学人数（学年初至统计日）",
        "by_month": [{"label": m["month"], "value": m["confirmed_dropout"]}
                     for m in figures["trend"]],
        "note": "",
    }


def render(figures: dict[str, Any]) -> bytes:
    """A periodic report's PDF (CPU-bound: call it off the event loop)."""
    return render_document(document(figures))


def render_document(shown: dict[str, Any]) -> bytes:
    """The PDF's bytes of a document in the template's terms (title, subtitle, headers,
    rows, by_unit_title, by_unit, by_month_title, by_month, note, unit, as_of): the periodic
    reports' and the supervision results' (CPU-bound: call it off the event loop)."""
    import typst  # here, not at start-up: most workers never render a report

    data = json.dumps(shown, ensure_ascii=False)
    pdf: bytes = typst.compile(TEMPLATE.encode(), sys_inputs={"data": data})
    return pdf
