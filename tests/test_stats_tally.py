"""The statistics kept on write (stat_child, migration 0022; stat_tally, 0024) answer exactly
what the live query answers, on the hand-counted district (tests/helpers.hand_counted):
after a rebuild, after writes not yet folded, after a fold, folding twice; the tally is
stat_child summed; and the kept rows and the tally are what is read."""

from __future__ import annotations

import asyncio
from datetime import date
from typing import Any

import pytest
from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from authz.enforcer import Authorizer
from authz.policy import default_rules
from models import enums as en
from models.child import Child
from models.school import Enrolment, RegisterEvent
from models.stats import FLAGS, StatChild, StatDirty, StatState, StatTally
from schema.ids import node_id
from tests.helpers import (
    IMPORT_APPLY,
    NOW,
    REGISTER_HEADER,
    Api,
    Database,
    acting_as,
    hand_counted,
    staged_list,
)
from workflow import imports, stats, stats_query, stats_tally
from workflow.clock import FixedClock
from workflow.imports.reading import csv_bytes
from workflow.infra.id_number import make

TODAY = date(2026, 11, 2)
FIGURES = """key label schoolAge enrolled deferredOrExempt suspected confirmedDropouts
    returned base lost retained dropoutRate retentionRate"""
TABLE = f"""query($in: StatsInput) {{ statistics(input: $in) {{ jurisdictionCode asOf
    periodStart rows {{ {FIGURES} }} total {{ {FIGURES} }} }} }}"""
DIMENSIONS = ("TOTAL", "DISTRICT", "TOWNSHIP", "SCHOOL", "GRADE")
USERS = (("t_edu", "370499"), ("t_inspector", "370499"), ("t_township", "370499101"))
DRILL = """query($in: StatsInput, $m: StatsMeasure!, $k: String) {
    statisticsChildren(input: $in, measure: $m, key: $k, first: 50) { totalCount
    edges { node { id name } } } }"""
PAGE = """query($in: StatsInput, $m: StatsMeasure!, $k: String, $after: String) {
    statisticsChildren(input: $in, measure: $m, key: $k, first: 2, after: $after) {
    totalCount pageInfo { hasNextPage endCursor } edges { node { id } } } }"""


async def answers(api: Api) -> dict[tuple[str, str], Any]:
    """Every tallied table for every user, and the children behind each figure of the
    township table (ids and names as shown, masked or not)."""
    found: dict[tuple[str, str], Any] = {}
    for user, code in USERS:
        for dimension in DIMENSIONS:
            data = await api.gql(TABLE, {"in": {"jurisdictionCode": code,
                                                "dimension": dimension}}, user=user)
            found[(user, dimension)] = data["statistics"]
        for measure in stats.Measure:
            data = await api.gql(DRILL, {"in": {"jurisdictionCode": code,
                                                "dimension": "TOWNSHIP"},
                                         "m": measure.name, "k": code[:9]}, user=user)
            found[(user, measure.name)] = data["statisticsChildren"]
    return found


def behind_every_figure(dimension: str) -> str:
    """The children behind every figure of one key, a page of 50 each (aliased)."""
    fields = " ".join(
        f"""{m.name}: statisticsChildren(input: {{jurisdictionCode: $code, dimension:
        {dimension}}}, measure: {m.name}, key: $k, first: 50) {{ totalCount
        pageInfo {{ hasNextPage }} edges {{ node {{ id name }} }} }}""" for m in stats.Measure)
    return f"query($code: String, $k: String) {{ {fields} }}"


