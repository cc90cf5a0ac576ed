"""The Relay-style connection, once: ``Connection[T]`` with ``Edge[T]`` and ``PageInfo``. Each list
subclasses it to get its fixed name (``PartnerConnection``, ...) and its own ``totalCount`` text."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Generic, TypeVar

import strawberry

from graphql_api.pagination import Page

N = TypeVar("N")


@strawberry.type(description="Relay page info (forward pagination: first/after).")
class PageInfo:
    has_next_page: bool
    has_previous_page: bool = strawberry.field(description="True when the page was asked for with `after`.")
    start_cursor: str | None
    end_cursor: str | None


@strawberry.type
class Edge(Generic[N]):
    cursor: str
    node: N


@strawberry.type
class Connection(Generic[N]):
    edges: list[Edge[N]]
    page_info: PageInfo
    count: strawberry.Private[Callable[[], Awaitable[int]]]

    @strawberry.field(description="The nodes of the edges.")
    def nodes(self) -> list[N]:
        return [e.node for e in self.edges]

    @classmethod
    def from_page(cls, page: Page[Any], node: Callable[[Any], N]) -> Any:
        """The connection of a resolver's page, each item made a node by ``node``."""
        edges = [Edge(cursor=cursor, node=node(item)) for cursor, item in page.items]
        info = PageInfo(
            has_next_page=page.has_next,
            has_previous_page=page.after is not None,
            start_cursor=edges[0].cursor if edges else None,
            end_cursor=edges[-1].cursor if edges else None,
        )
        return cls(edges=edges, page_info=info, count=page.count)


async def _total_count(root: Connection[Any]) -> int:
    return await root.count()


def total_count(description: str) -> Any:
    """The ``totalCount`` field of a connection, described for its list."""
    return strawberry.field(resolver=_total_count, description=description)
