"""``OptionScore``: one association option of a metric, its measure and points."""

from typing import Any

import strawberry

from graphql_api.enums import OPTIONS, AssociationOption


@strawberry.type(description="One scored option of a metric.")
class OptionScore:
    option: AssociationOption
    value: float = strawberry.field(description="The measure: net adds, persons, usage growth or net deployments.")
    points: float
    current: float = strawberry.field(description="C(M), persons, AU(M) or D(M).")
    year_ago: float = strawberry.field(description="C(M-12), 0, AU(M-12) or D(M-12).")
    adjustment: float = strawberry.field(
        description="0, 0, baseline users added for new associations, or excluded deployments."
    )
    is_winner: bool = strawberry.field(description="The option that gives the metric its points.")

    @classmethod
    def from_row(cls, r: Any) -> "OptionScore":
        """A ``metric_point`` row."""
        return cls(
            option=OPTIONS[r.option],
            value=float(r.value),
            points=r.points,
            current=float(r.current),
            year_ago=float(r.year_ago),
            adjustment=float(r.adjustment),
            is_winner=r.is_winner,
        )
