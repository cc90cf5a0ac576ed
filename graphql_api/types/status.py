"""Qualification status and warnings: what may cost the partner its designation soon."""

from __future__ import annotations

import datetime as dt
import enum

import strawberry

from graphql_api.context import Context
from graphql_api.enums import CertificationLevel, Track
from graphql_api.resolvers import forecast
from graphql_api.resolvers.simulation import AT_RISK_LIMIT, Warnings
from graphql_api.types.scalars import Month
from scoring import simulate as sim


@strawberry.enum(description="Whether the designation is held in a month.")
class QualificationState(enum.Enum):
    QUALIFIED = "QUALIFIED"
    NOT_QUALIFIED = "NOT_QUALIFIED"


@strawberry.type(
    description="The designation held over a window: qualified in a month when attained in it or "
    "in any of the 5 months before."
)
class QualificationStatus:
    month: Month
    state: QualificationState
    qualified: bool
    since_month: Month | None = strawberry.field(description="The latest month of the window that attained.")
    track: Track | None = strawberry.field(description="That month's best track.")
    valid_through: Month | None = strawberry.field(
        description="The last month the status holds without attaining again."
    )
    partner_id: strawberry.Private[str | None] = None

    @strawberry.field(
        description=f"The first month after this one in which the window would hold no attained month if "
        f"every snapshot after this month equalled this month's (as Partner.forecast projects); null if none "
        f"within {forecast.LAPSE_MONTHS} months. A partner not qualified that does not attain in the next month "
        "lapses in it. Read from the data folder."
    )
    async def projected_lapse_month(self, info: strawberry.Info[Context, None]) -> Month | None:
        if self.partner_id is None:
            return None
        return await forecast.lapse_month(info.context, self.partner_id, self.month)

    @classmethod
    def from_status(
        cls, month: dt.date, st: sim.QualificationStatus, partner_id: str | None = None
    ) -> QualificationStatus:
        return cls(
            partner_id=partner_id,
            month=month,
            state=QualificationState.QUALIFIED if st.qualified else QualificationState.NOT_QUALIFIED,
            qualified=st.qualified,
            since_month=st.since_month,
            track=Track(st.track) if st.track else None,
            valid_through=st.valid_through,
        )


@strawberry.type(description="A certification that expires within 90 days after the month's end.")
class ExpiringCertification:
    person_id: strawberry.ID
    certification: str
    level: CertificationLevel | None
    expires_on: dt.date
    days_left: int


@strawberry.type(
    description="A counting certification whose counts-through date (its rulebook version retires it) falls "
    "within 90 days after the month's end."
)
class RetiringCertification:
    person_id: strawberry.ID
    certification: str
    level: CertificationLevel
    counts_through: dt.date = strawberry.field(description="The last day it counts.")
    days_left: int = strawberry.field(description="Days from the month's end to countsThrough (0: the month's end).")


@strawberry.type(description="A held customer whose loss alone would drop the partner below the designation.")
class CustomerAtRisk:
    tenant_id: strawberry.ID
    score_without: float
    best_track_without: Track


@strawberry.type(description="What may cost the partner its designation soon.")
class PartnerWarnings:
    month: Month
    expiring_certifications: list[ExpiringCertification]
    retiring_certifications: list[RetiringCertification] = strawberry.field(
        description="Certifications that stop counting soon although still held (counts-through dates)."
    )
    customers_at_risk: list[CustomerAtRisk] = strawberry.field(
        description=f"Only for a partner that attains in the month; at most {AT_RISK_LIMIT} held customers are tried."
    )

    @classmethod
    def from_warnings(cls, month: dt.date, w: Warnings) -> PartnerWarnings:
        return cls(
            month=month,
            expiring_certifications=[
                ExpiringCertification(
                    person_id=strawberry.ID(e.person_id),
                    certification=e.certification,
                    level=CertificationLevel(e.level) if e.level else None,
                    expires_on=e.expires_on,
                    days_left=e.days_left,
                )
                for e in w.expiring
            ],
            retiring_certifications=[
                RetiringCertification(
                    person_id=strawberry.ID(r.person_id),
                    certification=r.certification,
                    level=CertificationLevel(r.level),
                    counts_through=r.counts_through,
                    days_left=r.days_left,
                )
                for r in w.retiring
            ],
            customers_at_risk=[
                CustomerAtRisk(
                    tenant_id=strawberry.ID(c.tenant_id), score_without=c.score, best_track_without=Track(c.best_track)
                )
                for c in w.at_risk
            ],
        )
