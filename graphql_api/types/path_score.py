import datetime as dt

import strawberry

from graphql_api.types.enums import Metric, Track
from graphql_api.types.metric_score import MetricScore


@strawberry.type(description="The score of one attainment path (track).")
class PathScore:
    track: Track
    total: float
    qualifies: bool = strawberry.field(description="total >= 70 and every metric >= the per-metric minimum.")
    metrics_at_minimum: int = strawberry.field(description="How many of the five metrics reach the per-metric minimum.")
    partner_id: strawberry.Private[str]
    month: strawberry.Private[dt.date]
    # set by graphql_api.prefetch when the query asks for metrics: resolved without awaiting
    preloaded_metrics: strawberry.Private[list[MetricScore] | None] = None

    async def _load_metrics(self, info: strawberry.Info) -> list[MetricScore]:
        by_track = await info.context.loaders.metrics.load((self.partner_id, self.month))
        return by_track.get(self.track.value, [])

    @strawberry.field(description="The five metrics, in the order of the Metric enum.")
    def metrics(self, info: strawberry.Info) -> list[MetricScore]:
        if self.preloaded_metrics is not None:
            return self.preloaded_metrics
        return self._load_metrics(info)  # awaited by graphql-core

    @strawberry.field(description="One metric of the path.")
    async def metric(self, info: strawberry.Info, metric: Metric) -> MetricScore | None:
        metrics = self.preloaded_metrics
        if metrics is None:
            metrics = await self._load_metrics(info)
        return next((m for m in metrics if m.metric is metric), None)
