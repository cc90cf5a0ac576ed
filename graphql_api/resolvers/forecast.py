"""The projection served: a partner's projected scorecards (``Partner.forecast``) and the first
projected month in which its qualification window lapses (``QualificationStatus``), from
``scoring.forecast`` over the partner's slice of the data folder (docs/architecture.md,
"The projection")."""

from __future__ import annotations

import asyncio
import datetime as dt

import polars as pl

from graphql_api.context import Context
from graphql_api.errors import UserError
from graphql_api.records import ScorecardRows
from graphql_api.resolvers import simulation
from graphql_api.resolvers.partner import month_or_latest
from scoring import forecast as fc
from scoring import simulate as sim
from scoring.calendar import add_months
from scoring.engine import ScoreResult
from scoring.frames import DESIGNATIONS_SCHEMA, InputError
from scoring.rulebook import RulebookError

MAX_MONTHS = fc.MAX_MONTHS
LAPSE_MONTHS = 12  # how far QualificationStatus looks for a lapse
# A projection of up to 12 months reduces at most 24 snapshots and scores 12 months for one
# partner: about what a simulation costs (twice 13 snapshots, 2 months), so it is charged as one.
PROJECTION_COST = 1


def check_months(months: int) -> None:
    if not 1 <= months <= MAX_MONTHS:
        raise UserError(f"months must be between 1 and {MAX_MONTHS}, not {months}.")


def check_from(start: dt.date) -> None:
    """A month whose window (from-11) and projection (from+12) are dates."""
    try:
        add_months(start, -12)
        add_months(start, MAX_MONTHS)
    except (ValueError, OverflowError):
        raise UserError(f"from is out of range: {start:%Y-%m}.") from None


def project(ctx: Context, partner_id: str, start: dt.date, months: int) -> ScoreResult:
    """The partner's projected results of start+1 .. start+months (blocking: run in a thread)."""
    check_from(start)
    try:
        inputs = sim.load_partner_inputs(
            ctx.services.certifications.data_dir, partner_id, start, months=fc.snapshots_needed(start)
        )
        return fc.forecast(
            rulebooks=ctx.services.rulebooks,
            snapshots=inputs.snapshots,
            certifications=inputs.certifications,
            partner_ids=[partner_id],
            from_month=start,
            months=months,
        )
    except (InputError, OSError, RulebookError) as exc:
        simulation.log.error("forecast data unavailable: %s", exc)
        raise UserError(
            f"The forecast is unavailable: the input data of the 12 months up to {start:%Y-%m} cannot be read.",
            code="DATA_UNAVAILABLE",
        ) from None


def _of_month(result: ScoreResult, month: dt.date) -> ScoreResult:
    at = pl.col("month") == month
    return ScoreResult(**{name: frame.filter(at) for name, frame in result.frames().items()})


def build_forecast(ctx: Context, partner_id: str, start: dt.date, months: int) -> list[ScorecardRows]:
    result = project(ctx, partner_id, start, months)
    return [
        simulation.scorecard_rows(ctx, _of_month(result, m), partner_id) for m in fc.projected_months(start, months)
    ]


async def forecast(ctx: Context, partner_id: str, start: dt.date | None, months: int) -> list[ScorecardRows]:
    """Projected scorecards of the months after ``start`` (the partner's latest scored month when
    None); empty when the partner has no scored month. The caller has checked readability."""
    check_months(months)
    start = await month_or_latest(ctx, partner_id, start)
    if start is None:
        return []
    ctx.budget.charge_scorecards(months)
    ctx.budget.charge_rescorings(PROJECTION_COST)
    ctx.uncacheable()  # reads the data folder, which the cache's version does not cover
    return await asyncio.to_thread(build_forecast, ctx, partner_id, start, months)


def _lapse(ctx: Context, partner_id: str, month: dt.date, history: pl.DataFrame) -> dt.date | None:
    projected = project(ctx, partner_id, month, LAPSE_MONTHS).designations
    return fc.first_lapse_month(history, projected, partner_id, month)


async def lapse_month(ctx: Context, partner_id: str, month: dt.date) -> dt.date | None:
    """The first month after ``month`` whose window would hold no attained month, projecting
    from ``month`` (None: none within 12 months)."""
    rows = await ctx.loaders.history.load((partner_id, add_months(month, -(fc.WINDOW - 1)), month))
    cols = ("month", "partner_id", "attained", "best_track", "score")
    history = pl.DataFrame(
        [tuple(getattr(r, c) for c in cols) for r in rows],
        schema={c: DESIGNATIONS_SCHEMA[c] for c in cols},
        orient="row",
    )
    ctx.budget.charge_rescorings(PROJECTION_COST)
    ctx.uncacheable()
    return await asyncio.to_thread(_lapse, ctx, partner_id, month, history)
