"""The world model of one generation run: its parameters (``World``, drawn names from the
rulebook versions in force over the window), the month numbering of the window, the id and
spelling expressions every table uses."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field

import polars as pl

from pcs.generate.rng import Rng
from scoring.calendar import parse_month
from scoring.names import fold
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
    # across a rule change (more than one rulebook version in the window):
    renamed: dict[int, str] = field(default_factory=dict)  # workload index -> its later name
    change: int = NEVER  # month index of the first month of the later version
    counts_through: dict[str, dt.date] = field(default_factory=dict)  # retiring certification -> date

    @property
    def start_number(self) -> int:
        """The month number of the first month."""
        return month_number(self.start)

    def pw(self, p: float) -> float:
        return per_window(p, self.months)

    def pw_group(self, values: Sequence[float], group: pl.Series) -> pl.Series:
        return per_group([self.pw(v) for v in values], group)


def make_world(
    books: Sequence[Rulebook], seed: int, partners: int, unlisted_assoc: int, months: int, start: str
) -> World:
    """``books``: the rulebook versions in force over the window, in month order. With one, the
    world draws that version's names; with more, the union of theirs, each renamed workload once
    (spelled the earlier way, and the later way more often after the change)."""
    rulebook = books[0]
    eligible, renamed = _workloads_across(books)
    folded = {w.strip().casefold() for w in eligible}
    ineligible = tuple(w for w in INELIGIBLE_WORKLOADS if w.casefold() not in folded)
    type_names = _association_types(rulebook)
    inter = tuple(dict.fromkeys(c for b in books for c in b.intermediate_certifications))
    adv = tuple(dict.fromkeys(c for b in books for c in b.advanced_certifications))
    aliases = tuple(dict.fromkeys(a for b in books for a in b.certification_aliases))
    known = {c.casefold() for c in inter + adv + aliases}
    inel = tuple(c for c in INELIGIBLE_CERTIFICATIONS if c.casefold() not in known)
    names = inter + aliases + adv + inel
    weights = (
        tuple(0.50 / len(inter) for _ in inter)
        + tuple(0.05 / max(len(aliases), 1) for _ in aliases)
        + tuple(0.17 / len(adv) for _ in adv)
        + tuple(0.28 / max(len(inel), 1) for _ in inel)
    )
    first = parse_month(start, what="start")
    later = [b.effective_from for b in books[1:]]
    change = (later[0].year - first.year) * 12 + later[0].month - first.month if later else NEVER
    return World(
        renamed=renamed,
        change=change,
        counts_through={c: d for b in books[1:] for c, d in b.certification_counts_through.items()},
        rng=Rng(seed),
        months=months,
        start=first,
        listed=partners,
        assoc_pool=partners + unlisted_assoc,
        workload_names=eligible + ineligible,
        n_eligible=len(eligible),
        type_names=type_names,
        cert_names=names,
        cert_weights=weights,
    )


def _workloads_across(books: Sequence[Rulebook]) -> tuple[tuple[str, ...], dict[int, str]]:
    """Every eligible workload of the versions, once each (a rename is one workload), spelled as
    the first version writes it, and index -> later spelling for the renamed ones."""
    if len(books) == 1:
        return tuple(books[0].eligible_workloads), {}
    renames = {fold(old): new for old, new in books[0].workload_renames.items()}
    spelled: dict[str, str] = {}  # folded later name -> first spelling
    later: dict[str, str] = {}
    for book in books:
        for name in book.eligible_workloads:
            key = fold(renames.get(fold(name), name))
            spelled.setdefault(key, name)
            if fold(spelled[key]) != fold(name):
                later[key] = name
    names = tuple(spelled.values())
    return names, {i: later[k] for i, k in enumerate(spelled) if k in later}


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


def spell_workload(w: World, wl: pl.Expr, noise: pl.Expr, month: int) -> pl.Expr:
    """The workload's name in month index ``month``, now and then in another case or with a stray
    space; a renamed workload under its later name a quarter of the time before the change and
    three quarters after (one name per row: never both for one key)."""
    name = wl.replace_strict(dict(enumerate(w.workload_names)), return_dtype=pl.String)
    if w.renamed:
        share_later = 0.75 if month >= w.change else 0.25
        later = wl.replace_strict(w.renamed, default=None, return_dtype=pl.String)
        pick = (noise * 7.0) % 1.0  # another draw from the same uniform
        name = pl.when(later.is_not_null() & (pick < share_later)).then(later).otherwise(name)
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
