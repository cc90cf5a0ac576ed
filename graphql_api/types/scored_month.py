import datetime as dt

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
