"""Deployments: customers deployed now, minus those deployed a year ago, minus those already
deployed when they were associated within the year (the exclusion).

Rule: docs/scoring-rules.md §5 (Customer success: deployments); points per option.
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from scoring.facts import TENANT_KEYS, USAGE_KEYS, association_month
from scoring.points import by_option
from scoring.rulebook import Rulebook, Track

NAME = "DEPLOYMENTS"

YEAR_AGO = pl.col("deployed").alias("deployed_year_ago")
"""The year-ago side, of a customer row counted in M-12: whether it was deployed then."""


def deployed_test(book: Rulebook, paid: str, active: str) -> pl.Expr:
    """Active users reach the rulebook's share of paid seats (more than zero seats)."""
    ratio = book.deployment_active_ratio
    return (pl.col(paid) > 0) & (pl.col(active) * ratio.denominator >= pl.col(paid) * ratio.numerator)


def deployed(book: Rulebook) -> pl.Expr:
    """A customer row (TENANT_KEYS, with its held workloads' sums) is deployed: counted and
    passing the test."""
    return (pl.col("counted") & deployed_test(book, "paid_seats", "active_users")).alias("deployed")


def claims(held_now: pl.LazyFrame, customers_now: pl.LazyFrame, since: dt.date) -> pl.LazyFrame:
    """The held workloads of customers deployed now whose association falls in a month after
    ``since`` (M-12): TENANT_KEYS + workload + association_month."""
    return held_now.select(*TENANT_KEYS, "workload").join(
        customers_now.filter(pl.col("deployed"))
        .select(*TENANT_KEYS, association_month())
        .filter(pl.col("association_month") > since),
        on=TENANT_KEYS,
        how="inner",
    )


def deployed_at_claim(book: Rulebook, claimed: pl.DataFrame, then: pl.DataFrame) -> pl.LazyFrame:
    """TENANT_KEYS + deployed_at_claim: the ``claims`` workloads already passed the test in the
    association month (``then``: ``facts.usage_at_association``)."""
    return (
        claimed.lazy()
        .join(then.lazy(), on=["association_month", *USAGE_KEYS], how="left")
        .group_by(TENANT_KEYS)
        .agg(pl.col("paid_then").sum(), pl.col("active_then").sum())
        .select(*TENANT_KEYS, deployed_test(book, "paid_then", "active_then").alias("deployed_at_claim"))
    )


EXCLUDED = (pl.col("deployed") & ~pl.col("deployed_year_ago") & pl.col("deployed_at_claim")).alias("excluded")
"""Deployed now, not a year ago, and already deployed at association: not the partner's doing."""


def rows(book: Rulebook, track: Track, customers: pl.LazyFrame, persons: pl.LazyFrame) -> pl.LazyFrame:
    """(month, partner_id, option, value, current, year_ago, adjustment, units) of the track."""
    return by_option(
        book,
        track,
        track.deployments,
        customers,
        current=pl.col("deployed").sum().cast(pl.Int64),
        year_ago=pl.col("deployed_year_ago").sum().cast(pl.Int64),
        adjustment=pl.col("excluded").sum().cast(pl.Int64),
    )
