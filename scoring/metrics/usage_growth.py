"""Usage growth: active users of counted customers now, minus a year ago, minus the users
customers newly associated within the year already had at association (the baseline).

Rule: docs/scoring-rules.md §4 (Customer success: usage growth); points per option.
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from scoring.facts import TENANT_KEYS, USAGE_KEYS, SnapshotFacts, association_month, held
from scoring.points import by_option
from scoring.rulebook import Rulebook, Track

NAME = "USAGE_GROWTH"

YEAR_AGO = pl.col("active_users").alias("active_users_year_ago")
"""The year-ago side, of a customer row counted in M-12: its active users then."""


def counted_workloads(book: Rulebook, track_name: str, snapshot: SnapshotFacts) -> pl.LazyFrame:
    """TENANT_KEYS + workload: the held workloads counted in the snapshot (of M-12, for M)."""
    return held(book, track_name, snapshot).filter(pl.col("eligible")).select(*TENANT_KEYS, "workload")


def new_workloads(held_now: pl.LazyFrame, counted_year_ago: pl.DataFrame, since: dt.date) -> pl.LazyFrame:
    """Workloads counted now, associated in a month after ``since`` (M-12), not counted in
    M-12: TENANT_KEYS + workload + association_month. Their users then form the baseline."""
    return (
        held_now.filter(pl.col("eligible"))
        .select(*TENANT_KEYS, "workload", association_month())
        .filter(pl.col("association_month") > since)
        .join(counted_year_ago.lazy(), on=[*TENANT_KEYS, "workload"], how="anti")
    )


def baseline(new: pl.DataFrame, then: pl.DataFrame) -> pl.LazyFrame:
    """TENANT_KEYS + baseline_users: active users of the ``new_workloads`` in their association
    month (``then``: ``facts.usage_at_association``)."""
    return (
        new.lazy()
        .join(then.lazy(), on=["association_month", *USAGE_KEYS], how="left")
        .group_by(TENANT_KEYS)
        .agg(pl.col("active_then").sum().alias("baseline_users"))
    )


def rows(book: Rulebook, track: Track, customers: pl.LazyFrame, persons: pl.LazyFrame) -> pl.LazyFrame:
    """(month, partner_id, option, value, current, year_ago, adjustment, units) of the track."""
    return by_option(
        book,
        track,
        track.usage_growth,
        customers,
        current=pl.col("active_users").filter(pl.col("counted")).sum(),
        year_ago=pl.col("active_users_year_ago").sum(),
        adjustment=pl.col("baseline_users").sum(),
    )
