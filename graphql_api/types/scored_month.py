"""``ScoredMonth``: a month with stored scores and when it was last materialized."""

import datetime as dt
from typing import Any

import strawberry

from graphql_api.types.scalars import Month


@strawberry.type(description="A month that has scores, and when they were written (data freshness).")
class ScoredMonth:
    month: Month
    rulebook_id: str
    last_materialized_at: dt.datetime = strawberry.field(description="When the month's scores were last written (UTC).")
    partners_scored: int | None = strawberry.field(description="Admin only (null for a partner token).")
    partners_attained: int | None = strawberry.field(description="Admin only (null for a partner token).")
    run_id: str | None = strawberry.field(description="The Dagster run that wrote it (admin only).")

    @classmethod
    def from_row(cls, r: Any, *, admin: bool) -> "ScoredMonth":
        """A ``scored_month`` row; the program-wide figures for the admin only."""
        return cls(
            month=r.month,
            rulebook_id=r.rulebook_id,
            last_materialized_at=r.materialized_at,
            partners_scored=r.partners_scored if admin else None,
            partners_attained=r.partners_attained if admin else None,
            run_id=r.run_id if admin else None,
        )
