"""Per-snapshot facts: one month's inputs reduced at once to what the scoring of it and of the
months after it reads (eligible usage, tenant eligibility, holdings, per-tenant sums), and the
lookup of usage in the month of an association (see docs/architecture.md, "Scoring").

"Eligible" is always for one workload list of the rulebook (``Rulebook.workload_lists``): the
facts of a snapshot are computed once per distinct list, and each metric reads its list's.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

import polars as pl

from scoring.frames import ELIGIBLE_TENANTS_SCHEMA, HOLDINGS_SCHEMA
from scoring.names import canonical, fold
from scoring.rulebook import OPTION_ALL, Rulebook

TENANT_KEYS = ["partner_id", "tenant_id", "option"]  # a customer of a partner under an option, in one month
USAGE_KEYS = ["tenant_id", "workload"]  # a usage row, in one month


# ---- column types ------------------------------------------------------------------------------


def lexical_enum(values: Iterable[str]) -> pl.Enum:
    """An Enum whose physical order is the values' sorted order: sorting on it is lexical."""
    return pl.Enum(sorted(set(values)))


def track_dtype(book: Rulebook) -> pl.Enum:
    return lexical_enum(t.name for t in book.tracks)


def option_dtype(book: Rulebook) -> pl.Enum:
    return lexical_enum([OPTION_ALL, *book.options])


def _ids(*cols: str) -> list[pl.Expr]:
    """Id columns as categoricals: joins and group-bys run on integer codes, sorts stay lexical."""
    return [pl.col(c).cast(pl.Categorical) for c in cols]


def _canonical_enum(col: str, frame: pl.DataFrame, mapping: dict[str, str]) -> pl.Expr:
    """A name column under its canonical names, as an Enum (unknown names: null)."""
    return canonical(col, frame, mapping, lexical_enum(mapping.values()))


# ---- one snapshot ------------------------------------------------------------------------------


def eligible_usage(book: Rulebook, usage: pl.DataFrame, workloads: tuple[str, ...] | None = None) -> pl.DataFrame:
    """Usage rows of the eligible workloads (``workloads``, by default the version's first list),
    workloads under their canonical names (either name of a rename)."""
    names = book.workload_names_of(workloads or book.workload_lists[0])
    return (
        usage.lazy()
        .with_columns(_canonical_enum("workload", usage, names), *_ids("tenant_id"))
        .filter(pl.col("workload").is_not_null())
        .select("month", "tenant_id", "workload", "paid_seats", "active_users")
        .collect()
    )


def tenant_eligibility(book: Rulebook, usage: pl.DataFrame) -> pl.DataFrame:
    """(month, tenant_id, track, max_paid_seats) for every tenant eligible for a track.

    ``usage`` is the output of ``eligible_usage``.
    """
    parts = []
    for t in book.tracks:
        band = pl.col("paid_seats") >= t.seats_min
        if t.seats_max is not None:
            band = band & (pl.col("paid_seats") <= t.seats_max)
        parts.append(
            usage.lazy()
            .filter(band)
            .group_by("month", "tenant_id")
            .agg(pl.col("paid_seats").max().alias("max_paid_seats"))
            .with_columns(pl.lit(t.name, dtype=track_dtype(book)).alias("track"))
        )
    return pl.concat(parts).select(list(ELIGIBLE_TENANTS_SCHEMA)).collect()


def partner_holdings(
    book: Rulebook, associations: pl.DataFrame, usage: pl.DataFrame, workloads: tuple[str, ...] | None = None
) -> pl.DataFrame:
    """Held eligible workloads (of ``workloads``, as in ``eligible_usage``) per (month, partner,
    tenant, option), with that month's usage.

    A workload held through several rows of one option counts once, dated by the earliest.
    ``usage`` is the output of ``eligible_usage`` for the same list.
    """
    types = {fold(t): o for t, o in book.association_types.items()}
    names = book.workload_names_of(workloads or book.workload_lists[0])
    return (
        associations.lazy()
        .with_columns(
            _canonical_enum("workload", associations, names),
            _canonical_enum("association_type", associations, types).alias("option"),
            *_ids("partner_id", "tenant_id"),
        )
        .filter(pl.col("workload").is_not_null() & pl.col("option").is_not_null())
        .group_by("month", "partner_id", "tenant_id", "option", "workload")
        .agg(pl.col("associated_on").min())
        .join(usage.lazy(), on=["month", "tenant_id", "workload"], how="left")
        .with_columns(pl.col("paid_seats", "active_users").fill_null(0))
        .select(list(HOLDINGS_SCHEMA))
        .collect()
    )


@dataclass
class UsageAt:
    """A month's eligible usage, for the months that look up usage at association time."""

    usage: pl.DataFrame  # eligible_usage
    claimed: pl.DataFrame  # USAGE_KEYS + paid_seats, active_users of workloads associated this month


@dataclass
class SnapshotFacts:
    """What scoring uses from one snapshot month, under one rulebook."""

    month: dt.date
    eligibility: pl.DataFrame  # tenant_eligibility
    holdings: pl.DataFrame  # partner_holdings
    tenants: pl.DataFrame  # TENANT_KEYS + workloads, associated_on, paid_seats, active_users, eligible_<track>...
    usage_at: UsageAt


def eligible_col(track_name: str) -> str:
    return f"eligible_{track_name}"


