"""What-if simulation of one partner's score in one month, and the status/warnings built on it.

The partner's slice of the inputs is changed on copies and scored with the same
``engine.score`` as the real one: there is no second copy of the rules. Every month is scored,
changed and warned about under its own rulebook version.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import polars as pl

from scoring import calendar, engine
from scoring.engine import ScoreResult
from scoring.frames import ASSOCIATIONS_SCHEMA, CERTIFICATIONS_SCHEMA, USAGE_SCHEMA, Snapshots
from scoring.ingest.slices import SNAPSHOTS, SnapshotCache
from scoring.metrics.certifications import certification_active, certification_levels, counts_at
from scoring.names import canonical
from scoring.rulebook import Rulebook, Rulebooks

Level = Literal["INTERMEDIATE", "ADVANCED"]

LONG_AGO = dt.date(2000, 1, 1)


# ---- changes ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class AddCertifiedPersons:
    """``count`` new persons, each with a canonical certification of ``level`` earned long ago."""

    level: Level
    count: int


@dataclass(frozen=True)
class RemoveCertifiedPersons:
    """Remove the ``level`` certifications of ``count`` persons counted in month M."""

    level: Level
    count: int


@dataclass(frozen=True)
class AddCustomer:
    """A new customer held in month M only: each workload gets ``seats`` paid seats and
    ``active_users`` active users. ``associated_on`` defaults to before M-12, so no baseline
    and no deployment exclusion apply."""

    seats: int
    active_users: int
    option: str = "CPOR"  # an option of the rulebook
    workloads: tuple[str, ...] | list[str] = ("Exchange",)
    tenant_id: str | None = None
    associated_on: dt.date | None = None


@dataclass(frozen=True)
class ChangeActiveUsers:
    """Set the active users of a tenant's workload in month M."""

    tenant_id: str
    workload: str
    active_users: int


@dataclass(frozen=True)
class LoseAssociation:
    """Drop the partner's month-M associations on a tenant (of one option, or all)."""

    tenant_id: str
    option: str | None = None


Change = AddCertifiedPersons | RemoveCertifiedPersons | AddCustomer | ChangeActiveUsers | LoseAssociation


@dataclass
class PartnerInputs:
    snapshots: Snapshots
    certifications: pl.DataFrame


@dataclass
class SimulationResult:
    actual: ScoreResult
    simulated: ScoreResult


# ---- helpers ---------------------------------------------------------------------------------


def restrict(
    partner_id: str,
    month: dt.date,
    snapshots: Snapshots,
    certifications: pl.DataFrame,
    extra_tenants: list[str] | None = None,
) -> PartnerInputs:
    """The partner's slice of the inputs for scoring ``month``."""
    month = calendar.month_start(month)
    needed = engine.months_needed(month)
    assoc = snapshots.associations.filter((pl.col("partner_id") == partner_id) & pl.col("month").is_in(needed))
    tenants = set(assoc["tenant_id"].unique().to_list()) | set(extra_tenants or [])
    usage = snapshots.usage.filter(pl.col("tenant_id").is_in(sorted(tenants)) & pl.col("month").is_in(needed))
    certs = certifications.filter(pl.col("partner_id") == partner_id)
    months = frozenset(m for m in snapshots.months if m in set(needed))
    return PartnerInputs(Snapshots(months=months, usage=usage, associations=assoc), certs)


def load_partner_inputs(
    directory: str | Path,
    partner_id: str,
    month: dt.date,
    *,
    months: Iterable[dt.date] | None = None,
    cache: SnapshotCache = SNAPSHOTS,
) -> PartnerInputs:
    """The partner's slice of the snapshots M-12..M (or of ``months``) and of the
    certifications, through the process's snapshot cache (``ingest.slices``)."""
    month = calendar.month_start(month)
    wanted = engine.months_needed(month) if months is None else list(months)
    snaps = cache.partner_snapshots(directory, [partner_id], wanted, needed_by=f"simulating {month:%Y-%m}")
    return PartnerInputs(snaps, cache.certifications(directory, partner_id))


def _score(rulebooks: Rulebooks, partner_id: str, month: dt.date, inputs: PartnerInputs) -> ScoreResult:
    return engine.score(
        rulebooks=rulebooks,
        months=[month],
        snapshots=inputs.snapshots,
        certifications=inputs.certifications,
        partner_ids=[partner_id],
    )


def _counted_persons(book: Rulebook, certs: pl.DataFrame, level: str, month: dt.date) -> list[str]:
    """The persons counted in ``month`` at ``level``: a certification of it counts at month end."""
    rows = certification_levels(book, certs).filter(counts_at(calendar.month_end(month)) & (pl.col("level") == level))
    return sorted(set(rows.get_column("person_id").to_list()))


