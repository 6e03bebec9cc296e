"""Languages (语言): error messages and enum labels in Chinese or English.

One gettext catalogue, ``schema/locale/zh_CN/LC_MESSAGES/lianbao.po``, read with Babel on the
first Chinese answer a process gives (no compiled ``.mo`` to keep in step). The code raises its
messages in English, as it always has; they are translated at the places a response is
formatted (the GraphQL errors in ``schema/errors.ErrorCodes``, ``userErrors`` in
``schema/mutation.py``, the edge's refusals in ``api/http.error_response``, socket errors), in
the language of the request, which ``api/http.LanguageMiddleware`` negotiates from
``Accept-Language`` and sets here for the request's task. The codes never change with the
language.

A message the code formats a value into (``"first may be at most {cap}"``) is matched by its
catalogue template, and the value is carried over, itself translated when it is a message of
its own (``"the case"``) or an enum value (``"served"``). A message the catalogue does not know
(a graphql-core wording not listed) stays in English.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from enum import Enum
from functools import lru_cache
from pathlib import Path
from typing import Literal, cast

from graphql import GraphQLError

from schema import enums as exposed

Language = Literal["zh-CN", "en"]
LANGUAGES: tuple[Language, ...] = ("zh-CN", "en")
ENGLISH: Language = "en"
CHINESE: Language = "zh-CN"
CATALOGUE = Path(__file__).with_name("locale") / "zh_CN" / "LC_MESSAGES" / "lianbao.po"

# The language of the response being formatted; English outside a request (tests, the CLI).
_language: ContextVar[Language] = ContextVar("lianbao_language", default=ENGLISH)

_PLACEHOLDER = re.compile(r"\{(\w+)\}")
# How deep values inside values are translated ("ladder step 2: stage X comes before Y").
_DEPTH = 3


@dataclass(frozen=True)
class Catalogue:
    """The .po file, indexed: plain messages, templates with placeholders (most literal text
    first, so a specific template wins over a general one), and enum labels by
    ``Enum.VALUE`` as (English, Chinese)."""

    messages: dict[str, str]
    templates: list[tuple[re.Pattern[str], str]]
    labels: dict[str, tuple[str, str]]


@lru_cache(maxsize=1)
def catalogue() -> Catalogue:
    # Babel's catalogue module takes a noticeable part of a worker's start-up to import, and
    # an English-only process (the suite, the CLI) never needs it: imported on first use.
    from babel.messages.pofile import read_po

    with CATALOGUE.open("rb") as fh:
        po = read_po(fh, locale="zh_CN")
    messages: dict[str, str] = {}
    templates: list[tuple[int, re.Pattern[str], str]] = []
    labels: dict[str, tuple[str, str]] = {}
    for message in po:
        msgid, msgstr = str(message.id), str(message.string or "")
        if not msgid or not msgstr or message.fuzzy:
            continue
        if message.context:
            labels[str(message.context)] = (msgid, msgstr)
        elif _PLACEHOLDER.search(msgid):
            literal = _PLACEHOLDER.sub("", msgid)
            templates.append((len(literal), _pattern(msgid), msgstr))
        else:
            messages[msgid] = msgstr
    templates.sort(key=lambda t: t[0], reverse=True)
    return Catalogue(messages, [(p, s) for _, p, s in templates], labels)


def _pattern(msgid: str) -> re.Pattern[str]:
    parts: list[str] = []
    last = 0
    for match in _PLACEHOLDER.finditer(msgid):
        parts.append(re.escape(msgid[last:match.start()]))
        parts.append(f"(?P<{match.group(1)}>.+?)")
        last = match.end()
    parts.append(re.escape(msgid[last:]))
    return re.compile("".join(parts), re.DOTALL)


@lru_cache(maxsize=1)
def _enum_terms() -> dict[str, str]:
    """An enum value as the code formats it into a message (``"served"``) → its label key.

    Status enums come last so that they win where two enums share a value string
    ("planned" is an inspection's kind and its status; messages speak of the status)."""
    classes = [getattr(exposed, name) for name in exposed.__all__]
    enums = [c for c in classes if isinstance(c, type) and issubclass(c, Enum)]
    enums.sort(key=lambda c: c.__name__.endswith("Status"))
    return {str(m.value): f"{c.__name__}.{m.name}" for c in enums for m in c}


def current() -> Language:
    return _language.get()


@contextmanager
def speaking(language: Language) -> Iterator[None]:
    """Format what is answered inside the block in ``language``: a request's whole handling,
    a socket's life (the tasks it starts inherit it)."""
    token = _language.set(language)
    try:
        yield
    finally:
        _language.reset(token)


def translate(message: str, language: Language | None = None) -> str:
    """``message`` in ``language`` (the request's by default); unknown messages unchanged."""
    if (language or current()) == ENGLISH:
        return message
    return _chinese(message, _DEPTH)


@lru_cache(maxsize=2048)
def _chinese(message: str, depth: int) -> str:
    found = catalogue()
    if message in found.messages:
        return found.messages[message]
    for pattern, translation in found.templates:
        match = pattern.fullmatch(message)
        if match is not None:
            values = {k: _term(v, depth - 1) for k, v in match.groupdict().items()}
            return translation.format(**values)
    return message


def _term(value: str, depth: int) -> str:
    """A value formatted into a message, in Chinese where it is a message or an enum value."""
    key = _enum_terms().get(value)
    if key is not None and key in catalogue().labels:
        return catalogue().labels[key][1]
    return _chinese(value, depth) if depth > 0 else value


def label(enum: str, value: str, language: Language | None = None) -> str | None:
    """The label a client shows for ``enum.value``; None when the catalogue has none."""
    found = catalogue().labels.get(f"{enum}.{value}")
    if found is None:
        return None
    english, chinese = found
    return english if (language or current()) == ENGLISH else chinese


def localized(error: GraphQLError) -> GraphQLError:
    """``error`` with its message in the request's language (a new error: validation errors
    are cached across requests and must not change under another request's feet)."""
    message = translate(error.message)
    if message == error.message:
        return error
    return GraphQLError(
        message, error.nodes, error.source, error.positions, error.path,
        error.original_error, error.extensions,
    )


def parse_language(tag: str) -> Language | None:
    """The language served for one ``Accept-Language`` tag: any Chinese tag gets Chinese
    (the catalogue is Simplified Chinese, what the county's offices use), any English tag
    English; ``*`` and other languages nothing."""
    primary = tag.strip().lower().replace("_", "-").split("-", 1)[0]
    return cast(Language, {"zh": CHINESE, "en": ENGLISH}.get(primary))
