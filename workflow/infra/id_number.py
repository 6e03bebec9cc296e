"""Chinese resident ID numbers (居民身份证号码, GB 11643).

Six-digit area code, birth date YYYYMMDD, three-digit sequence (odd for males, even for
females) and a check character computed with ISO 7064 MOD 11-2.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from operator import mul
from typing import Literal

from workflow.infra.invalid import InvalidValue

WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK = "10X98765432"


class InvalidIdNumber(InvalidValue):
    """A resident ID number that fails GB 11643."""


@dataclass(frozen=True)
class IdNumberInfo:
    number: str
    area_code: str
    birth_date: date
    sequence: int
    sex: Literal["male", "female"]


def check_char(first17: str) -> str:
    if len(first17) != 17 or not first17.isdigit():
        raise InvalidIdNumber("characters", "the first 17 characters must be digits")
    # map() over C functions: an import validates millions of numbers (issue 14).
    return CHECK[sum(map(mul, map(int, first17), WEIGHTS)) % 11]


def validate(value: str) -> IdNumberInfo:
    number = value.strip().upper()
    if len(number) != 18:
        raise InvalidIdNumber("length", "an ID number has 18 characters")
    if not number[:17].isdigit() or not (number[17].isdigit() or number[17] == "X"):
        raise InvalidIdNumber("characters", "an ID number is 17 digits and a digit or X")
    try:
        born = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError as exc:
        raise InvalidIdNumber("birth_date", "the ID number's birth date is not a date") from exc
    if check_char(number[:17]) != number[17]:
        raise InvalidIdNumber("checksum", "the ID number's check character is wrong")
    sequence = int(number[14:17])
    return IdNumberInfo(number, number[:6], born, sequence, "male" if sequence % 2 else "female")


def is_valid(value: str) -> bool:
    try:
        validate(value)
    except InvalidIdNumber:
        return False
    return True


def make(area_code: str, birth_date: date, sequence: int) -> str:
    first17 = f"{area_code}{birth_date:%Y%m%d}{sequence:03d}"
    return first17 + check_char(first17)


def mask(value: str) -> str:
    return value[:4] + "*" * (len(value) - 8) + value[-4:]
