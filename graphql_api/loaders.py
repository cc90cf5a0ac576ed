"""The request's DataLoaders: every list below a page is loaded in one query per level.

A page of N scorecards with paths, metrics and options costs a fixed number of statements
(designations, paths, metric points), whatever N is. Made per request (``Loaders(...)``): the
cache lives as long as the request.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence

from sqlalchemy import Row
from strawberry.dataloader import DataLoader

from graphql_api import db
from graphql_api.db import RequestDB
from graphql_api.services import Services
from graphql_api.types.customer import HeldWorkload
from graphql_api.types.enums import METRIC_ORDER, OPTION_ORDER, TRACK_ORDER, AssociationOption, Metric, Track
from graphql_api.types.metric_score import MetricScore
from graphql_api.types.option_score import OptionScore
from graphql_api.types.partner import Partner, partner_from_row
from graphql_api.types.path_score import PathScore
from graphql_api.types.scorecard import Scorecard, scorecard_from_row
from graphql_api.types.trend import MetricTrend, PathTrend, Trend, TrendSeries
from scoring.calendar import add_months

PartnerMonth = tuple[str, dt.date]
RangeKey = tuple[str, dt.date | None, dt.date | None]  # (partner_id, from, to)
CustomerPageKey = tuple[str, db.CustomerFilter, tuple[str, str, str] | None, int]  # (partner, filter, after, limit)
CustomerCountKey = tuple[str, db.CustomerFilter]


class _Members(dict):
    """value -> enum member, by a dict lookup (an enum's call costs ~20x more; a page of
    scorecards makes thousands); unknown values go to the enum itself (its error)."""

    def __init__(self, enum: type) -> None:
        super().__init__((m.value, m) for m in enum)
        self.enum = enum

    def __missing__(self, value: object) -> object:
        return self.enum(value)


TRACKS, METRICS, OPTIONS = _Members(Track), _Members(Metric), _Members(AssociationOption)


class Loaders:
    def __init__(self, rdb: RequestDB, services: Services) -> None:
        self.db = rdb
        self.services = services
        self.partner: DataLoader[str, Partner | None] = DataLoader(self._partners)
        self.scorecard: DataLoader[PartnerMonth, Scorecard | None] = DataLoader(self._scorecards)
        self.latest_scorecard: DataLoader[str, Scorecard | None] = DataLoader(self._latest_scorecards)
        self.history: DataLoader[RangeKey, list[Scorecard]] = DataLoader(self._histories)
        self.paths: DataLoader[PartnerMonth, list[PathScore]] = DataLoader(self._paths)
        self.metrics: DataLoader[PartnerMonth, dict[str, list[MetricScore]]] = DataLoader(self._metrics)
        self.trend: DataLoader[RangeKey, Trend] = DataLoader(self._trends)
        self.holdings: DataLoader[db.HoldingKey, list[HeldWorkload]] = DataLoader(self._holdings)
        self.customer_page: DataLoader[CustomerPageKey, list[Row]] = DataLoader(self._customer_pages)
        self.customer_count: DataLoader[CustomerCountKey, int] = DataLoader(self._customer_counts)

    # ---- partners and scorecards ---------------------------------------------------------

    async def _partners(self, ids: list[str]) -> list[Partner | None]:
        rows = await self.db.run(db.partners_by_id, ids)
        found = {r.partner_id: partner_from_row(r) for r in rows}
        return [found.get(i) for i in ids]

    def prime_scorecards(self, cards: Sequence[Scorecard]) -> None:
        for c in cards:
            self.scorecard.prime((str(c.partner_id), c.month), c)

    async def _scorecards(self, keys: list[PartnerMonth]) -> list[Scorecard | None]:
        rows = await self.db.run(db.designations_by_key, keys)
        found = {(r.partner_id, r.month): scorecard_from_row(r) for r in rows}
        return [found.get(k) for k in keys]

    async def _latest_scorecards(self, ids: list[str]) -> list[Scorecard | None]:
        rows = await self.db.run(db.latest_designations, ids)
        found = {r.partner_id: scorecard_from_row(r) for r in rows}
        self.prime_scorecards(list(found.values()))
        return [found.get(i) for i in ids]

    async def _histories(self, keys: list[RangeKey]) -> list[list[Scorecard]]:
        by_range: dict[tuple, list[str]] = defaultdict(list)
        for pid, lo, hi in keys:
            by_range[(lo, hi)].append(pid)
        cards: dict[RangeKey, list[Scorecard]] = defaultdict(list)
        for (lo, hi), ids in by_range.items():
            for r in await self.db.run(db.designations_in_ranges, ids, lo, hi):
                cards[(r.partner_id, lo, hi)].append(scorecard_from_row(r))
        for found in cards.values():
            self.prime_scorecards(found)
        return [cards.get(k, []) for k in keys]

    # ---- paths, metrics, options ----------------------------------------------------------

    async def _paths(self, keys: list[PartnerMonth]) -> list[list[PathScore]]:
        rows = await self.db.run(db.paths_by_key, keys)
        found: dict[PartnerMonth, list[PathScore]] = defaultdict(list)
        for r in rows:
            found[(r.partner_id, r.month)].append(
                PathScore(
                    track=TRACKS[r.track],
                    total=r.total,
                    qualifies=r.qualifies,
                    metrics_at_minimum=r.metrics_at_minimum,
                    partner_id=r.partner_id,
                    month=r.month,
                )
            )
        for paths in found.values():
            paths.sort(key=lambda p: TRACK_ORDER[p.track.value])
        return [found.get(k, []) for k in keys]

    def _option_order(self, month: dt.date, cache: dict) -> dict[str, dict[str, int]]:
        if month not in cache:
            cache[month] = self.services.track_options(None, month)
        return cache[month]

    async def _metrics(self, keys: list[PartnerMonth]) -> list[dict[str, list[MetricScore]]]:
        rows = await self.db.run(db.metrics_by_key, keys)
        grouped: dict[tuple, list[Row]] = defaultdict(list)
        for r in rows:
            grouped[(r.partner_id, r.month, r.track, r.metric)].append(r)
        orders: dict = {}
        found: dict[PartnerMonth, dict[str, list[MetricScore]]] = defaultdict(lambda: defaultdict(list))
        for (pid, month, track, metric), opts in grouped.items():
            winner = next((o for o in opts if o.is_winner), None)
            if winner is None:
                continue
            track_order = self._option_order(month, orders).get(track, {})
            opts.sort(key=lambda o: (track_order.get(o.option, 99), OPTION_ORDER.get(o.option, 99), o.option))
            found[(pid, month)][track].append(
                MetricScore(
                    metric=METRICS[metric],
                    points=winner.points,
                    max_points=winner.max_points,
                    value=float(winner.value),
                    option=OPTIONS[winner.option],
                    options=[
                        OptionScore(
                            option=OPTIONS[o.option],
                            value=float(o.value),
                            points=o.points,
                            current=float(o.current),
                            year_ago=float(o.year_ago),
                            adjustment=float(o.adjustment),
                            is_winner=o.is_winner,
                        )
                        for o in opts
                    ],
                    current=float(winner.current),
                    year_ago=float(winner.year_ago),
                    adjustment=float(winner.adjustment),
                )
            )
        for tracks in found.values():
            for metrics in tracks.values():
                metrics.sort(key=lambda m: METRIC_ORDER[m.metric.value])
        return [dict(found[k]) if k in found else {} for k in keys]

    # ---- customers --------------------------------------------------------------------------

    async def _holdings(self, keys: list[db.HoldingKey]) -> list[list[HeldWorkload]]:
        rows = await self.db.run(db.holdings_by_key, keys)
        found: dict[db.HoldingKey, list[HeldWorkload]] = defaultdict(list)
        for r in rows:
            found[(r.month, r.partner_id, r.tenant_id, r.option)].append(
                HeldWorkload(
                    workload=r.workload,
                    associated_on=r.associated_on,
                    paid_seats=r.paid_seats,
                    active_users=r.active_users,
                )
            )
        return [found.get(k, []) for k in keys]

    async def _customer_pages(self, keys: list[CustomerPageKey]) -> list[list[Row]]:
        groups: dict[tuple, list[str]] = defaultdict(list)
        for pid, flt, after, limit in keys:
            groups[(flt, after, limit)].append(pid)
        found: dict[CustomerPageKey, list[Row]] = defaultdict(list)
        for (flt, after, limit), ids in groups.items():
            for r in await self.db.run(db.customer_pages, ids, flt, after, limit):
                found[(r.partner_id, flt, after, limit)].append(r)
        return [found.get(k, []) for k in keys]

    async def _customer_counts(self, keys: list[CustomerCountKey]) -> list[int]:
        groups: dict[db.CustomerFilter, list[str]] = defaultdict(list)
        for pid, flt in keys:
            groups[flt].append(pid)
        found: dict[CustomerCountKey, int] = {}
        for flt, ids in groups.items():
            for pid, n in await self.db.run(db.customer_counts, ids, flt):
                found[(pid, flt)] = n
        return [found.get(k, 0) for k in keys]

    # ---- trends -----------------------------------------------------------------------------

    async def _trends(self, keys: list[RangeKey]) -> list[Trend]:
        by_range: dict[tuple, list[str]] = defaultdict(list)
        for pid, lo, hi in keys:
            by_range[(lo, hi)].append(pid)
        out: dict[RangeKey, Trend] = {}
        for (lo, hi), ids in by_range.items():
            start = add_months(lo, -12) if lo is not None else None  # for the deltas of the first months
            designations = await self.db.run(db.designations_in_ranges, ids, start, hi)
            paths = await self.db.run(db.paths_in_ranges, ids, start, hi)
            winners = await self.db.run(db.winners_in_ranges, ids, start, hi)
            per_partner = _TrendData.collect(designations, paths, winners)
            for pid in ids:
                data = per_partner.get(pid) or _TrendData()
                out[(pid, lo, hi)] = data.trend(lo, hi)
        return [out[k] for k in keys]


class _TrendData:
    """One partner's scores by month, to build a Trend."""

    def __init__(self) -> None:
        self.score: dict[dt.date, float] = {}
        self.attained: dict[dt.date, bool] = {}
        self.best: dict[dt.date, str] = {}
        self.total: dict[tuple[str, dt.date], float] = {}
        self.qualifies: dict[tuple[str, dt.date], bool] = {}
        self.points: dict[tuple[str, str, dt.date], float] = {}
        self.value: dict[tuple[str, str, dt.date], float] = {}

    @staticmethod
    def collect(designations: list[Row], paths: list[Row], winners: list[Row]) -> dict[str, _TrendData]:
        data: dict[str, _TrendData] = defaultdict(_TrendData)
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

    @staticmethod
    def _series(months: list[dt.date], get) -> TrendSeries:
        values, mom, yoy = [], [], []
        for m in months:
            v = get(m)
            v = 0.0 if v is None else v
            prev, year = get(add_months(m, -1)), get(add_months(m, -12))
            values.append(v)
            mom.append(None if prev is None else v - prev)
            yoy.append(None if year is None else v - year)
        return TrendSeries(values=values, month_over_month=mom, year_over_year=yoy)

    def trend(self, lo: dt.date | None, hi: dt.date | None) -> Trend:
        months = sorted(m for m in self.score if (lo is None or m >= lo) and (hi is None or m <= hi))
        tracks = sorted({t for t, _ in self.total}, key=lambda t: TRACK_ORDER.get(t, 99))
        paths = []
        for t in tracks:
            metrics = [
                MetricTrend(
                    metric=metric,
                    points=self._series(months, lambda m, k=(t, metric.value): self.points.get((*k, m))),
                    value=self._series(months, lambda m, k=(t, metric.value): self.value.get((*k, m))),
                )
                for metric in Metric
            ]
            paths.append(
                PathTrend(
                    track=Track(t),
                    total=self._series(months, lambda m, t=t: self.total.get((t, m))),
                    qualifies=[self.qualifies.get((t, m), False) for m in months],
                    metrics=metrics,
                )
            )
        return Trend(
            months=months,
            score=self._series(months, self.score.get),
            attained=[self.attained[m] for m in months],
            best_track=[Track(self.best[m]) for m in months],
            paths=paths,
        )
