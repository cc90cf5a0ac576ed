"""A track's customers in a scored month M: per (partner, tenant, option), what every metric
counts (the ``customer_details`` rows), from the snapshot of M, the track's facts of M-12 and
the usage of M-11..M for the rules that look at usage when a customer was associated.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import polars as pl

from scoring.calendar import add_months
from scoring.facts import (
    TENANT_KEYS,
    USAGE_KEYS,
    SnapshotFacts,
    UsageAt,
    held,
    per_tenant,
    track_dtype,
    usage_at_association,
)
from scoring.metrics import deployments, net_customer_adds, usage_growth
from scoring.rulebook import Rulebook


@dataclass
class YearAgo:
    """One track's facts of month M-12, for the month M that compares with them."""

    counted: pl.DataFrame  # TENANT_KEYS + each metric's year-ago side, for the customers counted then
    workloads: pl.DataFrame  # TENANT_KEYS + workload: the counted held workloads


def year_ago_facts(book: Rulebook, track_name: str, snapshot: SnapshotFacts) -> YearAgo:
    counted = (
        per_tenant(book, track_name, snapshot)
        .with_columns(deployments.deployed(book))
        .filter(pl.col("counted"))
        .select(*TENANT_KEYS, usage_growth.YEAR_AGO, deployments.YEAR_AGO, net_customer_adds.YEAR_AGO)
    )
    workloads = usage_growth.counted_workloads(book, track_name, snapshot)
    counted_df, workloads_df = pl.collect_all([counted, workloads])
    return YearAgo(counted_df, workloads_df)


def tenant_facts(
    book: Rulebook,
    track_name: str,
    snapshot: SnapshotFacts,
    year_ago: YearAgo,
    window: dict[dt.date, UsageAt],
) -> pl.DataFrame:
    """Per (month, partner, tenant, option) of one track: everything the metrics count.

    ``snapshot`` is the scored month M's snapshot, ``year_ago`` the track's facts of M-12 and
    ``window`` the snapshots of M-11..M (for usage at association). Rows are tenants held
    under an option of the track in M or in M-12.
    """
    month = snapshot.month
    since = add_months(month, -12)
    held_now = held(book, track_name, snapshot)
    current = per_tenant(book, track_name, snapshot).with_columns(deployments.deployed(book))
    new, claimed = pl.collect_all(
        [
            usage_growth.new_workloads(held_now, year_ago.workloads, since),
            deployments.claims(held_now, current, since),
        ]
    )
    lookup = ["association_month", *USAGE_KEYS]
    then = usage_at_association(window, pl.concat([new.select(lookup), claimed.select(lookup)]))
    eligible_now = (
        snapshot.eligibility.lazy()
        .filter(pl.col("track") == track_name)
        .select("tenant_id", pl.lit(True).alias("eligible"))
    )
    return (
        current.join(year_ago.counted.lazy(), on=TENANT_KEYS, how="full", coalesce=True)
        .join(usage_growth.baseline(new, then), on=TENANT_KEYS, how="left")
        .join(deployments.deployed_at_claim(book, claimed, then), on=TENANT_KEYS, how="left")
        .join(eligible_now, on="tenant_id", how="left")
        .with_columns(
            pl.col("workloads", "paid_seats", "active_users", "active_users_year_ago", "baseline_users").fill_null(0),
            pl.col(
                "eligible", "counted", "deployed", "counted_year_ago", "deployed_year_ago", "deployed_at_claim"
            ).fill_null(False),
        )
        .with_columns(
            deployments.EXCLUDED,
            pl.lit(track_name, dtype=track_dtype(book)).alias("track"),
            pl.lit(month, dtype=pl.Date).alias("month"),
        )
        .drop("deployed_at_claim")
        .collect()
    )
