"""``ProgramOverview`` (admin): partners attaining per track over the months and a month's score
distribution; the scorecard page's admin view reads it."""

import strawberry

from graphql_api.resolvers.overview import Overview
from graphql_api.types.scalars import Month


@strawberry.type(description="One scored month of the program.")
class ProgramMonth:
    month: Month
    partners_scored: int
    partners_attained: int = strawberry.field(description="Partners that attain the designation (any track).")
    qualifying_enterprise: int = strawberry.field(description="Partners whose ENTERPRISE path qualifies.")
    qualifying_smb: int = strawberry.field(description="Partners whose SMB path qualifies.")


@strawberry.type(description="Partners whose score is in [from, to) points (to null: from and above).")
class ScoreBucket:
    from_: float = strawberry.field(name="from")
    to: float | None
    partners: int


@strawberry.type(description="Program-wide figures for the admin.")
class ProgramOverview:
    months: list[ProgramMonth] = strawberry.field(description="Every scored month, ascending.")
    distribution_month: Month | None = strawberry.field(description="The month of scoreDistribution.")
    score_distribution: list[ScoreBucket] = strawberry.field(
        description="The month's scores in 10-point buckets, 0 to 100+ (empty: nothing scored)."
    )

    @classmethod
    def of(cls, o: Overview) -> "ProgramOverview":
        return cls(
            months=[
                ProgramMonth(
                    month=m.month,
                    partners_scored=m.scored,
                    partners_attained=m.attained,
                    qualifying_enterprise=m.qualifying.get("ENTERPRISE", 0),
                    qualifying_smb=m.qualifying.get("SMB", 0),
                )
                for m in o.months
            ],
            distribution_month=o.month,
            score_distribution=[ScoreBucket(from_=lo, to=hi, partners=n) for lo, hi, n in o.buckets],
        )
