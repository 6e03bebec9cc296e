"""How masked values look to a client."""

from __future__ import annotations

import strawberry

from authz.masking import Shown


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
