"""``Partner.scoreChange``: the attribution of a partner's change from M-1 to M
(``scoring.attribution``), computed from the data folder and checked against the stored scores
of both months."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging

from graphql_api.context import Context
from graphql_api.db import queries as db
from graphql_api.errors import UserError
from graphql_api.resolvers.partner import month_or_latest
from scoring import attribution
from scoring.calendar import add_months
from scoring.frames import InputError
from scoring.rulebook import RulebookError

log = logging.getLogger("graphql_api")


def _unavailable(exc: Exception) -> UserError:
    log.error("score change data unavailable: %s", exc)
    return UserError(
        "The score change is unavailable: the input data of those months cannot be read.", code="DATA_UNAVAILABLE"
    )


def build(ctx: Context, partner_id: str, month: dt.date) -> attribution.ScoreChange:
    """Read the partner's slice of M-13..M from the data folder and attribute (blocking)."""
    try:
        certs = ctx.services.certifications.for_partner(partner_id)
        inputs = attribution.load_partner_inputs(
            ctx.services.certifications.data_dir, partner_id, month, certifications=certs
        )
        return attribution.score_change(
            rulebooks=ctx.services.rulebooks,
            partner_id=partner_id,
            month=month,
            snapshots=inputs.snapshots,
            certifications=inputs.certifications,
        )
    except (InputError, RulebookError, OSError) as exc:
        raise _unavailable(exc) from None


def _stored_differs(change: attribution.ScoreChange, rows: list, cards: dict[dt.date, object]) -> bool:
    """Whether the stored scores of the two months differ from the attribution's (the data folder
    changed since they were scored)."""
    months = {change.previous_month: "before", change.month: "after"}
    computed = {}
    for track in change.tracks:
        for metric in track.metrics:
            for o in metric.options:
                computed[(change.previous_month, track.track, metric.metric, o.option)] = (
                    o.measure_before,
                    o.points_before,
                )
                computed[(change.month, track.track, metric.metric, o.option)] = (o.measure_after, o.points_after)
    stored = {(r.month, r.track, r.metric, r.option): (int(r.value), float(r.points)) for r in rows}
    scores = {change.previous_month: change.score_before, change.month: change.score_after}
    books = {change.previous_month: change.rulebook_before, change.month: change.rulebook_after}
    return (
        stored != computed
        or any(getattr(cards[m], "score", None) != scores[m] for m in months)
        or any(getattr(cards[m], "rulebook_id", None) != books[m] for m in months)
    )


async def score_change(ctx: Context, partner_id: str, month: dt.date | None) -> attribution.ScoreChange | None:
    """The attribution of ``month`` (the partner's latest scored month when None); None when the
    partner is not readable, or ``month`` or the month before it is not scored."""
    if "\x00" in partner_id or not ctx.viewer.can_read(partner_id):
        return None
    month = await month_or_latest(ctx, partner_id, month)
    if month is None:
        return None
    prev = add_months(month, -1)
    after, before = await asyncio.gather(
        ctx.loaders.scorecard.load((partner_id, month)), ctx.loaders.scorecard.load((partner_id, prev))
    )
    if after is None or before is None:
        return None
    rows = await ctx.db.run(db.metrics_by_key, [(partner_id, prev), (partner_id, month)])
    ctx.budget.charge_rescorings(1)
    ctx.uncacheable()  # reads the data folder, which the cache's version does not cover
    change = await asyncio.to_thread(build, ctx, partner_id, month)
    if _stored_differs(change, list(rows), {prev: before, month: after}):
        raise UserError(
            f"The data folder no longer gives the stored scores of {prev:%Y-%m} and {month:%Y-%m}: "
            "rescore them to explain the change.",
            code="DATA_CHANGED",
        )
    return change
