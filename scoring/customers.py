"""A track's customers in a scored month M: per (partner, tenant, option), what every metric
counts (the ``customer_details`` rows), from the snapshot of M, the track's facts of M-12 and
the usage of M-11..M for the rules that look at usage when a customer was associated; and the
promoted tenant of a track that keeps them (docs/scoring-rules-2026.md §3), for M only.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass

import polars as pl

from scoring.calendar import add_months
from scoring.facts import (
    TENANT_KEYS,
    USAGE_KEYS,
    SnapshotFacts,
    UsageAt,
    eligible_col,
    held,
    per_tenant,
    track_dtype,
    usage_at_association,
)
from scoring.frames import ELIGIBLE_TENANTS_SCHEMA
from scoring.metrics import deployments, net_customer_adds, usage_growth
from scoring.rulebook import Rulebook


@dataclass
class YearAgo:
    """One track's facts of month M-12, for the month M that compares with them."""

    counted: pl.DataFrame  # TENANT_KEYS + each metric's year-ago side, for the customers counted then
    workloads: pl.DataFrame  # TENANT_KEYS + workload: the counted held workloads
    # tenant_id of the tenants eligible for the track then by their own seats, kept only for a
    # track that keeps promoted tenants
    band: pl.DataFrame | None = None


def year_ago_facts(book: Rulebook, track_name: str, snapshot: SnapshotFacts) -> YearAgo:
    counted = (
        per_tenant(book, track_name, snapshot)
        .with_columns(deployments.deployed(book))
        .filter(pl.col("counted"))
        .select(*TENANT_KEYS, usage_growth.YEAR_AGO, deployments.YEAR_AGO, net_customer_adds.YEAR_AGO)
    )
    workloads = usage_growth.counted_workloads(book, track_name, snapshot)
    counted_df, workloads_df = pl.collect_all([counted, workloads])
    band = None
    if book.track(track_name).keep_promoted:
        band = snapshot.eligibility.filter(pl.col("track") == track_name).select("tenant_id")
    return YearAgo(counted_df, workloads_df, band)


def promoted(book: Rulebook, snapshot: SnapshotFacts, year_ago: dict[str, YearAgo]) -> SnapshotFacts:
    """The scored month's snapshot with the promoted tenants of each track that keeps them made
    eligible for it (docs/scoring-rules-2026.md §3): a tenant with a workload above the track's
    seats in M that was in the track's seats in M-12 (``YearAgo.band``). Only the scored month
    is so classified; the snapshot as the year-ago side or an association month is not.
    Their ``max_paid_seats`` is the largest paid_seats among their eligible workloads in M."""
    added: dict[str, pl.DataFrame] = {}
    for t in book.tracks:
        band = year_ago[t.name].band
        if not t.keep_promoted or band is None or t.seats_max is None:
            continue
        already = snapshot.eligibility.lazy().filter(pl.col("track") == t.name).select("tenant_id")
        added[t.name] = (
            snapshot.usage_at.usage.lazy()
            .filter(pl.col("paid_seats") > t.seats_max)
            .group_by("month", "tenant_id")
            .agg(pl.col("paid_seats").max().alias("max_paid_seats"))
            .join(band.lazy(), on="tenant_id", how="semi")
            .join(already, on="tenant_id", how="anti")
            .with_columns(pl.lit(t.name, dtype=track_dtype(book)).alias("track"))
            .select(list(ELIGIBLE_TENANTS_SCHEMA))
            .collect()
        )
    added = {name: frame for name, frame in added.items() if frame.height}
    if not added:
        return snapshot
    eligibility = pl.concat([snapshot.eligibility, *added.values()])
    tenants = snapshot.tenants.with_columns(
        (pl.col(eligible_col(name)) | pl.col("tenant_id").is_in(frame.get_column("tenant_id").implode())).alias(
            eligible_col(name)
        )
        for name, frame in added.items()
    )
    return dataclasses.replace(snapshot, eligibility=eligibility, tenants=tenants)


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
