import asyncio
import datetime as dt
from typing import Annotated

import strawberry
from sqlalchemy import Row

from graphql_api import db
from graphql_api.context import Context
from graphql_api.errors import UserError
from graphql_api.pagination import check_first, decode_cursor, encode_cursor, given, page_info
from graphql_api.prefetch import preload
from graphql_api.types.customer import Customer
from graphql_api.types.customer_connection import CustomerConnection, CustomerEdge
from graphql_api.types.enums import AssociationOption, Metric, Track
from graphql_api.types.recommendation import Recommendation, RecommendedGain
from graphql_api.types.scalars import Month
from graphql_api.types.scorecard import Scorecard
from graphql_api.types.simulation import (
    PartnerWarnings,
    QualificationStatus,
    build_warnings,
    status_from_scorecards,
)
from graphql_api.types.skilling import SkillingReport
from graphql_api.types.trend import Trend
from scoring.calendar import add_months
from scoring.recommend import recommend
from scoring.rulebook import RulebookError

Info = strawberry.Info[Context, None]
From = Annotated[Month | None, strawberry.argument(name="from", description="First month (inclusive).")]
UNSET = strawberry.UNSET
To = Annotated[Month | None, strawberry.argument(description="Last month (inclusive).")]


def _check_range(lo: dt.date | None, hi: dt.date | None) -> None:
    if lo is not None and hi is not None and lo > hi:
        raise UserError("from must not be after to.")


