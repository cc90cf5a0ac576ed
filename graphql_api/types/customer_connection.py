from collections.abc import Awaitable, Callable

import strawberry

from graphql_api.types.customer import Customer
from graphql_api.types.page_info import PageInfo


@strawberry.type
class CustomerEdge:
    cursor: str
    node: Customer


@strawberry.type(description="A page of a partner's customer rows, by tenant id, then track and option.")
class CustomerConnection:
    edges: list[CustomerEdge]
    page_info: PageInfo
    count: strawberry.Private[Callable[[], Awaitable[int]]]

    @strawberry.field(description="The nodes of the edges.")
    def nodes(self) -> list[Customer]:
        return [e.node for e in self.edges]

    @strawberry.field(description="Rows matching the filters, over all pages.")
    async def total_count(self) -> int:
        return await self.count()
