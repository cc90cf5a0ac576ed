"""Checking and shaping what ``write_results`` is given, before the database is touched: months,
the result frames (cast to their schemas, in key order), the partner registry and the
``scored_month`` rows. Every problem is a ``ValueError``."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

import polars as pl

from storage.results.specs import PARTNERS_TABLE_SCHEMA, TableSpec


def as_month(value: Any) -> dt.date:
    if isinstance(value, dt.datetime):
        raise ValueError(f"month {value!r}: give a date, not a datetime")
    if isinstance(value, str):
        value = dt.date.fromisoformat(value if len(value) > 7 else value + "-01")
    if not isinstance(value, dt.date):
        raise ValueError(f"month {value!r}: not a date")
    if value.day != 1:
        raise ValueError(f"month {value}: months are the first day of the month")
    return value


def prepare_frame(spec: TableSpec, df: pl.DataFrame, months: set[dt.date], *, sort: bool = True) -> pl.DataFrame:
    """``df`` checked and cast to the frame's schema (no copy where the dtypes already match);
    in natural-key order unless ``sort=False`` (``write_results`` sorts one table at a time, so
    that a month's sorted copies are not all held at once)."""
    if not isinstance(df, pl.DataFrame):
        raise ValueError(f"{spec.name}: expected a polars DataFrame, got {type(df).__name__}")
    schema = spec.frame_schema
    missing = [c for c in schema if c not in df.columns]
    extra = [c for c in df.columns if c not in schema]
    if missing or extra:
        raise ValueError(f"{spec.name}: columns missing {missing}, unexpected {extra}")
    try:
        df = df.select(pl.col(c).cast(t, strict=True) for c, t in schema.items())
    except Exception as exc:  # polars raises several types here
        raise ValueError(f"{spec.name}: cannot cast to the frames.py schema: {exc}") from exc
    nulls = df.select(pl.col(list(spec.not_null)).null_count()).row(0, named=True)
    bad = {c: n for c, n in nulls.items() if n}
    if bad:
        raise ValueError(f"{spec.name}: nulls in NOT NULL columns {bad}")
    _check_vocabularies(spec, df)
    floats = [c for c, t in schema.items() if t == pl.Float64]
    if floats:
        nans = df.select(pl.col(floats).is_nan().sum()).row(0, named=True)
        bad = {c: n for c, n in nans.items() if n}
        if bad:  # SQLite cannot store NaN (it becomes NULL): refused on both backends
            raise ValueError(f"{spec.name}: NaN in {bad}")
        # -0.0 -> 0.0: SQLite keeps no negative zero, so both backends store the same value
        df = df.with_columns(pl.when(pl.col(c) == 0.0).then(0.0).otherwise(pl.col(c)).alias(c) for c in floats)
    if spec.by_month and df.height:
        outside = df.filter(~pl.col("month").is_in(sorted(months)))["month"].unique().sort()
        if outside.len():
            raise ValueError(f"{spec.name}: rows for months not being written: {outside.to_list()[:5]}")
    # key order: B-tree inserts in order (much faster on both backends than random order)
    return df.sort(list(spec.natural_key)) if sort else df


def _check_vocabularies(spec: TableSpec, df: pl.DataFrame) -> None:
    """The columns stored as codes (``models.Code``) hold names of their vocabulary only."""
    coded = [c for c in spec.codes if c in df.columns]
    if not coded or not df.height:
        return
    # a non-strict cast to the vocabulary's Enum makes an unknown name null (fast; no strings kept)
    unknown = df.select(
        (pl.col(c).cast(pl.Enum(spec.codes[c]), strict=False).is_null() & pl.col(c).is_not_null()).any() for c in coded
    )
    for c, bad in unknown.row(0, named=True).items():
        if bad:
            names = spec.codes[c]
            values = df[c].filter(~df[c].is_in(names)).drop_nulls().unique().sort().to_list()
            raise ValueError(
                f"{spec.name}: column {c!r} holds {values[:5]}: not one of {', '.join(names)}"
                " (the names the database stores as codes, storage.models)"
            )


def prepare_partners(partners: pl.DataFrame) -> pl.DataFrame:
    if "partner_id" not in partners.columns:
        raise ValueError("partners: needs a partner_id column")
    extra = set(partners.columns) - set(PARTNERS_TABLE_SCHEMA)
    if extra:
        raise ValueError(f"partners: unexpected columns {sorted(extra)}")
    if "partner_name" not in partners.columns:
        partners = partners.with_columns(partner_name=pl.lit(None, pl.String))
    if "in_registry" not in partners.columns:  # a PARTNERS_SCHEMA frame: the registry itself
        partners = partners.with_columns(in_registry=pl.lit(True))
    partners = partners.select(pl.col(c).cast(t, strict=True) for c, t in PARTNERS_TABLE_SCHEMA.items())
    if partners["partner_id"].null_count() or partners["in_registry"].null_count():
        raise ValueError("partners: null partner_id or in_registry")
    dup = partners.filter(pl.col("partner_id").is_duplicated())["partner_id"].unique().sort()
    if dup.len():
        raise ValueError(f"partners: duplicate partner_id {dup.to_list()[:5]}")
    return partners


_SCORED_KEYS = {"month", "rulebook_id", "partners_scored", "partners_attained",
                "materialized_at", "run_id"}  # fmt: skip


def scored_month_rows(
    months: list[dt.date], designations: pl.DataFrame, scored: Sequence[Mapping] | None
) -> list[dict]:
    """One scored_month row per month that has designations or a ``scored`` entry.

    Counts come from the designations; given counts must agree with them. ``rulebook_id``
    defaults to the designations' (one per month), ``materialized_at`` to now.
    """
    given: dict[dt.date, Mapping] = {}
    for entry in scored or ():
        unknown = set(entry) - _SCORED_KEYS
        if unknown:
            raise ValueError(f"scored: unknown keys {sorted(unknown)}")
        m = as_month(entry.get("month"))
        if m not in months:
            raise ValueError(f"scored: month {m} is not among the months written")
        if m in given:
            raise ValueError(f"scored: month {m} given twice")
        given[m] = entry
    stats = {
        r["month"]: r
        for r in designations.group_by("month")
        .agg(
            n=pl.len(),
            attained=pl.col("attained").sum(),
            rulebooks=pl.col("rulebook_id").unique().sort(),
        )
        .iter_rows(named=True)
    }
    now = dt.datetime.now(dt.UTC)
    rows = []
    for m in months:
        entry, st = given.get(m), stats.get(m)
        if entry is None and st is None:
            continue  # nothing scored that month
        entry = entry or {}
        n = st["n"] if st else 0
        attained = st["attained"] if st else 0
        for k, v in (("partners_scored", n), ("partners_attained", attained)):
            if entry.get(k) is not None and entry[k] != v:
                raise ValueError(f"scored: {m} {k}={entry[k]} but the designations say {v}")
        rulebooks = st["rulebooks"] if st else []
        rulebook = entry.get("rulebook_id")
        if rulebook is None:
            if len(rulebooks) != 1:
                raise ValueError(f"scored: {m}: give rulebook_id (designations have {rulebooks})")
            rulebook = rulebooks[0]
        elif rulebooks and rulebooks != [rulebook]:
            raise ValueError(f"scored: {m} rulebook_id={rulebook!r} but designations {rulebooks}")
        materialized_at = entry.get("materialized_at") or now
        if not isinstance(materialized_at, dt.datetime) or materialized_at.tzinfo is None:
            raise ValueError(f"scored: {m} materialized_at must be a timezone-aware datetime")
        rows.append(
            {
                "month": m,
                "rulebook_id": rulebook,
                "partners_scored": n,
                "partners_attained": attained,
                "materialized_at": materialized_at,
                "run_id": entry.get("run_id"),
            }
        )
    return rows
