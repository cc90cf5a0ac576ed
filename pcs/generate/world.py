"""The world model of one generation run: its parameters (``World``, drawn names from the
rulebook), the month numbering of the window, the id and spelling expressions every table uses."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

import polars as pl

from pcs.generate.rng import Rng
from scoring.calendar import parse_month
from scoring.rulebook import Rulebook

INELIGIBLE_WORKLOADS = (
    "Dynamics 365",
    "Power BI",
    "Azure AD Premium",
    "Dynamics 365 Sales",
    "Windows 365",
    "Defender for Endpoint",
)
INELIGIBLE_CERTIFICATIONS = (
    "Microsoft Certified: Azure Fundamentals",
    "Microsoft Certified: Azure Administrator Associate",
    "Microsoft Certified: Power Platform Fundamentals",
    "Microsoft 365 Certified: Security Administrator Associate",
    "Microsoft 365 Certified: Teams Administrator",  # a near miss: not the eligible name
    "Microsoft Certified: Dynamics 365 Fundamentals",
)
# The association types are the rulebook's, drawn by their position in it: two that are options
# of their own (CPOR, DPOR), then two tiers of one option (CSP_T1, CSP_T2; a tier change moves a
# holding from the lower to the upper tier).
LOWER_TIER, UPPER_TIER = 2, 3
NEVER = 32_000  # "does not happen" as a month index
_NAME_NOISE = 0.006  # share of rows whose workload is spelled oddly (case, stray space)


def per_window(p: float, months: int) -> float:
    """Chance that something with chance ``p`` per 24 months happens within ``months`` months
    (the rates of the synthetic world are per month, whatever the window's length)."""
    return 1.0 - (1.0 - p) ** (months / 24)


def per_group(values: Sequence[float], group: pl.Series) -> pl.Series:
    return pl.Series(values, dtype=pl.Float64).gather(group)


# Months inside Polars expressions are month numbers: year * 12 + month - 1.


def month_number(month: dt.date) -> int:
    return month.year * 12 + month.month - 1


def _first_day(number: pl.Expr) -> pl.Expr:
    """The first day of the month with month number ``number``."""
    return pl.date(number // 12, number % 12 + 1, 1)


def day_in_month(number: pl.Expr, frac: pl.Expr) -> pl.Expr:
    """A day of the month with month number ``number``: ``frac`` in [0, 1) picks it."""
    first = _first_day(number)
    dim = first.dt.month_end().dt.day().cast(pl.Int64)
    return first + pl.duration(days=(frac * dim).floor().cast(pl.Int64).clip(0, dim - 1))


@dataclass(frozen=True)
class World:
    """The fixed parameters of one generation run."""

    rng: Rng
    months: int
    start: dt.date  # the first month
    listed: int  # partners in partners.csv
    assoc_pool: int  # partners a second association may come from (listed + association-only)
    workload_names: tuple[str, ...]  # eligible first, then ineligible
    n_eligible: int
    type_names: tuple[str, ...]  # the rulebook's association types, in its order
    cert_names: tuple[str, ...]
    cert_weights: tuple[float, ...]

    @property
    def start_number(self) -> int:
        """The month number of the first month."""
        return month_number(self.start)

    def pw(self, p: float) -> float:
        return per_window(p, self.months)

    def pw_group(self, values: Sequence[float], group: pl.Series) -> pl.Series:
        return per_group([self.pw(v) for v in values], group)


def make_world(rulebook: Rulebook, seed: int, partners: int, unlisted_assoc: int, months: int, start: str) -> World:
    eligible = tuple(rulebook.eligible_workloads)
    folded = {w.strip().casefold() for w in eligible}
    ineligible = tuple(w for w in INELIGIBLE_WORKLOADS if w.casefold() not in folded)
    type_names = _association_types(rulebook)
    inter, adv = tuple(rulebook.intermediate_certifications), tuple(rulebook.advanced_certifications)
    aliases = tuple(rulebook.certification_aliases)
    known = {c.casefold() for c in inter + adv + aliases}
    inel = tuple(c for c in INELIGIBLE_CERTIFICATIONS if c.casefold() not in known)
    names = inter + aliases + adv + inel
    weights = (
        tuple(0.50 / len(inter) for _ in inter)
        + tuple(0.05 / max(len(aliases), 1) for _ in aliases)
        + tuple(0.17 / len(adv) for _ in adv)
        + tuple(0.28 / max(len(inel), 1) for _ in inel)
    )
    return World(
        rng=Rng(seed),
        months=months,
        start=parse_month(start, what="start"),
        listed=partners,
        assoc_pool=partners + unlisted_assoc,
        workload_names=eligible + ineligible,
        n_eligible=len(eligible),
        type_names=type_names,
        cert_names=names,
        cert_weights=weights,
    )


def _association_types(rulebook: Rulebook) -> tuple[str, ...]:
    """The rulebook's input association types, in its order, checked to fit the world's roles."""
    types = tuple(rulebook.association_types)
    options = [rulebook.association_types[t] for t in types]
    if len(types) != 4 or len(set(options)) != 3 or options[LOWER_TIER] != options[UPPER_TIER]:
        raise ValueError(
            f"the rulebook's association types {sorted(types)} are not two options of their own"
            " and two tiers of a third (CPOR, DPOR, CSP_T1, CSP_T2)"
        )
    return types


def partner_id(p: pl.Expr) -> pl.Expr:
    return pl.concat_str(pl.lit("P"), p.cast(pl.String).str.zfill(6))


def tenant_id(t: pl.Expr) -> pl.Expr:
    return pl.concat_str(pl.lit("T"), t.cast(pl.String).str.zfill(7))


def spell_workload(w: World, wl: pl.Expr, noise: pl.Expr) -> pl.Expr:
    """The workload's name, now and then in another case or with a stray space."""
    name = wl.replace_strict(dict(enumerate(w.workload_names)), return_dtype=pl.String)
    r = _NAME_NOISE
    return (
        pl.when(noise >= r)
        .then(name)
        .when(noise < r / 4)
        .then(name.str.to_lowercase())
        .when(noise < r / 2)
        .then(pl.concat_str(pl.lit(" "), name))
        .when(noise < 3 * r / 4)
        .then(pl.concat_str(name, pl.lit(" ")))
        .otherwise(name.str.to_uppercase())
    )
