"""Relay cursor pagination done in SQL (keyset: ``WHERE key > cursor ORDER BY key LIMIT n``).

Keyset rather than OFFSET so that a page boundary does not shift when rows are inserted
before it, and so that deep pages cost the same as the first.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import strawberry
from sqlalchemy import ColumnElement, Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute
from strawberry import relay

from models.base import MAX_INT_KEY
from workflow.errors import InvalidInput

T = TypeVar("T")
N = TypeVar("N")

DEFAULT_PAGE = 20


def encode_cursor(prefix: str, key: int) -> str:
    return base64.urlsafe_b64encode(f"{prefix}:{key}".encode()).decode()


def decode_cursor(prefix: str, cursor: str) -> int:
    try:
        kind, _, raw = base64.urlsafe_b64decode(cursor.encode()).decode().partition(":")
        if kind != prefix:
            raise ValueError(kind)
        # A key the INTEGER column cannot hold would overflow in the driver (PostgreSQL).
        key = int(raw)
        if not -MAX_INT_KEY <= key <= MAX_INT_KEY:
            raise ValueError(raw)
        return key
    except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
        raise InvalidInput("the cursor is not valid for this list", field="after") from exc


@dataclass
class Page(Generic[T]):
    items: Sequence[T]
    cursors: list[str]
    has_next: bool
    has_previous: bool
    total_count: int


def check_first(first: int | None, cap: int) -> int:
    if first is None:
        return DEFAULT_PAGE
    if first < 0:
        raise InvalidInput("first must not be negative", field="first")
    if first > cap:
        raise InvalidInput(f"first may be at most {cap}", field="first")
    return first


async def keyset_page(
    session: AsyncSession,
    stmt: Select[T],
    key: ColumnElement[int] | InstrumentedAttribute[int],
    key_of: Callable[[T], int],
    *,
    prefix: str,
    first: int | None,
    after: str | None,
    cap: int,
    descending: bool = False,
) -> Page[T]:
    limit = check_first(first, cap)
    total = (await session.execute(select(func.count()).select_from(stmt.subquery()))).scalar_one()
    paged = stmt
    if after is not None:
        cursor = decode_cursor(prefix, after)
        paged = paged.where(key < cursor if descending else key > cursor)
    order = key.desc() if descending else key
    rows: list[Any] = list(
        (await session.execute(paged.order_by(order).limit(limit + 1))).scalars().all()
    )
    has_next = len(rows) > limit
    rows = rows[:limit]
    return Page(
        items=rows,
        cursors=[encode_cursor(prefix, key_of(r)) for r in rows],
        has_next=has_next,
        has_previous=after is not None,
        total_count=total,
    )


def page_info(page: Page[Any]) -> relay.PageInfo:
    return relay.PageInfo(
        has_next_page=page.has_next,
        has_previous_page=page.has_previous,
        start_cursor=page.cursors[0] if page.cursors else None,
        end_cursor=page.cursors[-1] if page.cursors else None,
    )


@strawberry.type(description="An item of a list, with the cursor to continue after it.")
class Edge(Generic[N]):
    cursor: str
    node: N


@strawberry.type(description="One page of a list that can grow (a Relay connection).")
class Connection(Generic[N]):
    edges: list[Edge[N]]
    page_info: relay.PageInfo
    total_count: int


def to_connection(page: Page[T], node: Callable[[T], N]) -> Connection[N]:
    return Connection(
        edges=[Edge(cursor=c, node=node(x)) for c, x in zip(page.cursors, page.items, strict=True)],
        page_info=page_info(page),
        total_count=page.total_count,
    )
