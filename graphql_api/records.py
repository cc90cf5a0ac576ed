"""The plain shapes the loaders and resolvers hand to the types: database rows (or rows made from
a ``ScoreResult``'s frames) grouped the way a scorecard is served. One path builds scorecards:
rows -> these groups -> ``types.partner.Scorecard.from_rows``."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from graphql_api.enums import METRIC_ORDER, OPTION_ORDER, TRACK_ORDER
from scoring.calendar import add_months

PartnerMonth = tuple[str, dt.date]  # (partner_id, month)
OptionOrder = Callable[[dt.date], dict[str, dict[str, int]]]  # month -> track -> option -> position


@dataclass(slots=True)
class MetricRows:
    """One metric of a path: the winning option's ``metric_point`` row and every option's row,
    in the track's option order."""

    metric: str
    winner: Any
    options: list[Any]


@dataclass(slots=True)
class PathRows:
    """A ``path_score`` row and, when loaded ahead, its metrics (None: loaded when asked for)."""

    row: Any
    metrics: list[MetricRows] | None = None


@dataclass(slots=True)
class ScorecardRows:
    """A ``designation`` row and, when loaded ahead, its paths (None: loaded when asked for)."""

    row: Any
    paths: list[PathRows] | None = None


def sort_paths(rows: list[Any]) -> list[Any]:
    """``path_score`` rows ENTERPRISE then SMB."""
    rows.sort(key=lambda p: TRACK_ORDER[p.track])
    return rows


def group_metrics(rows: Iterable[Any], option_order: OptionOrder) -> dict[PartnerMonth, dict[str, list[MetricRows]]]:
    """``metric_point`` rows -> (partner, month) -> track -> metrics in enum order, each with its
    options in the rulebook's order for the track (a metric without a winner is left out)."""
    grouped: dict[tuple, list[Any]] = defaultdict(list)
    for r in rows:
        grouped[(r.partner_id, r.month, r.track, r.metric)].append(r)
    orders: dict[dt.date, dict[str, dict[str, int]]] = {}
    found: dict[PartnerMonth, dict[str, list[MetricRows]]] = defaultdict(lambda: defaultdict(list))
    for (pid, month, track, metric), opts in grouped.items():
        winner = next((o for o in opts if o.is_winner), None)
        if winner is None:
            continue
        if month not in orders:
            orders[month] = option_order(month)
        track_order = orders[month].get(track, {})
        opts.sort(key=lambda o: (track_order.get(o.option, 99), OPTION_ORDER.get(o.option, 99), o.option))
        found[(pid, month)][track].append(MetricRows(metric, winner, opts))
    for tracks in found.values():
        for metrics in tracks.values():
            metrics.sort(key=lambda m: METRIC_ORDER[m.metric])
    return {k: dict(v) for k, v in found.items()}


@dataclass(slots=True)
class Series:
    """A series over months with its month-over-month and year-over-year changes."""

    values: list[float]
    month_over_month: list[float | None]
    year_over_year: list[float | None]


@dataclass
class TrendData:
    """One partner's scores by month (the range asked for and the 12 months before it)."""

    score: dict[dt.date, float] = field(default_factory=dict)
    attained: dict[dt.date, bool] = field(default_factory=dict)
    best: dict[dt.date, str] = field(default_factory=dict)
    total: dict[tuple[str, dt.date], float] = field(default_factory=dict)
    qualifies: dict[tuple[str, dt.date], bool] = field(default_factory=dict)
    points: dict[tuple[str, str, dt.date], float] = field(default_factory=dict)
    value: dict[tuple[str, str, dt.date], float] = field(default_factory=dict)

    @staticmethod
    def collect(designations: list[Any], paths: list[Any], winners: list[Any]) -> dict[str, TrendData]:
        data: dict[str, TrendData] = defaultdict(TrendData)
        for r in designations:
            d = data[r.partner_id]
            d.score[r.month] = r.score
            d.attained[r.month] = r.attained
            d.best[r.month] = r.best_track
        for r in paths:
            d = data[r.partner_id]
            d.total[(r.track, r.month)] = r.total
            d.qualifies[(r.track, r.month)] = r.qualifies
        for r in winners:
            d = data[r.partner_id]
            d.points[(r.track, r.metric, r.month)] = r.points
            d.value[(r.track, r.metric, r.month)] = float(r.value)
        return data

    def months(self, lo: dt.date | None, hi: dt.date | None) -> list[dt.date]:
        """The scored months of lo..hi, ascending."""
        return sorted(m for m in self.score if (lo is None or m >= lo) and (hi is None or m <= hi))

    def tracks(self) -> list[str]:
        return sorted({t for t, _ in self.total}, key=lambda t: TRACK_ORDER.get(t, 99))

    @staticmethod
    def series(months: list[dt.date], get: Callable[[dt.date], float | None]) -> Series:
        values, mom, yoy = [], [], []
        for m in months:
            v = get(m)
            v = 0.0 if v is None else v
            prev, year = get(add_months(m, -1)), get(add_months(m, -12))
            values.append(v)
            mom.append(None if prev is None else v - prev)
            yoy.append(None if year is None else v - year)
        return Series(values, mom, yoy)
