"""The three comparisons at province scale (issue 15): generate, set-based in PostgreSQL, a
province of 2,000,000 register rows and 2,100,000 household rows with a few percent
disagreeing each way; then, on a fresh copy of it (``CREATE DATABASE … TEMPLATE``, so the
generated database stays as generated and every first run starts from the same data),
reconcile the whole province in one pass (``crosscheck_province``, one transaction), again
with nothing changed, every district alone with nothing changed; and on a second fresh copy
every tenth district alone, each its first run.

    python -m bench.crosscheck [--url …] [--children 2000000] [--skip-generate] [--alone 10]

The synthetic province (990000, 100 districts × 10 townships × 2 schools, codes unused by
GB/T 2260) is made by ``INSERT … SELECT generate_series`` (no Python loop per row):

- children ``i = 1..N`` on the register, enrolled at a school of their township; every 33rd
  has no ID number (register type Z-other), with a guardian;
- the police list (户籍): every child but each 50th, by ID number; for each no-ID child the
  police list has the child with an ID number, the same name and birth date and the guardian
  as head of household (matched by the name rule); plus 7 % more people on no register
  (适龄未入学: UNREGISTERED findings, each a verification task);
- each school's in-school list (在校生名单): its pupils but each 37th (名在人不在:
  NOT_AT_SCHOOL findings, each a task for the school);
- the poverty office's list: each 20th child and each 20th unregistered person (poverty
  dropouts: POVERTY_DROPOUT, priority).

Targets (issue 15): whole province ≤ 60 s, one district ≤ 2 s, a rerun with no change ≤ a
tenth of that and creating nothing. Uses its own database (default ``lianbao_bench_cross``)
and the copy ``<name>_run`` (dropped and made again by each run; left for inspection).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
from datetime import UTC, date, datetime

import asyncpg
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from authz.enforcer import Authorizer
from authz.principal import SYSTEM
from bench.generate import dsn, fresh_database, recreate
from models.crosscheck import CrosscheckFinding, CrosscheckRun
from models.session import create_engine
from models.task import Task
from workflow.clock import FixedClock
from workflow.context import ServiceContext
from workflow.crosscheck import crosscheck_district, crosscheck_province

DEFAULT_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/lianbao_bench_cross"
AS_OF = date(2026, 9, 30)
NOW = datetime(2026, 10, 8, 2, 0, tzinfo=UTC)
DISTRICTS = 100

# One statement each; :n is the number of children. District d (0..99) is 99CCDD with
# C = d / 10 + 1, D = d % 10 + 1; township t (0..999) is its district's code, 1, t % 10.
DISTRICT = "'99' || lpad((d / 10 + 1)::text, 2, '0') || lpad((d % 10 + 1)::text, 2, '0')"
TOWNSHIP = ("('99' || lpad((t / 100 + 1)::text, 2, '0') || lpad((t / 10 % 10 + 1)::text, 2, '0')"
            " || '1' || lpad((t % 10)::text, 2, '0'))")
CHILD_TOWNSHIP = "(i % 1000)"
CHILD_SCHOOL = "(2000000 + (i % 1000) * 2 + (i / 1000) % 2)"
NO_ID = "i % 33 = 0"
BIRTH = "DATE '2012-01-01' + (i % 2900)"  # ages 6 to 14 on the as-of date

STATEMENTS = [
    "INSERT INTO jurisdiction (code, name, level, parent_code, path) VALUES "
    "('990000', '基准省', 'province', NULL, '990000')",
    "INSERT INTO jurisdiction (code, name, level, parent_code, path) SELECT "
    "'99' || lpad(c::text, 2, '0') || '00', '基准市' || c, 'city', '990000', "
    "'990000/99' || lpad(c::text, 2, '0') || '00' FROM generate_series(1, 10) c",
    f"INSERT INTO jurisdiction (code, name, level, parent_code, path) SELECT {DISTRICT}, "
    f"'基准区' || d, 'district', '99' || lpad((d / 10 + 1)::text, 2, '0') || '00', "
    f"'990000/99' || lpad((d / 10 + 1)::text, 2, '0') || '00/' || {DISTRICT} "
    f"FROM generate_series(0, {DISTRICTS - 1}) d",
    f"INSERT INTO jurisdiction (code, name, level, parent_code, path) SELECT {TOWNSHIP}, "
    f"'基准镇' || t, 'township', left({TOWNSHIP}, 6), "
    f"(SELECT path FROM jurisdiction WHERE code = left({TOWNSHIP}, 6)) || '/' || {TOWNSHIP} "
    f"FROM generate_series(0, {DISTRICTS * 10 - 1}) t",
    "INSERT INTO agency (id, kind, name, short_name, jurisdiction_code, scope_path) SELECT "
    "1000000 + row_number() OVER (ORDER BY code), "
    "CASE level WHEN 'district' THEN 'education' ELSE 'township' END, name || '机关', '', "
    "code, path FROM jurisdiction WHERE code LIKE '99%' AND level IN ('district', 'township')",
    f"INSERT INTO agency (id, kind, name, short_name, jurisdiction_code, scope_path) SELECT "
    f"2000000 + t * 2 + k, 'school', '基准镇' || t || '第' || (k + 1) || '小学', '', "
    f"{TOWNSHIP}, (SELECT path FROM jurisdiction WHERE code = {TOWNSHIP}) || '/school:' || "
    f"(2000000 + t * 2 + k) FROM generate_series(0, {DISTRICTS * 10 - 1}) t, "
    f"generate_series(0, 1) k",
    "INSERT INTO school (id, agency_id, name, kind, township_code, grade_from, grade_to) "
    "SELECT id, id, name, 'primary', jurisdiction_code, 1, 6 FROM agency "
    "WHERE kind = 'school' AND id >= 2000000",
    f"INSERT INTO child (id, name, name_key, sex, birth_date, register_type, national_id, "
    f"student_no, township_code, village, scope_path, residence_path, address, created_at, "
    f"updated_at, version) SELECT i, '学生' || i, '学生' || i, "
    f"CASE WHEN i % 2 = 0 THEN 'male' ELSE 'female' END, {BIRTH}, "
    f"CASE WHEN {NO_ID} THEN 'other' ELSE 'id_card' END, "
    f"CASE WHEN {NO_ID} THEN NULL ELSE '99' || lpad(i::text, 16, '0') END, 'X' || i, "
    f"a.jurisdiction_code, '', a.scope_path, '', '', now(), now(), 1 "
    f"FROM generate_series(1, :n) i JOIN agency a ON a.id = {CHILD_SCHOOL}",
    f"INSERT INTO enrolment (child_id, school_id, grade, class_no, status, status_since, "
    f"spring_entrant, updated_at) SELECT i, {CHILD_SCHOOL}, 1 + i % 6, 1, 'enrolled', "
    f"DATE '2025-09-01', false, now() FROM generate_series(1, :n) i",
    f"INSERT INTO guardian (child_id, name, name_key, relation) SELECT i, '家长' || i, "
    f"'家长' || i, 'father' FROM generate_series(1, :n) i WHERE {NO_ID}",
    "INSERT INTO import_job (source, district_code, scope_path, period, filename, "
    "content_sha256, status, total_rows, valid_rows, rejected_rows, counts, created_at, "
    "updated_at, version) SELECT s, code, path, '2026-09', s || '.csv', md5(s || code) || "
    "md5(code || s), 'applied', 0, 0, 0, '{}'::jsonb, now(), now(), 1 FROM jurisdiction, "
    "unnest(ARRAY['police_household', 'school_roster', 'poverty_household']) s "
    "WHERE level = 'district' AND code LIKE '99%'",
    # the police list: the register's children (no-ID ones with an ID number of their own)
    f"INSERT INTO base_record (source, district_code, person_key, national_id, name, "
    f"name_key, guardian_key, birth_date, township_code, child_id, period, job_id) SELECT "
    f"'police_household', left(c.township_code, 6), '99' || lpad(i::text, 16, '0'), "
    f"'99' || lpad(i::text, 16, '0'), c.name, c.name_key, "
    f"CASE WHEN {NO_ID} THEN '家长' || i END, c.birth_date, c.township_code, "
    f"CASE WHEN {NO_ID} THEN NULL ELSE i END, '2026-09', j.id "
    f"FROM generate_series(1, :n) i JOIN child c ON c.id = i JOIN import_job j ON "
    f"j.source = 'police_household' AND j.district_code = left(c.township_code, 6) "
    f"WHERE i % 50 <> 0",
    # … and 7 % more people on no register
    f"INSERT INTO base_record (source, district_code, person_key, national_id, name, "
    f"name_key, birth_date, township_code, period, job_id) SELECT 'police_household', "
    f"left({TOWNSHIP}, 6), '98' || lpad(i::text, 16, '0'), '98' || lpad(i::text, 16, '0'), "
    f"'未入学' || i, '未入学' || i, {BIRTH}, {TOWNSHIP}, '2026-09', j.id FROM (SELECT i, "
    f"i % 1000 AS t FROM generate_series(1, :n * 7 / 100) i) g JOIN import_job j ON "
    f"j.source = 'police_household' AND j.district_code = left({TOWNSHIP}, 6)",
    # each school's in-school list: its pupils but each 37th
    f"INSERT INTO base_record (source, district_code, person_key, national_id, name, "
    f"name_key, birth_date, school_id, child_id, period, job_id) SELECT 'school_roster', "
    f"j.district_code, 'X' || i, c.national_id, c.name, c.name_key, c.birth_date, "
    f"{CHILD_SCHOOL}, i, '2026-09', j.id FROM generate_series(1, :n) i JOIN child c ON "
    f"c.id = i JOIN import_job j ON j.source = 'school_roster' AND j.district_code = "
    f"left(c.township_code, 6) WHERE i % 37 <> 7",
    # the poverty office's list: each 20th child and each 20th unregistered person
    "INSERT INTO base_record (source, district_code, person_key, national_id, name, name_key, "
    "birth_date, township_code, \"group\", child_id, period, job_id) SELECT "
    "'poverty_household', b.district_code, b.person_key, b.national_id, b.name, b.name_key, "
    "b.birth_date, b.township_code, 'registered_poor', b.child_id, '2026-09', j.id FROM "
    "base_record b JOIN import_job j ON j.source = 'poverty_household' AND j.district_code = "
    "b.district_code WHERE b.source = 'police_household' AND "
    "right(b.person_key, 6)::int % 20 = 0",
    "INSERT INTO child_group (child_id, \"group\") SELECT child_id, 'registered_poor' FROM "
    "base_record WHERE source = 'poverty_household' AND child_id IS NOT NULL",
    "SELECT setval(pg_get_serial_sequence('child', 'id'), (SELECT max(id) FROM child))",
    "SELECT setval(pg_get_serial_sequence('agency', 'id'), (SELECT max(id) FROM agency))",
    "SELECT setval(pg_get_serial_sequence('school', 'id'), (SELECT max(id) FROM school))",
]


async def generate(url: str, children: int) -> float:
    started = time.perf_counter()
    await fresh_database(url)
    conn = await asyncpg.connect(dsn(url))
    try:
        for statement in STATEMENTS:
            await conn.execute(statement.replace(":n", str(children)))
        await conn.execute("VACUUM (ANALYZE)")
        rows = await conn.fetch("SELECT source, count(*) FROM base_record GROUP BY source")
        print("generated:", children, "register rows,", dict(rows), "base records")
    finally:
        await conn.close()
    return time.perf_counter() - started


async def _district_codes(url: str) -> list[str]:
    conn = await asyncpg.connect(dsn(url))
    try:
        return [r[0] for r in await conn.fetch(
            "SELECT code FROM jurisdiction WHERE level = 'district' AND code LIKE '99%' "
            "ORDER BY code")]
    finally:
        await conn.close()


async def copy_of(url: str) -> str:
    """A fresh copy of the generated database (``CREATE DATABASE … TEMPLATE``): every first
    run starts from the same data, and the generated database stays as generated."""
    name = url.rpartition("/")[2]
    copy = f"{url.rpartition('/')[0]}/{name}_run"
    await recreate(copy, template=name)
    return copy


def load() -> str:
    return "/".join(f"{x:.1f}" for x in os.getloadavg())


async def province(url: str, codes: list[str]) -> tuple[float, dict[str, int]]:
    """Every district at once (``crosscheck_province``: one transaction, the changed
    districts in one pass): the wall time and what the runs created."""
    engine = create_engine(url, pool=False)
    started = time.perf_counter()
    try:
        async with AsyncSession(engine, expire_on_commit=False) as session:
            ctx = ServiceContext(session, SYSTEM, Authorizer(()), FixedClock(NOW))
            runs = await crosscheck_province(ctx, codes, AS_OF, "cli")
            await session.commit()
    finally:
        await engine.dispose()
    return time.perf_counter() - started, _made(runs)


def _made(runs: list[CrosscheckRun]) -> dict[str, int]:
    made = {"new": 0, "changed": 0, "cleared": 0, "tasks": 0}
    for run in runs:
        for counts in run.counts["findings"].values():
            made["new"] += counts["new"]
            made["changed"] += counts["changed"]
        made["cleared"] += run.counts["cleared"]
        made["tasks"] += run.counts["tasks_created"]
    return made


async def reconcile(url: str, codes: list[str]) -> tuple[float, list[float], dict[str, int]]:
    """Each district alone, in turn, each in its own transaction: the wall time, each
    district's time, and what the runs created."""
    engine = create_engine(url, pool=False)
    times: list[float] = []
    runs: list[CrosscheckRun] = []
    started = time.perf_counter()
    try:
        for code in codes:
            t0 = time.perf_counter()
            async with AsyncSession(engine, expire_on_commit=False) as session:
                ctx = ServiceContext(session, SYSTEM, Authorizer(()), FixedClock(NOW))
                runs.append(await crosscheck_district(ctx, code, AS_OF, "cli"))
                await session.commit()
            times.append(time.perf_counter() - t0)
    finally:
        await engine.dispose()
    return time.perf_counter() - started, times, _made(runs)


