"""``Customer`` (a tenant a partner holds, its eligibility and counting per track), ``HeldWorkload``,
``CustomerConnection``."""

import datetime as dt
from typing import Any

import strawberry

from graphql_api.context import Context
from graphql_api.enums import OPTIONS, TRACKS, AssociationOption, Track
from graphql_api.resolvers import partner
from graphql_api.resolvers.partner import SeatBand
from graphql_api.types.connection import Connection, total_count

Info = strawberry.Info[Context, None]


@strawberry.type(description="An eligible workload the partner holds on the customer under the option.")
class HeldWorkload:
    workload: str
    associated_on: dt.date = strawberry.field(description="The earliest association date of the option's rows.")
    paid_seats: int = strawberry.field(description="0 when the workload has no usage row that month.")
    active_users: int

    @classmethod
    def from_row(cls, r: Any) -> "HeldWorkload":
        """A ``holding`` row."""
        return cls(
            workload=r.workload, associated_on=r.associated_on, paid_seats=r.paid_seats, active_users=r.active_users
        )


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
    eligible_as_promoted: bool = strawberry.field(
        description="Eligible only because the rule version keeps a grown tenant: its paid seats are above the "
        "track's band this month, and it was in the band a year earlier (the 2026 rules' promoted SMB tenant)."
    )
    counted: bool = strawberry.field(
        description="Counted in AU(M): eligible and held, under the usage-growth workload list. Under the 2023 "
        "rules every metric has that list, so it is also counted in net customer adds; under the 2026 rules net "
        "customer adds has its own list (without Teams Premium, for one), so a tenant eligible only through a "
        "workload of the usage-growth list is counted here but not in net customer adds."
    )
    counted_year_ago: bool = strawberry.field(description="Held and eligible a year earlier under the same option.")
    deployed: bool
    deployed_year_ago: bool
    excluded: bool = strawberry.field(description="Deployment excluded: already deployed at association.")
    baseline_users: int = strawberry.field(description="Users added to the usage baseline for a new association.")
    partner_id: strawberry.Private[str]
    month: strawberry.Private[dt.date]

    @classmethod
    def from_row(cls, r: Any, band: SeatBand) -> "Customer":
        """A ``customer_detail`` row with the tenant's ``max_paid_seats``."""
        return cls(
            tenant_id=strawberry.ID(r.tenant_id),
            track=TRACKS[r.track],
            option=OPTIONS[r.option],
            eligible=r.eligible,
            seat_band=band.label,
            max_paid_seats=r.max_paid_seats,
            workload_count=r.workloads,
            associated_on=r.associated_on,
            paid_seats=r.paid_seats,
            active_users=r.active_users,
            active_ratio=(r.active_users / r.paid_seats) if r.paid_seats else None,
            eligible_as_promoted=band.promoted(r.eligible, r.max_paid_seats),
            counted=r.counted,
            counted_year_ago=r.counted_year_ago,
            deployed=r.deployed,
            deployed_year_ago=r.deployed_year_ago,
            excluded=r.excluded,
            baseline_users=r.baseline_users,
            partner_id=r.partner_id,
            month=r.month,
        )

    @strawberry.field(description="The held workloads (by name), with association dates and usage.")
    async def workloads(self, info: Info) -> list[HeldWorkload]:
        rows = await partner.holdings(info.context, self.month, self.partner_id, str(self.tenant_id), self.option.value)
        return [HeldWorkload.from_row(r) for r in rows]


@strawberry.type(description="A page of a partner's customer rows, by tenant id, then track and option.")
class CustomerConnection(Connection[Customer]):
    total_count: int = total_count("Rows matching the filters, over all pages.")
