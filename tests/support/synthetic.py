"""Synthetic result frames in the frames.py schemas, for tests and benchmarks (not real scores).

Deterministic for a seed. Ids include awkward text (commas, quotes, non-ASCII) and values
include awkward numbers (repeating binary fractions, int64 extremes), so round trips through
CSV/COPY and SQLite are really exercised. Scale: one month has about
``partners * (10 * tenants_per_partner + 17)`` rows.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

import polars as pl

from scoring import frames as F
from scoring.metrics import METRICS
from scoring.rulebook import OPTION_ALL, load_rulebooks

RULEBOOK = load_rulebooks().versions[-1]
TRACK_OPTIONS = {t.name: t.options for t in RULEBOOK.tracks}
TRACKS = tuple(TRACK_OPTIONS)
# metrics scored per option (usage growth, deployments), and those scored once (option ALL)
METRICS_OPT = tuple(m for m in METRICS if METRICS[m].options(RULEBOOK.tracks[0]) != (OPTION_ALL,))
METRICS_ALL = tuple(m for m in METRICS if m not in METRICS_OPT)
WORKLOADS = ("Exchange Online", "Microsoft Teams", "SharePoint, OneDrive")  # awkward text, not rulebook names
SPECIAL_IDS = ('P,"quoted"', "P-é-ü", "P space")


def _ids(prefix: str, n: int, special: Iterable[str] = ()) -> pl.DataFrame:
    ids = list(special) + [f"{prefix}{i:06d}" for i in range(max(n - len(list(special)), 0))]
    return pl.DataFrame({"idx": range(len(ids)), "id": ids}, schema={"idx": pl.Int64, "id": pl.String})


def _h(seed: int, *cols: str) -> pl.Expr:
    return pl.struct(list(cols)).hash(seed).cast(pl.Int64, wrap_numerical=True).abs()


def synthetic_results(
    months: Iterable[dt.date],
    *,
    partners: int = 20,
    tenants: int = 60,
    tenants_per_partner: int = 5,
    seed: int = 0,
    rulebook_id: str = "modern-work-synthetic",
) -> dict[str, pl.DataFrame]:
    """The six result frames for ``months`` (first days of months), with unique natural keys."""
    months = sorted(set(months))
    m = pl.DataFrame({"month": months}, schema={"month": pl.Date})
    p = _ids("P", partners, SPECIAL_IDS).rename({"idx": "p", "id": "partner_id"})
    t = _ids("T", tenants, ("T,1", 'T"2')).rename({"idx": "t", "id": "tenant_id"})
    n_t = t.height
    k = min(tenants_per_partner, n_t)
    j = pl.DataFrame({"j": range(k)}, schema={"j": pl.Int64})
    opts = pl.DataFrame(
        [(tr, o) for tr, os in TRACK_OPTIONS.items() for o in os],
        schema={"track": pl.String, "option": pl.String},
        orient="row",
    )
    mp_keys = pl.DataFrame(
        [(tr, me, OPTION_ALL) for tr in TRACK_OPTIONS for me in METRICS_ALL]
        + [(tr, me, o) for tr, os in TRACK_OPTIONS.items() for me in METRICS_OPT for o in os],
        schema={"track": pl.String, "metric": pl.String, "option": pl.String},
        orient="row",
    )
    tracks = pl.DataFrame({"track": list(TRACKS)})
    pm = m.join(p, how="cross")
    # each partner holds k tenants, distinct per partner: (p * 7 + j) mod n_t
    pt = pm.join(j, how="cross").with_columns(t=(pl.col("p") * 7 + pl.col("j")) % n_t).join(t, on="t")

    eligible = (
        m.join(t, how="cross")
        .join(tracks, how="cross")
        .filter(_h(seed, "month", "tenant_id", "track") % 4 != 0)
        .select(
            "month",
            "tenant_id",
            "track",
            max_paid_seats=_h(seed + 1, "month", "tenant_id", "track") % 5000,
        )
    )
    holdings = (
        pt.join(pl.DataFrame({"option": list(RULEBOOK.options)}), how="cross")
        .join(pl.DataFrame({"workload": list(WORKLOADS)}), how="cross")
        .filter(_h(seed + 2, "month", "partner_id", "tenant_id", "option", "workload") % 3 != 0)
        .with_columns(h=_h(seed + 3, "month", "partner_id", "tenant_id", "option", "workload"))
        .select(
            "month",
            "partner_id",
            "tenant_id",
            "option",
            "workload",
            associated_on=pl.date(2020, 1, 1) + pl.duration(days=pl.col("h") % 1500),
            paid_seats=pl.col("h") % 2000,
            active_users=pl.col("h") % 1700,
        )
    )
    metric_points = (
        pm.join(mp_keys, how="cross")
        .with_columns(h=_h(seed + 4, "month", "partner_id", "track", "metric", "option"))
        .select(
            "month",
            "partner_id",
            "track",
            "metric",
            "option",
            value=pl.col("h") % 201 - 100,
            current=pl.when(pl.col("p") == 0).then(pl.lit(2**63 - 1)).otherwise(pl.col("h") % 997),
            year_ago=pl.when(pl.col("p") == 0).then(pl.lit(-(2**63))).otherwise(pl.col("h") % 991),
            adjustment=pl.col("h") % 13,
            points=(pl.col("h") % 1_000_003) / 7.0 * 1e-4,
            max_points=pl.lit(20.0),
            is_winner=pl.col("h") % 2 == 0,
        )
    )
    path_scores = (
        pm.join(tracks, how="cross")
        .with_columns(h=_h(seed + 5, "month", "partner_id", "track"))
        .select(
            "month",
            "partner_id",
            "track",
            total=(pl.col("h") % 1_000_003) / 3.0 * 1e-4,
            qualifies=pl.col("h") % 3 == 0,
            metrics_at_minimum=pl.col("h") % 6,
        )
    )
    designations = pm.with_columns(h=_h(seed + 6, "month", "partner_id")).select(
        "month",
        "partner_id",
        attained=pl.col("h") % 4 == 0,
        best_track=(pl.col("h") % len(TRACKS)).replace_strict(dict(enumerate(TRACKS)), return_dtype=pl.String),
        score=(pl.col("h") % 1_000_003) / 9.0 * 1e-4,
        rulebook_id=pl.lit(rulebook_id),
    )
    customer_details = (
        pt.join(opts, how="cross")
        .with_columns(h=_h(seed + 7, "month", "partner_id", "tenant_id", "track", "option"))
        .with_columns(workloads=pl.col("h") % 4)
        .select(
            "month",
            "partner_id",
            "tenant_id",
            "track",
            "option",
            eligible=pl.col("h") % 5 != 0,
            workloads="workloads",
            associated_on=pl.when(pl.col("workloads") > 0).then(
                pl.date(2021, 1, 1) + pl.duration(days=pl.col("h") % 1000)
            ),
            paid_seats=pl.col("h") % 3000,
            active_users=pl.col("h") % 2500,
            counted=pl.col("h") % 2 == 0,
            counted_year_ago=pl.col("h") % 3 == 0,
            deployed=pl.col("h") % 5 == 0,
            deployed_year_ago=pl.col("h") % 7 == 0,
            excluded=pl.col("h") % 11 == 0,
            baseline_users=pl.col("h") % 100,
        )
    )
    out = {
        "eligible_tenants": (eligible, F.ELIGIBLE_TENANTS_SCHEMA),
        "holdings": (holdings, F.HOLDINGS_SCHEMA),
        "metric_points": (metric_points, F.METRIC_POINTS_SCHEMA),
        "path_scores": (path_scores, F.PATH_SCORES_SCHEMA),
        "designations": (designations, F.DESIGNATIONS_SCHEMA),
        "customer_details": (customer_details, F.CUSTOMER_DETAILS_SCHEMA),
    }
    return {name: df.select(pl.col(c).cast(d) for c, d in schema.items()) for name, (df, schema) in out.items()}


def synthetic_partners(frames: dict[str, pl.DataFrame]) -> pl.DataFrame:
    """A registry (PARTNERS_SCHEMA) naming every partner of ``frames`` but the last one."""
    ids = frames["designations"]["partner_id"].unique().sort()
    ids = ids.head(max(ids.len() - 1, 0))
    return pl.DataFrame(
        {"partner_id": ids, "partner_name": [f'Partner {i}, Ltd. "{i[-3:]}" é' for i in ids]},
        schema=F.PARTNERS_SCHEMA,
    )
