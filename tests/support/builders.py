"""A small world builder for scoring tests: typed input frames from a few readable lines."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import polars as pl

from scoring import calendar, engine
from scoring.frames import ASSOCIATIONS_SCHEMA, CERTIFICATIONS_SCHEMA, USAGE_SCHEMA, Snapshots
from scoring.rulebook import Rulebooks, load_rulebooks

RULEBOOKS = load_rulebooks()


def month(s: str) -> dt.date:
    return calendar.parse_month(s)


def day(s: str) -> dt.date:
    return dt.date.fromisoformat(s)


@dataclass
class World:
    """Scored month ``scored``; every snapshot M-12..M exists (empty unless filled)."""

    scored: str = "2024-06"
    usage_rows: list[tuple] = field(default_factory=list)
    assoc_rows: list[tuple] = field(default_factory=list)
    cert_rows: list[tuple] = field(default_factory=list)
    partners: set[str] = field(default_factory=set)
    drop_months: set[str] = field(default_factory=set)
    rulebooks: Rulebooks = RULEBOOKS

    @property
    def m(self) -> dt.date:
        return month(self.scored)

    def ago(self, n: int) -> str:
        return f"{calendar.add_months(self.m, -n):%Y-%m}"

    def use(self, mon: str, tenant: str, workload: str, paid: int, active: int) -> World:
        self.usage_rows.append((month(mon), tenant, workload, paid, active))
        return self

    def assoc(self, mon: str, partner: str, tenant: str, workload: str, kind: str, on: str) -> World:
        self.partners.add(partner)
        self.assoc_rows.append((month(mon), partner, tenant, workload, kind, day(on)))
        return self

    def tenant(
        self,
        mons: list[str],
        tenant: str,
        workload: str,
        paid: int,
        active: int,
        partner: str | None = None,
        kind: str = "CPOR",
        on: str = "2020-01-01",
    ) -> World:
        """Usage (and optionally one association) repeated over several months."""
        for mon in mons:
            self.use(mon, tenant, workload, paid, active)
            if partner:
                self.assoc(mon, partner, tenant, workload, kind, on)
        return self

    def cert(
        self, partner: str, person: str, name: str, earned: str = "2020-01-01", expires: str | None = None
    ) -> World:
        self.partners.add(partner)
        self.cert_rows.append((partner, person, name, day(earned), day(expires) if expires else None))
        return self

    def certs(self, partner: str, level: str, n: int, prefix: str = "x") -> World:
        name = {
            "int": "Microsoft 365 Fundamentals",
            "adv": "Microsoft 365 Certified: Enterprise Administrator Expert",
        }[level]
        for i in range(n):
            self.cert(partner, f"{prefix}{level}{i}", name)
        return self

    def snapshots(self) -> Snapshots:
        months = {m for m in engine.months_needed(self.m) if f"{m:%Y-%m}" not in self.drop_months}
        return Snapshots(
            months=frozenset(months),
            usage=pl.DataFrame(self.usage_rows, schema=USAGE_SCHEMA, orient="row"),
            associations=pl.DataFrame(self.assoc_rows, schema=ASSOCIATIONS_SCHEMA, orient="row"),
        )

    def score_months(self, *mons: str, extra_partners: tuple[str, ...] = ()) -> dict[str, Result]:
        """Score several months in one run (a backfill; each under its own rulebook version):
        each month's results. Every snapshot the months need exists (empty unless filled)."""
        scored = [month(m) for m in mons]
        needed = {n for m in scored for n in engine.months_needed(m) if f"{n:%Y-%m}" not in self.drop_months}
        res = engine.score(
            rulebooks=self.rulebooks,
            months=scored,
            snapshots=Snapshots(
                months=frozenset(needed),
                usage=pl.DataFrame(self.usage_rows, schema=USAGE_SCHEMA, orient="row"),
                associations=pl.DataFrame(self.assoc_rows, schema=ASSOCIATIONS_SCHEMA, orient="row"),
            ),
            certifications=self.cert_frame(),
            partner_ids=sorted(self.partners | set(extra_partners)),
        )
        return {
            f"{m:%Y-%m}": Result(
                engine.ScoreResult(**{name: f.filter(pl.col("month") == m) for name, f in res.frames().items()})
            )
            for m in scored
        }

    def cert_frame(self) -> pl.DataFrame:
        return pl.DataFrame(self.cert_rows, schema=CERTIFICATIONS_SCHEMA, orient="row")

    def score(self, extra_partners: tuple[str, ...] = ()) -> Result:
        res = engine.score(
            rulebooks=self.rulebooks,
            months=[self.m],
            snapshots=self.snapshots(),
            certifications=pl.DataFrame(self.cert_rows, schema=CERTIFICATIONS_SCHEMA, orient="row"),
            partner_ids=sorted(self.partners | set(extra_partners)),
        )
        return Result(res)


@dataclass
class Result:
    res: engine.ScoreResult

    def metric(self, partner: str, track: str, metric: str, option: str | None = None) -> dict:
        f = self.res.metric_points.filter(
            (pl.col("partner_id") == partner) & (pl.col("track") == track) & (pl.col("metric") == metric)
        )
        f = f.filter(pl.col("option") == option) if option else f.filter(pl.col("is_winner"))
        assert f.height == 1, f
        return f.row(0, named=True)

    def points(self, partner: str, track: str, metric: str, option: str | None = None) -> float:
        return self.metric(partner, track, metric, option)["points"]

    def path(self, partner: str, track: str) -> dict:
        f = self.res.path_scores.filter((pl.col("partner_id") == partner) & (pl.col("track") == track))
        assert f.height == 1
        return f.row(0, named=True)

    def designation(self, partner: str) -> dict:
        f = self.res.designations.filter(pl.col("partner_id") == partner)
        assert f.height == 1
        return f.row(0, named=True)

    def eligible(self, tenant: str) -> set[str]:
        return set(self.res.eligible_tenants.filter(pl.col("tenant_id") == tenant)["track"].to_list())

    def detail(self, partner: str, tenant: str, track: str, option: str) -> dict:
        f = self.res.customer_details.filter(
            (pl.col("partner_id") == partner)
            & (pl.col("tenant_id") == tenant)
            & (pl.col("track") == track)
            & (pl.col("option") == option)
        )
        assert f.height == 1, f
        return f.row(0, named=True)
