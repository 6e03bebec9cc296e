"""The scheduled jobs run by hand from ``lianbao``: the deadline engine's pass (``tick``),
the comparisons (``crosscheck``) and the statistics' rebuild (``stats-rebuild``). Each is
safe to run twice and while the server runs; the work is the same service code the server's
engine calls.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from api.settings import Settings
from authz.enforcer import Authorizer
from authz.principal import SYSTEM
from models.session import create_engine, session_factory
from workflow import engine
from workflow.clock import SystemClock
from workflow.context import ServiceContext
from workflow.infra.events import notify
from workflow.jobs import SCHEDULED_JOBS


async def tick(settings: Settings, now: datetime | None) -> int:
    engine_ = create_engine(settings.database_url, pool=False)
    try:
        async with session_factory(engine_)() as session:
            report = await engine.tick(session, now or datetime.now(UTC), SCHEDULED_JOBS)
            await session.commit()
        if engine_.dialect.name == "postgresql":
            # Running servers hear about the new tasks, reminders and breaches.
            await notify(engine_, report.events)
    finally:
        await engine_.dispose()
    if report.skipped:
        print("another tick is running; nothing done")
    else:
        print(
            f"steps entered: {report.steps_entered}, tasks created: {report.tasks_created}, "
            f"reminders: {report.reminders}, breaches: {report.breaches}, "
            f"return orders overdue: {report.orders_escalated}"
        )
    return 0


async def crosscheck(settings: Settings, district: str | None, as_of: date) -> int:
    """The three comparisons for one district, or every district (``None``) in one pass and
    one transaction (``crosscheck_province``: a run per district, the changed districts
    computed together); the job the bureau's ``runCrosscheck`` and the calendar run; safe to
    run twice and in several processes; a district whose inputs did not change since its
    last run is one query."""
    from workflow.crosscheck import crosscheck_province, district_codes

    engine_ = create_engine(settings.database_url, pool=False)
    try:
        async with session_factory(engine_)() as session:
            codes = list(await district_codes(session)) if district is None else [district]
            ctx = ServiceContext(session, SYSTEM, Authorizer(()), SystemClock(),
                                 request_id="cli")
            runs = await crosscheck_province(ctx, codes, as_of, "cli")
            await session.commit()
        for run in runs:
            _print_run(run.district_code, run.id, run.counts)
    finally:
        await engine_.dispose()
    return 0


async def stats_rebuild(settings: Settings) -> int:
    """Every child's statistics facts rebuilt from scratch (``stat_child``; the engine's pass
    folds what changes after; safe to run twice and while the server runs)."""
    from workflow.calendar import local_date
    from workflow.stats_tally import rebuild

    engine_ = create_engine(settings.database_url, pool=False)
    try:
        async with session_factory(engine_)() as session:
            now = SystemClock().now()
            built = await rebuild(session, local_date(now), now)
            await session.commit()
    finally:
        await engine_.dispose()
    print(f"statistics facts rebuilt for {built} children")
    return 0


def _print_run(code: str, run_id: int, counts: dict[str, Any]) -> None:
    found = counts["findings"]
    same = " (inputs unchanged: not recomputed)" if "unchanged_since" in counts else ""
    print(f"{code} run {run_id}{same}: " + ", ".join(
        f"{k} found {v['found']} (new {v['new']}, open {v['open']})" for k, v in found.items())
        + f"; cleared {counts['cleared']}; tasks created {counts['tasks_created']}")
