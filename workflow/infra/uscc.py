"""Unified Social Credit Codes (统一社会信用代码, GB 32100-2015).

Eighteen characters from a 31-character alphabet (digits and capitals without I, O, S, V, Z):
the registration authority (登记管理部门), the kind of entity (机构类别), the six-digit area
code of the registering office, the nine-character organisation code and a check character,
``31 - (Σ cᵢ·wᵢ mod 31)`` with weights 3ⁱ mod 31.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from workflow.infra.invalid import InvalidValue

ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_VALUE = {c: i for i, c in enumerate(ALPHABET)}

# Registered by market supervision (工商, authority "9"): 1 enterprise, 2 individual business,
# 3 farmers' cooperative. Other authorities register organisations that are not employers here
# as a rule, but may still employ: they are "other".
EmployerKind = Literal["enterprise", "individual_business", "cooperative", "other"]
_KIND: dict[str, EmployerKind] = {
    "91": "enterprise",
    "92": "individual_business",
    "93": "cooperative",
}


class InvalidCreditCode(InvalidValue):
    """A credit code that fails GB 32100."""


@dataclass(frozen=True)
class CreditCodeInfo:
    code: str
    authority: str
    category: str
    area_code: str
    organisation_code: str
    kind: EmployerKind


def check_char(first17: str) -> str:
    if len(first17) != 17 or any(c not in _VALUE for c in first17):
        raise InvalidCreditCode(
            "characters", "a credit code uses digits and capitals but I O S V Z"
        )
    total = sum(_VALUE[c] * w for c, w in zip(first17, WEIGHTS, strict=True))
    return ALPHABET[(31 - total % 31) % 31]


def validate(value: str) -> CreditCodeInfo:
    code = value.strip().upper()
    if len(code) != 18:
        raise InvalidCreditCode("length", "a unified social credit code has 18 characters")
    if any(c not in _VALUE for c in code):
        raise InvalidCreditCode(
            "characters", "a credit code uses digits and capitals other than I, O, S, V and Z"
        )
    if not code[2:8].isdigit():
        raise InvalidCreditCode("area_code", "characters 3 to 8 are the six-digit area code")
    if check_char(code[:17]) != code[17]:
        raise InvalidCreditCode("checksum", "the credit code's check character is wrong")
    return CreditCodeInfo(
        code=code,
        authority=code[0],
        category=code[1],
        area_code=code[2:8],
        organisation_code=code[8:17],
        kind=_KIND.get(code[:2], "other"),
    )


def make(prefix: str, area_code: str, organisation_code: str) -> str:
    """A valid code from its parts (demo data and tests)."""
    first17 = f"{prefix}{area_code}{organisation_code}"
    return first17 + check_char(first17)
