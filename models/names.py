"""Normalised name keys (姓名比对键) for matching people across the agencies' lists.

The police, the school register and the poverty office type the same child's name
differently: full-width letters or digits, a traditional character, a space or a middle dot
between the parts of a minority name. The key folds those differences away (NFKC turns
full-width forms into half-width ones, OpenCC's traditional → simplified table, then spacing
and middle dots removed) so that matching is an indexed equality, computed once where a row
enters (an import's staging, a child or guardian written), never in SQL at run time.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from opencc_purepy import OpenCC
from sqlalchemy.orm import validates

# Middle dots of minority names (U+00B7, U+2022, U+2027, U+30FB, U+FF65, U+2219) and spacing.
_DROP = re.compile(r"[\s\u00b7\u2022\u2027\u30fb\uff65\u2219\u0387.\-]+")
KEY_LENGTH = 64


@lru_cache(maxsize=1)
def _converter() -> Any:
    return OpenCC("t2s")


@lru_cache(maxsize=65536)
def name_key(name: str | None) -> str | None:
    """The matching key of a person's name; None for no name."""
    if name is None:
        return None
    folded = unicodedata.normalize("NFKC", name)
    folded = _DROP.sub("", folded)
    if not folded:
        return None
    if not folded.isascii():
        folded = str(_converter().convert(folded))
    return folded.lower()[:KEY_LENGTH]


def name_key_default(context: Any) -> str | None:
    """Column default: the key of the ``name`` a Core or ORM insert writes. (ORM changes of
    a name go through the model's validator; set-based updates set the key themselves.)"""
    return name_key(context.get_current_parameters().get("name"))


class NameKeyed:
    """A mapped row (a child, a guardian) whose ``name_key`` column follows its ``name``
    whenever the ORM sets the name; ``name_key_default`` keys a row inserted without it."""

    if TYPE_CHECKING:
        name_key: str | None

    @validates("name")
    def _keyed(self, _: str, value: str) -> str:
        self.name_key = name_key(value)
        return value
