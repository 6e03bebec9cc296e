"""The one pagination mechanism: keyset pages in SQL, with one opaque cursor format.

Keyset rather than OFFSET (``WHERE key > cursor ORDER BY key LIMIT n``) so that a page
boundary does not shift when rows are inserted before it, and so that deep pages cost the
same as the first. Every list in the API pages here, in the service layer, whatever its
order: most lists page on the id alone; the task queue pages on (sort value, id).

A cursor is ``base64url("<list>:<part>:<part>…")``: the list's name (a cursor of one list
is refused by another) and the key of the last row seen. Clients treat it as opaque.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import ColumnElement, Select, func, select, true
from sqlalchemy.orm import InstrumentedAttribute, aliased

from models.base import MAX_INT_KEY
from models.inline import inline
from workflow.context import ServiceContext
from workflow.errors import InvalidInput

T = TypeVar("T")

DEFAULT_PAGE = 20


@dataclass(frozen=True)
class PageRequest:
    """What a client asked for: ``first`` rows after the cursor ``after``, at most ``cap``
    (the server's page-size limit)."""

    first: int | None
    after: str | None
    cap: int

    @property
    def limit(self) -> int:
        """The page size, checked against the cap (BAD_INPUT otherwise)."""
        return check_first(self.first, self.cap)


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


def encode_cursor(prefix: str, *parts: object) -> str:
    """The cursor of list ``prefix`` after the row whose key is ``parts``."""
    raw = ":".join([prefix, *(str(p) for p in parts)])
    return base64.urlsafe_b64encode(raw.encode()).decode()


def decode_cursor(prefix: str, cursor: str, parts: int = 1) -> list[str]:
    """The ``parts`` key strings of a cursor of list ``prefix``; BAD_INPUT for any other."""
    try:
        raw = base64.urlsafe_b64decode(cursor.encode()).decode()
    except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
        raise bad_cursor() from exc
    kind, _, rest = raw.partition(":")
    # The last part may hold colons (a timestamp's offset); the others cannot.
    values = rest.split(":", parts - 1)
    if kind != prefix or len(values) != parts:
        raise bad_cursor()
    return values


def decode_key(prefix: str, cursor: str) -> int:
    """The integer key of a cursor of list ``prefix``."""
    (raw,) = decode_cursor(prefix, cursor)
    return int_key(raw)


def int_key(raw: str) -> int:
    """A key as the INTEGER columns hold it: a larger number would overflow in the driver
    (PostgreSQL), so it is a bad cursor, not a fault."""
    try:
        key = int(raw)
    except ValueError as exc:
        raise bad_cursor() from exc
    if not -MAX_INT_KEY <= key <= MAX_INT_KEY:
        raise bad_cursor()
    return key


def bad_cursor() -> InvalidInput:
    return InvalidInput("the cursor is not valid for this list", field="after")


async def count(ctx: ServiceContext, stmt: Select[Any]) -> int:
    """How many rows the list holds in all (the connection's ``totalCount``)."""
    return (
        await ctx.session.execute(select(func.count()).select_from(stmt.subquery()))
    ).scalar_one()


async def keyset_page(
    ctx: ServiceContext,
    stmt: Select[T],
    key: InstrumentedAttribute[int],
    request: PageRequest,
    *,
    prefix: str,
    descending: bool = False,
    counted: bool = True,
) -> Page[T]:
    """One page of ``stmt`` (already filtered by the policy) ordered by the integer ``key``
    (a model's id); ``counted=False`` (the client did not ask for ``totalCount``: an export's
    pages) skips the count, which at province scale is most of a page's time."""
    rows, has_next, total = await _window(ctx, stmt, key, request, prefix, descending, counted)
    return Page(
        items=rows,
        cursors=[encode_cursor(prefix, getattr(r, key.key)) for r in rows],
        has_next=has_next,
        has_previous=request.after is not None,
        total_count=total,
    )


async def keyset_ids(
    ctx: ServiceContext,
    stmt: Select[Any],
    key: ColumnElement[int] | InstrumentedAttribute[int],
    request: PageRequest,
    *,
    prefix: str,
    counted: bool = True,
    count_in_page: bool = False,
) -> Page[int]:
    """``keyset_page`` of a statement that selects its key alone (a column of a subquery, or
    a model's id): the page's keys, for a list that loads its rows in a statement of its own
    (the ledgers gather their children's ids first, then read the page's children).

    ``count_in_page``: a counted page and its count are one statement (``count(*) OVER ()``
    over the list, the cursor applied above it), for a list that gathers all its rows before
    it orders them (a district's ledger), which then does that work once instead of once for
    the count and again for the page. Not for a list walked in key order: the window holds
    every row where the page would stop at its limit. A page after the list's end comes back
    empty, without the count: then the count is a statement of its own."""
    if not (counted and count_in_page):
        ids, has_next, total = await _window(ctx, stmt, key, request, prefix, False, counted)
        return Page(ids, [encode_cursor(prefix, i) for i in ids], has_next,
                    request.after is not None, total)
    limit = request.limit
    assert len(stmt.selected_columns) == 1, "the statement selects its key alone"
    listed = stmt.add_columns(func.count().over().label("list_total")).subquery("listed")
    listed_key = listed.c[0]
    paged = select(listed_key, listed.c.list_total)
    if request.after is not None:
        paged = paged.where(listed_key > inline(decode_key(prefix, request.after)))
    rows = (await ctx.session.execute(
        paged.order_by(listed_key).limit(inline(limit + 1)))).all()
    past_end = not rows and request.after is not None
    total = int(rows[0][1]) if rows else (await count(ctx, stmt) if past_end else 0)
    ids = [int(r[0]) for r in rows[:limit]]
    return Page(ids, [encode_cursor(prefix, i) for i in ids], len(rows) > limit,
                request.after is not None, total)


async def _window(
    ctx: ServiceContext,
    stmt: Select[Any],
    key: ColumnElement[int] | InstrumentedAttribute[int],
    request: PageRequest,
    prefix: str,
    descending: bool,
    counted: bool,
) -> tuple[list[Any], bool, int]:
    """The page's rows, whether more follow, and the list's count (0 unless ``counted``):
    the cursor and the page size written into the statement, so that each page is planned
    for its own bound (``models/inline.py``)."""
    limit = request.limit
    total = await count(ctx, stmt) if counted else 0
    paged = stmt
    if request.after is not None:
        # Inlined, as the page size: bound, a generic plan misjudges both (models/inline.py).
        cursor = inline(decode_key(prefix, request.after))
        after: ColumnElement[bool] = key < cursor if descending else key > cursor
        paged = paged.where(after)
    order = key.desc() if descending else key
    rows: list[Any] = list(
        (await ctx.session.execute(paged.order_by(order).limit(inline(limit + 1)))).scalars().all()
    )
    return rows[:limit], len(rows) > limit, total


async def keyset_pages(
    ctx: ServiceContext,
    stmt: Select[Any],
    key: InstrumentedAttribute[int],
    owner: InstrumentedAttribute[int],
    wanted: Sequence[tuple[int, PageRequest]],
    *,
    prefix: str,
) -> list[Page[Any]]:
    """A DataLoader batch of a list nested in a list (a page of each child's register
    history): one page per ``(owner id, request)``, in order, ordered by ``key``.

    One statement per distinct request (a list of children asks each child for the same
    page, so one in all): ``row_number()`` over each owner's rows after the cursor keeps
    ``limit + 1`` of them, ``count(*)`` over each owner's rows is its ``totalCount``;
    window functions both SQLite and PostgreSQL run. ``stmt`` selects one model, already
    filtered by the policy."""
    asked: dict[PageRequest, list[int]] = {}
    for owner_id, request in wanted:
        asked.setdefault(request, []).append(owner_id)
    pages: dict[tuple[int, PageRequest], Page[Any]] = {}
    for request, owners in asked.items():
        limit = request.limit
        cursor = None if request.after is None else decode_key(prefix, request.after)
        after: ColumnElement[bool] = true() if cursor is None else key > cursor
        ranked = (
            stmt.where(owner.in_(owners))
            .add_columns(
                func.count().over(partition_by=owner).label("page_total"),
                after.label("page_after"),
                func.row_number().over(partition_by=(owner, after), order_by=key)
                .label("page_rank"),
            )
            .subquery()
        )
        model = stmt.column_descriptions[0]["entity"]
        row = aliased(model, ranked)
        found = (await ctx.session.execute(
            select(row, ranked.c.page_total, ranked.c.page_after)
            .where(ranked.c.page_rank <= limit + 1)
            .order_by(ranked.c[owner.key], ranked.c[key.key])
        )).all()
        items: dict[int, list[Any]] = {o: [] for o in owners}
        totals: dict[int, int] = dict.fromkeys(owners, 0)
        for item, total, is_after in found:
            totals[getattr(item, owner.key)] = int(total)
            # Rows before the cursor come back (a few per owner) only to count an owner
            # whose rows all precede it.
            if is_after:
                items[getattr(item, owner.key)].append(item)
        for o in owners:
            rows = items[o]
            pages[(o, request)] = Page(
                items=rows[:limit],
                cursors=[encode_cursor(prefix, getattr(r, key.key)) for r in rows[:limit]],
                has_next=len(rows) > limit,
                has_previous=request.after is not None,
                total_count=totals[o],
            )
    return [pages[w] for w in wanted]
