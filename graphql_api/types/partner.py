"""``Partner`` and ``Scorecard`` (each reaches the other, so they share a module) and their
connections. Their resolving fields hand over to ``graphql_api.resolvers``."""

from __future__ import annotations

from typing import Annotated, Any

import strawberry

from graphql_api.context import Context
from graphql_api.enums import TRACKS, AssociationOption, Track
from graphql_api.pagination import given
from graphql_api.records import ScorecardRows
from graphql_api.resolvers import forecast as projection
from graphql_api.resolvers import partner, scorecards
from graphql_api.resolvers.partner import NO_BAND
from graphql_api.resolvers.score_change import score_change as resolve_score_change
from graphql_api.types.connection import Connection, total_count
from graphql_api.types.customer import Customer, CustomerConnection
from graphql_api.types.hygiene import Hygiene
from graphql_api.types.path_score import PathScore
from graphql_api.types.recommendation import Recommendation
from graphql_api.types.scalars import Month
from graphql_api.types.score_change import ScoreChange
from graphql_api.types.skilling import SkillingReport
from graphql_api.types.status import PartnerWarnings, QualificationStatus
from graphql_api.types.trend import Trend

Info = strawberry.Info[Context, None]
From = Annotated[Month | None, strawberry.argument(name="from", description="First month (inclusive).")]
UNSET = strawberry.UNSET
ProjectFrom = Annotated[
    Month | None, strawberry.argument(name="from", description="The last real month: the projection starts after it.")
]
To = Annotated[Month | None, strawberry.argument(description="Last month (inclusive).")]


@strawberry.type(description="A partner's designation in one month, with both paths and every metric.")
class Scorecard:
    partner_id: strawberry.ID
    month: Month
    attained: bool
    best_track: Track = strawberry.field(
        description="The qualifying track with the higher total; if none qualifies, the higher total (tie: ENTERPRISE)."
    )
    score: float = strawberry.field(description="The best track's total, unrounded.")
    rulebook_id: str = strawberry.field(description="The rulebook version the month was scored with.")
    projected: bool = strawberry.field(
        default=False, description="True on a projected scorecard (Partner.forecast), false on a scored one."
    )
    # loaded ahead when the query asks for paths (resolvers.scorecards): resolved without awaiting
    preloaded_paths: strawberry.Private[list[PathScore] | None] = None

    @classmethod
    def from_rows(cls, card: ScorecardRows, *, projected: bool = False) -> Scorecard:
        r = card.row
        return cls(
            projected=projected,
            partner_id=strawberry.ID(r.partner_id),
            month=r.month,
            attained=r.attained,
            best_track=TRACKS[r.best_track],
            score=r.score,
            rulebook_id=r.rulebook_id,
            preloaded_paths=None if card.paths is None else [PathScore.from_rows(p) for p in card.paths],
        )

    async def _load_paths(self, info: Info) -> list[PathScore]:
        rows = await scorecards.paths(info.context, (str(self.partner_id), self.month))
        return [PathScore.from_rows(p) for p in rows]

    @strawberry.field(description="ENTERPRISE then SMB.")
    def paths(self, info: Info) -> list[PathScore]:
        if self.preloaded_paths is not None:
            return self.preloaded_paths
        return self._load_paths(info)  # awaited by graphql-core

    @strawberry.field(description="One path.")
    async def path(self, info: Info, track: Track) -> PathScore | None:
        paths = self.preloaded_paths
        if paths is None:
            paths = await self._load_paths(info)
        return next((p for p in paths if p.track is track), None)

    @strawberry.field(description="The partner.")
    async def partner(self, info: Info) -> Partner:
        row = await scorecards.partner(info.context, self.partner_id)
        return None if row is None else Partner.from_row(row)  # type: ignore[return-value]  # null: graphql-core's error


@strawberry.type(description="A page of scorecards: highest score first, then by partner id.")
class ScorecardConnection(Connection[Scorecard]):
    total_count: int = total_count("Scorecards matching the filters, over all pages.")


