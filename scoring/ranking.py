"""Path totals and the designation (scoring-rules §6): each track's total of its winning metric
options, whether it qualifies, and each partner's best track.
"""

from __future__ import annotations

import polars as pl

from scoring.frames import DESIGNATIONS_SCHEMA, PATH_SCORES_SCHEMA
from scoring.metrics import METRICS
from scoring.points import units_to_points
from scoring.rulebook import Rulebook


def path_totals(book: Rulebook, metric_rows: pl.DataFrame) -> pl.DataFrame:
    """Per (month, partner, track): total_units, metrics_at_minimum, qualifies and track_rank,
    from ``metrics.metric_rows``."""
    min_metric, min_total = book.units(book.min_metric_points), book.units(book.min_total_points)
    return (
        metric_rows.lazy()
        .filter("is_winner")
        .group_by("month", "partner_id", "track")
        .agg(
            pl.col("units").sum().alias("total_units"),
            (pl.col("units") >= min_metric).sum().cast(pl.Int64).alias("metrics_at_minimum"),
            pl.col("track_rank").first(),
        )
        .with_columns(
            ((pl.col("total_units") >= min_total) & (pl.col("metrics_at_minimum") == len(METRICS))).alias("qualifies")
        )
        .collect()
    )


def path_scores(book: Rulebook, totals: pl.DataFrame) -> pl.DataFrame:
    """``path_totals`` as PATH_SCORES_SCHEMA rows."""
    return units_to_points(totals, book.scale, total="total_units").select(list(PATH_SCORES_SCHEMA))


def designations(book: Rulebook, totals: pl.DataFrame) -> pl.DataFrame:
    """Per (month, partner): attained, best track and score, from ``path_totals``.

    Best track: a qualifying track first, then the higher total, then the track listed first.
    """

    def of_best_track(col: str) -> pl.Expr:
        return pl.col(col).sort_by(["qualifies", "total_units", "track_rank"], descending=[True, True, False]).first()

    return units_to_points(
        totals.lazy()
        .group_by("month", "partner_id")
        .agg(
            pl.col("qualifies").any().alias("attained"),
            of_best_track("track").alias("best_track"),
            of_best_track("total_units").alias("score_units"),
        )
        .with_columns(pl.lit(book.id).alias("rulebook_id"))
        .collect(),
        book.scale,
        score="score_units",
    ).select(list(DESIGNATIONS_SCHEMA))
