import datetime as dt

import strawberry

from graphql_api.types.enums import AssociationOption, Track


@strawberry.type(description="An eligible workload the partner holds on the customer under the option.")
class HeldWorkload:
    workload: str
    associated_on: dt.date = strawberry.field(description="The earliest association date of the option's rows.")
    paid_seats: int = strawberry.field(description="0 when the workload has no usage row that month.")
    active_users: int


@strawberry.type(description="How one customer (tenant) counts for the partner in a month, for one track and option.")
class Customer:
    tenant_id: strawberry.ID
    track: Track
    option: AssociationOption
    eligible: bool = strawberry.field(description="The tenant is in the track's seat band this month.")
    seat_band: str = strawberry.field(description='The track\'s band of paid seats, e.g. "301+" or "11-300".')
    max_paid_seats: int | None = strawberry.field(
        description="The tenant's largest paid seats among its eligible workloads in the band (null: not eligible)."
    )
    workload_count: int = strawberry.field(description="Held eligible workloads under the option this month.")
    associated_on: dt.date | None = strawberry.field(
        description="Earliest association date over those workloads (null: none held this month)."
    )
    paid_seats: int = strawberry.field(description="Sum over the held workloads.")
    active_users: int = strawberry.field(description="Sum over the held workloads.")
    active_ratio: float | None = strawberry.field(description="activeUsers / paidSeats (null when paidSeats is 0).")
    counted: bool = strawberry.field(description="Counted in AU(M) and net customer adds (eligible and held).")
    counted_year_ago: bool = strawberry.field(description="Held and eligible a year earlier under the same option.")
    deployed: bool
    deployed_year_ago: bool
    excluded: bool = strawberry.field(description="Deployment excluded: already deployed at association.")
    baseline_users: int = strawberry.field(description="Users added to the usage baseline for a new association.")
    partner_id: strawberry.Private[str]
    month: strawberry.Private[dt.date]

    @strawberry.field(description="The held workloads (by name), with association dates and usage.")
    async def workloads(self, info: strawberry.Info) -> list[HeldWorkload]:
        key = (self.month, self.partner_id, str(self.tenant_id), self.option.value)
        return await info.context.loaders.holdings.load(key)
