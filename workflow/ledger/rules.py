"""The ledgers' data (``reference_data/ledgers.json``): titles, policy objects, export
columns, and which special groups make a household the poverty office's."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from functools import cache
from typing import Any

from workflow.infra import reference_json


class LedgerKind(enum.Enum):
    """The three ledgers (三个台账) of the national practice."""

    SCHOOL_AGE = "school_age"  # 适龄儿童台账
    SUSPECTED = "suspected"  # 疑似辍学学生台账
    DROPOUT = "dropout"  # 辍学学生台账


@dataclass(frozen=True)
class Column:
    """One column of a ledger's export: the value's path in the GraphQL entry, its title,
    and for an enum's value the enum whose Chinese labels the sheet shows (``labels``);
    ``otherwise``, the path that fills the column where ``field`` is empty (a person on no
    register has no ``child``: its ``person``'s name)."""

    field: str
    title: str
    labels: str | None = None
    otherwise: str | None = None


@dataclass(frozen=True)
class Ledger:
    kind: LedgerKind
    title: str
    policy: str
    columns: tuple[Column, ...]


@cache
def _data() -> Any:
    return reference_json.load("ledgers.json")


@cache
def ledger(kind: LedgerKind) -> Ledger:
    raw = _data()["ledgers"][kind.value]
    return Ledger(kind, raw["title"], raw["policy"],
                  tuple(Column(c["field"], c["title"], c.get("labels"), c.get("or"))
                        for c in raw["columns"]))
