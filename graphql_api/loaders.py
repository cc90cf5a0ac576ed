"""The request's DataLoaders: every list below a page is loaded in one query per level, as rows
(``graphql_api.records`` groups them). Made per request: the cache lives as long as the request."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence

from sqlalchemy import Row
from strawberry.dataloader import DataLoader

from graphql_api.db import queries as db
from graphql_api.db.request import RequestDB
from graphql_api.records import MetricRows, PartnerMonth, TrendData, group_metrics, sort_paths
from graphql_api.services import Services
from scoring.calendar import add_months

RangeKey = tuple[str, dt.date | None, dt.date | None]  # (partner_id, from, to)
CustomerPageKey = tuple[str, db.CustomerFilter, tuple[str, str, str] | None, int]  # (partner, filter, after, limit)
CustomerCountKey = tuple[str, db.CustomerFilter]


class Loaders:
    def __init__(self, rdb: RequestDB, services: Services) -> None:
        self.db = rdb
        self.services = services
        self.partner: DataLoader[str, Row | None] = DataLoader(self._partners)
        # designation rows: a scorecard's head
        self.scorecard: DataLoader[PartnerMonth, Row | None] = DataLoader(self._scorecards)
        self.latest_scorecard: DataLoader[str, Row | None] = DataLoader(self._latest_scorecards)
        self.history: DataLoader[RangeKey, list[Row]] = DataLoader(self._histories)
        self.paths: DataLoader[PartnerMonth, list[Row]] = DataLoader(self._paths)  # ENTERPRISE then SMB
        self.metrics: DataLoader[PartnerMonth, dict[str, list[MetricRows]]] = DataLoader(self._metrics)  # by track
        self.trend: DataLoader[RangeKey, TrendData] = DataLoader(self._trends)
        self.holdings: DataLoader[db.HoldingKey, list[Row]] = DataLoader(self._holdings)
        self.customer_page: DataLoader[CustomerPageKey, list[Row]] = DataLoader(self._customer_pages)
        self.customer_count: DataLoader[CustomerCountKey, int] = DataLoader(self._customer_counts)

    # ---- partners and scorecards ---------------------------------------------------------

    async def _partners(self, ids: list[str]) -> list[Row | None]:
        rows = await self.db.run(db.partners_by_id, ids)
        found = {r.partner_id: r for r in rows}
        return [found.get(i) for i in ids]

    def prime_scorecards(self, rows: Sequence[Row]) -> None:
        for r in rows:
            self.scorecard.prime((r.partner_id, r.month), r)

    async def _scorecards(self, keys: list[PartnerMonth]) -> list[Row | None]:
        rows = await self.db.run(db.designations_by_key, keys)
        found = {(r.partner_id, r.month): r for r in rows}
        return [found.get(k) for k in keys]

    async def _latest_scorecards(self, ids: list[str]) -> list[Row | None]:
        rows = await self.db.run(db.latest_designations, ids)
        found = {r.partner_id: r for r in rows}
        self.prime_scorecards(list(found.values()))
        return [found.get(i) for i in ids]

    async def _histories(self, keys: list[RangeKey]) -> list[list[Row]]:
        by_range: dict[tuple, list[str]] = defaultdict(list)
        for pid, lo, hi in keys:
            by_range[(lo, hi)].append(pid)
        cards: dict[RangeKey, list[Row]] = defaultdict(list)
        for (lo, hi), ids in by_range.items():
            for r in await self.db.run(db.designations_in_ranges, ids, lo, hi):
                cards[(r.partner_id, lo, hi)].append(r)
        for found in cards.values():
            self.prime_scorecards(found)
        return [cards.get(k, []) for k in keys]

    # ---- paths, metrics, options ----------------------------------------------------------

    async def _paths(self, keys: list[PartnerMonth]) -> list[list[Row]]:
        rows = await self.db.run(db.paths_by_key, keys)
        found: dict[PartnerMonth, list[Row]] = defaultdict(list)
        for r in rows:
            found[(r.partner_id, r.month)].append(r)
        return [sort_paths(found[k]) if k in found else [] for k in keys]

    async def _metrics(self, keys: list[PartnerMonth]) -> list[dict[str, list[MetricRows]]]:
        rows = await self.db.run(db.metrics_by_key, keys)
        found = group_metrics(rows, lambda month: self.services.track_options(None, month))
        return [found.get(k, {}) for k in keys]

    # ---- customers --------------------------------------------------------------------------

    async def _holdings(self, keys: list[db.HoldingKey]) -> list[list[Row]]:
        rows = await self.db.run(db.holdings_by_key, keys)
        found: dict[db.HoldingKey, list[Row]] = defaultdict(list)
        for r in rows:
            found[(r.month, r.partner_id, r.tenant_id, r.option)].append(r)
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

    async def _trends(self, keys: list[RangeKey]) -> list[TrendData]:
        by_range: dict[tuple, list[str]] = defaultdict(list)
        for pid, lo, hi in keys:
            by_range[(lo, hi)].append(pid)
        out: dict[RangeKey, TrendData] = {}
        for (lo, hi), ids in by_range.items():
            start = add_months(lo, -12) if lo is not None else None  # for the deltas of the first months
            designations = await self.db.run(db.designations_in_ranges, ids, start, hi)
            paths = await self.db.run(db.paths_in_ranges, ids, start, hi)
            winners = await self.db.run(db.winners_in_ranges, ids, start, hi)
            per_partner = TrendData.collect(designations, paths, winners)
            for pid in ids:
                out[(pid, lo, hi)] = per_partner.get(pid) or TrendData()
        return [out[k] for k in keys]
