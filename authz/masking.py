"""Field masking for sensitive personal information of minors (PIPL art. 28, 51).

A sensitive field leaves the server raw only when the principal holds ``unmask`` on
``field:<name>`` for the record's domain; otherwise it is masked (a partial value) or withheld
(null with a reason). Every raw read is recorded in the access log by the caller.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import ColumnElement, case, func, literal


class SensitiveField(StrEnum):
    NATIONAL_ID = "national_id"
    GUARDIAN_PHONE = "guardian_phone"
    FAMILY_INCOME = "family_income"
    HEALTH = "health"
    NAME = "name"

    @property
    def obj(self) -> str:
        return f"field:{self.value}"

    @property
    def logged(self) -> bool:
        """Names are masked for some agencies but are not logged on every list row."""
        return self is not SensitiveField.NAME


@dataclass(frozen=True)
class Shown:
    value: str | None
    masked: bool
    reason: str | None = None


def mask_id_number(value: str) -> str:
    """``370406200801011234`` → ``3704**********1234``: area prefix and tail, as on receipts."""
    if len(value) <= 8:
        return "*" * len(value)
    return value[:4] + "*" * (len(value) - 8) + value[-4:]


def mask_phone(value: str) -> str:
    if len(value) < 7:
        return "*" * len(value)
    return value[:3] + "*" * (len(value) - 7) + value[-4:]


def mask_name(value: str) -> str:
    """Surname kept, given name starred: 张伟 → 张*, 欧阳娜娜 → 欧***."""
    if len(value) <= 1:
        return value
    return value[0] + "*" * (len(value) - 1)


def mask_name_sql(name: Any, *, unmasked: ColumnElement[bool]) -> ColumnElement[str]:
    """SQL for a name as the guard shows it: raw where ``unmasked`` holds, else
    ``mask_name`` (the surname and a star per further character; ``char_length`` counts
    characters as Python's ``len`` does). ``tests/test_persisted.py`` holds the two alike."""
    length = func.char_length(name)
    starred = func.concat(func.left(name, 1), func.repeat(literal("*"), length - 1))
    return case((unmasked, name), (length <= 1, name), else_=starred)


_PARTIAL = {
    SensitiveField.NATIONAL_ID: mask_id_number,
    SensitiveField.GUARDIAN_PHONE: mask_phone,
    SensitiveField.NAME: mask_name,
}


def masked(field: SensitiveField, value: str | None) -> Shown:
    """What a caller without the grant sees.

    ``masked`` is always true and the reason is the field's own, whether or not a value is
    held: a withheld field (income, health) then reads the same for a child with a note and a
    child without one, so the answer discloses nothing. A partially masked field (ID number,
    phone, name) shows its partial form, which by design tells that a value exists; with no
    value it is null under the same flag and reason.
    """
    partial = _PARTIAL.get(field)
    if partial is not None:
        shown = None if value is None else partial(value)
        return Shown(shown, masked=True, reason=f"needs unmask on {field.obj}")
    return Shown(None, masked=True, reason=f"withheld: needs unmask on {field.obj}")
