"""``MetricScore``: one metric of a path, its winning option and every option scored."""

import strawberry

from graphql_api.enums import METRICS, OPTIONS, AssociationOption, Metric
from graphql_api.records import MetricRows
from graphql_api.types.option_score import OptionScore


@strawberry.type(description="A metric of a path: the winning option's points and measure, and every option scored.")
class MetricScore:
    metric: Metric
    points: float
    max_points: float
    value: float = strawberry.field(
        description="The winning option's measure before points: net customer adds, persons counted, "
        "usage growth or net deployments (net adds, growth and deployments can be negative)."
    )
    option: AssociationOption = strawberry.field(description="The winning option (ALL: not split by association).")
    options: list[OptionScore] = strawberry.field(
        description="Every option that was scored, in the track's order (ENTERPRISE: CPOR, DPOR; SMB: CPOR, CSP)."
    )
    current: float = strawberry.field(description="The winning option's current-month measure.")
    year_ago: float = strawberry.field(description="The winning option's measure a year earlier.")
    adjustment: float = strawberry.field(description="The winning option's baseline or exclusion adjustment.")

    @classmethod
    def from_rows(cls, m: MetricRows) -> "MetricScore":
        w = m.winner
        return cls(
            metric=METRICS[m.metric],
            points=w.points,
            max_points=w.max_points,
            value=float(w.value),
            option=OPTIONS[w.option],
            options=[OptionScore.from_row(o) for o in m.options],
            current=float(w.current),
            year_ago=float(w.year_ago),
            adjustment=float(w.adjustment),
        )
