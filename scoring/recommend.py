"""Recommendations: per track, the cheapest set of concrete gains that reaches the designation.

A gain is one more unit of a metric's measure (person, customer, deployment, active user),
worth its rulebook points; points are exact. The search is exhaustive over the discrete gains
and solves usage growth in closed form, so the plan is the cheapest under ``Costs``.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from fractions import Fraction

import polars as pl

from scoring.metrics import METRICS, usage_growth
from scoring.points import capped, per_unit
from scoring.rulebook import Rulebook, Track


@dataclass(frozen=True)
class Costs:
    """The cost of one unit of each kind of measure."""

    person: Fraction = Fraction(1)
    customer: Fraction = Fraction(1)
    deployment: Fraction = Fraction(1)
    active_user: Fraction = Fraction(1, 100)

    def of(self, metric: str) -> Fraction:
        """The cost of one unit of ``metric``'s measure."""
        unit = METRICS[metric].unit
        return {
            "person": self.person,
            "customer": self.customer,
            "deployment": self.deployment,
            "active_user": self.active_user,
        }[unit]


@dataclass(frozen=True)
class Gain:
    metric: str
    option: str  # ALL for customers and persons
    units: int  # persons, customers, deployments or active users to add
    points: Fraction  # the metric's points after the gain minus before

    def describe(self) -> str:
        noun = METRICS[self.metric].noun.format(option=self.option)
        plural = "s" if self.units != 1 else ""
        return f"{self.units} more {noun}{plural} (+{float(self.points):g})"


@dataclass
class Plan:
    track: str
    reachable: bool
    gains: list[Gain] = field(default_factory=list)
    cost: Fraction = Fraction(0)
    total_before: Fraction = Fraction(0)
    total_after: Fraction = Fraction(0)

    @property
    def units(self) -> int:
        return sum(g.units for g in self.gains)


# measures: (metric, option) -> current value (net adds, persons, growth, net deployments)
Measures = dict[tuple[str, str], int]


def _per_unit(track: Track, metric: str, option: str) -> tuple[Fraction, Fraction]:
    """(points per unit, cap) of one metric option."""
    rule = METRICS[metric].rule(track)
    return per_unit(rule, option), rule.max_points


def points(track: Track, metric: str, option: str, value: int) -> Fraction:
    unit_points, cap = _per_unit(track, metric, option)
    return capped(value, unit_points, cap)


def _choices(
    track: Track, metric: str, measures: Measures, costs: Costs
) -> list[tuple[Fraction, Fraction, Gain | None]]:
    """Every useful (points after, cost, gain) of a discrete metric: none, or n units on one option."""
    base = max(points(track, metric, o, measures.get((metric, o), 0)) for o in METRICS[metric].options(track))
    out: list[tuple[Fraction, Fraction, Gain | None]] = [(base, Fraction(0), None)]
    for o in METRICS[metric].options(track):
        now = measures.get((metric, o), 0)
        unit_points, cap = _per_unit(track, metric, o)
        full = max(0, math.ceil(cap / unit_points) - now)  # units that reach the cap
        for n in range(1, full + 1):
            after = max(base, points(track, metric, o, now + n))
            if after > base:
                out.append((after, n * costs.of(metric), Gain(metric, o, n, after - base)))
    return out


def _usage_gain(track: Track, measures: Measures, need: Fraction, costs: Costs) -> tuple[Fraction, Gain | None] | None:
    """Cheapest usage-growth gain that brings the metric to ``need`` points (None: impossible)."""
    metric = usage_growth.NAME
    base = max(points(track, metric, o, measures.get((metric, o), 0)) for o in track.options)
    if base >= need:
        return Fraction(0), None
    best: tuple[Fraction, Gain] | None = None
    for o in track.options:
        now = measures.get((metric, o), 0)
        unit_points, cap = _per_unit(track, metric, o)
        if need > cap:
            continue
        n = max(0, math.ceil(need / unit_points)) - now
        gain = Gain(metric, o, n, points(track, metric, o, now + n) - base)
        cost = n * costs.active_user
        if best is None or cost < best[0]:
            best = (cost, gain)
    return best


def recommend(book: Rulebook, track_name: str, measures: Measures, costs: Costs | None = None) -> Plan:
    """The cheapest plan that makes ``track_name`` qualify, from the partner's current measures.

    Cheapest: least total cost, then fewest units. A negative measure (customers or users lost)
    is made up before points grow, and only a metric's best option counts, so a plan adds to
    at most one option per metric.
    """
    costs = costs or Costs()
    track = book.track(track_name)
    discrete = [m for m in METRICS if m != usage_growth.NAME]
    per_metric = {m: _choices(track, m, measures, costs) for m in discrete}
    before = {m: per_metric[m][0][0] for m in discrete}
    usage_now = max(points(track, usage_growth.NAME, o, measures.get((usage_growth.NAME, o), 0)) for o in track.options)
    total_before = sum(before.values()) + usage_now
    best: Plan | None = None
    for combo in itertools.product(*(per_metric[m] for m in discrete)):
        if any(p < book.min_metric_points for p, _, _ in combo):
            continue
        others = sum(p for p, _, _ in combo)
        need = max(book.min_metric_points, book.min_total_points - others)
        usage = _usage_gain(track, measures, need, costs)
        if usage is None:
            continue
        cost = sum(c for _, c, _ in combo) + usage[0]
        gains = [g for _, _, g in combo if g] + ([usage[1]] if usage[1] else [])
        units = sum(g.units for g in gains)
        if best is None or (cost, units) < (best.cost, best.units):
            usage_after = usage_now + (usage[1].points if usage[1] else 0)
            best = Plan(track_name, True, gains, cost, total_before, others + usage_after)
    return best or Plan(track_name, False, total_before=total_before, total_after=total_before)


def measures_of(metric_points: pl.DataFrame, partner_id: str, track: str) -> Measures:
    """The current measures of one partner and track from a ``metric_points`` frame (one month)."""
    rows = metric_points.filter((metric_points["partner_id"] == partner_id) & (metric_points["track"] == track))
    return {(r["metric"], r["option"]): int(r["value"]) for r in rows.iter_rows(named=True)}
