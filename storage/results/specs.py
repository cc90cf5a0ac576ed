"""The stored frames: each result frame of ``scoring.frames`` (and the partner, scored-month and
association tables) with its table, Polars schemas, keys and columns stored as codes."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import polars as pl
import sqlalchemy as sa

from scoring import frames as F
from storage import models as M


@dataclass(frozen=True)
class TableSpec:
    name: str  # the frame's name (frames.py): "metric_points"
    table: sa.Table
    schema: dict[str, Any]  # the table's columns -> polars dtype, in table order
    key: tuple[str, ...]  # the table's primary key, in order
    by_month: bool = True
    # the frame as write_results takes it and read_frame gives it, when it is not the table's
    # own columns (the holdings: ``holding`` joined with ``association``)
    frame: dict[str, Any] | None = None
    frame_key: tuple[str, ...] | None = None  # the frame's natural key
    # the columns (of the table, and of the frame) stored as codes (``models.Code``) -> their
    # vocabulary: the frames hold the names, the tables the indexes of the names
    codes: dict[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def frame_schema(self) -> dict[str, Any]:
        return self.frame if self.frame is not None else self.schema

    @property
    def natural_key(self) -> tuple[str, ...]:
        return self.frame_key if self.frame_key is not None else self.key

    @property
    def not_null(self) -> tuple[str, ...]:
        """The frame's columns that may not be null."""
        nullable = {c.name for c in self.table.columns if c.nullable}
        return tuple(c for c in self.frame_schema if c not in nullable)


def _codes(*tables: sa.Table) -> dict[str, tuple[str, ...]]:
    return {c.name: c.type.vocabulary for t in tables for c in t.columns if isinstance(c.type, M.Code)}


def _spec(name: str, model, schema: dict[str, Any], by_month: bool = True, **frame: Any) -> TableSpec:
    table: sa.Table = model.__table__
    if list(table.columns.keys()) != list(schema):
        raise AssertionError(f"{table.name} columns {table.columns.keys()} != {list(schema)}")
    key = tuple(c.name for c in table.primary_key.columns)
    # the holdings frame's option is the association's
    codes = _codes(table, M.Association.__table__) if frame else _codes(table)
    return TableSpec(name, table, dict(schema), key, by_month, **frame, codes=codes)


ASSOCIATION_SCHEMA = {
    "id": pl.Int64,
    "partner_id": pl.String,
    "tenant_id": pl.String,
    "option": pl.String,
    "workload": pl.String,
    "associated_on": pl.Date,
}
ASSOCIATION_KEY = ("partner_id", "tenant_id", "option", "workload", "associated_on")
"""What an association id is the hash of (``storage.results.associations``)."""
HOLDING_TABLE_SCHEMA = {
    "month": pl.Date,
    "association_id": pl.Int64,
    "paid_seats": pl.Int64,
    "active_users": pl.Int64,
}


RESULTS: dict[str, TableSpec] = {
    s.name: s
    for s in (
        _spec("eligible_tenants", M.EligibleTenant, F.ELIGIBLE_TENANTS_SCHEMA),
        _spec(
            "holdings",
            M.Holding,
            HOLDING_TABLE_SCHEMA,
            frame=F.HOLDINGS_SCHEMA,
            frame_key=("month", "partner_id", "tenant_id", "option", "workload"),
        ),  # fmt: skip
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
    "associations": _spec("associations", M.Association, ASSOCIATION_SCHEMA, by_month=False),
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
    return {name: pl.DataFrame(schema=spec.frame_schema) for name, spec in RESULTS.items()}
