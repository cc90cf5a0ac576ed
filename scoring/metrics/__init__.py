"""The five metrics of a track, by name (``METRICS``), and a month's metric rows from them.

Each metric's rule lives in its own module (``usage_growth.py``, ...); the points shared by all
of them in ``scoring/points.py``. A metric that counts workloads reads the customers of its own
workload list of the rulebook (``Metric.workloads``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction

import polars as pl

from scoring.facts import lexical_enum, option_dtype, track_dtype
from scoring.metrics import certifications, deployments, net_customer_adds, usage_growth
from scoring.points import is_winner
from scoring.rulebook import OPTION_ALL, OptionMetric, PerUnitMetric, Rulebook, Track

Rows = Callable[[Rulebook, Track, pl.LazyFrame, pl.LazyFrame], pl.LazyFrame]
"""(book, track, customers, persons) -> (month, partner_id, option, value, current, year_ago,
adjustment, units): ``customers`` is ``customers.tenant_facts``, ``persons`` is
``certifications.certified_persons``."""


@dataclass(frozen=True)
class Metric:
    name: str
    rule: Callable[[Track], PerUnitMetric | OptionMetric]  # the track's rulebook values
    rows: Rows
    unit: str  # what one unit of the measure is: "person", "customer", "deployment" or "active_user"
    noun: str  # one unit, in words ("{option}" stands for the option)
    workloads: str | None = None  # the rulebook's workload list it counts on (WORKLOAD_METRICS), if any

    def options(self, track: Track) -> tuple[str, ...]:
        """The options the metric is scored under: each of the track's, or ALL."""
        return track.options if isinstance(self.rule(track), OptionMetric) else (OPTION_ALL,)

    def max_points(self, track: Track) -> Fraction:
        return self.rule(track).max_points


METRICS: dict[str, Metric] = {
    m.name: m
    for m in (
        Metric(
            net_customer_adds.NAME,
            lambda t: t.net_customer_adds,
            net_customer_adds.rows,
            "customer",
            "net new customer",
            net_customer_adds.NAME,
        ),
        Metric(
            certifications.INTERMEDIATE,
            lambda t: t.intermediate_certifications,
            certifications.intermediate_rows,
            "person",
            "intermediate-certified person",
        ),
        Metric(
            certifications.ADVANCED,
            lambda t: t.advanced_certifications,
            certifications.advanced_rows,
            "person",
            "advanced-certified person",
        ),
        Metric(
            usage_growth.NAME,
            lambda t: t.usage_growth,
            usage_growth.rows,
            "active_user",
            "active user under {option}",
            usage_growth.NAME,
        ),
        Metric(
            deployments.NAME,
            lambda t: t.deployments,
            deployments.rows,
            "deployment",
            "{option} deployment",
            deployments.NAME,
        ),
    )
}
"""In the order scorecards list them."""

ROW_KEYS = ["month", "partner_id", "track", "metric", "option"]


def _grid(book: Rulebook, partners: pl.Series, month: dt.date) -> pl.LazyFrame:
    """Every (month, partner, track, metric, option) that gets a row, with ranks for ordering."""
    shape = pl.DataFrame(
        [
            {
                "track": t.name,
                "metric": metric.name,
                "option": o,
                "track_rank": t_rank,
                "option_rank": o_rank,
                "max_units": book.units(metric.max_points(t)),
            }
            for t_rank, t in enumerate(book.tracks)
            for metric in METRICS.values()
            for o_rank, o in enumerate(metric.options(t))
        ],
        schema={
            "track": track_dtype(book),
            "metric": lexical_enum(METRICS),
            "option": option_dtype(book),
            "track_rank": pl.Int64,
            "option_rank": pl.Int64,
            "max_units": pl.Int64,
        },
    )
    months = pl.DataFrame({"month": [month]}, schema={"month": pl.Date})
    return months.lazy().join(partners.to_frame().lazy(), how="cross").join(shape.lazy(), how="cross")


def list_of(book: Rulebook, metric: Metric) -> int:
    """The index in ``book.workload_lists`` of the list the metric counts on (0 when none)."""
    return book.list_index(metric.workloads) if metric.workloads else 0


def metric_rows(
    book: Rulebook,
    partners: pl.Series,
    month: dt.date,
    customers: list[dict[str, pl.DataFrame]],
    persons: pl.DataFrame,
) -> pl.DataFrame:
    """Every metric row of ``month`` for ``partners``: value, current, year_ago, adjustment,
    units, max_units, ranks and ``is_winner``; absent measures are zero. ``customers`` holds,
    per workload list of the rulebook (``Rulebook.workload_lists``), each track's
    ``customers.tenant_facts``; each metric reads its own list's."""
    measured = pl.concat(
        [
            metric.rows(book, track, customers[list_of(book, metric)][track.name].lazy(), persons.lazy())
            .with_columns(pl.lit(track.name).alias("track"), pl.lit(metric.name).alias("metric"))
            .select(*ROW_KEYS, "value", "current", "year_ago", "adjustment", "units")
            .cast(
                {
                    "partner_id": pl.Categorical(),
                    "track": track_dtype(book),
                    "metric": lexical_enum(METRICS),
                    "option": option_dtype(book),
                    "value": pl.Int64(),
                    "current": pl.Int64(),
                    "year_ago": pl.Int64(),
                    "adjustment": pl.Int64(),
                    "units": pl.Int64(),
                }
            )
            for track in book.tracks
            for metric in METRICS.values()
        ]
    )
    return (
        _grid(book, partners, month)
        .join(measured, on=ROW_KEYS, how="left")
        .with_columns(pl.col("value", "current", "year_ago", "adjustment", "units").fill_null(0))
        .with_columns(is_winner(["month", "partner_id", "track", "metric"]).alias("is_winner"))
        .collect()
    )
