"""``Trend`` and its series: a partner's totals and metrics over months, with changes."""

import datetime as dt

import strawberry

from graphql_api.enums import Metric, Track
from graphql_api.records import Series, TrendData
from graphql_api.types.scalars import Month


@strawberry.type(
    description="A series over Trend.months (same length and order), with its month-over-month and "
    "year-over-year changes: null where the month before (or a year before) was not scored."
)
class TrendSeries:
    values: list[float]
    month_over_month: list[float | None]
    year_over_year: list[float | None]

    @classmethod
    def from_series(cls, s: Series) -> "TrendSeries":
        return cls(values=s.values, month_over_month=s.month_over_month, year_over_year=s.year_over_year)


@strawberry.type(description="One metric of a path over time (the winning option's points and measure).")
class MetricTrend:
    metric: Metric
    points: TrendSeries
    value: TrendSeries


@strawberry.type(description="One path over time.")
class PathTrend:
    track: Track
    total: TrendSeries
    qualifies: list[bool]
    metrics: list[MetricTrend]


@strawberry.type(description="A partner's scores over a range of months, as compact series for charts.")
class Trend:
    months: list[Month] = strawberry.field(description="The scored months in the range, ascending.")
    score: TrendSeries
    attained: list[bool]
    best_track: list[Track]
    paths: list[PathTrend] = strawberry.field(description="ENTERPRISE then SMB.")

    @classmethod
    def from_data(cls, data: TrendData, lo: dt.date | None, hi: dt.date | None) -> "Trend":
        months = data.months(lo, hi)

        def series(get) -> TrendSeries:
            return TrendSeries.from_series(data.series(months, get))

        paths = []
        for t in data.tracks():
            metrics = [
                MetricTrend(
                    metric=metric,
                    points=series(lambda m, k=(t, metric.value): data.points.get((*k, m))),
                    value=series(lambda m, k=(t, metric.value): data.value.get((*k, m))),
                )
                for metric in Metric
            ]
            paths.append(
                PathTrend(
                    track=Track(t),
                    total=series(lambda m, t=t: data.total.get((t, m))),
                    qualifies=[data.qualifies.get((t, m), False) for m in months],
                    metrics=metrics,
                )
            )
        return cls(
            months=months,
            score=series(data.score.get),
            attained=[data.attained[m] for m in months],
            best_track=[Track(data.best[m]) for m in months],
            paths=paths,
        )
