"""The scoring rules of ``scoring-rules.md`` as pure Polars functions.

No Dagster, database or web imports: inputs are the validated frames of ``frames.py`` and a
``Rulebook``; outputs are the result frames of ``frames.py``.

Months are scored one at a time, in order (``score_each``): each snapshot month N is read once
and reduced at once to compact facts (eligible usage, tenant eligibility, holdings, per-tenant
sums); month M then meets the facts kept from M-12 and the usage of M-11..M. Memory holds at
most a year of compact facts plus one month's results, whatever the range. Ids are global
categoricals, so joins and group-bys run on integer codes while sorts stay lexical.

Points are counted in integer units of ``1 / rulebook.scale`` (see ``rulebook.py``), so every
cap, tie and minimum is decided exactly; ``points`` columns are ``units / scale``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

import polars as pl

from scoring.calendar import add_months, month_start
from scoring.frames import (
    CUSTOMER_DETAILS_SCHEMA,
    DESIGNATIONS_SCHEMA,
    ELIGIBLE_TENANTS_SCHEMA,
    HOLDINGS_SCHEMA,
    METRIC_POINTS_SCHEMA,
    PATH_SCORES_SCHEMA,
    MissingSnapshotError,
    Snapshots,
)
from scoring.rulebook import METRICS, OPTION_ALL, Rulebook, Rulebooks, fold

YEAR = "12mo"
NAT_KEYS = {
    "eligible_tenants": ["month", "tenant_id", "track"],
    "holdings": ["month", "partner_id", "tenant_id", "option", "workload"],
    "metric_points": ["month", "partner_id", "track", "metric", "option"],
    "path_scores": ["month", "partner_id", "track"],
    "designations": ["month", "partner_id"],
    "customer_details": ["month", "partner_id", "tenant_id", "track", "option"],
}


@dataclass
class ScoreResult:
    eligible_tenants: pl.DataFrame
    holdings: pl.DataFrame
    metric_points: pl.DataFrame
    path_scores: pl.DataFrame
    designations: pl.DataFrame
    customer_details: pl.DataFrame

    def frames(self) -> dict[str, pl.DataFrame]:
        return {name: getattr(self, name) for name in NAT_KEYS}

    @staticmethod
    def concat(results: list[ScoreResult]) -> ScoreResult:
        return ScoreResult(
            **{name: pl.concat([getattr(r, name) for r in results]).sort(keys) for name, keys in NAT_KEYS.items()}
        )


# ---- months ----------------------------------------------------------------------------------


def certification_active(end: pl.Expr | dt.date) -> pl.Expr:
    """A certification counts at ``end`` (a month's last day): earned by then, not expired by then."""
    end = end if isinstance(end, pl.Expr) else pl.lit(end)
    return (pl.col("earned_on") <= end) & (pl.col("expires_on").is_null() | (pl.col("expires_on") > end))


def months_needed(month: dt.date) -> list[dt.date]:
    """The snapshots that scoring ``month`` reads: M-12 through M."""
    return [add_months(month_start(month), -k) for k in range(12, -1, -1)]


def check_snapshots(months: Iterable[dt.date], available: Iterable[dt.date]) -> None:
    """Raise ``MissingSnapshotError`` naming every snapshot the months need but lack."""
    have = set(available)
    missing: dict[dt.date, list[dt.date]] = {}
    for m in months:
        for n in months_needed(m):
            if n not in have:
                missing.setdefault(n, []).append(month_start(m))
    if missing:
        scored = sorted({m for ms in missing.values() for m in ms})
        raise MissingSnapshotError(list(missing), needed_by="scoring " + ", ".join(f"{m:%Y-%m}" for m in scored))


# ---- entry points ----------------------------------------------------------------------------

MonthInputs = tuple[pl.DataFrame, pl.DataFrame]
"""One snapshot month's validated (usage, associations) frames (``frames.py`` schemas)."""


def score(
    *,
    rulebooks: Rulebooks,
    months: Iterable[dt.date],
    snapshots: Snapshots,
    certifications: pl.DataFrame,
    partner_ids: Iterable[str] | pl.Series,
) -> ScoreResult:
    """Score every partner in ``partner_ids`` for every month in ``months``, all at once.

    Raises ``MissingSnapshotError`` when a month's M-12..M snapshots are not all in
    ``snapshots``. Large ranges are better scored with ``score_each``, which holds one month's
    results at a time.
    """
    scored = sorted({month_start(m) for m in months})
    check_snapshots(scored, snapshots.months)

    def load(m: dt.date) -> MonthInputs:
        return (
            snapshots.usage.filter(pl.col("month") == m),
            snapshots.associations.filter(pl.col("month") == m),
        )

    results = [
        r
        for _, r in score_each(
            rulebooks=rulebooks, months=scored, load=load, certifications=certifications, partner_ids=partner_ids
        )
    ]
    return ScoreResult.concat(results or [empty_result()])


def score_each(
    *,
    rulebooks: Rulebooks,
    months: Iterable[dt.date],
    load: Callable[[dt.date], MonthInputs],
    certifications: pl.DataFrame,
    partner_ids: Iterable[str] | pl.Series,
) -> Iterator[tuple[dt.date, ScoreResult]]:
    """Score ``months`` one at a time, in order, yielding each month's results as it is done.

    ``load(N)`` is called once for every snapshot month N the months need (M-12..M), in
    chronological order. Each snapshot is reduced at once to what later months use from it
    (its eligible usage, kept for eleven months for the usage baselines; per-track facts, kept
    for the month twelve months later), so memory holds the compact facts of at most a year
    plus one month's results, whatever the length of the range. Each month is scored with the
    rulebook in force for it.
    """
    scored = sorted({month_start(m) for m in months})
    if not scored:
        return
    books = {m: rulebooks.for_month(m) for m in scored}
    users: dict[dt.date, dict[str, Rulebook]] = {}  # snapshot -> rulebooks of the months using it
    for m in scored:
        for n in months_needed(m):
            users.setdefault(n, {})[books[m].id] = books[m]
    partners = pl.Series("partner_id", list(partner_ids), dtype=pl.String).unique().cast(pl.Categorical)
    usage_kept: dict[tuple[dt.date, str], UsageAt] = {}
    year_ago: dict[dt.date, dict[str, YearAgo]] = {}
    leveled: dict[str, pl.DataFrame] = {}  # certification_levels per rulebook
    for n in sorted(users):
        usage_raw, assoc_raw = load(n)
        for book in users[n].values():
            snap = snapshot_facts(book, n, usage_raw, assoc_raw)
            later = add_months(n, 12)
            if later in books and books[later].id == book.id:
                year_ago[later] = {t.name: year_ago_facts(book, t.name, snap) for t in book.tracks}
            if any(books[m].id == book.id and m >= n for m in scored if m <= add_months(n, 11)):
                usage_kept[(n, book.id)] = snap.usage_at
            if n in books and books[n].id == book.id:
                window = {k: usage_kept[(k, book.id)] for k in months_needed(n)[1:]}
                if book.id not in leveled:
                    leveled[book.id] = certification_levels(book, certifications)
                yield n, score_month(book, n, snap, year_ago.pop(n), window, leveled[book.id], partners)
        del usage_raw, assoc_raw
        for key in [k for k in usage_kept if k[0] <= add_months(n, -11)]:
            del usage_kept[key]


def empty_result() -> ScoreResult:
    return ScoreResult(
        eligible_tenants=pl.DataFrame(schema=ELIGIBLE_TENANTS_SCHEMA),
        holdings=pl.DataFrame(schema=HOLDINGS_SCHEMA),
        metric_points=pl.DataFrame(schema=METRIC_POINTS_SCHEMA),
        path_scores=pl.DataFrame(schema=PATH_SCORES_SCHEMA),
        designations=pl.DataFrame(schema=DESIGNATIONS_SCHEMA),
        customer_details=pl.DataFrame(schema=CUSTOMER_DETAILS_SCHEMA),
    )


# ---- building blocks (each a pure function of frames and the rulebook) ------------------------


def _fold(col: str) -> pl.Expr:
    return pl.col(col).str.strip_chars().str.to_lowercase()


def _lexical_enum(values: Iterable[str]) -> pl.Enum:
    """An Enum whose physical order is the values' sorted order: sorting on it is lexical."""
    return pl.Enum(sorted(set(values)))


def _track_dtype(book: Rulebook) -> pl.Enum:
    return _lexical_enum(t.name for t in book.tracks)


def _option_dtype(book: Rulebook) -> pl.Enum:
    return _lexical_enum([OPTION_ALL, *book.options])


def _canonical(col: str, frame: pl.DataFrame, mapping: dict[str, str]) -> pl.Expr:
    """Map a low-cardinality name column through ``mapping`` (folded name -> canonical).

    Names are folded once per distinct value, not once per row; unknown names become null.
    Enum output keeps the big frames small and their joins and sorts on integer codes.
    """
    raw = frame.get_column(col).unique().drop_nulls().to_list()
    hits = [(r, mapping[fold(r)]) for r in raw if fold(r) in mapping]
    return pl.col(col).replace_strict(
        [r for r, _ in hits], [c for _, c in hits], default=None, return_dtype=_lexical_enum(mapping.values())
    )


def _ids(*cols: str) -> list[pl.Expr]:
    """Id columns as categoricals: joins and group-bys run on integer codes, sorts stay lexical."""
    return [pl.col(c).cast(pl.Categorical) for c in cols]


def eligible_usage(book: Rulebook, usage: pl.DataFrame) -> pl.DataFrame:
    """Usage rows of eligible workloads, workloads under their canonical names."""
    return (
        usage.lazy()
        .with_columns(_canonical("workload", usage, book.workload_names), *_ids("tenant_id"))
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
            .with_columns(pl.lit(t.name, dtype=_track_dtype(book)).alias("track"))
        )
    return pl.concat(parts).select(list(ELIGIBLE_TENANTS_SCHEMA)).collect()


def partner_holdings(book: Rulebook, associations: pl.DataFrame, usage: pl.DataFrame) -> pl.DataFrame:
    """Held eligible workloads per (month, partner, tenant, option), with that month's usage.

    A workload held through several rows of one option counts once, dated by the earliest.
    ``usage`` is the output of ``eligible_usage``.
    """
    types = {t.casefold(): o for t, o in book.association_types.items()}
    return (
        associations.lazy()
        .with_columns(
            _canonical("workload", associations, book.workload_names),
            _canonical("association_type", associations, types).alias("option"),
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


KEYS = ["partner_id", "tenant_id", "option"]  # within one month
LOOKUP = ["tenant_id", "workload"]


@dataclass
class UsageAt:
    """A month's eligible usage, for the months that look up usage at association time."""

    usage: pl.DataFrame  # eligible_usage
    claimed: pl.DataFrame  # LOOKUP + paid_seats, active_users of workloads associated this month


@dataclass
class SnapshotFacts:
    """What scoring uses from one snapshot month, under one rulebook."""

    month: dt.date
    eligibility: pl.DataFrame  # tenant_eligibility
    holdings: pl.DataFrame  # partner_holdings
    tenants: pl.DataFrame  # KEYS + workloads, associated_on, paid_seats, active_users, eligible_<track>...
    usage_at: UsageAt


def _eligible_col(track_name: str) -> str:
    return f"eligible_{track_name}"


def snapshot_facts(book: Rulebook, month: dt.date, usage: pl.DataFrame, associations: pl.DataFrame) -> SnapshotFacts:
    """Reduce one month's validated inputs to the frames the scoring of it and of later months
    reads. ``usage`` and ``associations`` hold one month."""
    eligible = eligible_usage(book, usage)
    eligibility = tenant_eligibility(book, eligible)
    holdings = partner_holdings(book, associations, eligible)
    flags = (
        eligibility.lazy()
        .select("tenant_id", pl.col("track").cast(pl.String))
        .collect()
        .pivot("track", index="tenant_id", values="track", aggregate_function="len")
    )
    tenants = (
        holdings.lazy()
        .group_by(KEYS)
        .agg(
            pl.len().cast(pl.Int64).alias("workloads"),
            pl.col("associated_on").min(),
            pl.col("paid_seats").sum(),
            pl.col("active_users").sum(),
        )
        .join(flags.lazy(), on="tenant_id", how="left")
        .with_columns(
            (pl.col(t.name).fill_null(0) > 0).alias(_eligible_col(t.name))
            if t.name in flags.columns
            else pl.lit(False).alias(_eligible_col(t.name))
            for t in book.tracks
        )
        .select(
            *KEYS,
            "workloads",
            "associated_on",
            "paid_seats",
            "active_users",
            *[_eligible_col(t.name) for t in book.tracks],
        )
    )
    claimed = (
        holdings.lazy()
        .filter(pl.col("associated_on").dt.truncate("1mo") == pl.col("month"))
        .select(*LOOKUP, "paid_seats", "active_users")
        .unique(LOOKUP)
    )
    tenants, claimed = pl.collect_all([tenants, claimed])
    return SnapshotFacts(month, eligibility, holdings, tenants, UsageAt(eligible, claimed))


def _deployed(book: Rulebook, paid: str, active: str) -> pl.Expr:
    r = book.deployment_active_ratio
    return (pl.col(paid) > 0) & (pl.col(active) * r.denominator >= pl.col(paid) * r.numerator)


def units_to_points(frame: pl.DataFrame, scale: int, **columns: str) -> pl.DataFrame:
    """Add float point columns (name=units column) as ``units / scale``, correctly rounded.

    Polars' float division is not always correctly rounded (1478 / 400 gives 3.6950000000000003),
    so each distinct unit count is divided once in Python, whose int division is exact-then-
    rounded, and the results are joined back. Unit counts are few (at most max points * scale).
    """
    for name, col in columns.items():
        distinct = frame.get_column(col).unique().drop_nulls().to_list()
        lookup = pl.DataFrame(
            {col: distinct, name: [u / scale for u in distinct]},
            schema={col: pl.Int64, name: pl.Float64},
        )
        frame = frame.join(lookup, on=col, how="left", maintain_order="left")
    return frame


def _points(value: pl.Expr, per_unit_units: int, cap_units: int) -> pl.Expr:
    return pl.min_horizontal(pl.max_horizontal(value, pl.lit(0)) * per_unit_units, pl.lit(cap_units))


def _held(book: Rulebook, track_name: str, snap: SnapshotFacts) -> pl.LazyFrame:
    """The snapshot's held workloads under the track's options, with the tenant's eligibility."""
    track = book.track(track_name)
    elig = snap.tenants.lazy().select(*KEYS, pl.col(_eligible_col(track_name)).alias("eligible"))
    return snap.holdings.lazy().filter(pl.col("option").is_in(list(track.options))).join(elig, on=KEYS, how="left")


def _per_tenant(book: Rulebook, track_name: str, snap: SnapshotFacts) -> pl.LazyFrame:
    """Per (partner, tenant, option) of the track: workloads, earliest date, usage, flags."""
    track = book.track(track_name)
    return (
        snap.tenants.lazy()
        .filter(pl.col("option").is_in(list(track.options)))
        .with_columns(pl.col(_eligible_col(track_name)).alias("counted"))
        .with_columns((pl.col("counted") & _deployed(book, "paid_seats", "active_users")).alias("deployed"))
        .select(*KEYS, "workloads", "associated_on", "paid_seats", "active_users", "counted", "deployed")
    )


@dataclass
class YearAgo:
    """One track's facts of month M-12, for the month M that compares with them."""

    counted: pl.DataFrame  # KEYS + active_users_year_ago, deployed_year_ago, counted_year_ago
    pairs: pl.DataFrame  # KEYS + workload: the counted held workloads


def year_ago_facts(book: Rulebook, track_name: str, snap: SnapshotFacts) -> YearAgo:
    counted = (
        _per_tenant(book, track_name, snap)
        .filter(pl.col("counted"))
        .select(
            *KEYS,
            pl.col("active_users").alias("active_users_year_ago"),
            pl.col("deployed").alias("deployed_year_ago"),
            pl.lit(True).alias("counted_year_ago"),
        )
    )
    pairs = _held(book, track_name, snap).filter(pl.col("eligible")).select(*KEYS, "workload")
    counted, pairs = pl.collect_all([counted, pairs])
    return YearAgo(counted, pairs)


def _usage_then(window: dict[dt.date, UsageAt], wanted: pl.DataFrame) -> pl.DataFrame:
    """(assoc_month, tenant, workload, paid_then, active_then) for each distinct such triple of
    ``wanted``: that month's usage (0 without a usage row). Most triples are workloads held in
    their association month, whose usage that month's ``claimed`` frame already has; the
    rest are looked up in the month's full eligible usage."""
    on = ["assoc_month", *LOOKUP]
    keys = wanted.select(on).unique()
    quick = pl.concat(
        [s.claimed.lazy().with_columns(pl.lit(m, dtype=pl.Date).alias("assoc_month")) for m, s in window.items()]
    )
    found, rest = pl.collect_all(
        [keys.lazy().join(quick, on=on, how="inner"), keys.lazy().join(quick, on=on, how="anti")]
    )
    parts = [found.select(*on, "paid_seats", "active_users")]
    for (m,), group in rest.partition_by("assoc_month", as_dict=True).items():
        if m not in window:
            continue
        parts.append(
            group.lazy()
            .join(window[m].usage.lazy().select(*LOOKUP, "paid_seats", "active_users"), on=LOOKUP, how="left")
            .select(*on, "paid_seats", "active_users")
            .collect()
        )
    return pl.concat(parts).select(
        *on,
        pl.col("paid_seats").fill_null(0).alias("paid_then"),
        pl.col("active_users").fill_null(0).alias("active_then"),
    )


def tenant_facts(
    book: Rulebook,
    track_name: str,
    snap: SnapshotFacts,
    year_ago: YearAgo,
    window: dict[dt.date, UsageAt],
) -> pl.DataFrame:
    """Per (month, partner, tenant, option) of one track: everything the metrics count.

    ``snap`` is the scored month M's snapshot, ``year_ago`` the track's facts of M-12 and
    ``window`` the snapshots of M-11..M (for usage at association). Rows are tenants held
    under an option of the track in M or in M-12.
    """
    month = snap.month
    since = add_months(month, -12)
    held = _held(book, track_name, snap)
    current = _per_tenant(book, track_name, snap)
    # Usage baseline for workloads newly associated within the 12 months (scoring-rules §4):
    # counted now, associated after M-12, not counted in M-12 -> users at association time.
    new_pairs = (
        held.filter(pl.col("eligible"))
        .select(*KEYS, "workload", pl.col("associated_on").dt.truncate("1mo").alias("assoc_month"))
        .filter(pl.col("assoc_month") > since)
        .join(year_ago.pairs.lazy(), on=[*KEYS, "workload"], how="anti")
    )
    # Deployments already made before the association (scoring-rules §5): same held workloads,
    # usage of the month of the earliest association date.
    claims = held.select(*KEYS, "workload").join(
        current.filter(pl.col("deployed"))
        .select(*KEYS, pl.col("associated_on").dt.truncate("1mo").alias("assoc_month"))
        .filter(pl.col("assoc_month") > since),
        on=KEYS,
        how="inner",
    )
    new_pairs, claims = pl.collect_all([new_pairs, claims])
    then = _usage_then(
        window, pl.concat([new_pairs.select("assoc_month", *LOOKUP), claims.select("assoc_month", *LOOKUP)])
    )
    on = ["assoc_month", *LOOKUP]
    baseline = (
        new_pairs.lazy()
        .join(then.lazy(), on=on, how="left")
        .group_by(KEYS)
        .agg(pl.col("active_then").sum().alias("baseline_users"))
    )
    claim_test = (
        claims.lazy()
        .join(then.lazy(), on=on, how="left")
        .group_by(KEYS)
        .agg(pl.col("paid_then").sum(), pl.col("active_then").sum())
        .select(*KEYS, _deployed(book, "paid_then", "active_then").alias("deployed_at_claim"))
    )
    elig_now = (
        snap.eligibility.lazy()
        .filter(pl.col("track") == track_name)
        .select("tenant_id", pl.lit(True).alias("eligible_now"))
    )
    return (
        current.join(year_ago.counted.lazy(), on=KEYS, how="full", coalesce=True)
        .join(baseline, on=KEYS, how="left")
        .join(claim_test, on=KEYS, how="left")
        .join(elig_now, on="tenant_id", how="left")
        .with_columns(
            pl.col("workloads", "paid_seats", "active_users", "active_users_year_ago", "baseline_users").fill_null(0),
            pl.col(
                "eligible_now", "counted", "deployed", "counted_year_ago", "deployed_year_ago", "deployed_at_claim"
            ).fill_null(False),
        )
        .with_columns(
            (pl.col("deployed") & ~pl.col("deployed_year_ago") & pl.col("deployed_at_claim")).alias("excluded"),
            pl.lit(track_name, dtype=_track_dtype(book)).alias("track"),
            pl.col("eligible_now").alias("eligible"),
            pl.lit(month, dtype=pl.Date).alias("month"),
        )
        .drop("eligible_now", "deployed_at_claim")
        .collect()
    )


def certification_levels(book: Rulebook, certifications: pl.DataFrame) -> pl.DataFrame:
    """The certifications that count, with their level (names folded once, not once a month)."""
    levels = book.certification_levels
    level_map = pl.DataFrame(
        {"ckey": list(levels), "level": list(levels.values())}, schema={"ckey": pl.String, "level": pl.String}
    )
    return (
        certifications.lazy()
        .with_columns(_fold("certification").alias("ckey"))
        .join(level_map.lazy(), on="ckey", how="inner")
        .select("partner_id", "person_id", "level", "earned_on", "expires_on")
        .collect()
    )


def _certified_persons(leveled: pl.DataFrame, scored: list[dt.date]) -> pl.DataFrame:
    """(month, partner_id, level, persons): distinct persons with an active certification.
    ``leveled`` is the output of ``certification_levels``."""
    months = pl.DataFrame({"month": scored}, schema={"month": pl.Date}).with_columns(
        pl.col("month").dt.month_end().alias("month_end")
    )
    return (
        leveled.lazy()
        .join(months.lazy(), how="cross")
        .filter(certification_active(pl.col("month_end")))
        .group_by("month", "partner_id", "level")
        .agg(pl.col("person_id").n_unique().cast(pl.Int64).alias("persons"))
        .collect()
    )


def _metric_rows(
    book: Rulebook, facts: dict[str, pl.DataFrame], persons: pl.DataFrame, partner_dtype: pl.DataType
) -> pl.LazyFrame:
    """Long frame of (month, partner, track, metric, option, value, current, year_ago,
    adjustment, units) for every measure a partner has; absent rows mean zero."""
    parts: list[pl.LazyFrame] = []
    for track in book.tracks:
        f = facts[track.name].lazy()
        # Net customer adds: distinct tenants served through any option of the track.
        served = f.group_by("month", "partner_id", "tenant_id").agg(
            pl.col("counted").any(), pl.col("counted_year_ago").any()
        )
        nca = track.net_customer_adds
        parts.append(
            served.group_by("month", "partner_id")
            .agg(
                pl.col("counted").sum().cast(pl.Int64).alias("current"),
                pl.col("counted_year_ago").sum().cast(pl.Int64).alias("year_ago"),
            )
            .with_columns(
                pl.lit("NET_CUSTOMER_ADDS").alias("metric"),
                pl.lit(OPTION_ALL).alias("option"),
                pl.lit(0, pl.Int64).alias("adjustment"),
                (pl.col("current") - pl.col("year_ago")).alias("value"),
            )
            .with_columns(_points(pl.col("value"), book.units(nca.per_unit), book.units(nca.max_points)).alias("units"))
            .with_columns(pl.lit(track.name).alias("track"))
        )
        for level, metric in (
            ("INTERMEDIATE", track.intermediate_certifications),
            ("ADVANCED", track.advanced_certifications),
        ):
            parts.append(
                persons.lazy()
                .filter(pl.col("level") == level)
                .select(
                    "month",
                    "partner_id",
                    pl.lit(track.name).alias("track"),
                    pl.lit(f"{level}_CERTIFICATIONS").alias("metric"),
                    pl.lit(OPTION_ALL).alias("option"),
                    pl.col("persons").alias("value"),
                    pl.col("persons").alias("current"),
                    pl.lit(0, pl.Int64).alias("year_ago"),
                    pl.lit(0, pl.Int64).alias("adjustment"),
                    _points(pl.col("persons"), book.units(metric.per_unit), book.units(metric.max_points)).alias(
                        "units"
                    ),
                )
            )
        per_option = (
            f.with_columns(pl.col("option").cast(pl.String))
            .group_by("month", "partner_id", "option")
            .agg(
                pl.col("active_users").filter(pl.col("counted")).sum().alias("au"),
                pl.col("active_users_year_ago").sum().alias("au_year_ago"),
                pl.col("baseline_users").sum().alias("baseline"),
                pl.col("deployed").sum().cast(pl.Int64).alias("d"),
                pl.col("deployed_year_ago").sum().cast(pl.Int64).alias("d_year_ago"),
                pl.col("excluded").sum().cast(pl.Int64).alias("excluded"),
            )
        )
        for metric_name, metric, cur, ago, adj in (
            ("USAGE_GROWTH", track.usage_growth, "au", "au_year_ago", "baseline"),
            ("DEPLOYMENTS", track.deployments, "d", "d_year_ago", "excluded"),
        ):
            per_unit = pl.DataFrame(
                {
                    "option": list(track.options),
                    "k": [book.units(metric.max_points / metric.thresholds[o]) for o in track.options],
                },
                schema={"option": pl.String, "k": pl.Int64},
            )
            cap = book.units(metric.max_points)
            parts.append(
                per_option.join(per_unit.lazy(), on="option", how="inner").select(
                    "month",
                    "partner_id",
                    pl.lit(track.name).alias("track"),
                    pl.lit(metric_name).alias("metric"),
                    "option",
                    (pl.col(cur) - pl.col(ago) - pl.col(adj)).alias("value"),
                    pl.col(cur).alias("current"),
                    pl.col(ago).alias("year_ago"),
                    pl.col(adj).alias("adjustment"),
                    pl.min_horizontal(
                        pl.max_horizontal(pl.col(cur) - pl.col(ago) - pl.col(adj), pl.lit(0)) * pl.col("k"),
                        pl.lit(cap),
                    ).alias("units"),
                )
            )
    cols = ["month", "partner_id", "track", "metric", "option", "value", "current", "year_ago", "adjustment", "units"]
    types = {
        "partner_id": partner_dtype,
        "track": _track_dtype(book),
        "metric": _lexical_enum(METRICS),
        "option": _option_dtype(book),
        "value": pl.Int64,
        "current": pl.Int64,
        "year_ago": pl.Int64,
        "adjustment": pl.Int64,
        "units": pl.Int64,
    }
    return pl.concat([p.select(cols).cast(types) for p in parts])


def _grid(book: Rulebook, partners: pl.Series, scored: list[dt.date]) -> pl.LazyFrame:
    """Every (month, partner, track, metric, option) that gets a row, with ranks for ordering."""
    rows = []
    for t_rank, t in enumerate(book.tracks):
        for metric in METRICS:
            options = t.options if metric in ("USAGE_GROWTH", "DEPLOYMENTS") else (OPTION_ALL,)
            for o_rank, o in enumerate(options):
                rows.append(
                    {
                        "track": t.name,
                        "metric": metric,
                        "option": o,
                        "track_rank": t_rank,
                        "option_rank": o_rank,
                        "max_units": book.units(t.max_points(metric)),
                    }
                )
    shape = pl.DataFrame(
        rows,
        schema={
            "track": _track_dtype(book),
            "metric": _lexical_enum(METRICS),
            "option": _option_dtype(book),
            "track_rank": pl.Int64,
            "option_rank": pl.Int64,
            "max_units": pl.Int64,
        },
    )
    months = pl.DataFrame({"month": scored}, schema={"month": pl.Date})
    return months.lazy().join(partners.to_frame().lazy(), how="cross").join(shape.lazy(), how="cross")


def score_month(
    book: Rulebook,
    month: dt.date,
    snap: SnapshotFacts,
    year_ago: dict[str, YearAgo],
    window: dict[dt.date, UsageAt],
    leveled: pl.DataFrame,
    partners: pl.Series,
) -> ScoreResult:
    """Score ``month`` for ``partners`` from its snapshot's facts, the year-ago facts per track,
    the eligible usage of the eleven months before it and itself (``window``) and the
    certifications that count, with their levels (``leveled``: ``certification_levels``)."""
    scored = [month]
    facts = {t.name: tenant_facts(book, t.name, snap, year_ago[t.name], window) for t in book.tracks}
    persons = _certified_persons(leveled, scored)

    s = book.scale
    keys = ["month", "partner_id", "track", "metric", "option"]
    metric_rows = (
        _grid(book, partners, scored)
        .join(_metric_rows(book, facts, persons, pl.Categorical), on=keys, how="left")
        .with_columns(pl.col("value", "current", "year_ago", "adjustment", "units").fill_null(0))
    )
    # The winning option: most points, ties to the option listed first.
    n_opt = 16
    metric_rows = (
        metric_rows.with_columns((pl.col("units") * n_opt - pl.col("option_rank")).alias("_rank_key"))
        .with_columns(
            (pl.col("_rank_key") == pl.col("_rank_key").max().over("month", "partner_id", "track", "metric")).alias(
                "is_winner"
            )
        )
        .collect()
    )
    metric_points = units_to_points(metric_rows, s, points="units", max_points="max_units").select(
        *keys,
        "value",
        "current",
        "year_ago",
        "adjustment",
        "points",
        "max_points",
        "is_winner",
    )

    min_metric, min_total = book.units(book.min_metric_points), book.units(book.min_total_points)
    paths = (
        metric_rows.lazy()
        .filter("is_winner")
        .group_by("month", "partner_id", "track")
        .agg(
            pl.col("units").sum().alias("total_units"),
            (pl.col("units") >= min_metric).sum().cast(pl.Int64).alias("metrics_at_minimum"),
            pl.col("track_rank").first(),
        )
        .with_columns(
            ((pl.col("total_units") >= min_total) & (pl.col("metrics_at_minimum") == len(METRICS))).alias("qualifies")
        )
        .collect()
    )
    path_scores = units_to_points(paths, s, total="total_units").select(
        "month", "partner_id", "track", "total", "qualifies", "metrics_at_minimum"
    )

    # Best track: a qualifying track first, then the higher total, then the track listed first.
    n_tracks = len(book.tracks)
    designations = units_to_points(
        paths.lazy()
        .with_columns(
            (
                (pl.col("qualifies").cast(pl.Int64) * (book.scale * 10_000_000) + pl.col("total_units")) * n_tracks
                + (n_tracks - 1 - pl.col("track_rank"))
            ).alias("_key")
        )
        .group_by("month", "partner_id")
        .agg(
            pl.col("qualifies").any().alias("attained"),
            pl.col("track").sort_by("_key").last().alias("best_track"),
            pl.col("total_units").sort_by("_key").last().alias("score_units"),
        )
        .with_columns(pl.lit(book.id).alias("rulebook_id"))
        .collect(),
        s,
        score="score_units",
    ).select(list(DESIGNATIONS_SCHEMA))

    customer_details = pl.concat([f.select(list(CUSTOMER_DETAILS_SCHEMA)) for f in facts.values()])
    out = {
        "eligible_tenants": snap.eligibility,
        "holdings": snap.holdings,
        "metric_points": metric_points,
        "path_scores": path_scores,
        "designations": designations,
        "customer_details": customer_details,
    }
    # Unsorted (sorting a month's ~2M rows would cost more than scoring them): the database
    # does not care, and ``score`` sorts what it returns.
    return ScoreResult(
        **{
            name: frame.with_columns(
                pl.col(c).cast(pl.String) for c, t in frame.schema.items() if isinstance(t, (pl.Enum, pl.Categorical))
            )
            for name, frame in out.items()
        }
    )
