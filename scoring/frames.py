"""The shapes that pass between ingestion, scoring and storage, and the input error type.

Ingestion produces these frames (validated, typed); the scoring functions consume them and
produce the result frames below; the storage layer writes the result frames as they are.
Months are ``pl.Date`` values on the first day of the month.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import polars as pl

# ---- validated inputs ------------------------------------------------------------------------

PARTNERS_SCHEMA = {"partner_id": pl.String, "partner_name": pl.String}
CERTIFICATIONS_SCHEMA = {
    "partner_id": pl.String,
    "person_id": pl.String,
    "certification": pl.String,  # as written in the input
    "earned_on": pl.Date,
    "expires_on": pl.Date,  # null: no expiry
}
USAGE_SCHEMA = {
    "month": pl.Date,
    "tenant_id": pl.String,
    "workload": pl.String,  # as written in the input
    "paid_seats": pl.Int64,
    "active_users": pl.Int64,
}
ASSOCIATIONS_SCHEMA = {
    "month": pl.Date,
    "partner_id": pl.String,
    "tenant_id": pl.String,
    "workload": pl.String,  # as written in the input
    "association_type": pl.String,  # as the rulebook spells it: CPOR, DPOR, CSP_T1, CSP_T2
    "associated_on": pl.Date,
}


@dataclass
class Snapshots:
    """Monthly snapshots, stacked: the rows of every month in ``months`` (and only those)."""

    months: frozenset[dt.date]
    usage: pl.DataFrame  # USAGE_SCHEMA
    associations: pl.DataFrame  # ASSOCIATIONS_SCHEMA
    warnings: list[str] = field(default_factory=list)


# ---- results ---------------------------------------------------------------------------------

ELIGIBLE_TENANTS_SCHEMA = {
    "month": pl.Date,
    "tenant_id": pl.String,
    "track": pl.String,
    "max_paid_seats": pl.Int64,  # the largest paid_seats among its eligible workloads in the band
}
HOLDINGS_SCHEMA = {
    "month": pl.Date,
    "partner_id": pl.String,
    "tenant_id": pl.String,
    "option": pl.String,  # CPOR, DPOR, CSP
    "workload": pl.String,  # canonical name from the rulebook
    "associated_on": pl.Date,  # earliest of the option's rows for that workload
    "paid_seats": pl.Int64,  # 0 when the workload has no usage row that month
    "active_users": pl.Int64,
}
METRIC_POINTS_SCHEMA = {
    "month": pl.Date,
    "partner_id": pl.String,
    "track": pl.String,
    "metric": pl.String,
    "option": pl.String,  # ALL for net adds and skilling
    "value": pl.Int64,  # net adds, persons, usage growth, net deployments
    "current": pl.Int64,  # C(M), persons, AU(M), D(M)
    "year_ago": pl.Int64,  # C(M-12), 0, AU(M-12), D(M-12)
    "adjustment": pl.Int64,  # 0, 0, baseline users added for new associations, excluded deployments
    "points": pl.Float64,
    "max_points": pl.Float64,
    "is_winner": pl.Boolean,  # the option that gives the metric its points
}
PATH_SCORES_SCHEMA = {
    "month": pl.Date,
    "partner_id": pl.String,
    "track": pl.String,
    "total": pl.Float64,
    "qualifies": pl.Boolean,
    "metrics_at_minimum": pl.Int64,  # how many of the five metrics reach min_metric_points
}
DESIGNATIONS_SCHEMA = {
    "month": pl.Date,
    "partner_id": pl.String,
    "attained": pl.Boolean,
    "best_track": pl.String,
    "score": pl.Float64,
    "rulebook_id": pl.String,
}
CUSTOMER_DETAILS_SCHEMA = {
    "month": pl.Date,
    "partner_id": pl.String,
    "tenant_id": pl.String,
    "track": pl.String,
    "option": pl.String,
    "eligible": pl.Boolean,  # tenant is track-eligible in M
    "workloads": pl.Int64,  # held eligible workloads under the option in M
    "associated_on": pl.Date,  # earliest association date over those workloads
    "paid_seats": pl.Int64,  # sums over the held workloads in M
    "active_users": pl.Int64,
    "counted": pl.Boolean,  # counted in AU(M): eligible (under the usage-growth list) and held
    "counted_year_ago": pl.Boolean,  # held and eligible in M-12 under the same option
    "deployed": pl.Boolean,
    "deployed_year_ago": pl.Boolean,
    "excluded": pl.Boolean,  # deployment excluded: already deployed at association
    "baseline_users": pl.Int64,  # users added to the usage baseline for new associations
}


# ---- input errors ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Problem:
    file: str  # path relative to the data folder, e.g. "months/2024-06/workload_usage.csv"
    column: str | None
    row: int | None  # 1-based data row (the header is not a row)
    value: str | None
    rule: str  # what the value breaks

    def __str__(self) -> str:
        parts = [self.file]
        if self.column is not None:
            parts.append(f"column '{self.column}'")
        if self.row is not None:
            parts.append(f"row {self.row}")
        if self.value is not None:
            parts.append(f"value {self.value!r}")
        return ", ".join(parts) + f": {self.rule}"


class InputError(ValueError):
    """Bad input: names the file, the column, the offending values and rows, and the count."""

    def __init__(self, problems: list[Problem], total: int | None = None, *, max_shown: int = 5):
        self.problems = problems
        self.total = total if total is not None else len(problems)
        shown = "\n".join(f"  - {p}" for p in problems[:max_shown])
        more = f"\n  ... {self.total} problems in all" if self.total > max_shown else ""
        head = f"{self.total} input problem{'s' if self.total != 1 else ''}"
        super().__init__(f"{head}:\n{shown}{more}")


class MissingSnapshotError(InputError):
    """A month needed for scoring has no snapshot folder."""

    def __init__(self, missing: list[dt.date], needed_by: str = ""):
        self.missing = sorted(missing)
        why = f" (needed by {needed_by})" if needed_by else ""
        super().__init__(
            [Problem(f"months/{m:%Y-%m}", None, None, None, f"snapshot missing{why}") for m in self.missing]
        )
