import strawberry

from graphql_api.types.enums import Metric, Track
from graphql_api.types.scalars import Month


@strawberry.type(
    description="A series over Trend.months (same length and order), with its month-over-month and "
    "year-over-year changes: null where the month before (or a year before) was not scored."
)
class TrendSeries:
    values: list[float]
    month_over_month: list[float | None]
    year_over_year: list[float | None]


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
