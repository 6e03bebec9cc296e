"""A register file's new children written without row triggers where the role may
(workflow/imports/new_children.py): what it stands in for is all there is on its tables, it
writes what the triggers' way writes, and a role that may not set the parameter takes the
triggers' way."""

from __future__ import annotations

from datetime import date
from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from models.child import Child, Guardian
from models.imports import ValueProvenance
from models.school import Enrolment, RegisterEvent, School
from models.stats import StatDirty
from tests.helpers import IMPORT_APPLY, IMPORT_PREVIEW, REGISTER_HEADER, Api, staged_list
from workflow.imports import new_children
from workflow.imports.reading import csv_bytes
from workflow.infra import bulk_load
from workflow.infra.id_number import make


def postgresql_only(session: AsyncSession) -> None:
    if session.get_bind().dialect.name != "postgresql":
        pytest.skip("SQLite has no session_replication_role; its imports keep the triggers")


async def test_new_children_stand_in_for_every_trigger_and_key(session: AsyncSession) -> None:
    postgresql_only(session)
    written = list(new_children.WRITTEN)
    triggers = {tuple(r) for r in (await session.execute(text(
        "SELECT c.relname, t.tgname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid"
        " WHERE NOT t.tgisinternal AND c.relname = ANY(:t) AND t.tgtype & 4 <> 0"  # INSERT
    ), {"t": written})).all()}
    assert triggers == new_children.INSERT_TRIGGERS
    keys = {tuple(r) for r in (await session.execute(text(
        "SELECT c.relname, a.attname, f.relname FROM pg_constraint k"
        " JOIN pg_class c ON c.oid = k.conrelid JOIN pg_class f ON f.oid = k.confrelid"
        " JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = ANY(k.conkey)"
        " WHERE k.contype = 'f' AND c.relname = ANY(:t)"), {"t": written})).all()}
    assert keys == new_children.FOREIGN_KEYS


def rows(names: tuple[str, str], school: str, seq: int) -> bytes:
    born = date(2016, 3, 4)
    return csv_bytes([
        REGISTER_HEADER,
        [names[0], "男", born.isoformat(), make("370406", born, seq), school, "4", "2",
         "新家长", "父亲", "13800000001"],
        [names[1], "女", "2015-10-09", "", school, "5", "1", "", "", ""],
    ])


async def written(session: AsyncSession, names: tuple[str, str]) -> list[Any]:
    """What the register holds of the children of ``names``, ids left out."""
    found = []
    for name in names:
        child = (await session.execute(select(Child).where(Child.name == name))).scalar_one()
        found.append((
            child.sex, child.birth_date, child.register_type, child.township_code,
            child.scope_path, child.residence_path, child.village,
            (await session.execute(select(Enrolment.school_id, Enrolment.grade,
                                          Enrolment.class_no, Enrolment.status)
                                   .where(Enrolment.child_id == child.id))).one(),
            (await session.execute(select(RegisterEvent.school_id, RegisterEvent.to_status,
                                          RegisterEvent.reason)
                                   .where(RegisterEvent.child_id == child.id))).all(),
            (await session.execute(select(Guardian.name, Guardian.relation, Guardian.phone)
                                   .where(Guardian.child_id == child.id))).all(),
            (await session.execute(select(ValueProvenance.field, ValueProvenance.value)
                                   .where(ValueProvenance.child_id == child.id))).all(),
            (await session.execute(select(StatDirty.n)
                                   .where(StatDirty.child_id == child.id))).scalar_one(),
        ))
    return found


