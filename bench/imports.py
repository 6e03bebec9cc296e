"""The import benchmark: a province-scale school register (2,000,000 rows) and police
household list (2,100,000 rows) imported into PostgreSQL, then the next period's register
with 1 % of the children changed; prints the table for the README.

    python -m bench.imports --rows 2000000 --households 2100000

Each import runs the service path a client's upload takes (``workflow.imports.upload``:
read, validate, ``COPY`` into staging; ``apply``: the set-based merge in one transaction),
without the HTTP upload itself. Peak RSS is the process's high-water mark after each step
(``ru_maxrss``): memory is bounded by the staging batch, not the file. The machine is
shared: the load average is printed with the figures.
"""

from __future__ import annotations

import asyncio
import os
import resource
import time
from collections import Counter
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import event, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from authz.enforcer import Authorizer
from authz.policy import default_rules
from bench.common import parse_args
from bench.generate import fresh_database
from bench.import_files import write_all
from models.imports import ImportSource
from models.reference import Jurisdiction
from models.school import School
from models.session import create_engine
from workflow import imports
from workflow.clock import SystemClock
from workflow.context import ServiceContext
from workflow.demo.seed import seed_demo
from workflow.user import load_principal

DEFAULT_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/lianbao_bench_import"
DISTRICT = "370406"


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def worker_peak_mib() -> float:
    """The largest worker process's high-water mark (validation runs in workers for a large
    file): 0 until one has ended."""
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


async def _prepare(url: str) -> list[str]:
    """A fresh database with the demo district (its schools and users); the school names."""

    async def demo(session: AsyncSession) -> list[str]:
        await seed_demo(session, children=40)
        return list((await session.execute(
            select(School.name).join(Jurisdiction, Jurisdiction.code == School.township_code)
            .where(Jurisdiction.parent_code == DISTRICT).order_by(School.id)
        )).scalars())

    names: list[str] = await fresh_database(url, demo)
    return names


