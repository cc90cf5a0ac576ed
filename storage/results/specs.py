"""The stored frames: each result frame of ``scoring.frames`` (and the partner and scored-month
tables) with its table, Polars schema and natural key."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import polars as pl
import sqlalchemy as sa

from scoring import frames as F
from storage import models as M


@dataclass(frozen=True)
class TableSpec:
    name: str  # the frame's name (frames.py): "metric_points"
    table: sa.Table
    schema: dict[str, Any]  # column -> polars dtype, in table order
    key: tuple[str, ...]  # natural key = primary key, in order
    by_month: bool = True

    @property
    def not_null(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.table.columns if not c.nullable)


def _spec(name: str, model, schema: dict[str, Any], by_month: bool = True) -> TableSpec:
    table: sa.Table = model.__table__
    if list(table.columns.keys()) != list(schema):
        raise AssertionError(f"{table.name} columns {table.columns.keys()} != {list(schema)}")
    key = tuple(c.name for c in table.primary_key.columns)
    return TableSpec(name, table, dict(schema), key, by_month)


RESULTS: dict[str, TableSpec] = {
    s.name: s
    for s in (
        _spec("eligible_tenants", M.EligibleTenant, F.ELIGIBLE_TENANTS_SCHEMA),
        _spec("holdings", M.Holding, F.HOLDINGS_SCHEMA),
        _spec("metric_points", M.MetricPoint, F.METRIC_POINTS_SCHEMA),
        _spec("path_scores", M.PathScore, F.PATH_SCORES_SCHEMA),
        _spec("designations", M.Designation, F.DESIGNATIONS_SCHEMA),
        _spec("customer_details", M.CustomerDetail, F.CUSTOMER_DETAILS_SCHEMA),
    )
}
"""The six result frames (frames.py names) and their tables, in write order."""

PARTNERS_TABLE_SCHEMA = {
    "partner_id": pl.String,
    "partner_name": pl.String,
    "in_registry": pl.Boolean,
}
SCORED_MONTH_SCHEMA = {
    "month": pl.Date,
    "rulebook_id": pl.String,
    "partners_scored": pl.Int64,
    "partners_attained": pl.Int64,
    "materialized_at": pl.Datetime("us", "UTC"),
    "run_id": pl.String,
}
OTHER: dict[str, TableSpec] = {
    "partners": _spec("partners", M.Partner, PARTNERS_TABLE_SCHEMA, by_month=False),
    "scored_months": _spec("scored_months", M.ScoredMonth, SCORED_MONTH_SCHEMA),
}
_ALL: dict[str, TableSpec] = {**RESULTS, **OTHER}
_BY_TABLE: dict[str, TableSpec] = {s.table.name: s for s in _ALL.values()}


def table_spec(name: str) -> TableSpec:
    """The spec of a frame name ("metric_points") or table name ("metric_point")."""
    spec = _ALL.get(name) or _BY_TABLE.get(name)
    if spec is None:
        known = sorted(_ALL) + sorted(_BY_TABLE)
        raise ValueError(f"unknown table {name!r}; known: {', '.join(known)}")
    return spec


def empty_frames() -> dict[str, pl.DataFrame]:
    """The six result frames, empty (write them to clear months)."""
    return {name: pl.DataFrame(schema=spec.schema) for name, spec in RESULTS.items()}
