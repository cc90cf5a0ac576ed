"""The assets' keys and specs: the two input files, the monthly snapshot and the six result tables
(partitioned by month, with the M-12 lookback on the snapshot)."""

from __future__ import annotations

import dagster as dg

from orchestration.partitions import LOOKBACK
from storage import results as store

INPUT_GROUP = "inputs"
RESULT_GROUP = "scores"

SNAPSHOT = dg.AssetKey("monthly_snapshot")
PARTNERS = dg.AssetKey("partners")
CERTIFICATIONS = dg.AssetKey("certifications")
DESIGNATIONS = dg.AssetKey("designations")

SOURCES = [
    dg.AssetSpec(
        PARTNERS,
        group_name=INPUT_GROUP,
        description="partners.csv|parquet of the data folder (PCS_DATA_DIR): the partner registry.",
        kinds={"csv"},
    ),
    dg.AssetSpec(
        CERTIFICATIONS,
        group_name=INPUT_GROUP,
        description=(
            "certifications.csv|parquet of the data folder (PCS_DATA_DIR). The "
            "certifications_sensor rescores the latest scored month when it changes."
        ),
        kinds={"csv"},
    ),
]
"""The two unpartitioned input files, as external assets (lineage only)."""

# Every dependency on monthly_snapshot has the same mapping (Dagster keeps one per upstream key
# and multi-asset): the engine computes holdings and eligibility for M-12..M too, and keeps M.
_SNAPSHOTS = dg.AssetDep(SNAPSHOT, partition_mapping=LOOKBACK)
_RESULT_DEPS: dict[str, list] = {
    "eligible_tenants": [_SNAPSHOTS],
    "holdings": [_SNAPSHOTS],
    "customer_details": [_SNAPSHOTS, "eligible_tenants", "holdings"],
    "metric_points": ["customer_details", CERTIFICATIONS],
    "path_scores": ["metric_points"],
    "designations": ["path_scores", PARTNERS],
}
_RESULT_DESCRIPTIONS = {
    "eligible_tenants": "Tenants eligible for each track in the month (seat bands).",
    "holdings": "Eligible workloads each partner holds per tenant and association option.",
    "customer_details": "Per partner, tenant, track and option: what counts in M and M-12.",
    "metric_points": "The five metrics per partner, track and option, with their points.",
    "path_scores": "Each partner's total per track, and whether the track qualifies.",
    "designations": "Each partner's designation: attained, best track, score.",
}
assert set(_RESULT_DEPS) == set(store.RESULTS), "one asset per result table"
RESULT_ORDER = list(_RESULT_DEPS)
"""The result assets in dependency order (a multi-asset yields its results in that order)."""
RESULT_KEYS = {dg.AssetKey(n) for n in RESULT_ORDER}

SNAPSHOT_SPEC = dg.AssetSpec(
    SNAPSHOT,
    group_name=INPUT_GROUP,
    description=(
        "The month's input snapshot (months/YYYY-MM: workload_usage, associations), read and "
        "validated. Materialized with the results that read it, or alone (validation only)."
    ),
    kinds={"polars"},
)
RESULT_SPECS = [
    dg.AssetSpec(
        name,
        group_name=RESULT_GROUP,
        deps=_RESULT_DEPS[name],
        description=_RESULT_DESCRIPTIONS[name]
        + f" Table `{store.RESULTS[name].table.name}` of the results database (PCS_DATABASE_URL).",
        kinds={"polars", "sql"},
        metadata={"dagster/table_name": store.RESULTS[name].table.name},
    )
    for name in RESULT_ORDER
]
