"""How masked values look to a client."""

from __future__ import annotations

from typing import Any

import strawberry

from authz.masking import SensitiveField, Shown
from schema.context import Info
from schema.enums import CaseStage


@strawberry.type(
    description="A sensitive value: raw when the caller may unmask it (the read is logged), "
    "otherwise partially masked or withheld, with the reason."
)
class SensitiveValue:
    value: str | None
    masked: bool
    reason: str | None

    @classmethod
    def of(cls, shown: Shown) -> SensitiveValue:
        return cls(value=shown.value, masked=shown.masked, reason=shown.reason)


def row_value(
    info: Info, fld: SensitiveField, value: str | None, row: Any, record_type: str, *,
    stage: CaseStage | None = None, also: str = "",
) -> SensitiveValue:
    """A sensitive column of the scoped row ``row`` (a child, a finding) as the caller may see
    it: the guard decides at the row's ``scope_path`` (or ``also``) and logs an unmasked read
    under ``record_type`` and the row's id."""
    return SensitiveValue.of(info.context.guard.show(
        fld, value, record_type=record_type, record_id=row.id, domain=row.scope_path,
        stage=stage, also=also,
    ))
