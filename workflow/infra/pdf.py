"""Printable PDFs of legal documents, with correct Chinese text.

The default font is reportlab's ``STSong-Light``: one of the Adobe CJK fonts every PDF
reader knows, referenced rather than embedded, with its metrics shipped inside reportlab, so
nothing beyond ``pip install`` is needed. A deployment that wants the glyphs inside the file
(archival, PDF/A) points ``LIANBAO_PDF_FONT`` at a TrueType font (e.g. Noto Serif SC, SimSun)
and reportlab embeds the subset it uses. Output is byte-for-byte reproducible
(``invariant``): the same document renders to the same bytes, so its hash means something.
"""

from __future__ import annotations

import asyncio
import io
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import escape

from reportlab.lib.enums import TA_CENTER, TA_JUSTIFY, TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer

DEFAULT_FONT = "STSong-Light"
_font = {"name": DEFAULT_FONT}


def use_font(path: str | None) -> str:
    """Register the font documents are set in: a TrueType file to embed, or the default."""
    if path:
        name = "LianbaoCJK"
        if name not in pdfmetrics.getRegisteredFontNames():
            pdfmetrics.registerFont(TTFont(name, Path(path)))
        _font["name"] = name
    else:
        if DEFAULT_FONT not in pdfmetrics.getRegisteredFontNames():
            pdfmetrics.registerFont(UnicodeCIDFont(DEFAULT_FONT))
        _font["name"] = DEFAULT_FONT
    return _font["name"]


@dataclass(frozen=True)
class Printable:
    issuer: str
    title: str
    number: str
    body: str
    issued_on: str
    verification_code: str
    basis: str


# Rendering is CPU-bound (tens of milliseconds a page) and reportlab keeps module state, so
# documents are rendered one at a time on a worker thread: the event loop keeps serving
# other requests meanwhile.
_RENDERER = ThreadPoolExecutor(max_workers=1, thread_name_prefix="lianbao-pdf")


async def render_async(doc: Printable) -> bytes:
    """``render`` off the event loop."""
    return await asyncio.get_running_loop().run_in_executor(_RENDERER, render, doc)


def render(doc: Printable) -> bytes:
    font = _font["name"]
    if font == DEFAULT_FONT:
        use_font(None)

    def style(name: str, size: float, **kw: object) -> ParagraphStyle:
        return ParagraphStyle(
            name, fontName=font, fontSize=size, leading=size * 1.6, wordWrap="CJK", **kw
        )

    heading = style("heading", 20, alignment=TA_CENTER, spaceAfter=4 * mm)
    number = style("number", 12, alignment=TA_CENTER, spaceAfter=6 * mm)
    body = style("body", 13, alignment=TA_JUSTIFY, firstLineIndent=26, spaceAfter=3 * mm)
    right = style("right", 13, alignment=TA_RIGHT)
    small = style("small", 9)

    paragraphs = [p.strip() for p in doc.body.split("\n\n") if p.strip()]
    story = [
        Paragraph(escape(doc.issuer), heading),
        Paragraph(escape(doc.title), heading),
        Paragraph(escape(doc.number), number),
    ]
    for i, text in enumerate(paragraphs):
        # The first paragraph is the salutation (addressee：), not indented.
        story.append(
            Paragraph(
                escape(text).replace("\n", "<br/>"), style("salutation", 13) if i == 0 else body
            )
        )
    story += [
        Spacer(1, 10 * mm),
        Paragraph(escape(doc.issuer), right),
        Paragraph(escape(doc.issued_on), right),
        Spacer(1, 12 * mm),
        Paragraph(escape(f"依据：{doc.basis}"), small),
        Paragraph(
            escape(f"核验码：{doc.verification_code}（可在联保系统核验本文书真伪及是否有效）"),
            small,
        ),
    ]
    out = io.BytesIO()
    SimpleDocTemplate(
        out,
        pagesize=A4,
        invariant=1,
        title=f"{doc.title} {doc.number}",
        author=doc.issuer,
        leftMargin=28 * mm,
        rightMargin=26 * mm,
        topMargin=37 * mm,
        bottomMargin=35 * mm,
    ).build(story)
    return out.getvalue()
