"""The comparison job (四查三比对): for one district or many as of a date, set-based SQL from
the base database and the register into ``crosscheck_finding``, then one verification task
per unexplained child (铁脚板摸排, ST 2), all in the caller's one transaction.

Each district gets its own run (``crosscheck_run``: its counts, its audit row); the
districts whose inputs did not change since their last run record that and compute nothing
(``inputs.py``); the others are computed together, one pass per set of rules
(``batch.py``): matching (``matching.py``), the comparisons (``compare.py``), the findings
and tasks (``findings.py``) and the counts (``counts.py``) are each a few statements for
every district of the pass, not per district.

Findings are kept per (district, kind, person): a rerun updates a finding only when its
data fingerprint changed (then a resolved one reopens, with a new task), clears the open
ones it no longer finds (their tasks cancelled), and otherwise writes nothing. Two runs of
one district at once queue on an advisory lock (PostgreSQL; SQLite has one writer), taken
in code order, so the second finds the first's findings and creates nothing.
"""

from __future__ import annotations

import zlib
from collections import Counter
from collections.abc import Iterable
from datetime import date
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from models.crosscheck import CrosscheckFinding, CrosscheckRun, FindingStatus
from models.enums import TaskStatus
from models.reference import Jurisdiction
from models.task import Task
from workflow import audit
from workflow.context import ServiceContext
from workflow.crosscheck import inputs
from workflow.crosscheck.batch import Batch
from workflow.crosscheck.compare import materialize
from workflow.crosscheck.counts import finding_counts, special_groups
from workflow.crosscheck.findings import (
    TASK_KIND,
    clear_gone,
    describe,
    drop_unclaimed,
    link_cases,
    new_tasks,
    open_tasks,
    upsert_findings,
)
from workflow.crosscheck.matching import match_records
from workflow.crosscheck.rules import rules_for
from workflow.errors import NotFound
from workflow.task import close_tasks

__all__ = ["TASK_KIND", "crosscheck_district", "crosscheck_districts"]

CLEARED_NOTE = "比对不再发现：数据已更新"
CASE_NOTE = "已立辍学个案：按个案跟进"
F = CrosscheckFinding
# One advisory-lock namespace for the comparisons (PostgreSQL), a key per district.
LOCK_SPACE = zlib.crc32(b"crosscheck")


async def _lock(session: AsyncSession, district_code: str) -> None:
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(text("SELECT pg_advisory_xact_lock(:space, :key)"),
                              {"space": LOCK_SPACE - 2**31, "key": int(district_code)})


async def crosscheck_district(
    ctx: ServiceContext, district_code: str, as_of: date, trigger: str,
) -> CrosscheckRun:
    """Run the three comparisons for one district as of ``as_of`` (the job itself: the
    caller has authorized it, or is the CLI or the calendar). With the same rules and date
    and no input changed since the district's last run, the run records that it found the
    same and computes nothing (``inputs.py``)."""
    return (await crosscheck_districts(ctx, [district_code], as_of, trigger))[0]


async def crosscheck_districts(
    ctx: ServiceContext, codes: Iterable[str], as_of: date, trigger: str,
) -> list[CrosscheckRun]:
    """The comparisons of every district of ``codes`` as of ``as_of``, one run each (in
    code order), the changed districts computed together."""
    session = ctx.session
    wanted = sorted(set(codes))
    found = {j.code: j for j in (await session.execute(
        select(Jurisdiction).where(Jurisdiction.code.in_(wanted)))).scalars()}
    for code in wanted:
        district = found.get(code)
        if district is None or district.parent_code is None or not code.isdigit():
            raise NotFound("no such district", field="districtCode")
    for code in wanted:
        await _lock(session, code)
    now = ctx.clock.now()
    runs: dict[str, CrosscheckRun] = {}
    last: dict[str, CrosscheckRun | None] = {}
    stamps: dict[str, str | None] = {}
    for code in wanted:  # every check before the runs are added: one insert for them all
        key = inputs.rules_key(rules_for(code), as_of)
        last[code], snap = await inputs.unchanged(session, code, key)
        stamps[code] = inputs.stamp(key, snap)
    for code in wanted:
        runs[code] = CrosscheckRun(
            district_code=code, scope_path=found[code].path, as_of=as_of, trigger=trigger,
            started_by=ctx.principal.user_id, counts={}, started_at=now,
            input_stamp=stamps[code])
        session.add(runs[code])
    await session.flush()
    passes: dict[str, list[str]] = {}  # the changed districts by their rules
    for code in wanted:
        before = last[code]
        if before is not None:
            runs[code].counts = inputs.unchanged_counts(before.counts, before.id)
        else:
            passes.setdefault(inputs.rules_key(rules_for(code), as_of), []).append(code)
    if passes:
        await inputs.own_writes(session, True)
        await inputs.tune(session, True)
        for group in passes.values():
            await _compare(ctx, Batch(session, [found[c] for c in group], runs, as_of,
                                      rules_for(group[0]), now))
        await inputs.prune(session)
        await inputs.tune(session, False)
        await inputs.own_writes(session, False)
    for code in wanted:
        run = runs[code]
        run.finished_at = ctx.clock.now()
        audit.record(ctx, "run_crosscheck", "crosscheck_run", [run.id],
                     {"district": code, "as_of": as_of, "trigger": trigger,
                      "tasks_created": run.counts["tasks_created"],
                      "cleared": run.counts["cleared"], "unchanged": last[code] is not None})
    await session.flush()
    return [runs[code] for code in wanted]


async def _compare(ctx: ServiceContext, job: Batch) -> None:
    """The comparisons of the pass's districts, into each run's ``counts``."""
    session = ctx.session
    matching = await match_records(session, job.codes)
    await job.create()
    await materialize(job)
    made = await new_tasks(job)
    await upsert_findings(job)
    made = await drop_unclaimed(job, made)
    cleared = await clear_gone(job)
    await describe(job)
    if cleared:
        await close_tasks(
            ctx, Task.id.in_(select(F.task_id).where(job.touched(),
                                                     F.status == FindingStatus.CLEARED)),
            {TASK_KIND}, CLEARED_NOTE, status=TaskStatus.CANCELLED)
    with_case = await link_cases(job)
    if with_case:
        await close_tasks(
            ctx, Task.id.in_(select(F.task_id).where(F.id.in_([i for i, _ in with_case]))),
            {TASK_KIND}, CASE_NOTE)
    cases = Counter(code for _, code in with_case)
    tasks = made + await open_tasks(job)
    findings = await finding_counts(job)
    groups = await special_groups(job)
    for code in job.codes:
        counts: dict[str, Any] = {
            "matching": matching[code], "findings": findings[code], "cleared": cleared[code],
            "tasks_created": tasks[code], "cases_linked": cases[code],
            "special_groups": groups[code]}
        job.runs[code].counts = counts
    await job.drop()
