import strawberry

from graphql_api.types.enums import AssociationOption, Metric, Track


@strawberry.type(description="One concrete gain of a recommendation: units to add to one metric option.")
class RecommendedGain:
    metric: Metric
    option: AssociationOption
    units: int = strawberry.field(description="Persons, customers, deployments or active users to add.")
    points: float = strawberry.field(description="Points the metric gains.")
    text: str = strawberry.field(description='e.g. "1 more advanced-certified person (+7.5)".')


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