class StatementTimes:
    """Wall time per SQL statement of an import (the stage table, and what to look at when
    a stage is slow): statements keyed by their first 90 characters."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.spent: Counter[str] = Counter()
        self._started: list[float] = []
        sync = engine.sync_engine
        event.listen(sync, "before_cursor_execute", self._before)
        event.listen(sync, "after_cursor_execute", self._after)

    def _before(self, *_: Any) -> None:
        self._started.append(time.perf_counter())

    def _after(self, _conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        self.spent[" ".join(statement.split())[:90]] += time.perf_counter() - self._started.pop()

    def top(self, n: int) -> list[tuple[str, float]]:
        return self.spent.most_common(n)


def explain_slow(engine: AsyncEngine, ms: int = 500) -> None:
    """Each statement of ``ms`` or more is logged by the server with its plan, its row counts
    and its triggers' times (``auto_explain``; the foreign keys' checks are triggers): the
    server's log, not this process's output."""

    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        for setting in ("LOAD 'auto_explain'", f"SET auto_explain.log_min_duration = {ms}",
                        "SET auto_explain.log_analyze = on",
                        "SET auto_explain.log_triggers = on",
                        "SET auto_explain.log_buffers = on"):
            cursor.execute(setting)
        cursor.close()

    event.listen(engine.sync_engine, "connect", on_connect)


async def _import(url: str, source: ImportSource, path: Path, period: str,
                  profile: bool = False, explain: bool = False) -> dict[str, float]:
    # As the server's engine (api/app.py): the apply mutation runs on its connections.
    engine = create_engine(url, pool=False, jit=False)
    times = StatementTimes(engine)
    if explain:
        explain_slow(engine)
    authz = Authorizer(default_rules())
    figures: dict[str, float] = {}
    try:
        async with AsyncSession(engine) as session:
            principal = await load_principal(session, "edu_officer")
            assert principal is not None
            ctx = ServiceContext(session, principal, authz, SystemClock(), request_id="bench")
            started = time.perf_counter()
            uploaded = await imports.upload(ctx, source=source, district_code=DISTRICT,
                                            period=period, filename=path.name, path=path)
            job_id = uploaded.job.id
            await session.commit()
            figures["stage_s"] = time.perf_counter() - started
            started = time.perf_counter()
            job = await imports.apply(ctx, job_id, None)
            figures["rows"] = job.total_rows
            figures["rejected"] = job.rejected_rows
            counts = job.counts
            await session.commit()
            figures["apply_s"] = time.perf_counter() - started
            figures["peak_mib"] = peak_mib()
            figures["worker_mib"] = worker_peak_mib()
            figures["load"] = os.getloadavg()[0]
            figures.update({k: float(v) for k, v in counts.items() if isinstance(v, int)})
    finally:
        if profile:
            print(f"\n{source.value} {period}: the slowest statements")
            for statement, spent in times.top(12):
                print(f"  {spent:7.2f} s  {statement}")
        await engine.dispose()
    return figures


def _line(name: str, f: dict[str, float]) -> str:
    total = f["stage_s"] + f["apply_s"]
    return (f"| {name} | {int(f['rows']):,} | {int(f['rejected']):,} | {f['stage_s']:.1f} | "
            f"{f['apply_s']:.1f} | {total:.1f} | {f['rows'] / total:,.0f} | "
            f"{f['peak_mib']:.0f} | {f['worker_mib']:.0f} | {f['load']:.1f} |")


HEADER = ("| import | rows | rejected | stage s | apply s | total s | rows/s | peak RSS MiB "
          "| worker peak RSS MiB | load (1 min) |\n|---|---|---|---|---|---|---|---|---|---|")


async def run(url: str, rows: int, households: int, out: Path, profile: bool = False,
              keep_files: bool = False, explain: bool = False) -> None:
    schools = await _prepare(url)
    started = time.perf_counter()
    names = {"register": "register.csv", "register_next": "register-next.csv",
             "households": "households.csv"}
    if keep_files and all((out / n).exists() for n in names.values()):
        paths = {k: out / n for k, n in names.items()}
    else:
        paths = write_all(out, rows, households, schools, today=date.today())
    print(f"files ready in {time.perf_counter() - started:.0f} s "
          f"({', '.join(f'{k} {p.stat().st_size / 2**20:.0f} MiB' for k, p in paths.items())})")
    lines: list[str] = []
    figures: dict[str, dict[str, float]] = {}
    for key, name, source, path, period in (
        ("register", "school register, first", ImportSource.SCHOOL_REGISTER,
         paths["register"], "2026-09"),
        ("next", "school register, next period (1 % changed)", ImportSource.SCHOOL_REGISTER,
         paths["register_next"], "2027-03"),
        ("police", "police household list", ImportSource.POLICE_HOUSEHOLD,
         paths["households"], "2026-09"),
    ):
        figures[key] = await _import(url, source, path, period, profile, explain)
        lines.append(_line(name, figures[key]))
        # Each figure as it comes, with the load it was measured under (a shared machine).
        print(f"\n{HEADER}\n{lines[-1]}", flush=True)
    register, next_period, police = figures["register"], figures["next"], figures["police"]
    load = os.getloadavg()
    print(f"\n{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, load average "
          f"{load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} (2 cores, shared)\n")
    print(HEADER)
    print("\n".join(lines))
    print(f"\nfirst: {int(register.get('new', 0)):,} created; next: "
          f"{int(next_period.get('changed', 0)):,} changed, "
          f"{int(next_period.get('same', 0)):,} unchanged; police: "
          f"{int(police.get('matched', 0)):,} matched, {int(police.get('unmatched', 0)):,} "
          "only in the household register")


def main() -> None:
    args = parse_args(
        __doc__, DEFAULT_URL, rows=2_000_000, households=2_100_000, out=Path("var/bench-import"),
        profile=False, keep_files=False, explain=False,
        help={"profile": "print the slowest SQL statements of each import",
              "explain": "log each statement of 0.5 s or more with its plan and its triggers' "
                         "times in the server's log (auto_explain)",
              "keep_files": "import the files already in --out instead of writing them"},
    )
    asyncio.run(run(args.url, args.rows, args.households, args.out, args.profile,
                    args.keep_files, args.explain))


if __name__ == "__main__":
    main()
