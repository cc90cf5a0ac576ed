"""The fields of a partner: its scorecards, trend, customers and what-if reports."""

from __future__ import annotations

import asyncio
import datetime as dt
from dataclasses import dataclass

import strawberry
from sqlalchemy import Row

from graphql_api.context import Context
from graphql_api.db import queries as db
from graphql_api.enums import OPTIONS, TRACKS
from graphql_api.errors import UserError
from graphql_api.pagination import Page, check_first, decode_cursor, encode_cursor
from graphql_api.records import ScorecardRows, TrendData
from graphql_api.resolvers import simulation
from graphql_api.resolvers.hygiene import HygieneFrames, hygiene_report
from graphql_api.resolvers.scorecards import with_children
from graphql_api.resolvers.skilling import Person
from graphql_api.resolvers.skilling import skilling as skilling_report
from scoring.calendar import add_months
from scoring.recommend import Plan, recommend
from scoring.rulebook import RulebookError
from scoring.simulate import QualificationStatus


def check_range(lo: dt.date | None, hi: dt.date | None) -> None:
    if lo is not None and hi is not None and lo > hi:
        raise UserError("from must not be after to.")


async def month_or_latest(ctx: Context, partner_id: str, month: dt.date | None) -> dt.date | None:
    """``month``, else the partner's latest scored month (None: it has no scores)."""
    if month is not None:
        return month
    latest = await ctx.loaders.latest_scorecard.load(partner_id)
    return None if latest is None else latest.month


async def scorecard(
    ctx: Context, info: strawberry.Info, partner_id: str, month: dt.date | None
) -> ScorecardRows | None:
    if month is None:
        row = await ctx.loaders.latest_scorecard.load(partner_id)
    else:
        row = await ctx.loaders.scorecard.load((partner_id, month))
    if row is None:
        return None
    ctx.budget.charge_scorecards(1)
    (card,) = await with_children(ctx, info, [row])
    return card


async def history(
    ctx: Context, info: strawberry.Info, partner_id: str, lo: dt.date | None, hi: dt.date | None
) -> list[ScorecardRows]:
    check_range(lo, hi)
    rows = await ctx.loaders.history.load((partner_id, lo, hi))
    ctx.budget.charge_scorecards(len(rows))
    return await with_children(ctx, info, rows)


async def trend(ctx: Context, partner_id: str, lo: dt.date | None, hi: dt.date | None) -> TrendData:
    check_range(lo, hi)
    return await ctx.loaders.trend.load((partner_id, lo, hi))


async def customers(
    ctx: Context,
    partner_id: str,
    *,
    month: dt.date | None,
    track: str | None,
    option: str | None,
    counted: bool | None,
    eligible: bool | None,
    first: int | None,
    after: str | None,
) -> tuple[Page[Row], dict[str, SeatBand]]:
    """A page of the partner's ``customer_detail`` rows (with the tenant's largest paid seats),
    and each track's seat band."""
    limit = check_first(first, ctx.services.settings.max_page_size)
    cursor = decode_cursor(after, "c", (str, str, str), (None, TRACKS, OPTIONS))
    month = await month_or_latest(ctx, partner_id, month)
    if month is None:  # the partner has no scores
        return Page([], False, after), {}
    flt = db.CustomerFilter(month=month, track=track, option=option, counted=counted, eligible=eligible)
    after_key = tuple(cursor) if cursor else None
    rows = await ctx.loaders.customer_page.load((partner_id, flt, after_key, limit + 1))
    has_next = len(rows) > limit
    rows = rows[:limit]
    ctx.budget.charge_customers(len(rows))
    items = [(encode_cursor("c", r.tenant_id, r.track, r.option), r) for r in rows]

    async def count() -> int:
        return await ctx.loaders.customer_count.load((partner_id, flt))

    return Page(items, has_next, after, count), seat_bands(ctx, month)


@dataclass(frozen=True)
class SeatBand:
    """A track's band of paid seats in the month's rulebook, and whether the track keeps a
    tenant grown past it (docs/scoring-rules-2026.md §3)."""

    label: str  # e.g. "301+" or "11-300"
    seats_max: int | None
    keeps_promoted: bool

    def promoted(self, eligible: bool, max_paid_seats: int | None) -> bool:
        """Eligible only as a promoted tenant: its largest paid seats in M lie above the band,
        which only the promoted-tenant rule admits."""
        return (
            eligible
            and self.keeps_promoted
            and self.seats_max is not None
            and max_paid_seats is not None
            and max_paid_seats > self.seats_max
        )


NO_BAND = SeatBand("", None, False)


def seat_bands(ctx: Context, month: dt.date) -> dict[str, SeatBand]:
    """track -> its band of paid seats in the month's rulebook."""
    try:
        book = ctx.services.rulebooks.for_month(month)
    except RulebookError:
        return {}
    return {
        t.name: SeatBand(
            f"{t.seats_min}+" if t.seats_max is None else f"{t.seats_min}-{t.seats_max}", t.seats_max, t.keep_promoted
        )
        for t in book.tracks
    }


async def holdings(ctx: Context, month: dt.date, partner_id: str, tenant_id: str, option: str) -> list[Row]:
    """The workloads the partner holds on a customer under an option (``holding`` rows)."""
    return await ctx.loaders.holdings.load((month, partner_id, tenant_id, option))


async def status(ctx: Context, partner_id: str, month: dt.date | None) -> tuple[dt.date, QualificationStatus] | None:
    month = await month_or_latest(ctx, partner_id, month)
    if month is None:
        return None
    rows = await ctx.loaders.history.load((partner_id, add_months(month, -5), month))
    return month, simulation.qualification_status(rows, partner_id, month)


async def warnings(ctx: Context, partner_id: str, month: dt.date | None) -> tuple[dt.date, simulation.Warnings] | None:
    month = await month_or_latest(ctx, partner_id, month)
    if month is None:
        return None
    row = await ctx.loaders.scorecard.load((partner_id, month))
    if row is None:
        return None
    if row.attained:  # the at-risk search rescores the month once per held customer
        ctx.budget.charge_rescorings(simulation.AT_RISK_LIMIT)
    ctx.uncacheable()  # reads the data folder, which the cache's version does not cover
    return month, await asyncio.to_thread(simulation.build_warnings, ctx, partner_id, month, row.attained)


async def recommendations(ctx: Context, partner_id: str, month: dt.date | None) -> list[tuple[str, Plan]] | None:
    """Per track of the month's rulebook: the cheapest plan that reaches the designation."""
    month = await month_or_latest(ctx, partner_id, month)
    if month is None:
        return None
    rows = await ctx.db.run(db.metrics_by_key, [(partner_id, month)])
    if not rows:
        return None
    try:
        book = ctx.services.rulebooks.for_month(month)
    except RulebookError as exc:
        raise UserError(str(exc)) from exc
    out = []
    for track in book.tracks:
        measures = {(r.metric, r.option): int(r.value) for r in rows if r.track == track.name}
        out.append((track.name, recommend(book, track.name, measures)))
    return out


async def skilling(ctx: Context, partner_id: str, month: dt.date | None) -> tuple[dt.date, list[Person]] | None:
    month = await month_or_latest(ctx, partner_id, month)
    if month is None:
        return None
    return month, await skilling_report(ctx, partner_id, month)


async def hygiene(ctx: Context, partner_id: str, month: dt.date | None) -> tuple[dt.date, HygieneFrames] | None:
    month = await month_or_latest(ctx, partner_id, month)
    if month is None:
        return None
    found = await hygiene_report(ctx, partner_id, month)
    return None if found is None else (month, found)