async def every_drill_down(api: Api) -> dict[tuple[str, ...], Any]:
    """Every tallied table for every user; for every key of each the children behind every
    figure with the count; and the total's children walked two at a time (cursor pages)."""
    found: dict[tuple[str, ...], Any] = {}
    for user, code in USERS:
        for dimension in DIMENSIONS:
            table = (await api.gql(TABLE, {"in": {"jurisdictionCode": code,
                                                  "dimension": dimension}},
                                   user=user))["statistics"]
            found[(user, dimension)] = table
            for key in (r["key"] for r in table["rows"]):
                found[(user, dimension, key)] = await api.gql(
                    behind_every_figure(dimension), {"code": code, "k": key}, user=user)
        for measure in stats.Measure:
            pages, after = [], None
            while True:
                data = (await api.gql(PAGE, {"in": {"jurisdictionCode": code}, "m": measure.name,
                                             "after": after}, user=user))["statisticsChildren"]
                pages.append((data["totalCount"], [e["node"]["id"] for e in data["edges"]]))
                if not data["pageInfo"]["hasNextPage"]:
                    break
                after = data["pageInfo"]["endCursor"]
            found[(user, measure.name)] = pages
    return found


async def live(api: Api, monkeypatch: pytest.MonkeyPatch,
               ask: Any = answers) -> dict[Any, Any]:
    """The same answers from the live query (the kept rows ignored)."""
    async def never(*_: Any) -> bool:
        return False

    with monkeypatch.context() as m:
        m.setattr(stats_query, "kept_facts_answer", never)
        return dict(await ask(api))


async def tally_is_the_rows_summed(session: AsyncSession) -> None:
    """stat_tally holds exactly stat_child summed by its key: no group missing, none extra,
    none empty."""
    start = (await session.execute(select(StatState.period_start))).scalar_one()
    rows = select(StatChild, stats_tally.birth_bucket(StatChild.birth_date, start)
                  .label("bucket")).subquery()
    key = (rows.c.scope_path, rows.c.residence_path, rows.c.township_code,
           func.coalesce(rows.c.school_id, -1), func.coalesce(rows.c.grade, -1), rows.c.bucket)
    summed = {tuple(r) for r in (await session.execute(
        select(*key, func.count(), *(func.sum(rows.c[f]) for f in FLAGS))
        .group_by(*key))).all()}
    assert summed
    tally = StatTally.__table__
    kept = {tuple(r) for r in (await session.execute(select(
        *(tally.c[c] for c in stats_tally.TALLY_KEY),
        *(tally.c[c] for c in stats_tally.TALLY_SUMS)))).all()}
    assert kept == summed


async def first_child(session: AsyncSession) -> Child:
    """c1: enrolled at school A, no case."""
    return (await session.execute(select(Child).where(Child.student_no.like("T370499%"))
                                  .order_by(Child.id).limit(1))).scalar_one()


async def dirty(session: AsyncSession) -> int:
    return int((await session.execute(select(func.count()).select_from(StatDirty))).scalar_one())


