"""``Hygiene``: what a partner could fix by its own paperwork in a month (customers counted under
a losing option, customers one seat below a band, certifications by the month they stop)."""

from __future__ import annotations

import datetime as dt

import strawberry

from graphql_api.enums import AssociationOption, CertificationLevel, Metric, StopReason, Track
from graphql_api.resolvers.hygiene import HygieneFrames
from graphql_api.types.scalars import Month


@strawberry.type(
    description="A customer counted under an option of the track that does not win some of its usage-growth "
    "or deployments metrics, and not under the option that does: associated under that option too, it would "
    "count there."
)
class OtherOptionCustomer:
    tenant_id: strawberry.ID
    track: Track
    counted_under: list[AssociationOption]
    winning_option: AssociationOption
    metrics: list[Metric] = strawberry.field(description="The metrics the winning option wins.")


@strawberry.type(
    description="A held customer one seat below the track's band of paid seats (e.g. 10 seats for 11-300), "
    "not eligible for the track this month."
)
class NearBandCustomer:
    tenant_id: strawberry.ID
    track: Track
    workload: str = strawberry.field(description="The workload one seat below the band (the first by name).")
    paid_seats: int
    seats_needed: int = strawberry.field(description="Paid seats to add to that workload: 1.")
    metrics: list[Metric] = strawberry.field(
        description="The metrics whose workload list the workload is in (the tenant would become eligible there)."
    )


@strawberry.type(description="A certification that counts this month, and the first month it no longer counts.")
class CertificationStop:
    person_id: strawberry.ID
    certification: str
    earned_on: dt.date
    level: CertificationLevel
    stops_in: Month
    reason: StopReason
    person_still_counts: bool = strawberry.field(
        description="Another certification of the same level keeps the person counted in that month."
    )


@strawberry.type(description="Customer and skilling hygiene of a partner's month.")
class Hygiene:
    month: Month
    other_option_customers: list[OtherOptionCustomer]
    near_band_customers: list[NearBandCustomer]
    certification_stops: list[CertificationStop] = strawberry.field(
        description="Counted certifications that stop counting within 12 months, by the month they stop."
    )

    @classmethod
    def from_frames(cls, month: dt.date, f: HygieneFrames) -> Hygiene:
        return cls(
            month=month,
            other_option_customers=[
                OtherOptionCustomer(
                    tenant_id=strawberry.ID(r["tenant_id"]),
                    track=Track(r["track"]),
                    counted_under=[AssociationOption(o) for o in r["counted_under"]],
                    winning_option=AssociationOption(r["winning_option"]),
                    metrics=[Metric(m) for m in r["metrics"]],
                )
                for r in f.other_option.iter_rows(named=True)
            ],
            near_band_customers=[
                NearBandCustomer(
                    tenant_id=strawberry.ID(r["tenant_id"]),
                    track=Track(r["track"]),
                    workload=r["workload"],
                    paid_seats=r["paid_seats"],
                    seats_needed=1,
                    metrics=[Metric(m) for m in r["metrics"]],
                )
                for r in f.near_band.iter_rows(named=True)
            ],
            certification_stops=[
                CertificationStop(
                    person_id=strawberry.ID(r["person_id"]),
                    certification=r["certification"],
                    earned_on=r["earned_on"],
                    level=CertificationLevel(r["level"]),
                    stops_in=r["stops_in"],
                    reason=StopReason(r["reason"]),
                    person_still_counts=r["person_still_counts"],
                )
                for r in f.stops.iter_rows(named=True)
            ],
        )
