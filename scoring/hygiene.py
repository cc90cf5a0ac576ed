"""Customer and skilling hygiene of one partner's month: what a partner could fix by its own
paperwork rather than by new business (docs/architecture.md, "Hygiene").

- ``other_option_tenants``: customers counted under an option of a track that does not win a
  metric, but not under the option that wins it: associated under the winning option too, they
  would count there (usage growth, deployments; net customer adds pools the options).
- ``near_band_tenants``: held customers one seat below a track's band of paid seats.
- ``certifications_by_stop_month``: the counted certifications, each with the first month in
  which it no longer counts (its expiry, or the day after its counts-through date).

All take the frames of ``frames.py`` (the engine's results or the stored rows) and the month's
rulebook.
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from scoring.calendar import add_months, month_end, month_start
from scoring.facts import eligible_usage
from scoring.metrics.certifications import certification_levels, counts_at
from scoring.rulebook import WORKLOAD_METRICS, Rulebook

__all__ = [
    "OTHER_OPTION_SCHEMA",
    "NEAR_BAND_SCHEMA",
    "STOP_SCHEMA",
    "certifications_by_stop_month",
    "near_band_tenants",
    "other_option_tenants",
]

OPTION_METRICS = ("USAGE_GROWTH", "DEPLOYMENTS")  # the metrics whose options compete

OTHER_OPTION_SCHEMA = pl.Schema(
    {
        "tenant_id": pl.String(),
        "track": pl.String(),
        "counted_under": pl.List(pl.String),  # the options it is counted under, in the rulebook's order
        "winning_option": pl.String(),  # the option it is not counted under, which wins the metrics
        "metrics": pl.List(pl.String),  # the metrics that option wins
    }
)

NEAR_BAND_SCHEMA = pl.Schema(
    {
        "tenant_id": pl.String(),
        "track": pl.String(),
        "workload": pl.String(),  # canonical name; the first (by name) when several sit one seat below
        "paid_seats": pl.Int64(),  # the band's lower bound minus one
        "metrics": pl.List(pl.String),  # the metrics whose workload list it would become eligible under
    }
)

STOP_SCHEMA = pl.Schema(
    {
        "person_id": pl.String,
        "certification": pl.String,  # as written in the input
        "earned_on": pl.Date,
        "level": pl.String,
        "stops_in": pl.Date,  # the first month in which it no longer counts
        "reason": pl.String,  # EXPIRES or RETIRES (its counts-through date passes)
        "person_still_counts": pl.Boolean,  # another certification of the level counts in that month
    }
)


def other_option_tenants(
    book: Rulebook, customer_details: pl.DataFrame, metric_points: pl.DataFrame, partner_id: str, month: dt.date
) -> pl.DataFrame:
    """Customers counted under some option of a track but not under the option winning one of
    its usage-growth or deployments metrics (``OTHER_OPTION_SCHEMA``), by tenant and track."""
    month = month_start(month)
    mine = (pl.col("partner_id") == partner_id) & (pl.col("month") == month)
    winners = (
        metric_points.filter(mine & pl.col("is_winner") & pl.col("metric").is_in(OPTION_METRICS))
        .group_by("track", "option")
        .agg(pl.col("metric").sort().alias("metrics"))
        .rename({"option": "winning_option"})
    )
    order = {o: i for t in book.tracks for i, o in enumerate(t.options)}
    counted = (
        customer_details.filter(mine & pl.col("counted"))
        .with_columns(pl.col("option").replace_strict(order, return_dtype=pl.Int64).alias("_order"))
        .sort("_order")
        .group_by("tenant_id", "track")
        .agg(pl.col("option").alias("counted_under"))
    )
    return (
        counted.join(winners, on="track")
        .filter(~pl.col("counted_under").list.contains(pl.col("winning_option")))
        .select(list(OTHER_OPTION_SCHEMA))
        .cast(OTHER_OPTION_SCHEMA)
        .sort("tenant_id", "track", "winning_option")
    )


def near_band_tenants(book: Rulebook, usage: pl.DataFrame, associations: pl.DataFrame, month: dt.date) -> pl.DataFrame:
    """The tenants held in ``month`` (``associations``, one partner's) that are not eligible for
    a track under a metric's workload list but have a workload of it at one seat below the
    track's band (``NEAR_BAND_SCHEMA``)."""
    month = month_start(month)
    held = associations.filter(pl.col("month") == month).select("tenant_id").unique()
    of_month = usage.filter(pl.col("month") == month).join(held, on="tenant_id", how="semi")
    parts = []
    for names in book.workload_lists:
        metrics = [m for m in WORKLOAD_METRICS if set(book.workloads_of(m)) == set(names)]
        rows = eligible_usage(book, of_month, names).with_columns(
            pl.col("tenant_id").cast(pl.String), pl.col("workload").cast(pl.String)
        )
        for t in book.tracks:
            if t.seats_min <= 1:
                continue
            band = pl.col("paid_seats") >= t.seats_min
            if t.seats_max is not None:
                band = band & (pl.col("paid_seats") <= t.seats_max)
            in_band = rows.filter(band).select("tenant_id").unique()
            parts.append(
                rows.filter(pl.col("paid_seats") == t.seats_min - 1)
                .join(in_band, on="tenant_id", how="anti")
                .group_by("tenant_id")
                .agg(pl.col("workload").min(), pl.col("paid_seats").first())
                .with_columns(pl.lit(t.name).alias("track"), pl.lit(metrics, dtype=pl.List(pl.String)).alias("metrics"))
            )
    if not parts:
        return pl.DataFrame(schema=NEAR_BAND_SCHEMA)
    return (
        pl.concat([p.select(list(NEAR_BAND_SCHEMA)) for p in parts])
        .group_by("tenant_id", "track")
        .agg(pl.col("workload").min(), pl.col("paid_seats").first(), pl.col("metrics").explode().unique().sort())
        .select(list(NEAR_BAND_SCHEMA))
        .sort("tenant_id", "track")
    )


def _stop_month(day: pl.Expr) -> pl.Expr:
    """The month containing ``day``."""
    return day.dt.truncate("1mo")


def certifications_by_stop_month(
    book: Rulebook, certifications: pl.DataFrame, partner_id: str, month: dt.date, horizon: int = 12
) -> pl.DataFrame:
    """The partner's certifications that count in ``month`` and stop counting within ``horizon``
    months after it (``STOP_SCHEMA``), by the month they stop. Under ``book`` (the month's
    version): a later version's lists are not foreseen."""
    month = month_start(month)
    end = month_end(month)
    last = month_end(add_months(month, horizon))
    mine = certifications.filter(pl.col("partner_id") == partner_id).with_row_index("_row")
    levels = certification_levels(book, mine, keep=("_row", "certification"))
    counted = levels.filter(counts_at(end))
    expires = _stop_month(pl.col("expires_on"))
    retires = _stop_month(pl.col("counts_through") + pl.duration(days=1))
    stops = counted.with_columns(
        pl.min_horizontal(expires, retires).alias("stops_in"),
        pl.when(retires.is_not_null() & (expires.is_null() | (retires < expires)))
        .then(pl.lit("RETIRES"))
        .otherwise(pl.lit("EXPIRES"))
        .alias("reason"),
    ).filter(pl.col("stops_in").is_not_null() & (pl.col("stops_in") <= last))
    # does the person still count at the level in that month, through another certification?
    still = (
        stops.select("_row", "person_id", "level", "stops_in")
        .join(levels.rename({"_row": "_other"}), on=["person_id", "level"])
        .filter(pl.col("_other") != pl.col("_row"))
        .with_columns(pl.col("stops_in").dt.month_end().alias("_end"))
        .filter(counts_at(pl.col("_end")))
        .select("_row")
        .unique()
        .with_columns(pl.lit(True).alias("person_still_counts"))
    )
    return (
        stops.join(still, on="_row", how="left")
        .with_columns(pl.col("person_still_counts").fill_null(False))
        .select(list(STOP_SCHEMA))
        .sort("stops_in", "person_id", "certification", "earned_on")
    )