async def test_kept_figures_equal_the_live_ones_through_writes_and_folds(
    api: Api, session: AsyncSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    d = await hand_counted(session)
    before = await live(api, monkeypatch)
    assert before[("t_edu", "TOTAL")]["total"]["schoolAge"] == 6
    await stats_tally.rebuild(session, TODAY, NOW)
    await session.commit()
    assert await dirty(session) == 0
    assert await answers(api) == before

    await tally_is_the_rows_summed(session)

    # the tally is what a table and a drill-down's count read, the kept rows what a page
    # lists: a changed tally changes the figure, a changed row the page (then put back)
    c1 = await first_child(session)
    grade = select(Enrolment.grade).where(Enrolment.child_id == c1.id).scalar_subquery()
    group = (StatTally.scope_path == c1.scope_path, StatTally.grade == grade)
    await session.execute(update(StatTally).where(*group)
                          .values(enrolled=StatTally.enrolled - 1))
    await session.commit()
    changed = await answers(api)
    enrolled = before[("t_township", "ENROLLED")]  # the township's children behind it
    assert enrolled["totalCount"] == 2  # c1 and c3 (school A)
    assert changed[("t_edu", "TOTAL")]["total"]["enrolled"] == 3
    assert changed[("t_township", "ENROLLED")]["totalCount"] == 1
    assert changed[("t_township", "ENROLLED")]["edges"] == enrolled["edges"]
    await session.execute(update(StatTally).where(*group)
                          .values(enrolled=StatTally.enrolled + 1))
    await session.execute(update(StatChild).where(StatChild.child_id == c1.id)
                          .values(enrolled=0))
    await session.commit()
    changed = await answers(api)
    assert changed[("t_edu", "TOTAL")]["total"]["enrolled"] == 4
    assert changed[("t_township", "ENROLLED")]["totalCount"] == 2
    assert len(changed[("t_township", "ENROLLED")]["edges"]) == 1
    await session.execute(update(StatChild).where(StatChild.child_id == c1.id)
                          .values(enrolled=1))
    await session.commit()
    assert await answers(api) == before

    # a write, not folded: its child is dirty and computed live, the figure exact at once
    await session.execute(update(Enrolment).where(Enrolment.child_id == c1.id).values(
        status=en.EnrolmentStatus.DROPOUT_MARKED, status_since=TODAY))
    session.add(RegisterEvent(child_id=c1.id, school_id=d.schools["A"].id, on_date=TODAY,
                              from_status=en.EnrolmentStatus.ENROLLED,
                              to_status=en.EnrolmentStatus.DROPOUT_MARKED, reason="辍学",
                              kind="status", detail={}, recorded_at=NOW))
    await session.commit()
    assert await dirty(session) == 1
    after_write = await live(api, monkeypatch)
    assert after_write != before
    assert after_write[("t_edu", "TOTAL")]["total"]["confirmedDropouts"] == 2
    assert await answers(api) == after_write

    # a fold clears the mark and changes no figure; a second fold changes nothing
    assert await stats_tally.fold(session, TODAY, NOW) == 1
    await session.commit()
    assert await dirty(session) == 0
    await tally_is_the_rows_summed(session)
    assert await answers(api) == after_write
    kept = (await session.execute(select(StatChild).order_by(StatChild.child_id))).scalars()
    rows = [(r.child_id, r.enrolled, r.confirmed_dropout, r.lost) for r in kept]
    assert await stats_tally.fold(session, TODAY, NOW) == 0
    await session.commit()
    kept = (await session.execute(select(StatChild).order_by(StatChild.child_id))).scalars()
    assert [(r.child_id, r.enrolled, r.confirmed_dropout, r.lost) for r in kept] == rows
    await tally_is_the_rows_summed(session)
    assert await answers(api) == after_write

    # a rebuild from scratch agrees with the folded rows
    await stats_tally.rebuild(session, TODAY, NOW)
    await session.commit()
    kept = (await session.execute(select(StatChild).order_by(StatChild.child_id))).scalars()
    assert [(r.child_id, r.enrolled, r.confirmed_dropout, r.lost) for r in kept] == rows
    await tally_is_the_rows_summed(session)
    assert await answers(api) == after_write


async def born(session: AsyncSession, number: int, day: date) -> Child:
    """The hand-counted district's child ``number`` (1–7), born on ``day``."""
    child = (await session.execute(select(Child).where(Child.student_no.like("T370499%"))
                                   .order_by(Child.id).offset(number - 1).limit(1))).scalar_one()
    await session.execute(update(Child).where(Child.id == child.id).values(birth_date=day))
    return child


async def test_the_months_of_the_age_cut_and_every_drill_down(
    api: Api, session: AsyncSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On 2 November 2026 a child is of school age when born from 3 November 2010 to
    2 November 2020: children born on either side of both cuts, in the months next to
    them and in the span the tally keeps as one bucket, count as the live query counts
    them, on every table and every page of every drill-down, clean, dirty, folded and
    rebuilt."""
    await hand_counted(session)
    await born(session, 1, date(2020, 11, 2))  # 6 today: of school age
    await born(session, 3, date(2020, 11, 3))  # 6 tomorrow: not yet
    await born(session, 6, date(2010, 11, 2))  # 16 today: no longer
    await born(session, 7, date(2010, 11, 30))  # 15: of school age
    await born(session, 4, date(2010, 12, 15))  # a month after the cut's: of school age
    await born(session, 5, date(2021, 1, 15))  # a month before the cut's: too young
    await session.commit()
    before = await live(api, monkeypatch, every_drill_down)
    # c1, c2 (born in March 2015), c4 and c7; c3 and c5 too young, c6 too old
    assert before[("t_edu", "TOTAL")]["total"]["schoolAge"] == 4
    await stats_tally.rebuild(session, TODAY, NOW)
    await session.commit()
    await tally_is_the_rows_summed(session)
    assert await every_drill_down(api) == before

    # the cut children dirty (born a day later), then folded, then folded again
    await born(session, 1, date(2020, 11, 3))
    await born(session, 6, date(2010, 11, 3))
    await born(session, 2, date(2020, 11, 1))
    await session.commit()
    assert await dirty(session) == 3
    written = await live(api, monkeypatch, every_drill_down)
    assert written[("t_edu", "TOTAL")]["total"]["schoolAge"] == 4  # c1 out, c6 in
    assert await every_drill_down(api) == written
    assert await stats_tally.fold(session, TODAY, NOW) == 3
    await session.commit()
    await tally_is_the_rows_summed(session)
    assert await every_drill_down(api) == written
    assert await stats_tally.fold(session, TODAY, NOW) == 0
    await session.commit()
    await tally_is_the_rows_summed(session)
    assert await answers(api) == await live(api, monkeypatch)

    # a child moved to another school and grade: its old group empties and goes
    c5 = await born(session, 5, date(2020, 3, 1))
    await session.execute(update(Enrolment).where(Enrolment.child_id == c5.id)
                          .values(grade=1))
    await session.commit()
    moved = await live(api, monkeypatch, every_drill_down)
    assert moved[("t_edu", "TOTAL")]["total"]["schoolAge"] == 5
    assert await every_drill_down(api) == moved
    assert await stats_tally.fold(session, TODAY, NOW) == 1
    await session.commit()
    await tally_is_the_rows_summed(session)
    assert await every_drill_down(api) == moved
    await stats_tally.rebuild(session, TODAY, NOW)
    await session.commit()
    await tally_is_the_rows_summed(session)
    assert await answers(api) == await live(api, monkeypatch)


async def test_a_past_date_and_a_future_dated_row_stay_exact(
    api: Api, session: AsyncSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    d = await hand_counted(session)
    await stats_tally.rebuild(session, TODAY, NOW)
    await session.commit()
    # a past date is computed live from the register's history, as before the tally
    past = await api.gql(TABLE, {"in": {"jurisdictionCode": "370499", "asOf": "2026-10-15"}},
                         user="t_edu")
    assert past["statistics"]["total"]["confirmedDropouts"] == 2  # c2 and c4 then
    # an event dated tomorrow keeps its child dirty through a fold, until its day
    c1 = await first_child(session)
    session.add(RegisterEvent(child_id=c1.id, school_id=d.schools["A"].id,
                              on_date=date(2026, 11, 3), from_status=en.EnrolmentStatus.ENROLLED,
                              to_status=en.EnrolmentStatus.SUSPENDED, reason="休学",
                              kind="status", detail={}, recorded_at=NOW))
    await session.commit()
    await stats_tally.fold(session, TODAY, NOW)
    await session.commit()
    assert await dirty(session) == 1
    assert await answers(api) == await live(api, monkeypatch)


async def test_a_new_school_year_rebuilds_and_no_build_means_live(
    api: Api, session: AsyncSession
) -> None:
    await hand_counted(session)
    assert await stats_tally.fold(session, TODAY, NOW) == 0  # nothing built: all live
    assert (await session.execute(select(StatState))).first() is None
    await stats_tally.rebuild(session, date(2026, 8, 31), NOW)
    await session.commit()
    await stats_tally.fold(session, TODAY, NOW)  # the year changed on 1 September
    await session.commit()
    state = (await session.execute(select(StatState))).scalar_one()
    assert (state.period_start, state.as_of) == (date(2026, 9, 1), TODAY)


async def test_two_concurrent_folds_produce_one_result(database: Database) -> None:
    """Two folds at once (two processes' engine passes) take turns on the state row: one
    folds the dirty children, the other finds none, and the rows are those of one fold.
    PostgreSQL only: SQLite has one writer."""
    if not database.is_postgres:
        pytest.skip("SQLite serialises writers; the folds cannot overlap")
    engine = database.engine

    async def kept() -> list[Any]:
        async with AsyncSession(engine) as s:
            return [tuple(r) for r in (await s.execute(select(StatChild).order_by(
                StatChild.child_id).with_only_columns(*StatChild.__table__.c))).all()]

    async def fold() -> int:
        async with AsyncSession(engine) as s:
            folded = await stats_tally.fold(s, TODAY, NOW)
            await s.commit()
            return folded

    try:
        async with AsyncSession(engine) as s:
            await stats_tally.rebuild(s, TODAY, NOW)
            await s.commit()
            built = await kept()
            ids = list((await s.execute(select(Enrolment.child_id).order_by(
                Enrolment.child_id).limit(3))).scalars())
            # a write that changes nothing still marks its children dirty
            await s.execute(update(Enrolment).where(Enrolment.child_id.in_(ids))
                            .values(class_no=Enrolment.class_no))
            await s.commit()
            assert await dirty(s) >= 3
        results = await asyncio.gather(fold(), fold())
        assert min(results) == 0 and max(results) >= 3
        async with AsyncSession(engine) as s:
            assert await dirty(s) == 0
        assert await kept() == built
    finally:
        async with engine.begin() as c:
            await c.execute(delete(StatChild))
            await c.execute(delete(StatState))


async def test_an_import_marks_each_child_it_writes_once_and_the_figures_stay_exact(
    api: Api, session: AsyncSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A school register file takes the insert triggers' marking over (PostgreSQL,
    workflow/stats_marks.py): its new children and the child it moves are each marked, the
    figures for today stay exact before and after a fold, and the triggers mark again after
    the merge in the same transaction."""
    d = await hand_counted(session)
    c1 = await first_child(session)
    c1.national_id = make("370499", c1.birth_date, 21)  # matched by it
    await stats_tally.rebuild(session, TODAY, NOW)
    await session.commit()
    a, b = d.schools["A"].name, d.schools["B"].name
    born = date(2016, 3, 4)
    content = csv_bytes([
        REGISTER_HEADER,
        ["导入甲", "男", born.isoformat(), make("370499", born, 11), a, "4", "1", "甲父",
         "父亲", ""],
        ["导入乙", "女", "2015-05-06", "", a, "5", "2", "", "", ""],
        [c1.name, "男" if c1.sex == "male" else "女", c1.birth_date.isoformat(),
         c1.national_id or "", b, "7", "1", "", "", ""],
    ])
    job = await staged_list(api, "school_register", content, user="t_edu", district="370499")
    applied = await api.gql(IMPORT_APPLY, {"id": job}, user="t_edu")
    assert applied["applyImport"]["userErrors"] == []
    new = set((await session.execute(
        select(Child.id).where(Child.name.in_(("导入甲", "导入乙"))))).scalars())
    assert len(new) == 2
    marks = dict((await session.execute(select(StatDirty.child_id, StatDirty.n))).all())
    assert set(marks) == new | {c1.id}
    if session.get_bind().dialect.name == "postgresql":
        # a new child once, not once per table written (the moved one also by the update
        # triggers, which still mark)
        assert {marks[c] for c in new} == {1}
    assert await answers(api) == await live(api, monkeypatch)
    assert await stats_tally.fold(session, TODAY, NOW) == 3
    await session.commit()
    await tally_is_the_rows_summed(session)
    assert await answers(api) == await live(api, monkeypatch)

    # the merge gives the marking back: a write after it in its transaction is marked
    again = csv_bytes([REGISTER_HEADER, ["导入丙", "男", "2016-07-08", "", a, "4", "1", "",
                                         "", ""]])
    job = await staged_list(api, "school_register", again, user="t_edu", district="370499")
    ctx = await acting_as(session, "t_edu", Authorizer(default_rules()), FixedClock(NOW))
    await imports.apply(ctx, node_id(job, "ImportJob", "id"), None)
    session.add(RegisterEvent(child_id=c1.id, school_id=d.schools["B"].id, on_date=TODAY,
                              reason="转入", kind="status", detail={}, recorded_at=NOW))
    await session.flush()
    marked = set((await session.execute(select(StatDirty.child_id))).scalars())
    assert c1.id in marked and len(marked) == 2
