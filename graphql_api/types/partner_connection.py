from collections.abc import Awaitable, Callable

import strawberry

from graphql_api.types.page_info import PageInfo
from graphql_api.types.partner import Partner


@strawberry.type
class PartnerEdge:
    cursor: str
    node: Partner


@strawberry.type(description="A page of partners, by partner id.")
class PartnerConnection:
    edges: list[PartnerEdge]
    page_info: PageInfo
    count: strawberry.Private[Callable[[], Awaitable[int]]]

    @strawberry.field(description="The nodes of the edges.")
    def nodes(self) -> list[Partner]:
        return [e.node for e in self.edges]

    @strawberry.field(description="Partners visible to the token, over all pages.")
    async def total_count(self) -> int:
        return await self.count()
