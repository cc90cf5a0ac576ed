"""Customer and skilling hygiene of a partner's month (``scoring.hygiene``): the stored customer
and metric rows, the partner's slice of the month's snapshot (the process's snapshot cache) and
the certifications file."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from dataclasses import dataclass

import polars as pl

from graphql_api.context import Context
from graphql_api.db import queries as db
from graphql_api.errors import UserError
from scoring import hygiene, simulate
from scoring.frames import CUSTOMER_DETAILS_SCHEMA, METRIC_POINTS_SCHEMA, InputError
from scoring.rulebook import RulebookError

log = logging.getLogger("graphql_api")


@dataclass(frozen=True)
class HygieneFrames:
    other_option: pl.DataFrame  # hygiene.OTHER_OPTION_SCHEMA
    near_band: pl.DataFrame  # hygiene.NEAR_BAND_SCHEMA
    stops: pl.DataFrame  # hygiene.STOP_SCHEMA


def _frame(rows: list, schema: dict) -> pl.DataFrame:
    return pl.DataFrame([tuple(getattr(r, c) for c in schema) for r in rows], schema=schema, orient="row")


def _build(ctx: Context, partner_id: str, month: dt.date, customers: list, metrics: list) -> HygieneFrames:
    data_dir = ctx.services.certifications.data_dir
    try:
        book = ctx.services.rulebooks.for_month(month)
        inputs = simulate.load_partner_inputs(data_dir, partner_id, month, months=[month])
        certs = ctx.services.certifications.for_partner(partner_id)
    except (InputError, RulebookError, OSError) as exc:
        log.error("hygiene report unavailable: %s", exc)
        raise UserError(
            "The hygiene report is unavailable: the input data of that month cannot be read.", code="DATA_UNAVAILABLE"
        ) from None
    return HygieneFrames(
        other_option=hygiene.other_option_tenants(
            book, _frame(customers, CUSTOMER_DETAILS_SCHEMA), _frame(metrics, METRIC_POINTS_SCHEMA), partner_id, month
        ),
        near_band=hygiene.near_band_tenants(book, inputs.snapshots.usage, inputs.snapshots.associations, month),
        stops=hygiene.certifications_by_stop_month(book, certs, partner_id, month),
    )


async def hygiene_report(ctx: Context, partner_id: str, month: dt.date) -> HygieneFrames | None:
    """None when the partner has no scorecard in ``month``."""
    if await ctx.loaders.scorecard.load((partner_id, month)) is None:
        return None
    customers, metrics = await ctx.db.run(db.customers_and_metrics, partner_id, month)
    ctx.uncacheable()  # reads the data folder, which the cache's version does not cover
    return await asyncio.to_thread(_build, ctx, partner_id, month, customers, metrics)
