"""Locate a cited article inside a seed rule's text, so a quote can be checked within it.

A citation such as "SPT 6(8)", "ST 10" or "YQ 三(一)2" names one numbered unit of a rule. A
quote only proves the citation when it stands inside that unit: from the unit's own marker to
the next marker of the same or a higher rank (or the end of the rule's body). Searching from
the marker to the end of the file accepted quotes taken from any later article, the closing
paragraph or the distribution list, which is how wrong citations slipped in.

The seeds use these numbering styles (ranks: lower contains higher):
- 第N章 (chapter, 0) > 第N条 (article, 1) > （N） (item, 2)            — LS, SPT, NCL, CEL, MPL
- 一、 (part, 1) > （一） (item, 2) > N. (point, 3)                    — GH, YQ, MCA
- N. (point, 1)                                                        — ST
Page breaks in the originals split paragraphs mid-sentence; a marker is only recognised at
the start of a paragraph, so a split never starts a unit. A closing paragraph that follows
the last unit (ST's) is cited as 末段.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

CN_DIGITS = {"一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}

# Where each rule's body ends: the first words of what follows the last numbered unit (the
# closing paragraph, the signature block or the distribution list). Without it the last unit
# would swallow that text (ST's closing paragraph is not part of ST 10).
BODY_END = {
    "LS": None,
    "NCL": None,
    "CEL": None,
    "MPL": None,
    "MCA": None,
    "SPT": "沙坡头区人民政府办公室文件",
    "ST": "各镇街、区直各部门、各单位要统一思想",
    "GH": "\n---",
    "YQ": "乐清市人民政府办公室\n",
}

# ST's duty to report dropouts by the end of March and October stands in its closing
# paragraph, after point 10 and outside it: cited as "ST 末段" (the closing paragraph).
CLOSING = "末段"

# Which styles a rule's top-level numbers use: article style (第N条 with （N） items) or
# part style (一、 with （一） items and N. points), or ST's plain points.
STYLE = {"LS": "article", "SPT": "article", "NCL": "article", "CEL": "article",
         "MPL": "article", "GH": "part", "YQ": "part",
         "MCA": "part", "ST": "point"}

_CN = "一二三四五六七八九十百"
_MARKERS = [
    ("chapter", re.compile(rf"第([{_CN}]+)章")),
    ("article", re.compile(rf"第([{_CN}]+)条")),
    ("part", re.compile(rf"([{_CN}]+)、")),
    ("item", re.compile(rf"[（(]([{_CN}]+)[）)]")),
    ("point", re.compile(r"(\d+)[.．](?!\d)")),
]


def cn_number(text: str) -> int:
    """一 → 1, 十 → 10, 十一 → 11, 二十三 → 23 (the seeds number below a hundred)."""
    if text.isdigit():
        return int(text)
    if "十" not in text:
        return CN_DIGITS[text]
    tens, _, units = text.partition("十")
    return (CN_DIGITS[tens] if tens else 1) * 10 + (CN_DIGITS[units] if units else 0)


@dataclass(frozen=True)
class Unit:
    """One numbered unit: its path of (style, number) from the top, and its text span."""

    path: tuple[tuple[str, int], ...]
    start: int
    end: int


def _rank(style: str, key: str) -> int:
    if STYLE[key] == "point":
        return {"point": 1}.get(style, 9)
    if STYLE[key] == "article":
        return {"chapter": 0, "article": 1, "item": 2}.get(style, 9)
    return {"part": 1, "item": 2, "point": 3}.get(style, 9)


def outline(key: str, text: str) -> list[Unit]:
    """Every numbered unit of the rule, each spanning to the next unit of the same or higher
    rank or to the end of the body."""
    found: list[tuple[int, int, str, int]] = []  # (offset, rank, style, number)
    for para in re.finditer(r"(?m)^[ \t#*]*(\S.*)$", text):
        line = para.group(1)
        for style, pattern in _MARKERS:
            m = pattern.match(line)
            if m and _rank(style, key) < 9:
                found.append((para.start(1), _rank(style, key), style, cn_number(m.group(1))))
                break
    end_marker = BODY_END[key]
    units: list[Unit] = []
    stack: list[tuple[int, tuple[str, int]]] = []  # (rank, (style, number)) of open ancestors
    for i, (offset, rank, style, number) in enumerate(found):
        while stack and stack[-1][0] >= rank:
            stack.pop()
        stack.append((rank, (style, number)))
        end = next((o for o, r, _, _ in found[i + 1:] if r <= rank), len(text))
        if end_marker is not None:
            body_end = text.find(end_marker, offset)
            if body_end >= 0:
                end = min(end, body_end)
        units.append(Unit(tuple(p for _, p in stack if p[0] != "chapter"), offset, end))
    return units


def parse_article(key: str, article: str) -> tuple[tuple[str, int], ...]:
    """A citation's article string as a path: "6(8)" → article 6, item 8 (LS, SPT, NCL);
    "三(一)2" → part 3, item 1, point 2 (GH, YQ); "10" → point 10 (ST)."""
    style = STYLE[key]
    if style == "point":
        m = re.fullmatch(r"(\d+)", article)
        assert m, f"{key} {article}: ST is cited by point number"
        return (("point", int(m.group(1))),)
    if style == "article":
        m = re.fullmatch(r"(\d+)(?:\((\d+)\))?", article)
        assert m, f"{key} {article}: cite 第N条 as N or N(k)"
        path: tuple[tuple[str, int], ...] = (("article", int(m.group(1))),)
        return path + ((("item", int(m.group(2))),) if m.group(2) else ())
    m = re.fullmatch(rf"([{_CN}]+)(?:\(([{_CN}]+)\))?(\d+)?", article)
    assert m, f"{key} {article}: cite parts as 二, 二(六) or 三(一)2"
    path = (("part", cn_number(m.group(1))),)
    if m.group(2):
        path += (("item", cn_number(m.group(2))),)
    if m.group(3):
        path += (("point", int(m.group(3))),)
    return path


def cited_units(seeds_dir: Path, key: str, article: str) -> list[str]:
    """The texts of the cited unit's chain, outermost first: for "6(8)" article 6, then its
    item 8. An AssertionError names a citation that matches no unit (or several)."""
    text = (seeds_dir / f"{key}.txt").read_text(encoding="utf-8")
    if article == CLOSING:
        start = text.find(BODY_END[key] or "\0")
        assert start >= 0, f"{key} has no closing paragraph"
        end = text.find("\n\n", start)
        return [text[start:end if end >= 0 else len(text)]]
    path = parse_article(key, article)
    units = outline(key, text)
    chain: list[str] = []
    for depth in range(1, len(path) + 1):
        found = [u for u in units if u.path == path[:depth]]
        assert len(found) == 1, f"{key} {article}: {len(found)} units numbered {path[:depth]}"
        chain.append(text[found[0].start:found[0].end])
    return chain


def article_text(seeds_dir: Path, key: str, article: str) -> str:
    """The text of the cited unit (with its sub-units)."""
    return cited_units(seeds_dir, key, article)[-1]


def squeeze(text: str) -> str:
    """The text without the line breaks the page breaks put inside sentences."""
    return re.sub(r"\s*\n\s*", "", text)
