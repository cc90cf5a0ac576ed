from collections.abc import Awaitable, Callable

import strawberry

from graphql_api.types.page_info import PageInfo
from graphql_api.types.scorecard import Scorecard


@strawberry.type
class ScorecardEdge:
    cursor: str
    node: Scorecard


@strawberry.type(description="A page of scorecards: highest score first, then by partner id.")
class ScorecardConnection:
    edges: list[ScorecardEdge]
    page_info: PageInfo
    count: strawberry.Private[Callable[[], Awaitable[int]]]

    @strawberry.field(description="The nodes of the edges.")
    def nodes(self) -> list[Scorecard]:
        return [e.node for e in self.edges]

    @strawberry.field(description="Scorecards matching the filters, over all pages.")
    async def total_count(self) -> int:
        return await self.count()
