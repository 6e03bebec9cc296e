"""Per-request decisions on sensitive fields, and the access-log entries they produce.

A page of 50 children touches a handful of domains (their schools), so decisions are memoised
per (field, domain, stage): the cost is a few ``enforce()`` calls per page, not one per cell.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from authz.enforcer import Authorizer
from authz.masking import SensitiveField, Shown, masked
from authz.principal import Principal
from models.enums import CaseStage


@dataclass(frozen=True)
class AccessEntry:
    record_type: str
    record_id: int
    field: str
    subject_scope: str
    occurred_at: datetime


@dataclass
class FieldGuard:
    authz: Authorizer
    principal: Principal
    now: datetime
    entries: list[AccessEntry] = field(default_factory=list)
    _memo: dict[tuple[SensitiveField, str, CaseStage | None], bool] = field(default_factory=dict)
    _logged: set[tuple[str, int, str]] = field(default_factory=set)

    def may_unmask(self, fld: SensitiveField, domain: str, stage: CaseStage | None = None) -> bool:
        key = (fld, domain, stage)
        if key not in self._memo:
            self._memo[key] = self.authz.allowed(self.principal, fld.obj, "unmask", domain, stage)
        return self._memo[key]

    def show(
        self,
        fld: SensitiveField,
        value: str | None,
        *,
        record_type: str,
        record_id: int,
        domain: str,
        stage: CaseStage | None = None,
        also: str = "",
    ) -> Shown:
        """``also``: the record's second domain (a child's residence), which a grant may
        cover instead; the access log names the domain whose grant allowed the read."""
        # Decide before looking at the value: ``masked`` and ``reason`` must depend only on the
        # caller's grant. Answering ``masked: false`` for an absent note to a caller without the
        # grant, and ``masked: true`` for a present one, would tell police which children have
        # a health note (a disability) without ever showing it (PIPL arts. 28, 51).
        if not self.may_unmask(fld, domain, stage):
            if not also or not self.may_unmask(fld, also, stage):
                return masked(fld, value)
            domain = also
        if value is None:
            return Shown(None, masked=False)
        if fld.logged:
            key = (record_type, record_id, fld.value)
            if key not in self._logged:
                self._logged.add(key)
                self.entries.append(
                    AccessEntry(record_type, record_id, fld.value, domain, self.now)
                )
        return Shown(value, masked=False)