@strawberry.type(description="A partner of the program.")
class Partner:
    id: strawberry.ID
    name: str | None
    in_registry: bool = strawberry.field(description="Listed in the partner registry (else seen only in other inputs).")

    async def _month_or_latest(self, info: Info, month: dt.date | None) -> dt.date | None:
        if month is not None:
            return month
        latest = await info.context.loaders.latest_scorecard.load(str(self.id))
        return None if latest is None else latest.month

    @strawberry.field(description="The scorecard of a month; the partner's latest scored month when omitted.")
    async def scorecard(self, info: Info, month: Month | None = UNSET) -> Scorecard | None:
        loaders = info.context.loaders
        month = given(month)
        if month is None:
            card = await loaders.latest_scorecard.load(str(self.id))
        else:
            card = await loaders.scorecard.load((str(self.id), month))
        if card is not None:
            info.context.budget.charge_scorecards(1)
            await preload(info, [card])
        return card

    @strawberry.field(description="Scorecards from..to (inclusive; open ends when omitted), ascending by month.")
    async def history(self, info: Info, from_: From = UNSET, to: To = UNSET) -> list[Scorecard]:
        from_, to = given(from_), given(to)
        _check_range(from_, to)
        cards = await info.context.loaders.history.load((str(self.id), from_, to))
        info.context.budget.charge_scorecards(len(cards))
        await preload(info, cards)
        return cards

    @strawberry.field(
        description="Score, path totals and every metric's points and measure over from..to, with "
        "month-over-month and year-over-year changes (computed from the months before from as well)."
    )
    async def trend(self, info: Info, from_: From = UNSET, to: To = UNSET) -> Trend:
        from_, to = given(from_), given(to)
        _check_range(from_, to)
        return await info.context.loaders.trend.load((str(self.id), from_, to))

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
        ctx = info.context
        month, track, option, after = given(month), given(track), given(option), given(after)
        counted, eligible = given(counted), given(eligible)
        limit = check_first(first, ctx.services.settings.max_page_size)
        cursor = decode_cursor(after, "c", (str, str, str))
        month = await self._month_or_latest(info, month)
        pid = str(self.id)

        async def no_rows() -> int:
            return 0

        if month is None:  # the partner has no scores
            return CustomerConnection(edges=[], page_info=page_info([], False, after), count=no_rows)
        flt = db.CustomerFilter(
            month=month,
            track=track.value if track else None,
            option=option.value if option else None,
            counted=counted,
            eligible=eligible,
        )
        after_key = tuple(cursor) if cursor else None
        rows = await ctx.loaders.customer_page.load((pid, flt, after_key, limit + 1))
        has_next = len(rows) > limit
        rows = rows[:limit]
        ctx.budget.charge_customers(len(rows))
        bands = _seat_bands(ctx, month)
        edges = [
            CustomerEdge(cursor=encode_cursor("c", r.tenant_id, r.track, r.option), node=_customer(r, bands))
            for r in rows
        ]

        async def count() -> int:
            return await ctx.loaders.customer_count.load((pid, flt))

        return CustomerConnection(edges=edges, page_info=page_info(edges, has_next, after), count=count)

    @strawberry.field(
        description="Skilling report: who counts for the certification metrics in a month (the partner's "
        "latest scored month when omitted). Read from the certifications file of the data folder."
    )
    async def skilling(self, info: Info, month: Month | None = UNSET) -> SkillingReport | None:
        month = await self._month_or_latest(info, given(month))
        if month is None:
            return None
        from graphql_api.skilling import skilling_report

        return await skilling_report(info.context, str(self.id), month)

    @strawberry.field(
        description="Qualification status in a month (the partner's latest scored month when omitted): "
        "qualified when the designation was attained in that month or any of the 5 months before."
    )
    async def status(self, info: Info, month: Month | None = UNSET) -> QualificationStatus | None:
        month = await self._month_or_latest(info, given(month))
        if month is None:
            return None
        first = add_months(month, -5)
        cards = await info.context.loaders.history.load((str(self.id), first, month))
        return status_from_scorecards(cards, str(self.id), month)

    @strawberry.field(
        description="Warnings for a month (the partner's latest scored month when omitted): certifications "
        "expiring within 90 days after the month's end, and held customers whose loss alone would drop an "
        "attained partner below the designation."
    )
    async def warnings(self, info: Info, month: Month | None = UNSET) -> PartnerWarnings | None:
        month = await self._month_or_latest(info, given(month))
        if month is None:
            return None
        card = await info.context.loaders.scorecard.load((str(self.id), month))
        if card is None:
            return None
        if card.attained:  # the at-risk search rescores the month once per held customer
            from graphql_api.types.simulation import AT_RISK_LIMIT

            info.context.budget.charge_rescorings(AT_RISK_LIMIT)
        info.context.uncacheable()  # reads the data folder, which the cache's version does not cover
        return await asyncio.to_thread(build_warnings, info.context, str(self.id), month, card.attained)

    @strawberry.field(
        description="Per track, the cheapest concrete gains that reach the designation from the month's "
        "stored measures (the partner's latest scored month when omitted)."
    )
    async def recommendations(self, info: Info, month: Month | None = UNSET) -> list[Recommendation] | None:
        month = await self._month_or_latest(info, given(month))
        if month is None:
            return None
        rows = await info.context.db.run(db.metrics_by_key, [(str(self.id), month)])
        if not rows:
            return None
        try:
            book = info.context.services.rulebooks.for_month(month)
        except RulebookError as exc:
            raise UserError(str(exc)) from exc
        out = []
        for track in book.tracks:
            measures = {(r.metric, r.option): int(r.value) for r in rows if r.track == track.name}
            plan = recommend(book, track.name, measures)
            out.append(
                Recommendation(
                    track=Track(track.name),
                    reachable=plan.reachable,
                    gains=[
                        RecommendedGain(
                            metric=Metric(g.metric),
                            option=AssociationOption(g.option),
                            units=g.units,
                            points=float(g.points),
                            text=g.describe(),
                        )
                        for g in plan.gains
                    ],
                    cost=float(plan.cost),
                    total_before=float(plan.total_before),
                    total_after=float(plan.total_after),
                )
            )
        return out


def _seat_bands(ctx: Context, month: dt.date) -> dict[str, str]:
    try:
        book = ctx.services.rulebooks.for_month(month)
    except RulebookError:
        return {}
    return {t.name: f"{t.seats_min}+" if t.seats_max is None else f"{t.seats_min}-{t.seats_max}" for t in book.tracks}


def _customer(r: Row, bands: dict[str, str]) -> Customer:
    return Customer(
        tenant_id=strawberry.ID(r.tenant_id),
        track=Track(r.track),
        option=AssociationOption(r.option),
        eligible=r.eligible,
        seat_band=bands.get(r.track, ""),
        max_paid_seats=r.max_paid_seats,
        workload_count=r.workloads,
        associated_on=r.associated_on,
        paid_seats=r.paid_seats,
        active_users=r.active_users,
        active_ratio=(r.active_users / r.paid_seats) if r.paid_seats else None,
        counted=r.counted,
        counted_year_ago=r.counted_year_ago,
        deployed=r.deployed,
        deployed_year_ago=r.deployed_year_ago,
        excluded=r.excluded,
        baseline_users=r.baseline_users,
        partner_id=r.partner_id,
        month=r.month,
    )


def partner_from_row(row: Row) -> Partner:
    return Partner(id=strawberry.ID(row.partner_id), name=row.partner_name, in_registry=row.in_registry)
