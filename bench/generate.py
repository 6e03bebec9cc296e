"""Fill a PostgreSQL database with a province-sized synthetic data set, fast (COPY).

    python -m bench.generate --children 2000000 --cases 200000 --tasks 500000

A synthetic province (code 990000, "基准省") with 10 cities × 10 districts × 10 townships,
one education bureau per district, a township government and two schools per township.
Children are spread over the schools; cases (half of them open) carry random stages, and
each open case has its next timed step due within ±10 days of today, so a tick has work.
Codes starting 99 are not used by GB/T 2260, so the set never collides with real places.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import asyncpg
from sqlalchemy.ext.asyncio import AsyncSession

from api import migrate
from authz.store import ensure_default_policy
from bench.common import parse_args
from models.enums import CaseStage
from models.session import create_engine
from workflow import ladder, reference

PROVINCE = "990000"
STAGES = [s for s in CaseStage if s is not CaseStage.CLOSED]


def dsn(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://")


async def recreate(url: str, template: str | None = None) -> None:
    """The database of ``url`` dropped and created again: empty, or a copy of the database
    ``template`` (``CREATE DATABASE … TEMPLATE``)."""
    base, _, name = dsn(url).rpartition("/")
    admin = await asyncpg.connect(f"{base}/postgres")
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        copied = f' TEMPLATE "{template}"' if template else ""
        await admin.execute(f'CREATE DATABASE "{name}"{copied}')
    finally:
        await admin.close()


async def fresh_database(url: str, then: Callable[[AsyncSession], Awaitable[Any]] | None = None
                         ) -> Any:
    """A new database, migrated, with the reference data, the default policy and the ladder
    templates (what ``lianbao migrate`` gives); ``then`` runs in the same session before the
    commit, and its result is returned."""
    await recreate(url)
    migrate.upgrade(url)
    engine = create_engine(url, pool=False)
    try:
        async with AsyncSession(engine) as session:
            await reference.load_reference_data(session)
            await ensure_default_policy(session)
            await ladder.install_templates(session)
            result = None if then is None else await then(session)
            await session.commit()
            return result
    finally:
        await engine.dispose()


def districts() -> list[tuple[str, str, list[str]]]:
    """(city code, district code, township codes)."""
    out = []
    for c in range(1, 11):
        city = f"99{c:02d}00"
        for d in range(1, 11):
            district = f"99{c:02d}{d:02d}"
            out.append((city, district, [f"{district}1{t:02d}" for t in range(10)]))
    return out


async def generate(url: str, children: int, cases: int, tasks: int, seed: int) -> None:
    rng = random.Random(seed)
    started = time.perf_counter()
    await fresh_database(url)
    conn = await asyncpg.connect(dsn(url))
    try:
        await _fill(conn, rng, children, cases, tasks)
        await add_officers(conn)
        # VACUUM, not only ANALYZE: it sets the visibility map, without which no scan is
        # index-only and every page reads the heap (a freshly COPY-loaded table has none).
        await conn.execute("VACUUM (ANALYZE)")
    finally:
        await conn.close()
    print(
        f"generated in {time.perf_counter() - started:.1f} s: {children} children, "
        f"{cases} cases ({cases // 2} open), {tasks} tasks, 100 districts"
    )


async def _fill(
    conn: asyncpg.Connection, rng: random.Random, n_children: int, n_cases: int, n_tasks: int
) -> None:
    now = datetime.now(UTC)
    today = now.date()
    jur = [(PROVINCE, "基准省", "province", None, PROVINCE)]
    agencies: list[tuple[int, str, str, str, str, str]] = []
    schools: list[tuple[int, int, str, str, str, int, int]] = []
    school_scopes: list[tuple[str, str, str]] = []  # scope, township, district
    aid = 100_000
    for city, district, townships in districts():
        if not any(j[0] == city for j in jur):
            jur.append((city, f"基准市{city[2:4]}", "city", PROVINCE, f"{PROVINCE}/{city}"))
        dpath = f"{PROVINCE}/{city}/{district}"
        jur.append((district, f"基准区{district[2:]}", "district", city, dpath))
        aid += 1
        agencies.append((aid, "education", f"基准区{district[2:]}教育局", district, dpath, ""))
        for t in townships:
            tpath = f"{dpath}/{t}"
            jur.append((t, f"基准镇{t[2:]}", "township", district, tpath))
            aid += 1
            agencies.append((aid, "township", f"基准镇{t[2:]}人民政府", t, tpath, ""))
            for k in range(2):
                aid += 1
                scope = f"{tpath}/school:{aid}"
                agencies.append((aid, "school", f"基准镇{t[2:]}第{k + 1}小学", t, scope, ""))
                schools.append((aid, aid, f"基准镇{t[2:]}第{k + 1}小学", "primary", t, 1, 6))
                school_scopes.append((scope, t, district))
    await conn.copy_records_to_table(
        "jurisdiction", records=jur, columns=["code", "name", "level", "parent_code", "path"]
    )
    await conn.copy_records_to_table(
        "agency",
        records=[(a, k, n, j, s, sh) for a, k, n, j, s, sh in agencies],
        columns=["id", "kind", "name", "jurisdiction_code", "scope_path", "short_name"],
    )
    await conn.copy_records_to_table(
        "school",
        records=schools,
        columns=["id", "agency_id", "name", "kind", "township_code", "grade_from", "grade_to"],
    )
    # Every synthetic case runs on 山亭区's ladder (ST): steps are what the engine reads.
    ladder_id = await conn.fetchval(
        "SELECT id FROM ladder WHERE jurisdiction_code = '370406' ORDER BY version DESC LIMIT 1"
    )

    school_of = [rng.randrange(len(schools)) for _ in range(n_children)]
    birth0 = date(2011, 9, 1)

    def child_rows():  # type: ignore[no-untyped-def]
        for i in range(n_children):
            scope, township, _ = school_scopes[school_of[i]]
            yield (
                i + 1,
                f"学生{i + 1}",
                "male" if i % 2 else "female",
                birth0 + timedelta(days=i % 3285),
                "other",
                None,
                f"B{i + 1:09d}",
                township,
                "",
                scope,
                None,
                None,
                now,
                now,
            )

    await conn.copy_records_to_table(
        "child",
        records=child_rows(),
        columns=[
            "id",
            "name",
            "sex",
            "birth_date",
            "register_type",
            "national_id",
            "student_no",
            "township_code",
            "village",
            "scope_path",
            "health_note",
            "family_income_note",
            "created_at",
            "updated_at",
        ],
    )

    case_rows = []
    due_rows = []
    picked = rng.sample(range(n_children), n_cases)
    for cid, child in enumerate(picked, start=1):
        scope, township, district = school_scopes[school_of[child + 0]]
        open_ = cid % 2 == 0
        stage = rng.choice(STAGES[:5]) if open_ else CaseStage.CLOSED
        position = STAGES.index(stage) + 1 if open_ else 5
        day0 = today - timedelta(days=rng.randrange(60))
        case_rows.append(
            (
                cid,
                "dropout",
                child + 1,
                None,
                scope,
                township,
                district,
                ladder_id,
                "open" if open_ else "closed",
                stage.value,
                stage.ordinal,
                position,
                day0,
                None,
                now,
                now,
                1,
            )
        )
        if open_:
            due_rows.append((cid, position + 1, today + timedelta(days=rng.randint(-10, 10))))
    await conn.copy_records_to_table(
        "dropout_case",
        records=case_rows,
        columns=[
            "id",
            "kind",
            "child_id",
            "school_id",
            "scope_path",
            "township_code",
            "district_code",
            "ladder_id",
            "status",
            "stage",
            "stage_rank",
            "step_position",
            "day0",
            "next_due_on",
            "opened_at",
            "updated_at",
            "version",
        ],
    )
    await conn.copy_records_to_table(
        "case_step_due", records=due_rows, columns=["case_id", "position", "due_on"]
    )

    def task_rows():  # type: ignore[no-untyped-def]
        kinds = ["contact_family", "school_persuasion", "join_persuasion", "issue_enrol_notice"]
        for tid in range(1, n_tasks + 1):
            case = case_rows[rng.randrange(len(case_rows))]
            agency = rng.choice(["school", "township", "education"])
            yield (
                tid,
                rng.choice(kinds),
                "基准任务",
                case[0],
                agency,
                case[4],
                today + timedelta(days=rng.randint(-5, 20)),
                rng.randint(1, 3),
                "open" if case[8] == "open" else "done",
                "{}",
                now,
                now,
                1,
            )

    await conn.copy_records_to_table(
        "task",
        records=task_rows(),
        columns=[
            "id",
            "kind",
            "title",
            "case_id",
            "agency_kind",
            "scope_path",
            "due_on",
            "priority",
            "status",
            "evidence",
            "created_at",
            "updated_at",
            "version",
        ],
    )
    # Users for the load run: the first district's education officer and a teacher of the
    # school with the most open tasks of that district.
    first_district = districts()[0][1]
    bureau = next(a for a in agencies if a[1] == "education" and a[3] == first_district)
    school_scope = await conn.fetchval(
        "SELECT scope_path FROM task WHERE agency_kind = 'school' AND status = 'open'"
        " AND scope_path LIKE $1 GROUP BY scope_path ORDER BY count(*) DESC LIMIT 1",
        f"{bureau[4]}/%")
    school = next(a for a in agencies if a[4] == school_scope)
    await conn.executemany(
        "INSERT INTO app_user (id, username, display_name, agency_id, is_active, created_at)"
        " VALUES ($1, $2, $3, $4, true, now())",
        [(900002, "bench_teacher", "基准班主任", school[0])])
    await conn.executemany(
        "INSERT INTO role_grant (user_id, role, jurisdiction_code, domain, granted_at)"
        " VALUES ($1, $2, $3, $4, now())",
        [(900002, "school_staff", school[3], school[4])])
    for table in ("agency", "child", "dropout_case", "task"):
        await conn.execute(
            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"
        )


# The three kinds of officer of the load run (bench.load): a township's, a district's and the
# province's, each reading its own agency's queue.
OFFICERS = (
    ("bench_township", "基准镇干部", "township", "990101100", "township_officer"),
    ("bench_edu", "基准教育干部", "education", "990101", "education_officer"),
    ("bench_province", "基准省教育干部", "education", PROVINCE, "education_officer"),
)


async def add_officers(conn: asyncpg.Connection) -> None:
    """The load run's users (and the province's education department they need), added once:
    a data set generated before they existed gets them too."""
    await conn.execute(
        "INSERT INTO agency (id, kind, name, jurisdiction_code, scope_path, short_name)"
        " VALUES (900100, 'education', '基准省教育厅', $1, $1, '') ON CONFLICT DO NOTHING",
        PROVINCE)
    for uid, (username, name, kind, code, role) in enumerate(OFFICERS, start=900003):
        agency = await conn.fetchrow(
            "SELECT id, scope_path FROM agency WHERE kind = $1 AND jurisdiction_code = $2"
            " ORDER BY id LIMIT 1", kind, code)
        inserted = await conn.fetchval(
            "INSERT INTO app_user (id, username, display_name, agency_id, is_active, created_at)"
            " VALUES ($1, $2, $3, $4, true, now()) ON CONFLICT DO NOTHING RETURNING id",
            uid, username, name, agency["id"])
        if inserted is not None:
            await conn.execute(
                "INSERT INTO role_grant (user_id, role, jurisdiction_code, domain, granted_at)"
                " VALUES ($1, $2, $3, $4, now())", uid, role, code, agency["scope_path"])
    await conn.execute(
        "SELECT setval(pg_get_serial_sequence('app_user', 'id'), (SELECT max(id) FROM app_user))")


def main() -> None:
    args = parse_args(__doc__, children=2_000_000, cases=200_000, tasks=500_000, seed=990000)
    asyncio.run(generate(args.url, args.children, args.cases, args.tasks, args.seed))


if __name__ == "__main__":
    main()
