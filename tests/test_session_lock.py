"""The request session's lock covers every coroutine method of ``AsyncSession``.

A hand-written list of wrapped methods once left ``get_one`` and ``delete`` outside the lock
(issue 13): concurrent resolvers could then use the one session at the same time.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from models.session import SERIALISED, SerialSession, create_engine, session_factory


class _Base(DeclarativeBase):
    pass


class _Row(_Base):
    __tablename__ = "row"
    id: Mapped[int] = mapped_column(primary_key=True)


@pytest.fixture
async def session(tmp_path: Path) -> AsyncIterator[SerialSession]:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'lock.db'}")
    async with engine.begin() as conn:
        await conn.run_sync(_Base.metadata.create_all)
    async with session_factory(engine)() as s:
        assert isinstance(s, SerialSession)
        s.add(_Row(id=1))
        s.add(_Row(id=2))
        await s.flush()
        yield s
    await engine.dispose()


def test_every_public_coroutine_method_is_serialised() -> None:
    public = {
        name
        for name, member in inspect.getmembers(AsyncSession)
        if not name.startswith("_")
        and inspect.iscoroutinefunction(member)
        and not inspect.ismethod(member)  # classmethods such as close_all hold no session
    }
    assert public <= SERIALISED
    for name in public:
        assert getattr(SerialSession, name) is not getattr(AsyncSession, name), name


@pytest.mark.parametrize("call", ["get_one", "delete", "get", "execute", "merge"])
async def test_call_waits_for_the_turn(session: SerialSession, call: str) -> None:
    row = await session.get_one(_Row, 2)
    calls = {
        "get_one": lambda: session.get_one(_Row, 1),
        "delete": lambda: session.delete(row),
        "get": lambda: session.get(_Row, 1),
        "execute": lambda: session.execute(select(_Row.id)),
        "merge": lambda: session.merge(_Row(id=3)),
    }
    async with session._turn():
        # Another task (a concurrent resolver) must wait while this one holds the turn.
        other = asyncio.create_task(calls[call]())
        await asyncio.sleep(0.05)
        assert not other.done(), f"{call} ran while another call held the session"
    await asyncio.wait_for(other, 5)


async def test_nested_calls_of_one_task_do_not_deadlock(session: SerialSession) -> None:
    # ``scalars`` awaits ``execute`` and ``aclose`` awaits ``close`` on the same session.
    ids = await asyncio.wait_for(session.scalars(select(_Row.id).order_by(_Row.id)), 5)
    assert list(ids) == [1, 2]
    result = await asyncio.wait_for(session.stream_scalars(select(_Row.id)), 5)
    assert [i async for i in result] in ([1, 2], [2, 1])
