from typing import TYPE_CHECKING, Annotated

import strawberry
from sqlalchemy import Row

from graphql_api.types.enums import Track
from graphql_api.types.path_score import PathScore
from graphql_api.types.scalars import Month

if TYPE_CHECKING:
    from graphql_api.types.partner import Partner


@strawberry.type(description="A partner's designation in one month, with both paths and every metric.")
class Scorecard:
    partner_id: strawberry.ID
    month: Month
    attained: bool
    best_track: Track = strawberry.field(
        description="The qualifying track with the higher total; if none qualifies, the higher total (tie: ENTERPRISE)."
    )
    score: float = strawberry.field(description="The best track's total, unrounded.")
    rulebook_id: str = strawberry.field(description="The rulebook version the month was scored with.")
    # set by graphql_api.prefetch when the query asks for paths: resolved without awaiting
    preloaded_paths: strawberry.Private[list[PathScore] | None] = None

    @strawberry.field(description="ENTERPRISE then SMB.")
    def paths(self, info: strawberry.Info) -> list[PathScore]:
        if self.preloaded_paths is not None:
            return self.preloaded_paths
        return info.context.loaders.paths.load((str(self.partner_id), self.month))  # awaited by graphql-core

    @strawberry.field(description="One path.")
    async def path(self, info: strawberry.Info, track: Track) -> PathScore | None:
        paths = self.preloaded_paths
        if paths is None:
            paths = await info.context.loaders.paths.load((str(self.partner_id), self.month))
        return next((p for p in paths if p.track is track), None)

    @strawberry.field(description="The partner.")
    async def partner(
        self, info: strawberry.Info
    ) -> Annotated["Partner", strawberry.lazy("graphql_api.types.partner")]:
        return await info.context.loaders.partner.load(self.partner_id)


_TRACKS = {t.value: t for t in Track}


def scorecard_from_row(row: Row) -> Scorecard:
    """A ``designation`` row -> Scorecard."""
    return Scorecard(
        partner_id=strawberry.ID(row.partner_id),
        month=row.month,
        attained=row.attained,
        best_track=_TRACKS.get(row.best_track) or Track(row.best_track),
        score=row.score,
        rulebook_id=row.rulebook_id,
    )
