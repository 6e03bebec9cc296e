"""Relay connections: the GraphQL shape of a page.

Paging itself (keyset SQL, the cursor format, the page-size check) is the service layer's
(``workflow/pagination.py``): a list resolver passes ``page_request(...)`` to its service's
``…_page`` function and shapes the ``Page`` it gets back with ``to_connection``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, TypeVar

import strawberry
from strawberry import relay

from schema.context import Info
from workflow.pagination import Page, PageRequest

T = TypeVar("T")
N = TypeVar("N")


def page_request(info: Info, first: int | None, after: str | None) -> PageRequest:
    """A list field's paging arguments, capped by the server's page-size limit."""
    return PageRequest(first=first, after=after, cap=info.context.app.max_page_size)


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


def selects_total(info: Info) -> bool:
    """Whether the query asks this connection for ``totalCount`` (directly or through a
    fragment): counting a large visible set is most of a page's database time, so a list
    whose client does not show the count skips it (issue 19)."""
    pending: list[Any] = list(info.selected_fields)
    while pending:
        selection = pending.pop()
        if getattr(selection, "name", None) == "totalCount":
            return True
        pending.extend(getattr(selection, "selections", ()))
    return False
