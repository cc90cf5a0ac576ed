"""``Recommendation`` and ``RecommendedGain``: the cheapest gains that would lift a path's total."""

import strawberry

from graphql_api.enums import AssociationOption, Metric, Track
from scoring.recommend import Gain, Plan


@strawberry.type(description="One concrete gain of a recommendation: units to add to one metric option.")
class RecommendedGain:
    metric: Metric
    option: AssociationOption
    units: int = strawberry.field(description="Persons, customers, deployments or active users to add.")
    points: float = strawberry.field(description="Points the metric gains.")
    text: str = strawberry.field(description='e.g. "1 more advanced-certified person (+7.5)".')

    @classmethod
    def from_gain(cls, g: Gain) -> "RecommendedGain":
        return cls(
            metric=Metric(g.metric),
            option=AssociationOption(g.option),
            units=g.units,
            points=float(g.points),
            text=g.describe(),
        )


@strawberry.type(
    description="The cheapest set of gains that makes a track qualify (total >= 70 and every metric >= the "
    "minimum), under the stated unit costs; empty gains when the track already qualifies."
)
class Recommendation:
    track: Track
    reachable: bool
    gains: list[RecommendedGain]
    cost: float = strawberry.field(description="Sum of unit costs (person 1, customer 1, deployment 1, user 0.01).")
    total_before: float
    total_after: float

    @classmethod
    def from_plan(cls, track: str, plan: Plan) -> "Recommendation":
        return cls(
            track=Track(track),
            reachable=plan.reachable,
            gains=[RecommendedGain.from_gain(g) for g in plan.gains],
            cost=float(plan.cost),
            total_before=float(plan.total_before),
            total_after=float(plan.total_after),
        )
