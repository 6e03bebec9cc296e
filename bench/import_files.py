"""Write province-scale list files for the import benchmark: a school register extract and
a police household list, CSV with Chinese headers, as the agencies send them.

    python -m bench.import_files --rows 2000000 --households 2100000 --out var/bench-import

About 3 % of the register rows have no ID number (register type Z-other), and one row in a
thousand is bad (a wrong check character, a birth date in the future, an empty name). The
next period's register (``register-next.csv``) has the same children with 1 % of them moved
up a grade or to another school. Deterministic for a seed.
"""

from __future__ import annotations

import argparse
import csv
import random
from collections.abc import Iterator, Sequence
from datetime import date, timedelta
from pathlib import Path

from workflow.demo.data import BOY, GIRL, MALE_ADULT, SURNAMES
from workflow.infra.id_number import make

REGISTER_HEADER = ["学生姓名", "性别", "出生日期", "身份证件号", "学校名称", "年级", "班级",
                   "监护人姓名", "与学生关系", "联系电话"]
HOUSEHOLD_HEADER = ["姓名", "性别", "公民身份号码", "出生日期", "户号", "户主姓名"]
AREA = "370406"
NO_ID_SHARE = 0.03
BAD_EVERY = 1000


def _person(names: random.Random, i: int, today: date) -> tuple[str, str, date, str]:
    """(name, sex, birth date, ID number) of the i-th child, the same in every list: each
    thousand children share a birth date (6 to 15 years ago) and take its sequence numbers
    000-999 (odd for boys, GB 11643), so the numbers are unique by construction."""
    sequence = i % 1000
    sex = "男" if sequence % 2 else "女"
    given = BOY if sex == "男" else GIRL
    name = names.choice(SURNAMES) + names.choice(given) + names.choice(given)
    born = today - timedelta(days=6 * 365 + (i // 1000) % (9 * 365))
    area = f"{int(AREA) + i // (1000 * 9 * 365):06d}"
    return name, sex, born, make(area, born, sequence)


def register_rows(rows: int, schools: Sequence[str], seed: int, today: date,
                  changed: float = 0.0) -> Iterator[list[str]]:
    names, rng, moved = random.Random(seed), random.Random(seed + 1), random.Random(seed + 2)
    for i in range(rows):
        name, sex, born, number = _person(names, i, today)
        no_id = rng.random() < NO_ID_SHARE
        grade = min(9, max(1, (today - born).days // 365 - 5))
        school = schools[i % len(schools)]
        if changed and moved.random() < changed:
            grade = min(9, grade + 1)
            school = schools[(i + 1) % len(schools)]
        row = [name, sex, born.isoformat(), "" if no_id else number, school, str(grade),
               str(1 + i % 6), rng.choice(SURNAMES) + rng.choice(MALE_ADULT), "父亲",
               f"13{rng.randrange(10**9):09d}"]
        if i % BAD_EVERY == 7:
            row[3] = number[:-1] + ("0" if number[-1] != "0" else "1")
        elif i % BAD_EVERY == 507:
            row[2] = "2099-01-01"
        yield row


def household_rows(rows: int, seed: int, today: date) -> Iterator[list[str]]:
    names, rng = random.Random(seed), random.Random(seed + 1)
    for i in range(rows):
        name, sex, born, number = _person(names, i, today)
        row = [name, sex, number, born.isoformat(), f"H{i // 3:09d}",
               rng.choice(SURNAMES) + rng.choice(MALE_ADULT)]
        if i % BAD_EVERY == 11:
            row[2] = number[:10]
        yield row


def write(path: Path, header: list[str], rows: Iterator[list[str]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8-sig", newline="") as f:
        out = csv.writer(f)
        out.writerow(header)
        out.writerows(rows)
    return path


def write_all(out: Path, rows: int, households: int, schools: Sequence[str],
              seed: int = 370406, today: date | None = None) -> dict[str, Path]:
    today = today or date.today()
    return {
        "register": write(out / "register.csv", REGISTER_HEADER,
                          register_rows(rows, schools, seed, today)),
        "register_next": write(out / "register-next.csv", REGISTER_HEADER,
                               register_rows(rows, schools, seed, today, changed=0.01)),
        "households": write(out / "households.csv", HOUSEHOLD_HEADER,
                            household_rows(households, seed, today)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=2_000_000)
    parser.add_argument("--households", type=int, default=2_100_000)
    parser.add_argument("--out", type=Path, default=Path("var/bench-import"))
    parser.add_argument("--school", action="append", default=[], help="a school name")
    args = parser.parse_args()
    paths = write_all(args.out, args.rows, args.households, args.school or ["山亭区实验小学"])
    for key, path in paths.items():
        print(f"{key}: {path}")


if __name__ == "__main__":
    main()