def _counting_certification(book: Rulebook, level: str, month: dt.date) -> str:
    """A certification of ``level`` that counts in ``month``: the first listed without a
    counts-through date, else the one counting longest."""
    names = book.intermediate_certifications if level == "INTERMEDIATE" else book.advanced_certifications
    end = calendar.month_end(month)
    counting = [n for n in names if (book.counts_through(n) or dt.date.max) >= end]
    if not counting:
        raise ValueError(f"no {level.lower()} certification counts in {month:%Y-%m} under rulebook {book.id}")
    return max(counting, key=lambda n: book.counts_through(n) or dt.date.max)


def apply_changes(
    book: Rulebook, partner_id: str, month: dt.date, inputs: PartnerInputs, changes: list[Change]
) -> PartnerInputs:
    """Copies of the partner's frames with the hypothetical changes applied, in order."""
    usage, assoc, certs = inputs.snapshots.usage, inputs.snapshots.associations, inputs.certifications
    type_option = book.association_types
    option_type: dict[str, str] = {}  # the association type written for an added customer of each option
    for association_type, option in type_option.items():
        option_type.setdefault(option, association_type)
    added_customers = 0
    added_persons = 0
    for ch in changes:
        if isinstance(ch, AddCertifiedPersons):
            if ch.level not in ("INTERMEDIATE", "ADVANCED") or ch.count < 0:
                raise ValueError(f"bad change: {ch}")
            name = _counting_certification(book, ch.level, month)
            rows = []
            for _ in range(ch.count):
                added_persons += 1
                rows.append((partner_id, f"simulated-person-{added_persons}", name, LONG_AGO, None))
            certs = pl.concat([certs, pl.DataFrame(rows, schema=CERTIFICATIONS_SCHEMA, orient="row")])
        elif isinstance(ch, RemoveCertifiedPersons):
            if ch.level not in ("INTERMEDIATE", "ADVANCED") or ch.count < 0:
                raise ValueError(f"bad change: {ch}")
            persons = _counted_persons(book, certs, ch.level, month)[: ch.count]
            of_level = {k: v for k, v in book.certification_levels.items() if v == ch.level}
            is_level = canonical("certification", certs, of_level).is_not_null()
            certs = certs.filter(~(pl.col("person_id").is_in(persons) & is_level))
        elif isinstance(ch, AddCustomer):
            if ch.option not in option_type or ch.seats < 0 or ch.active_users < 0 or not ch.workloads:
                raise ValueError(f"bad change: {ch}")
            added_customers += 1
            tenant = ch.tenant_id or f"simulated-customer-{added_customers}"
            if usage.filter((pl.col("month") == month) & (pl.col("tenant_id") == tenant)).height:
                raise ValueError(f"AddCustomer: tenant {tenant} already has usage in {month:%Y-%m}")
            on = ch.associated_on or (calendar.add_months(month, -12) - dt.timedelta(days=1))
            usage = pl.concat(
                [
                    usage,
                    pl.DataFrame(
                        [(month, tenant, w, ch.seats, ch.active_users) for w in ch.workloads],
                        schema=USAGE_SCHEMA,
                        orient="row",
                    ),
                ]
            )
            assoc = pl.concat(
                [
                    assoc,
                    pl.DataFrame(
                        [(month, partner_id, tenant, w, option_type[ch.option], on) for w in ch.workloads],
                        schema=ASSOCIATIONS_SCHEMA,
                        orient="row",
                    ),
                ]
            )
        elif isinstance(ch, ChangeActiveUsers):
            if ch.active_users < 0:
                raise ValueError(f"bad change: {ch}")
            target = (
                (pl.col("month") == month)
                & (pl.col("tenant_id") == ch.tenant_id)
                & canonical("workload", usage, book.same_workload(ch.workload)).is_not_null()
            )
            if usage.filter(target).height:
                usage = usage.with_columns(
                    pl.when(target)
                    .then(pl.lit(ch.active_users))
                    .otherwise(pl.col("active_users"))
                    .alias("active_users")
                )
            else:
                usage = pl.concat(
                    [
                        usage,
                        pl.DataFrame(
                            [(month, ch.tenant_id, ch.workload, 0, ch.active_users)], schema=USAGE_SCHEMA, orient="row"
                        ),
                    ]
                )
        elif isinstance(ch, LoseAssociation):
            drop = (pl.col("month") == month) & (pl.col("tenant_id") == ch.tenant_id)
            if ch.option is not None:
                types = [t for t, o in type_option.items() if o == ch.option]
                drop = drop & pl.col("association_type").is_in(types)
            assoc = assoc.filter(~drop)
        else:
            raise TypeError(f"unknown change: {ch!r}")
    snaps = inputs.snapshots
    return PartnerInputs(Snapshots(months=snaps.months, usage=usage, associations=assoc), certs)


# ---- simulation ------------------------------------------------------------------------------


