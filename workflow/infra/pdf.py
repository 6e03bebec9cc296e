"""Printable PDFs of legal documents, laid out after GB/T 9704 and set by Typst.

Why Typst (PyPI ``typst``): it compiles in-process from a template
(``templates/documents/gbt9704.typ``), embeds and subsets OpenType CJK fonts (Debian's Noto
Serif CJK, which reportlab refuses: its outlines are CFF), breaks Chinese lines by the rules
(no closing punctuation at a line start, no number split), and writes the same bytes for the
same input and timestamp, so a hash means something. WeasyPrint also embeds fonts but needs
Pango and an HTML/CSS detour for the page furniture; Typst needs nothing outside the wheel.

The font is chosen once (``use_font``) from a folder and a family name; system fonts are
ignored, so what a document is set in never depends on what else is installed. ``problem``
says why a font configuration is unusable (``api/checks.py`` refuses to start on it).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import segno
from fontTools.ttLib import TTFont

if TYPE_CHECKING:  # typst is imported at the first document, not by every worker at start-up
    import typst

TEMPLATE = Path(__file__).resolve().parent / "templates" / "documents" / "gbt9704.typ"
DEFAULT_FONT_DIR = "/usr/share/fonts/opentype/noto"
DEFAULT_FONT_FAMILY = "Noto Serif CJK SC"
# GB/T 9704 asks for red; the value is the common print red of 红头文件.
DEFAULT_RED = "#e60012"
# A character every document prints: a font without it cannot set a Chinese document.
_PROBE = "限期入学通知书〔〕号：，。"


@dataclass(frozen=True)
class Printable:
    """What one page furniture and body need, all as plain strings."""

    issuer: str
    title: str
    number: str
    body: str
    issued_on: str
    verification_code: str
    basis: str
    header: str
    verify_url: str
    verify_site: str
    red: str = DEFAULT_RED
    header_size: int = 30


@dataclass
class _Typesetter:
    font_dir: str
    family: str
    _compiler: typst.Compiler | None = None

    @property
    def compiler(self) -> typst.Compiler:
        """Built at the first document: loading the fonts is not paid at start-up."""
        if self._compiler is None:
            import typst

            self._compiler = typst.Compiler(
                str(TEMPLATE), root=str(TEMPLATE.parent), font_paths=[self.font_dir],
                ignore_system_fonts=True,
            )
        return self._compiler


_state: dict[str, _Typesetter] = {}


def _faces(font_dir: str) -> dict[str, set[str]]:
    """The font families in a folder (only there: system fonts do not count), each with the
    files it is in."""
    import typst

    fonts = typst.Fonts(
        include_system_fonts=False, include_embedded_fonts=False, font_paths=[font_dir]
    )
    faces: dict[str, set[str]] = {}
    for info in fonts.fonts():
        faces.setdefault(info.family, set()).add(f"{info.path}#{info.index}")
    return faces


def _covers(face: str, text: str) -> bool:
    path, _, index = face.partition("#")
    font = TTFont(path, fontNumber=int(index or 0), lazy=True)
    try:
        cmap = font.getBestCmap() or {}
    finally:
        font.close()
    return all(ord(ch) in cmap for ch in text)


@cache
def problem(font_dir: str, family: str) -> str | None:
    """Why documents cannot be set with this font, or None when they can: the folder must
    hold the family, and the family must have Chinese glyphs (a Latin font would print
    empty boxes, which is what this check is for)."""
    if not Path(font_dir).is_dir():
        return f"{font_dir} is not a folder (install fonts-noto-cjk or set the font folder)"
    faces = _faces(font_dir).get(family)
    if not faces:
        return f"{font_dir} has no font of the family {family!r}"
    if not all(_covers(face, _PROBE) for face in faces):
        return f"{family!r} in {font_dir} has no Chinese glyphs"
    return None


def use_font(font_dir: str | None = None, family: str | None = None) -> _Typesetter:
    """Set documents in ``family`` from ``font_dir`` (defaults: Debian's Noto Serif CJK)."""
    font_dir, family = font_dir or DEFAULT_FONT_DIR, family or DEFAULT_FONT_FAMILY
    current = _state.get("typesetter")
    if current is None or (current.font_dir, current.family) != (font_dir, family):
        current = _state["typesetter"] = _Typesetter(font_dir, family)
    return current


def qr_svg(url: str) -> str:
    """The QR code of the verification URL, as SVG (error correction M, survives a fold)."""
    return str(segno.make_qr(url, error="m").svg_inline(border=0, dark="black"))


# Typst's compiler is not shared across threads here: documents are set one at a time on a
# worker thread, and the event loop keeps serving other requests meanwhile.
_RENDERER = ThreadPoolExecutor(max_workers=1, thread_name_prefix="lianbao-pdf")


async def off_loop(work: Callable[..., bytes], *args: Any) -> bytes:
    """``work`` (rendering, signing) on the documents' worker thread, off the event loop."""
    return await asyncio.get_running_loop().run_in_executor(_RENDERER, work, *args)


def render(doc: Printable, issued: date) -> bytes:
    """The document as PDF. The timestamp is the issue date, so a document renders to the
    same bytes whenever it is rendered."""
    typesetter = _state.get("typesetter") or use_font()
    paragraphs = [p.strip() for p in doc.body.split("\n\n") if p.strip()]
    data = {**asdict(doc), "font": typesetter.family, "paragraphs": paragraphs}
    out = typesetter.compiler.compile(
        format="pdf",
        sys_inputs={"data": json.dumps(data, ensure_ascii=False), "qr": qr_svg(doc.verify_url)},
        timestamp=datetime(issued.year, issued.month, issued.day, tzinfo=UTC),
    )
    assert isinstance(out, bytes)
    return out

