"""Points: the one capping formula, the per-option points of a metric and the winning option.

Scoring counts points in exact integer units of ``1 / rulebook.scale``; ``units_to_points``
turns them into the float ``points`` columns (see docs/architecture.md, "Scoring").
"""

from __future__ import annotations

from fractions import Fraction
from typing import overload

import polars as pl

from scoring.rulebook import OptionMetric, PerUnitMetric, Rulebook, Track


def per_unit(rule: PerUnitMetric | OptionMetric, option: str) -> Fraction:
    """The points one unit of the measure earns under ``option``: the per-unit value, or
    ``max_points / threshold(option)`` for a metric scored per option."""
    if isinstance(rule, OptionMetric):
        return rule.max_points / rule.thresholds[option]
    return rule.per_unit


@overload
def capped(measure: pl.Expr, per_unit: int | pl.Expr, cap: int) -> pl.Expr: ...
@overload
def capped(measure: int, per_unit: Fraction, cap: Fraction) -> Fraction: ...
def capped(measure: pl.Expr | int, per_unit: int | pl.Expr | Fraction, cap: int | Fraction) -> pl.Expr | Fraction:
    """``min(max(measure, 0) * per_unit, cap)``: a measure's points (scoring-rules §2-§5), on a
    Polars column (in units) or on exact Python numbers."""
    if isinstance(measure, pl.Expr):
        return pl.min_horizontal(pl.max_horizontal(measure, pl.lit(0)) * per_unit, pl.lit(cap))
    assert isinstance(per_unit, Fraction) and isinstance(cap, Fraction)
    return min(max(measure, 0) * per_unit, cap)


def by_option(
    book: Rulebook,
    track: Track,
    rule: OptionMetric,
    customers: pl.LazyFrame,
    *,
    current: pl.Expr,
    year_ago: pl.Expr,
    adjustment: pl.Expr,
) -> pl.LazyFrame:
    """A metric scored per option (scoring-rules §4, §5): per (month, partner, option) the
    aggregates ``current``, ``year_ago`` and ``adjustment`` of the customer rows, the measure
    ``current - year_ago - adjustment`` and its points in units."""
    unit_values = pl.DataFrame(
        {"option": list(track.options), "units_per_unit": [book.units(per_unit(rule, o)) for o in track.options]},
        schema={"option": pl.String, "units_per_unit": pl.Int64},
    )
    measure = pl.col("current") - pl.col("year_ago") - pl.col("adjustment")
    return (
        customers.with_columns(pl.col("option").cast(pl.String))
        .group_by("month", "partner_id", "option")
        .agg(current.alias("current"), year_ago.alias("year_ago"), adjustment.alias("adjustment"))
        .join(unit_values.lazy(), on="option", how="inner")
        .select(
            "month",
            "partner_id",
            "option",
            measure.alias("value"),
            "current",
            "year_ago",
            "adjustment",
            capped(measure, pl.col("units_per_unit"), book.units(rule.max_points)).alias("units"),
        )
    )


def is_winner(group: list[str]) -> pl.Expr:
    """True on the option that gives a metric its points: most units, ties to the option listed
    first (``option_rank``); one per ``group``."""
    winner = pl.col("option_rank").sort_by(["units", "option_rank"], descending=[True, False]).first()
    return pl.col("option_rank") == winner.over(group)


def units_to_points(frame: pl.DataFrame, scale: int, **columns: str) -> pl.DataFrame:
    """Add float point columns (name=units column) as ``units / scale``, correctly rounded.

    Each distinct unit count is divided once in Python and joined back (see
    docs/architecture.md on Polars' float division).
    """
    for name, col in columns.items():
        distinct = frame.get_column(col).unique().drop_nulls().to_list()
        lookup = pl.DataFrame(
            {col: distinct, name: [u / scale for u in distinct]},
            schema={col: pl.Int64, name: pl.Float64},
        )
        frame = frame.join(lookup, on=col, how="left", maintain_order="left")
    return frame