def simulate(
    *,
    partner_id: str,
    month: dt.date,
    snapshots: Snapshots,
    certifications: pl.DataFrame,
    rulebooks: Rulebooks,
    changes: list[Change],
) -> SimulationResult:
    """Score the partner's month as it is and with ``changes`` applied."""
    month = calendar.month_start(month)
    inputs = restrict(partner_id, month, snapshots, certifications)
    actual = _score(rulebooks, partner_id, month, inputs)
    if not changes:
        return SimulationResult(actual, actual)
    book = rulebooks.for_month(month)
    changed = apply_changes(book, partner_id, month, inputs, changes)
    return SimulationResult(actual, _score(rulebooks, partner_id, month, changed))


# ---- status over a window --------------------------------------------------------------------


@dataclass(frozen=True)
class QualificationStatus:
    qualified: bool
    since_month: dt.date | None  # the latest month of the window in which the designation was attained
    track: str | None  # that month's best track
    valid_through: dt.date | None  # the last month the status holds without attaining again


def qualification_status(
    designations: pl.DataFrame, partner_id: str, month: dt.date, window: int = 6
) -> QualificationStatus:
    """Qualified in ``month`` when attained in it or any of the ``window - 1`` months before."""
    month = calendar.month_start(month)
    first = calendar.add_months(month, -(window - 1))
    hits = designations.filter(
        (pl.col("partner_id") == partner_id)
        & (pl.col("month") >= first)
        & (pl.col("month") <= month)
        & pl.col("attained")
    ).sort("month", descending=True)
    if hits.height == 0:
        return QualificationStatus(False, None, None, None)
    row = hits.row(0, named=True)
    return QualificationStatus(True, row["month"], row["best_track"], calendar.add_months(row["month"], window - 1))


# ---- warnings --------------------------------------------------------------------------------


def expiring_certifications(
    certifications: pl.DataFrame, partner_id: str, month: dt.date, days: int = 90, *, book: Rulebook | None = None
) -> pl.DataFrame:
    """The partner's certifications active at month end that expire within ``days`` after it.

    With ``book`` (the month's rulebook) also those that count in the month and whose
    counts-through date (docs/scoring-rules-2026.md §4) falls within ``days`` after its end
    (the month's end itself included: it is the last day they count), with a column
    ``counts_through`` (null without one); sorted by the earlier of the two dates."""
    end = calendar.month_end(month)
    horizon = end + dt.timedelta(days=days)
    mine = certifications.filter(pl.col("partner_id") == partner_id)
    expiring = (
        (pl.col("earned_on") <= end)
        & pl.col("expires_on").is_not_null()
        & (pl.col("expires_on") > end)
        & (pl.col("expires_on") <= horizon)
    )
    if book is None:
        return mine.filter(expiring).sort("expires_on", "person_id", "certification")
    deadlines = {name: d.isoformat() for name, d in book.certification_deadlines.items()}
    through = pl.col("counts_through")
    retiring = (
        pl.col("__level").is_not_null()
        & certification_active(end)
        & through.is_not_null()
        & (through >= end)
        & (through <= horizon)
    )
    return (
        mine.with_columns(
            canonical("certification", mine, deadlines).str.to_date("%Y-%m-%d").alias("counts_through"),
            canonical("certification", mine, book.certification_levels).alias("__level"),
        )
        .filter(expiring | retiring)
        .drop("__level")
        .sort(pl.min_horizontal("expires_on", "counts_through"), "person_id", "certification")
    )


@dataclass(frozen=True)
class CustomerAtRisk:
    tenant_id: str
    score: float  # the score without the tenant's associations in M
    best_track: str


def customers_at_risk(
    *,
    partner_id: str,
    month: dt.date,
    snapshots: Snapshots,
    certifications: pl.DataFrame,
    rulebooks: Rulebooks,
    limit: int = 50,
) -> list[CustomerAtRisk]:
    """Held customers (month M) whose loss alone would drop an attained partner below the
    designation. Empty when the partner does not attain; at most ``limit`` tenants are tried."""
    month = calendar.month_start(month)
    inputs = restrict(partner_id, month, snapshots, certifications)
    actual = _score(rulebooks, partner_id, month, inputs)
    d = actual.designations.filter(pl.col("partner_id") == partner_id)
    if d.height == 0 or not d["attained"][0]:
        return []
    book = rulebooks.for_month(month)
    held = sorted(inputs.snapshots.associations.filter(pl.col("month") == month)["tenant_id"].unique().to_list())
    out = []
    for tenant in held[:limit]:
        sim = _score(
            rulebooks, partner_id, month, apply_changes(book, partner_id, month, inputs, [LoseAssociation(tenant)])
        )
        row = sim.designations.row(0, named=True)
        if not row["attained"]:
            out.append(CustomerAtRisk(tenant, row["score"], row["best_track"]))
    return out
