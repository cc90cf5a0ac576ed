"""The readers of each input table: its rules, its unique key and its validated, typed frame."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from functools import partial
from pathlib import Path
from typing import Any

import polars as pl

from scoring.calendar import month_end
from scoring.frames import (
    ASSOCIATIONS_SCHEMA,
    CERTIFICATIONS_SCHEMA,
    PARTNERS_SCHEMA,
    USAGE_SCHEMA,
    InputError,
    Snapshots,
)
from scoring.ingest.checks import (
    DATE_FORMAT,
    ROW,
    Check,
    Distinct,
    UniqueKey,
    blank,
    count_checks,
    date,
    integer,
    merge_errors,
    nonempty,
    plan,
    raise_if,
    validate,
)
from scoring.ingest.files import (
    ASSOCIATIONS,
    CERTIFICATIONS,
    PARTNERS,
    MonthFiles,
    Table,
    collect,
    find_table,
    list_months,
    month_folder,
    rel,
    require_table,
    scan,
)
from scoring.names import fold, folded

WARNING_EXAMPLES = 3


_Plan = tuple[pl.LazyFrame, list[Check], UniqueKey | None]


def partners_plan(table: Table) -> _Plan:
    lf = scan(table, list(PARTNERS_SCHEMA))
    checks = [nonempty("partner_id", key=True)]
    return plan(lf, {}, checks), checks, UniqueKey("partner_id", ("partner_id",), {})


def finish_partners(df: pl.DataFrame) -> pl.DataFrame:
    """A validated ``partners_plan`` frame as PARTNERS_SCHEMA."""
    return df.select(
        pl.col("partner_id"),
        pl.when(blank("partner_name")).then(None).otherwise(pl.col("partner_name")).alias("partner_name"),
    )


def _read_optional(
    data_dir: str | Path,
    stem: str,
    schema: Mapping[str, Any],
    plan_of: Callable[[Table], _Plan],
    finish: Callable[[pl.DataFrame], pl.DataFrame],
) -> pl.DataFrame:
    """An optional table read, validated and finished; empty (``schema``) when it is absent."""
    table = find_table(Path(data_dir), stem)
    if table is None:
        return pl.DataFrame(schema=schema)
    lf, checks, unique = plan_of(table)
    (df,) = collect([(table, lf)])
    raise_if(*validate(df, table.rel, checks, unique))
    return finish(df)


def read_partners(data_dir: str | Path) -> pl.DataFrame:
    """``partners`` (PARTNERS_SCHEMA); empty when the table is absent."""
    return _read_optional(data_dir, PARTNERS, PARTNERS_SCHEMA, partners_plan, finish_partners)


def certifications_plan(table: Table) -> _Plan:
    lf = scan(table, list(CERTIFICATIONS_SCHEMA))
    parsed = {"__earned_on": date("earned_on"), "__expires_on": date("expires_on")}
    earned, expires = pl.col("__earned_on"), pl.col("__expires_on")
    checks = [
        nonempty("partner_id"),
        nonempty("person_id"),
        Check("earned_on", "must be a date YYYY-MM-DD", earned.is_null()),
        Check("expires_on", "must be empty or a date YYYY-MM-DD", expires.is_null() & ~blank("expires_on")),
        Check("expires_on", "must be after earned_on", expires <= earned),
    ]
    return plan(lf, parsed, checks), checks, None


def finish_certifications(df: pl.DataFrame) -> pl.DataFrame:
    """A validated ``certifications_plan`` frame as CERTIFICATIONS_SCHEMA."""
    return df.select(
        "partner_id",
        "person_id",
        "certification",
        pl.col("__earned_on").alias("earned_on"),
        pl.col("__expires_on").alias("expires_on"),
    )


def read_certifications(data_dir: str | Path) -> pl.DataFrame:
    """``certifications`` (CERTIFICATIONS_SCHEMA); empty when the table is absent."""
    return _read_optional(data_dir, CERTIFICATIONS, CERTIFICATIONS_SCHEMA, certifications_plan, finish_certifications)


_WORKLOAD_EMPTY = nonempty("workload", key=True, per_value=True)


def usage_plan(table: Table, *, renames: Mapping[str, str]) -> _Plan:
    lf = scan(table, [c for c in USAGE_SCHEMA if c != "month"])
    parsed = {"__paid_seats": integer("paid_seats"), "__active_users": integer("active_users")}
    checks = [
        nonempty("tenant_id", key=True),
        _WORKLOAD_EMPTY,
        *count_checks("paid_seats"),
        *count_checks("active_users"),
    ]
    # either name of a renamed workload is one workload (docs/input-data.md)
    unique = UniqueKey("tenant_id, workload", ("tenant_id", "workload"), {"workload": folded("workload", renames)})
    extra = {"__over": pl.col("__active_users") > pl.col("__paid_seats")}
    return plan(lf, parsed, checks, extra), checks, unique


def associations_plan(
    table: Table, *, month: dt.date, association_types: tuple[str, ...], renames: Mapping[str, str]
) -> _Plan:
    lf = scan(table, [c for c in ASSOCIATIONS_SCHEMA if c != "month"])
    end = month_end(month)
    # the date is parsed on every row (Polars caches repeated values); its format is checked
    # on the distinct values below
    parsed = {"__associated_on": pl.col("associated_on").str.to_date(DATE_FORMAT, strict=False)}
    on = date("associated_on")
    known = [fold(t) for t in association_types]
    checks = [
        nonempty("partner_id", key=True),
        nonempty("tenant_id", key=True),
        _WORKLOAD_EMPTY,
        Check(
            "association_type",
            "must be one of " + ", ".join(association_types) + " (any case)",
            ~folded("association_type").is_in(known).fill_null(False),
            key=True,
            per_value=True,
        ),
        Check("associated_on", "must be a date YYYY-MM-DD", on.is_null(), per_value=True),
        Check("associated_on", f"must be on or before the month's end ({end})", on > end, per_value=True),
    ]
    unique = UniqueKey(
        "partner_id, tenant_id, workload, association_type",
        ("partner_id", "tenant_id", "workload", "association_type"),
        {"workload": folded("workload", renames), "association_type": folded("association_type")},
    )
    return plan(lf, parsed, checks), checks, unique


def read_month_files(data_dir: Path, month: dt.date, files: MonthFiles) -> Snapshots:
    """Read and validate both files of a month (together); every problem of both is raised.

    Association types are output as the rulebook spells them."""
    errors: list[InputError] = []
    planners: list[tuple[Table, Callable[[Table], _Plan]]] = [
        (files.usage, partial(usage_plan, renames=files.workload_renames)),
        (
            files.associations,
            partial(
                associations_plan,
                month=month,
                association_types=files.association_types,
                renames=files.workload_renames,
            ),
        ),
    ]
    plans: list[tuple[Table, pl.LazyFrame, list[Check], UniqueKey | None]] = []
    for table, planner in planners:
        try:
            plans.append((table, *planner(table)))
        except InputError as exc:  # bad header: the other file is still validated
            errors.append(exc)

    frames = collect([(t, lf) for t, lf, _, _ in plans]) if plans else []
    for (table, _, checks, unique), df in zip(plans, frames, strict=True):
        problems, total = validate(df, table.rel, checks, unique)
        if total:
            errors.append(InputError(problems, total))
    if errors:
        raise merge_errors(errors)

    usage_df, assoc_df = frames
    over = seats_over(usage_df)
    warnings = [seat_warning(files.usage.rel, over.height, over.head(WARNING_EXAMPLES).rows())] if over.height else []
    usage = finish_usage(usage_df, month)
    associations = finish_associations(assoc_df, month, files.association_types)
    return Snapshots(frozenset([month]), usage, associations, warnings)


def seats_over(usage_df: pl.DataFrame) -> pl.DataFrame:
    """The rows of a ``usage_plan`` frame with active_users > paid_seats, in row order: (row,
    tenant, workload, active users, paid seats), what ``seat_warning`` shows."""
    return (
        usage_df.filter(pl.col("__over").fill_null(False))
        .select(ROW, "tenant_id", "workload", "__active_users", "__paid_seats")
        .sort(ROW)
    )


def seat_warning(rel: str, count: int, examples: list[tuple[Any, ...]]) -> str:
    """The warning of a usage file with ``count`` rows of active_users > paid_seats (allowed);
    ``examples``: the first ``WARNING_EXAMPLES`` of them (``seats_over`` rows)."""
    shown = "; ".join(
        f"row {r}: tenant {t!r}, workload {w!r}, active_users {a} > paid_seats {p}" for r, t, w, a, p in examples
    )
    return f"{rel}: {count} row{'s' if count != 1 else ''} with active_users > paid_seats (allowed), e.g. {shown}"


def finish_usage(usage_df: pl.DataFrame, month: dt.date) -> pl.DataFrame:
    """A validated ``usage_plan`` frame as USAGE_SCHEMA."""
    return usage_df.select(
        pl.lit(month, dtype=pl.Date).alias("month"),
        "tenant_id",
        "workload",
        pl.col("__paid_seats").alias("paid_seats"),
        pl.col("__active_users").alias("active_users"),
    )


def finish_associations(assoc_df: pl.DataFrame, month: dt.date, association_types: tuple[str, ...]) -> pl.DataFrame:
    """A validated ``associations_plan`` frame as ASSOCIATIONS_SCHEMA, the association types
    spelled as the rulebook spells them."""
    spelled = folded("association_type").replace_strict({fold(t): t for t in association_types}, default=None)
    types = Distinct(assoc_df).mapped("association_type", spelled)
    return assoc_df.select(
        pl.lit(month, dtype=pl.Date).alias("month"),
        "partner_id",
        "tenant_id",
        "workload",
        pl.col("association_type") if types is None else pl.lit(types).alias("association_type"),
        pl.col("__associated_on").alias("associated_on"),
    )


def known_partner_ids(
    data_dir: str | Path,
    *,
    partners: pl.DataFrame | None = None,
    certifications: pl.DataFrame | None = None,
) -> pl.Series:
    """Every partner known to the data, sorted: partners, all months' associations, and
    certifications. Only the ``partner_id`` column of the association files is read; the
    partners and certifications files are read unless given (as ``read_partners`` /
    ``read_certifications`` return them)."""
    data_dir = Path(data_dir)
    partners = read_partners(data_dir) if partners is None else partners
    certifications = read_certifications(data_dir) if certifications is None else certifications
    ids = [partners["partner_id"], certifications["partner_id"]]
    frames = list(partner_id_scans(data_dir).values())
    if frames:
        ids.extend(df["partner_id"] for df in collect(frames))
    return pl.concat([s.cast(pl.String) for s in ids], how="vertical").unique().sort().rename("partner_id")


def partner_id_scans(data_dir: Path) -> dict[dt.date, tuple[Table, pl.LazyFrame]]:
    """Per month folder, the lazy read of the distinct non-blank partner ids of its associations
    (headers checked: every month's problems raised together)."""
    frames: dict[dt.date, tuple[Table, pl.LazyFrame]] = {}
    errors: list[InputError] = []
    for month in list_months(data_dir):
        try:
            table = require_table(data_dir, rel(month_folder(month), ASSOCIATIONS))
            lf = scan(table, ["partner_id"], row_index=False)
        except InputError as exc:
            errors.append(exc)
            continue
        frames[month] = (table, lf.filter(~blank("partner_id")).unique())
    if errors:
        raise merge_errors(errors)
    return frames


def registry_frame(known: pl.Series, listed: pl.DataFrame) -> pl.DataFrame:
    """The partner registry of ``known`` partner ids: partner_id, partner_name (where ``listed``,
    a ``read_partners`` frame, names it) and in_registry (listed), sorted by partner_id."""
    return (
        known.to_frame("partner_id")
        .join(listed, on="partner_id", how="left")
        .with_columns(pl.col("partner_id").is_in(listed["partner_id"].implode()).alias("in_registry"))
        .sort("partner_id")
    )