def snapshot_facts(
    book: Rulebook,
    month: dt.date,
    usage: pl.DataFrame,
    associations: pl.DataFrame,
    workloads: tuple[str, ...] | None = None,
) -> SnapshotFacts:
    """Reduce one month's validated inputs (``usage`` and ``associations`` of that month) to
    the frames the scoring of it and of later months reads, for one workload list of the
    rulebook (``workloads``, by default its first)."""
    eligible = eligible_usage(book, usage, workloads)
    return _facts(book, month, eligible, partner_holdings(book, associations, eligible, workloads))


def narrowed_facts(book: Rulebook, wider: SnapshotFacts, workloads: tuple[str, ...]) -> SnapshotFacts:
    """The facts of a workload list from those of a list that holds all its workloads: the same
    as ``snapshot_facts`` for it, without reading the month's inputs again."""
    dtype = lexical_enum(book.workload_names_of(workloads).values())
    keep = pl.col("workload").cast(pl.String).is_in(list(dtype.categories))
    narrow = pl.col("workload").cast(pl.String).cast(dtype)
    eligible, holdings = pl.collect_all(
        [
            wider.usage_at.usage.lazy().filter(keep).with_columns(narrow),
            wider.holdings.lazy().filter(keep).with_columns(narrow),
        ]
    )
    return _facts(book, wider.month, eligible, holdings)


def _facts(book: Rulebook, month: dt.date, eligible: pl.DataFrame, holdings: pl.DataFrame) -> SnapshotFacts:
    """The facts of a snapshot from its eligible usage and holdings (of one workload list)."""
    eligibility = tenant_eligibility(book, eligible)
    flags = (
        eligibility.lazy()
        .select("tenant_id", pl.col("track").cast(pl.String))
        .collect()
        .pivot("track", index="tenant_id", values="track", aggregate_function="len")
    )
    tenants = (
        holdings.lazy()
        .group_by(TENANT_KEYS)
        .agg(
            pl.len().cast(pl.Int64).alias("workloads"),
            pl.col("associated_on").min(),
            pl.col("paid_seats").sum(),
            pl.col("active_users").sum(),
        )
        .join(flags.lazy(), on="tenant_id", how="left")
        .with_columns(
            (pl.col(t.name).fill_null(0) > 0).alias(eligible_col(t.name))
            if t.name in flags.columns
            else pl.lit(False).alias(eligible_col(t.name))
            for t in book.tracks
        )
        .select(
            *TENANT_KEYS,
            "workloads",
            "associated_on",
            "paid_seats",
            "active_users",
            *[eligible_col(t.name) for t in book.tracks],
        )
    )
    claimed = (
        holdings.lazy()
        .filter(pl.col("associated_on").dt.truncate("1mo") == pl.col("month"))
        .select(*USAGE_KEYS, "paid_seats", "active_users")
        .unique(USAGE_KEYS)
    )
    tenants_df, claimed_df = pl.collect_all([tenants, claimed])
    return SnapshotFacts(month, eligibility, holdings, tenants_df, UsageAt(eligible, claimed_df))


# ---- one track of a snapshot ------------------------------------------------------------------


def held(book: Rulebook, track_name: str, snapshot: SnapshotFacts) -> pl.LazyFrame:
    """The snapshot's held workloads under the track's options, with the tenant's eligibility."""
    track = book.track(track_name)
    eligible = snapshot.tenants.lazy().select(*TENANT_KEYS, pl.col(eligible_col(track_name)).alias("eligible"))
    return (
        snapshot.holdings.lazy()
        .filter(pl.col("option").is_in(list(track.options)))
        .join(eligible, on=TENANT_KEYS, how="left")
    )


def per_tenant(book: Rulebook, track_name: str, snapshot: SnapshotFacts) -> pl.LazyFrame:
    """Per (partner, tenant, option) of the track: workloads, earliest date, usage, and whether
    it is ``counted`` (eligible for the track and held: scoring-rules §1)."""
    track = book.track(track_name)
    return (
        snapshot.tenants.lazy()
        .filter(pl.col("option").is_in(list(track.options)))
        .select(
            *TENANT_KEYS,
            "workloads",
            "associated_on",
            "paid_seats",
            "active_users",
            pl.col(eligible_col(track_name)).alias("counted"),
        )
    )


def association_month() -> pl.Expr:
    return pl.col("associated_on").dt.truncate("1mo").alias("association_month")


def usage_at_association(window: dict[dt.date, UsageAt], wanted: pl.DataFrame) -> pl.DataFrame:
    """(association_month, tenant, workload, paid_then, active_then) for each distinct such
    triple of ``wanted``: that month's usage (0 without a usage row). Most triples are
    workloads held in their association month, found in that month's ``claimed`` frame; the
    rest are looked up in the month's full eligible usage."""
    on = ["association_month", *USAGE_KEYS]
    keys = wanted.select(on).unique()
    claimed = pl.concat(
        [s.claimed.lazy().with_columns(pl.lit(m, dtype=pl.Date).alias("association_month")) for m, s in window.items()]
    )
    found, rest = pl.collect_all(
        [keys.lazy().join(claimed, on=on, how="inner"), keys.lazy().join(claimed, on=on, how="anti")]
    )
    parts = [found.select(*on, "paid_seats", "active_users")]
    for (m,), group in rest.partition_by("association_month", as_dict=True).items():
        if m not in window:
            continue
        parts.append(
            group.lazy()
            .join(window[m].usage.lazy().select(*USAGE_KEYS, "paid_seats", "active_users"), on=USAGE_KEYS, how="left")
            .select(*on, "paid_seats", "active_users")
            .collect()
        )
    return pl.concat(parts).select(
        *on,
        pl.col("paid_seats").fill_null(0).alias("paid_then"),
        pl.col("active_users").fill_null(0).alias("active_then"),
    )