async def totals(url: str) -> tuple[int, int]:
    engine = create_engine(url, pool=False)
    try:
        async with AsyncSession(engine) as session:
            findings = (await session.execute(
                select(func.count()).select_from(CrosscheckFinding))).scalar_one()
            tasks = (await session.execute(select(func.count()).select_from(Task).where(
                Task.kind == "crosscheck_verification"))).scalar_one()
            return int(findings), int(tasks)
    finally:
        await engine.dispose()


async def main(url: str, children: int, skip_generate: bool, alone: int) -> None:
    if not skip_generate:
        print(f"generate: {await generate(url, children):.1f} s")
    codes = await _district_codes(url)
    work = await copy_of(url)
    whole, _made_first = await province(work, codes)
    whole_load = load()
    findings, tasks = await totals(work)
    print(f"province first run {whole:.1f} s, load {whole_load}", flush=True)
    again, made_again = await province(work, codes)
    again_load = load()
    _, each_again, _ = await reconcile(work, codes)
    each_again_load = load()
    one, _, _ = await reconcile(work, codes[:1])
    one_load = load()
    # one district's first run, each alone, on a fresh copy: every tenth district
    work = await copy_of(url)
    picked = codes[::max(1, len(codes) // alone)][:alone]
    _, each, _ = await reconcile(work, picked)
    each_load = load()
    print()
    print("| measure | time | target | created | load average (1/5/15 min) |")
    print("|---|---|---|---|---|")
    print(f"| whole province, first run ({len(codes)} districts, one pass) | {whole:.1f} s | "
          f"≤ 60 s | {findings:,} findings, {tasks:,} tasks | {whole_load} |")
    print(f"| one district alone, first run (median / max of {len(each)}) | "
          f"{statistics.median(each):.2f} s / {max(each):.2f} s | ≤ 2 s | | {each_load} |")
    print(f"| whole province, rerun with no change | {again:.1f} s | ≤ {whole / 10:.1f} s "
          f"(1/10) | {made_again['new']} new, {made_again['changed']} changed, "
          f"{made_again['tasks']} tasks | {again_load} |")
    print(f"| one district, rerun (median / max of {len(each_again)}) | "
          f"{statistics.median(each_again):.2f} s / {max(each_again):.2f} s | ≤ 0.2 s | | "
          f"{each_again_load} |")
    print(f"| one district alone, rerun | {one:.2f} s | | | {one_load} |")


def cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default=DEFAULT_URL)
    parser.add_argument("--children", type=int, default=2_000_000)
    parser.add_argument("--skip-generate", action="store_true",
                        help="reuse the database a previous run generated")
    parser.add_argument("--alone", type=int, default=10,
                        help="how many districts to time alone on their first run")
    args = parser.parse_args()
    asyncio.run(main(args.url, args.children, args.skip_generate, args.alone))


if __name__ == "__main__":
    cli()
