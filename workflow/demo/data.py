"""A deterministic, realistic demo county: schools and children of a district (山亭区 370406,
沙坡头区 640502).

Pure data (no database): ``generate_county`` returns the same county for the same seed, with
plausible names, valid ID numbers (GB 11643) and special-group rates close to a rural county's.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

from workflow.infra.id_number import make

SURNAMES = (
    "王" * 16 + "李" * 15 + "张" * 14 + "刘" * 10 + "陈" * 8 + "杨" * 7 + "赵" * 6 + "黄" * 5
    + "周" * 5 + "吴" * 4 + "徐" * 4 + "孙" * 4 + "胡" * 3 + "朱" * 3 + "高" * 3 + "林" * 2
    + "何" * 2 + "郭" * 3 + "马" * 3 + "罗" * 2 + "褚" + "宋" * 2 + "颜" + "孔" * 2 + "曹" * 2
    + "田" * 2 + "石" * 2 + "袁" + "魏" + "褚" + "韩" * 2 + "贾" + "梁" + "邵" + "闫" + "秦"
)
BOY = "浩宇轩子涵博文俊杰明泽豪晨阳睿志强伟鹏昊然嘉铭振天佳"
GIRL = "欣怡梓涵雨萱诗琪佳慧婷雅静思梦璐瑶妍彤晓丽娜悦可馨"
MALE_ADULT = "建国伟强军勇刚磊明涛永庆德胜志华成海林峰"
FEMALE_ADULT = "秀英丽芳敏静艳娟霞玉兰桂珍凤梅红燕"
VILLAGE_STEMS = "张王李刘孙赵徐孟韩马石北南东西前后上下"
VILLAGE_SUFFIXES = ("庄村", "家庄村", "峪村", "湖村", "岭村", "楼村", "屯村", "河村")

FLAG_RATES = {
    "left_behind": 0.12,
    "migrant": 0.05,
    "disabled": 0.015,
    "registered_poor": 0.06,
    "subsistence_allowance": 0.04,
    "orphan": 0.005,
    "single_parent": 0.07,
    "prisoner_child": 0.003,
    "learning_difficulty": 0.03,
}
# The groups SPT 9, ST 7 and the national practice add, drawn from a second generator so the
# groups above (and so the demo cases built on them) stay what they were.
EXTRA_FLAG_RATES = {
    "disabled_parent": 0.02,
    "unstable_poverty_exit": 0.02,
    "sudden_hardship": 0.01,
    "rural_extreme_poverty": 0.006,
    "no_de_facto_carer": 0.005,
}
EXTRA_INCOME_NOTES = {
    "unstable_poverty_exit": "脱贫不稳定户（防返贫监测对象）",
    "sudden_hardship": "突发严重困难户",
    "rural_extreme_poverty": "农村特困人员救助供养",
}
DISABILITIES = ("肢体残疾二级", "听力残疾三级", "视力残疾二级", "智力残疾三级", "言语残疾四级")

SchoolKindName = Literal["primary", "junior", "nine_year"]
Relation = Literal["father", "mother", "grandfather", "grandmother", "other"]


@dataclass(frozen=True)
class DemoSchool:
    key: str
    name: str
    kind: SchoolKindName
    township_code: str
    grades: tuple[int, int]


@dataclass(frozen=True)
class DemoGuardian:
    name: str
    relation: Relation
    phone: str


@dataclass(frozen=True)
class DemoChild:
    key: str
    name: str
    sex: Literal["male", "female"]
    birth_date: date
    id_number: str | None
    township_code: str
    village: str
    school_key: str
    grade: int
    class_no: int
    flags: frozenset[str]
    guardians: tuple[DemoGuardian, ...]
    health_note: str | None
    family_income_note: str | None


@dataclass(frozen=True)
class DemoCounty:
    district_code: str
    schools: tuple[DemoSchool, ...]
    children: tuple[DemoChild, ...]


def _schools(
    townships: Sequence[tuple[str, str]], rng: random.Random, district_name: str
) -> list[DemoSchool]:
    schools: list[DemoSchool] = []

    def add(name: str, kind: SchoolKindName, code: str) -> None:
        grades = {"primary": (1, 6), "junior": (7, 9), "nine_year": (1, 9)}[kind]
        schools.append(DemoSchool(f"s{len(schools) + 1:02d}", name, kind, code, grades))

    for i, (code, name) in enumerate(townships):
        short = name.removesuffix("街道").removesuffix("镇").removesuffix("乡")
        if name.endswith("街道"):
            add(f"{district_name}实验小学", "primary", code)
            add(f"{district_name}第二实验小学", "primary", code)
            add(f"{district_name}实验中学", "junior", code)
            add(f"{district_name}第一中学", "junior", code)
            continue
        add(f"{district_name}{name}中心小学", "primary", code)
        for v in range(2):
            stem = VILLAGE_STEMS[(i * 3 + v) % len(VILLAGE_STEMS)]
            add(f"{district_name}{name}{stem}庄小学", "primary", code)
        if i % 4 == 1:
            add(f"{district_name}{short}九年一贯制学校", "nine_year", code)
        else:
            add(f"{district_name}{name}中学", "junior", code)
    del rng
    return schools


def _phone(rng: random.Random) -> str:
    prefix = rng.choice(("130", "131", "132", "135", "136", "138", "139", "150", "151", "152",
                         "155", "157", "158", "159", "180", "182", "186", "187", "188"))
    return prefix + f"{rng.randrange(10**8):08d}"


def _given(rng: random.Random, chars: str) -> str:
    if rng.random() < 0.2:
        return rng.choice(chars)
    return rng.choice(chars) + rng.choice(chars)


def generate_county(
    townships: Sequence[tuple[str, str]],
    *,
    district_code: str = "370406",
    district_name: str = "山亭区",
    children: int = 3000,
    seed: int = 370406,
    today: date = date(2026, 9, 1),
) -> DemoCounty:
    """The same county for the same arguments (only generators seeded from ``seed`` are used)."""
    rng = random.Random(seed)
    extra = random.Random(f"{seed}:groups")
    schools = _schools(townships, rng, district_name)
    by_township: dict[str, list[DemoSchool]] = {}
    for s in schools:
        by_township.setdefault(s.township_code, []).append(s)
    villages = {
        code: [rng.choice(VILLAGE_STEMS) + rng.choice(VILLAGE_SUFFIXES) for _ in range(6)]
        for code, _ in townships
    }
    sequences: dict[tuple[date, str], int] = {}
    kids: list[DemoChild] = []
    school_year_start = date(today.year if today.month >= 9 else today.year - 1, 9, 1)
    for n in range(children):
        grade = rng.randint(1, 9)
        # Entering grade 1 at six by 31 August of the school year's start.
        start_age = 6 + grade - 1
        youngest = date(school_year_start.year - start_age - 1, 9, 1)
        birth = youngest + timedelta(days=rng.randrange(365))
        sex: Literal["male", "female"] = "male" if rng.random() < 0.52 else "female"
        township, _ = rng.choice(townships)
        candidates = [s for s in by_township[township] if s.grades[0] <= grade <= s.grades[1]]
        if not candidates:
            candidates = [s for s in schools if s.grades[0] <= grade <= s.grades[1]]
        school = rng.choice(candidates)
        surname = rng.choice(SURNAMES)
        name = surname + _given(rng, BOY if sex == "male" else GIRL)
        flags = frozenset(f for f, rate in FLAG_RATES.items() if rng.random() < rate)
        flags |= {f for f, rate in EXTRA_FLAG_RATES.items() if extra.random() < rate}
        id_number: str | None = None
        if rng.random() >= 0.01:
            # Sequence numbers are odd for boys, even for girls, unique per birth date.
            count = sequences.get((birth, sex), rng.randrange(0, 30)) + 1
            sequences[(birth, sex)] = count
            id_number = make(district_code, birth, 2 * count - (1 if sex == "male" else 0))
        guardians: list[DemoGuardian] = []
        if "orphan" in flags:
            guardians.append(DemoGuardian(surname + rng.choice(MALE_ADULT), "grandfather",
                                          _phone(rng)))
        elif "left_behind" in flags:
            relation: Relation = rng.choice(("grandfather", "grandmother"))
            chars = MALE_ADULT if relation == "grandfather" else FEMALE_ADULT
            guardians.append(DemoGuardian(surname + rng.choice(chars), relation, _phone(rng)))
            guardians.append(DemoGuardian(surname + _given(rng, MALE_ADULT), "father",
                                          _phone(rng)))
        else:
            guardians.append(DemoGuardian(surname + _given(rng, MALE_ADULT), "father",
                                          _phone(rng)))
            if "single_parent" not in flags:
                guardians.append(DemoGuardian(rng.choice(SURNAMES) + _given(rng, FEMALE_ADULT),
                                              "mother", _phone(rng)))
        health = rng.choice(DISABILITIES) if "disabled" in flags else None
        income = None
        if "registered_poor" in flags:
            income = f"建档立卡贫困户（{rng.randint(2014, 2019)}年识别）"
        elif "subsistence_allowance" in flags:
            income = "农村最低生活保障家庭"
        else:
            income = next((n for f, n in EXTRA_INCOME_NOTES.items() if f in flags), None)
        kids.append(
            DemoChild(
                key=f"c{n + 1:05d}", name=name, sex=sex, birth_date=birth, id_number=id_number,
                township_code=township, village=rng.choice(villages[township]),
                school_key=school.key, grade=grade, class_no=rng.randint(1, 3), flags=flags,
                guardians=tuple(guardians), health_note=health, family_income_note=income,
            )
        )
    return DemoCounty(district_code, tuple(schools), tuple(kids))