@strawberry.type(description="A partner of the program.")
class Partner:
    id: strawberry.ID
    name: str | None
    in_registry: bool = strawberry.field(description="Listed in the partner registry (else seen only in other inputs).")

    @classmethod
    def from_row(cls, row: Any) -> Partner:
        """A ``partner`` row."""
        return cls(id=strawberry.ID(row.partner_id), name=row.partner_name, in_registry=row.in_registry)

    @strawberry.field(description="The scorecard of a month; the partner's latest scored month when omitted.")
    async def scorecard(self, info: Info, month: Month | None = UNSET) -> Scorecard | None:
        card = await partner.scorecard(info.context, info, str(self.id), given(month))
        return None if card is None else Scorecard.from_rows(card)

    @strawberry.field(description="Scorecards from..to (inclusive; open ends when omitted), ascending by month.")
    async def history(self, info: Info, from_: From = UNSET, to: To = UNSET) -> list[Scorecard]:
        cards = await partner.history(info.context, info, str(self.id), given(from_), given(to))
        return [Scorecard.from_rows(c) for c in cards]

    @strawberry.field(
        description="Score, path totals and every metric's points and measure over from..to, with "
        "month-over-month and year-over-year changes (computed from the months before from as well)."
    )
    async def trend(self, info: Info, from_: From = UNSET, to: To = UNSET) -> Trend:
        from_, to = given(from_), given(to)
        return Trend.from_data(await partner.trend(info.context, str(self.id), from_, to), from_, to)

    @strawberry.field(
        description="Customer eligibility report: how each customer counts in a month (the partner's latest "
        "scored month when omitted), one row per tenant, track and option."
    )
    async def customers(
        self,
        info: Info,
        month: Month | None = UNSET,
        track: Track | None = UNSET,
        option: AssociationOption | None = UNSET,
        counted: bool | None = UNSET,
        eligible: bool | None = UNSET,
        first: int | None = 50,
        after: str | None = UNSET,
    ) -> CustomerConnection:
        track, option = given(track), given(option)
        page, bands = await partner.customers(
            info.context,
            str(self.id),
            month=given(month),
            track=track.value if track else None,
            option=option.value if option else None,
            counted=given(counted),
            eligible=given(eligible),
            first=first,
            after=given(after),
        )
        return CustomerConnection.from_page(page, lambda r: Customer.from_row(r, bands.get(r.track, NO_BAND)))

    @strawberry.field(
        description="Skilling report: who counts for the certification metrics in a month (the partner's "
        "latest scored month when omitted). Read from the certifications file of the data folder."
    )
    async def skilling(self, info: Info, month: Month | None = UNSET) -> SkillingReport | None:
        found = await partner.skilling(info.context, str(self.id), given(month))
        return None if found is None else SkillingReport.from_persons(*found)

    @strawberry.field(
        description="Qualification status in a month (the partner's latest scored month when omitted): "
        "qualified when the designation was attained in that month or any of the 5 months before."
    )
    async def status(self, info: Info, month: Month | None = UNSET) -> QualificationStatus | None:
        found = await partner.status(info.context, str(self.id), given(month))
        return None if found is None else QualificationStatus.from_status(*found, partner_id=str(self.id))

    @strawberry.field(
        description="Projected scorecards of the months after from (the partner's latest scored month when "
        f"omitted), 1 to {projection.MAX_MONTHS} months: the scorecards the rules give if every snapshot after from "
        "equalled from's (the same associations with the same dates, the same seats and users), with the "
        "certifications as they are, each month under the rulebook version in force in it. Read from the data folder."
    )
    async def forecast(self, info: Info, from_: ProjectFrom = UNSET, months: int = 6) -> list[Scorecard]:
        cards = await projection.forecast(info.context, str(self.id), given(from_), months)
        return [Scorecard.from_rows(c, projected=True) for c in cards]

    @strawberry.field(
        description="Warnings for a month (the partner's latest scored month when omitted): certifications "
        "expiring within 90 days after the month's end, and held customers whose loss alone would drop an "
        "attained partner below the designation."
    )
    async def warnings(self, info: Info, month: Month | None = UNSET) -> PartnerWarnings | None:
        found = await partner.warnings(info.context, str(self.id), given(month))
        return None if found is None else PartnerWarnings.from_warnings(*found)

    @strawberry.field(
        description="Customer and skilling hygiene in a month (the partner's latest scored month when omitted): "
        "customers that would count under the winning option if associated under it, customers one seat below "
        "a band, and counted certifications by the month they stop counting. Null when the month is not scored."
    )
    async def hygiene(self, info: Info, month: Month | None = UNSET) -> Hygiene | None:
        found = await partner.hygiene(info.context, str(self.id), given(month))
        return None if found is None else Hygiene.from_frames(*found)

    @strawberry.field(
        description="Per track, the cheapest concrete gains that reach the designation from the month's "
        "stored measures (the partner's latest scored month when omitted)."
    )
    async def recommendations(self, info: Info, month: Month | None = UNSET) -> list[Recommendation] | None:
        plans = await partner.recommendations(info.context, str(self.id), given(month))
        return None if plans is None else [Recommendation.from_plan(track, plan) for track, plan in plans]

    @strawberry.field(
        description="Why the score moved from the month before to a month (the partner's latest scored month when "
        "omitted): per path, metric and option the measures and points of both months and their causes. Null when "
        "the month or the month before is not scored. Reads the M-13..M input snapshots from the data folder."
    )
    async def score_change(self, info: Info, month: Month | None = UNSET) -> ScoreChange | None:
        found = await resolve_score_change(info.context, str(self.id), given(month))
        return None if found is None else ScoreChange.from_change(found)


@strawberry.type(description="A page of partners, by partner id.")
class PartnerConnection(Connection[Partner]):
    total_count: int = total_count("Partners visible to the token, over all pages.")
