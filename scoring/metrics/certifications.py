"""Skilling: persons holding an active intermediate or advanced certification at month end.

Rule: docs/scoring-rules.md §3 (Skilling); two metrics, one per level.
A certification is active at month end when earned by then and not expired by then; one with a
counts-through date D (docs/scoring-rules-2026.md §4) counts only while the month's end <= D.
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from scoring.names import canonical
from scoring.points import capped
from scoring.rulebook import OPTION_ALL, PerUnitMetric, Rulebook, Track

INTERMEDIATE = "INTERMEDIATE_CERTIFICATIONS"
ADVANCED = "ADVANCED_CERTIFICATIONS"


def certification_active(end: pl.Expr | dt.date) -> pl.Expr:
    """A certification counts at ``end`` (a month's last day): earned by then, not expired by then."""
    end = end if isinstance(end, pl.Expr) else pl.lit(end)
    return (pl.col("earned_on") <= end) & (pl.col("expires_on").is_null() | (pl.col("expires_on") > end))


def counts_at(end: pl.Expr | dt.date) -> pl.Expr:
    """A leveled certification (``certification_levels``) counts at ``end`` (a month's last
    day): active then, and ``end`` not after its counts-through date, if it has one."""
    end = end if isinstance(end, pl.Expr) else pl.lit(end)
    return certification_active(end) & (pl.col("counts_through").is_null() | (end <= pl.col("counts_through")))


def certification_levels(book: Rulebook, certifications: pl.DataFrame, keep: tuple[str, ...] = ()) -> pl.DataFrame:
    """The certifications that count, with their level and counts-through date (null: none)
    (names folded once, not once a month), and the ``keep`` columns of the input."""
    deadlines = {name: d.isoformat() for name, d in book.certification_deadlines.items()}
    return (
        certifications.lazy()
        .with_columns(
            canonical("certification", certifications, book.certification_levels).alias("level"),
            canonical("certification", certifications, deadlines).str.to_date("%Y-%m-%d").alias("counts_through"),
        )
        .filter(pl.col("level").is_not_null())
        .select("partner_id", "person_id", "level", "earned_on", "expires_on", "counts_through", *keep)
        .collect()
    )


def certified_persons(leveled: pl.DataFrame, scored: list[dt.date]) -> pl.DataFrame:
    """(month, partner_id, level, persons): distinct persons with a certification that counts
    (``counts_at`` the month's end). ``leveled`` is the output of ``certification_levels``."""
    months = pl.DataFrame({"month": scored}, schema={"month": pl.Date}).with_columns(
        pl.col("month").dt.month_end().alias("month_end")
    )
    return (
        leveled.lazy()
        .join(months.lazy(), how="cross")
        .filter(counts_at(pl.col("month_end")))
        .group_by("month", "partner_id", "level")
        .agg(pl.col("person_id").n_unique().cast(pl.Int64).alias("persons"))
        .collect()
    )


def _rows(book: Rulebook, rule: PerUnitMetric, level: str, persons: pl.LazyFrame) -> pl.LazyFrame:
    return persons.filter(pl.col("level") == level).select(
        "month",
        "partner_id",
        pl.lit(OPTION_ALL).alias("option"),
        pl.col("persons").alias("value"),
        pl.col("persons").alias("current"),
        pl.lit(0, pl.Int64).alias("year_ago"),
        pl.lit(0, pl.Int64).alias("adjustment"),
        capped(pl.col("persons"), book.units(rule.per_unit), book.units(rule.max_points)).alias("units"),
    )


def intermediate_rows(book: Rulebook, track: Track, customers: pl.LazyFrame, persons: pl.LazyFrame) -> pl.LazyFrame:
    """(month, partner_id, option, value, current, year_ago, adjustment, units) of the track."""
    return _rows(book, track.intermediate_certifications, "INTERMEDIATE", persons)


def advanced_rows(book: Rulebook, track: Track, customers: pl.LazyFrame, persons: pl.LazyFrame) -> pl.LazyFrame:
    """(month, partner_id, option, value, current, year_ago, adjustment, units) of the track."""
    return _rows(book, track.advanced_certifications, "ADVANCED", persons)
