"""``PathScore``: one track's total, whether it qualifies, and its metrics."""

import datetime as dt

import strawberry

from graphql_api.context import Context
from graphql_api.enums import TRACKS, Metric, Track
from graphql_api.records import PathRows
from graphql_api.resolvers import scorecards
from graphql_api.types.metric_score import MetricScore

Info = strawberry.Info[Context, None]


@strawberry.type(description="The score of one attainment path (track).")
class PathScore:
    track: Track
    total: float
    qualifies: bool = strawberry.field(description="total >= 70 and every metric >= the per-metric minimum.")
    metrics_at_minimum: int = strawberry.field(description="How many of the five metrics reach the per-metric minimum.")
    partner_id: strawberry.Private[str]
    month: strawberry.Private[dt.date]
    # loaded ahead when the query asks for metrics (resolvers.scorecards): resolved without awaiting
    preloaded_metrics: strawberry.Private[list[MetricScore] | None] = None

    @classmethod
    def from_rows(cls, p: PathRows) -> "PathScore":
        r = p.row
        return cls(
            track=TRACKS[r.track],
            total=r.total,
            qualifies=r.qualifies,
            metrics_at_minimum=r.metrics_at_minimum,
            partner_id=r.partner_id,
            month=r.month,
            preloaded_metrics=None if p.metrics is None else [MetricScore.from_rows(m) for m in p.metrics],
        )

    async def _load_metrics(self, info: Info) -> list[MetricScore]:
        rows = await scorecards.metrics(info.context, (self.partner_id, self.month), self.track.value)
        return [MetricScore.from_rows(m) for m in rows]

    @strawberry.field(description="The five metrics, in the order of the Metric enum.")
    def metrics(self, info: Info) -> list[MetricScore]:
        if self.preloaded_metrics is not None:
            return self.preloaded_metrics
        return self._load_metrics(info)  # awaited by graphql-core

    @strawberry.field(description="One metric of the path.")
    async def metric(self, info: Info, metric: Metric) -> MetricScore | None:
        metrics = self.preloaded_metrics
        if metrics is None:
            metrics = await self._load_metrics(info)
        return next((m for m in metrics if m.metric is metric), None)
