"""Many districts as of one date: the calendar's districts due the same day go through the
province path (``crosscheck_province``) in one pass, once; ``lianbao crosscheck --all`` runs
every district (one pass, one transaction), and on PostgreSQL its rerun with nothing changed
recomputes nothing."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from api.cli import main
from models.crosscheck import CrosscheckRun
from models.session import create_engine
from tests.helpers import SMALL_DISTRICT, TEST_SECRET, clean_environment, create_empty_database
from tests.helpers import small_district as build_small_district
from workflow.context import ServiceContext
from workflow.engine import TickReport
from workflow.ledger import schedule
from workflow.ledger.schedule import ScheduledComparison, scheduled_comparisons

SEPTEMBER = ScheduledComparison("september_comparison", 9, 30, 14, None)


async def test_districts_due_the_same_day_run_as_one_batch(
    session: AsyncSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    await build_small_district(session)
    codes = ["370406", SMALL_DISTRICT]

    async def both(_: AsyncSession) -> list[str]:
        return codes

    batches: list[tuple[list[str], date]] = []
    batch = schedule.crosscheck_province

    async def spy(ctx: ServiceContext, wanted: Iterable[str], as_of: date, trigger: str
                  ) -> list[CrosscheckRun]:
        batches.append((list(wanted), as_of))
        return await batch(ctx, wanted, as_of, trigger)

    monkeypatch.setattr(schedule, "districts", both)
    monkeypatch.setattr(schedule, "calendar_for", lambda code: (SEPTEMBER,))
    monkeypatch.setattr(schedule, "crosscheck_province", spy)
    for day in (30, 30, 2):  # on the day, again, then catching up: one batch in all
        month = 9 if day == 30 else 10
        await scheduled_comparisons(session, datetime(2026, month, day, 2, tzinfo=UTC),
                                    TickReport())
    assert batches == [(codes, date(2026, 9, 30))]
    runs = (await session.execute(select(CrosscheckRun.district_code).where(
        CrosscheckRun.trigger == "schedule").order_by(CrosscheckRun.district_code))).scalars()
    assert list(runs) == sorted(codes)


@pytest.fixture(params=["sqlite", "postgresql"])
def migrated(request: pytest.FixtureRequest, tmp_path: Path,
             monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, str]]:
    clean_environment(monkeypatch, TEST_SECRET)
    url, drop = asyncio.run(create_empty_database(request.param, tmp_path))
    monkeypatch.setenv("DATABASE_URL", url)
    try:
        assert main(["migrate"]) == 0
        yield request.param, url
    finally:
        asyncio.run(drop())


def _runs(url: str) -> list[tuple[Any, ...]]:
    async def read() -> list[tuple[Any, ...]]:
        engine = create_engine(url, pool=False)
        try:
            async with engine.connect() as conn:
                return [tuple(r) for r in await conn.execute(text(
                    "SELECT district_code, count(*) FROM crosscheck_run "
                    "GROUP BY district_code ORDER BY district_code"))]
        finally:
            await engine.dispose()

    return asyncio.run(read())


def test_cli_all_runs_every_district(migrated: tuple[str, str],
                                     capsys: pytest.CaptureFixture[str]) -> None:
    backend, url = migrated
    assert main(["crosscheck", "--all", "--as-of", "2026-09-30"]) == 0
    first = capsys.readouterr().out.splitlines()
    districts = [code for code, _ in _runs(url)]
    assert districts and len(first) == len(districts)
    assert main(["crosscheck", "--all", "--as-of", "2026-09-30"]) == 0
    again = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in again] == districts
    assert _runs(url) == [(code, 2) for code in districts]
    unchanged = ["inputs unchanged" in line for line in again]
    assert all(unchanged) if backend == "postgresql" else not any(unchanged)


def test_cli_all_or_one_district() -> None:
    with pytest.raises(SystemExit):
        main(["crosscheck", "--all", "--district", "370406", "--as-of", "2026-09-30"])
    with pytest.raises(SystemExit):
        main(["crosscheck", "--as-of", "2026-09-30"])