async def test_without_triggers_the_register_is_what_the_triggers_way_writes(
    api: Api, session: AsyncSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    postgresql_only(session)
    school = (await session.execute(select(School.name).where(
        School.township_code.like("370406%")).order_by(School.id).limit(1))).scalar_one()
    xid = (await session.execute(text("SELECT txid_current()"))).scalar_one()
    await session.execute(text("DELETE FROM crosscheck_input_change WHERE xid = :x"), {"x": xid})
    off = ("无触发甲", "无触发乙")
    job = await staged_list(api, "school_register", rows(off, school, 31))
    assert (await api.gql(IMPORT_APPLY, {"id": job}))["applyImport"]["userErrors"] == []
    # the comparisons' input log has the writing transaction, as the triggers would
    assert (await session.execute(text(
        "SELECT count(*) FROM crosscheck_input_change WHERE xid = :x"), {"x": xid})
    ).scalar_one() == 1
    assert (await session.execute(text("SHOW session_replication_role"))).scalar() == "origin"

    ran: list[bool] = []

    async def refused(_: Any) -> bool:
        ran.append(False)
        return False

    monkeypatch.setattr(new_children, "_triggers_off", refused)
    on = ("有触发甲", "有触发乙")
    job = await staged_list(api, "school_register", rows(on, school, 41))
    assert (await api.gql(IMPORT_APPLY, {"id": job}))["applyImport"]["userErrors"] == []
    assert ran == [False]
    assert await written(session, off) == await written(session, on)


async def test_a_role_that_may_not_turn_triggers_off_keeps_them(session: AsyncSession) -> None:
    postgresql_only(session)
    await session.execute(text(
        "DO $$ BEGIN CREATE ROLE lianbao_test_plain NOLOGIN; "
        "EXCEPTION WHEN duplicate_object THEN NULL; END $$"))
    await session.execute(text("GRANT lianbao_test_plain TO CURRENT_USER"))
    await session.execute(text("SET LOCAL ROLE lianbao_test_plain"))
    assert await new_children._triggers_off(SimpleNamespace(session=session)) is False  # type: ignore[arg-type]
    # the refusal was rolled back to its savepoint: the transaction goes on, triggers on
    assert (await session.execute(text("SHOW session_replication_role"))).scalar() == "origin"
    assert (await session.execute(text("SELECT 1"))).scalar_one() == 1
    await session.execute(text("RESET ROLE"))


async def test_a_first_register_with_its_indexes_built_after_writes_the_same(
    api: Api, session: AsyncSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``workflow/infra/bulk_load``: the register's tables taken as nearly empty (the demo's
    are not: the size test is what is stood in for), their indexes dropped and built again
    inside the apply; the same register written as with the indexes in place, and the same
    indexes afterwards."""
    postgresql_only(session)
    indexes = text("SELECT tablename, indexname, indexdef FROM pg_indexes"
                   " WHERE tablename = ANY(:t) ORDER BY 1, 2")
    constraints = text("SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid)"
                       " FROM pg_constraint WHERE conrelid::regclass::text = ANY(:t)"
                       " ORDER BY 1, 2")
    tables = {"t": list(new_children.WRITTEN)}
    before = (await session.execute(indexes, tables)).all()
    kept_constraints = (await session.execute(constraints, tables)).all()
    school = (await session.execute(select(School.name).where(
        School.township_code.like("370406%")).order_by(School.id).limit(1))).scalar_one()
    taken: list[bool] = []
    real = bulk_load._take

    async def take(s: AsyncSession, names: Any, n: int) -> bool:
        taken.append(await real(s, names, n))
        return taken[-1]

    async def small(*_: Any) -> bool:
        return True

    monkeypatch.setattr(bulk_load, "LARGE", 0)
    monkeypatch.setattr(bulk_load, "_small", small)
    monkeypatch.setattr(bulk_load, "_take", take)
    after = ("后建索引甲", "后建索引乙")
    job = await staged_list(api, "school_register", rows(after, school, 51))
    # a preview's merge is rolled back: nothing taken, nothing dropped, nothing locked
    assert (await api.gql(IMPORT_PREVIEW, {"id": job}))["previewImport"]["userErrors"] == []
    assert taken == [] and (await session.execute(indexes, tables)).all() == before
    assert (await api.gql(IMPORT_APPLY, {"id": job}))["applyImport"]["userErrors"] == []
    assert taken == [True]
    assert (await session.execute(indexes, tables)).all() == before
    assert (await session.execute(constraints, tables)).all() == kept_constraints

    async def refused(_: Any) -> bool:
        return False

    # and with the row triggers on (a role that may not turn them off)
    monkeypatch.setattr(new_children, "_triggers_off", refused)
    triggered = ("后建索引丙", "后建索引丁")
    job = await staged_list(api, "school_register", rows(triggered, school, 71))
    assert (await api.gql(IMPORT_APPLY, {"id": job}))["applyImport"]["userErrors"] == []
    assert taken == [True, True]
    assert (await session.execute(indexes, tables)).all() == before
    monkeypatch.undo()
    kept = ("留索引甲", "留索引乙")
    job = await staged_list(api, "school_register", rows(kept, school, 61))
    assert (await api.gql(IMPORT_APPLY, {"id": job}))["applyImport"]["userErrors"] == []
    assert await written(session, after) == await written(session, kept)
    assert await written(session, triggered) == await written(session, kept)


async def test_a_clash_found_when_the_indexes_are_built_is_a_conflict(
    api: Api, session: AsyncSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With the indexes built after the rows, a new child taking a register number another
    child holds is refused by the build, not the insert: the same userError, and the
    indexes are back after the rollback."""
    postgresql_only(session)
    indexes = text("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'child'"
                   " ORDER BY 1")
    before = (await session.execute(indexes)).all()
    school = (await session.execute(select(School.name).where(
        School.township_code.like("370406%")).order_by(School.id).limit(1))).scalar_one()
    born = date(2016, 3, 4)
    holder = (await session.execute(select(Child).order_by(Child.id).limit(1))).scalar_one()
    holder.student_no = "G" + make("370406", born, 81)
    await session.commit()

    async def small(*_: Any) -> bool:
        return True

    monkeypatch.setattr(bulk_load, "LARGE", 0)
    monkeypatch.setattr(bulk_load, "_small", small)
    job = await staged_list(api, "school_register", rows(("撞号甲", "撞号乙"), school, 81))
    (error,) = (await api.gql(IMPORT_APPLY, {"id": job}))["applyImport"]["userErrors"]
    assert error["code"] == "CONFLICT"
    assert (await session.execute(indexes)).all() == before
