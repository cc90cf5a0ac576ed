"""Net customer adds: the tenants a partner serves in a track now, minus those a year ago.

Rule: docs/scoring-rules.md §2 (Performance: net customer adds).
Measure per partner and track (all options pooled); no baseline, no exclusion.
"""

from __future__ import annotations

import polars as pl

from scoring.points import capped
from scoring.rulebook import OPTION_ALL, Rulebook, Track

NAME = "NET_CUSTOMER_ADDS"

YEAR_AGO = pl.lit(True).alias("counted_year_ago")
"""The year-ago side, of a customer row counted in M-12: it was served then."""


def rows(book: Rulebook, track: Track, customers: pl.LazyFrame, persons: pl.LazyFrame) -> pl.LazyFrame:
    """(month, partner_id, option, value, current, year_ago, adjustment, units) of the track."""
    rule = track.net_customer_adds
    served = customers.group_by("month", "partner_id", "tenant_id").agg(
        pl.col("counted").any(), pl.col("counted_year_ago").any()
    )
    net = pl.col("current") - pl.col("year_ago")
    return (
        served.group_by("month", "partner_id")
        .agg(
            pl.col("counted").sum().cast(pl.Int64).alias("current"),
            pl.col("counted_year_ago").sum().cast(pl.Int64).alias("year_ago"),
        )
        .select(
            "month",
            "partner_id",
            pl.lit(OPTION_ALL).alias("option"),
            net.alias("value"),
            "current",
            "year_ago",
            pl.lit(0, pl.Int64).alias("adjustment"),
            capped(net, book.units(rule.per_unit), book.units(rule.max_points)).alias("units"),
        )
    )
