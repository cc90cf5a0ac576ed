"""The scoring rules of ``scoring-rules.md`` as pure Polars functions.

No Dagster, database or web imports: inputs are the validated frames of ``frames.py`` and a
``Rulebook``; outputs are the result frames of ``frames.py``. One call scores a range of months
from snapshots read once: per-snapshot facts (eligibility, holdings, counts) are computed for
every month at once, and month M meets month M-12 through an equi-join on a shifted month key.

Points are counted in integer units of ``1 / rulebook.scale`` (see ``rulebook.py``), so every
cap, tie and minimum is decided exactly; ``points`` columns are ``units / scale``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

import polars as pl

from .frames import (
    CUSTOMER_DETAILS_SCHEMA,
    DESIGNATIONS_SCHEMA,
    ELIGIBLE_TENANTS_SCHEMA,
    HOLDINGS_SCHEMA,
    METRIC_POINTS_SCHEMA,
    PATH_SCORES_SCHEMA,
    MissingSnapshotError,
    Snapshots,
)
from .rulebook import METRICS, OPTION_ALL, Rulebook, Rulebooks, fold

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
            **{
                name: pl.concat([getattr(r, name) for r in results]).sort(keys)
                for name, keys in NAT_KEYS.items()
            }
        )


# ---- months ----------------------------------------------------------------------------------


def month_start(d: dt.date) -> dt.date:
    return d.replace(day=1)


def add_months(d: dt.date, n: int) -> dt.date:
    y, m = divmod(d.year * 12 + d.month - 1 + n, 12)
    return dt.date(y, m + 1, 1)


def month_end(d: dt.date) -> dt.date:
    """The last day of ``d``'s month."""
    return add_months(month_start(d), 1) - dt.timedelta(days=1)


def certification_active(end: pl.Expr | dt.date) -> pl.Expr:
    """A certification counts at ``end`` (a month's last day): earned by then, not expired by then."""
    end = end if isinstance(end, pl.Expr) else pl.lit(end)
    return (pl.col("earned_on") <= end) & (pl.col("expires_on").is_null() | (pl.col("expires_on") > end))


def months_needed(month: dt.date) -> list[dt.date]:
    """The snapshots that scoring ``month`` reads: M-12 through M."""
    return [add_months(month_start(month), -k) for k in range(12, -1, -1)]


def month_range(first: dt.date, last: dt.date) -> list[dt.date]:
    out, m = [], month_start(first)
    while m <= month_start(last):
        out.append(m)
        m = add_months(m, 1)
    return out


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
        raise MissingSnapshotError(
            list(missing), needed_by="scoring " + ", ".join(f"{m:%Y-%m}" for m in scored)
        )


# ---- entry point -----------------------------------------------------------------------------


def score(
    *,
    rulebooks: Rulebooks,
    months: Iterable[dt.date],
    snapshots: Snapshots,
    certifications: pl.DataFrame,
    partner_ids: Iterable[str] | pl.Series,
) -> ScoreResult:
    """Score every partner in ``partner_ids`` for every month in ``months``.

    Each month is scored with the rulebook in force for it; months that share a rulebook are
    scored together in one vectorised pass. Raises ``MissingSnapshotError`` when a month's
    M-12..M snapshots are not all in ``snapshots``.
    """
    scored = sorted({month_start(m) for m in months})
    check_snapshots(scored, snapshots.months)
    partners = pl.Series("partner_id", list(partner_ids), dtype=pl.String).unique().sort()
    groups: dict[str, tuple[Rulebook, list[dt.date]]] = {}
    for m in scored:
        book = rulebooks.for_month(m)
        groups.setdefault(book.id, (book, []))[1].append(m)
    results = [
        score_with_rulebook(
            book, months=ms, snapshots=snapshots, certifications=certifications, partners=partners
        )
        for book, ms in groups.values()
    ]
    if not results:
        return ScoreResult.concat([_empty_result()])
    return ScoreResult.concat(results)


def _empty_result() -> ScoreResult:
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


def eligible_usage(book: Rulebook, usage: pl.DataFrame) -> pl.DataFrame:
    """Usage rows of eligible workloads, workloads under their canonical names."""
    return (
        usage.lazy()
        .with_columns(_canonical("workload", usage, book.workload_names))
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
    """
    types = {t.casefold(): o for t, o in book.association_types.items()}
    return (
        associations.lazy()
        .with_columns(
            _canonical("workload", associations, book.workload_names),
            _canonical("association_type", associations, types).alias("option"),
        )
        .filter(pl.col("workload").is_not_null() & pl.col("option").is_not_null())
        .group_by("month", "partner_id", "tenant_id", "option", "workload")
        .agg(pl.col("associated_on").min())
        .join(usage.lazy(), on=["month", "tenant_id", "workload"], how="left")
        .with_columns(pl.col("paid_seats", "active_users").fill_null(0))
        .select(list(HOLDINGS_SCHEMA))
        .collect()
    )


def _deployed(book: Rulebook, paid: str, active: str) -> pl.Expr:
    r = book.deployment_active_ratio
    return (pl.col(paid) > 0) & (pl.col(active) * r.denominator >= pl.col(paid) * r.numerator)


def _year_ago(frame: pl.LazyFrame, *cols: str, rename: dict[str, str]) -> pl.LazyFrame:
    """Move each row one year forward, so that month M meets the values of M-12."""
    return frame.select(
        pl.col("month").dt.offset_by(YEAR), *cols, *[pl.col(a).alias(b) for a, b in rename.items()]
    )


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


def tenant_facts(
    book: Rulebook, track_name: str, holdings: pl.DataFrame, eligibility: pl.DataFrame, usage: pl.DataFrame,
    scored: list[dt.date],
) -> pl.DataFrame:
    """Per (scored month, partner, tenant, option) of one track: everything the metrics count.

    Rows are tenants held under an option of the track in M or in M-12.
    """
    track = book.track(track_name)
    elig = eligibility.lazy().filter(pl.col("track") == track_name).select(
        "month", "tenant_id", pl.lit(True).alias("eligible")
    )
    held = (
        holdings.lazy()
        .filter(pl.col("option").is_in(list(track.options)))
        .join(elig, on=["month", "tenant_id"], how="left")
        .with_columns(pl.col("eligible").fill_null(False))
    )
    scored_frame = pl.DataFrame({"month": scored}, schema={"month": pl.Date}).lazy()

    per_tenant = held.group_by("month", "partner_id", "tenant_id", "option").agg(
        pl.len().cast(pl.Int64).alias("workloads"),
        pl.col("associated_on").min(),
        pl.col("paid_seats").sum(),
        pl.col("active_users").sum(),
        pl.col("eligible").first(),
    ).with_columns(
        pl.col("eligible").alias("counted"),
        (pl.col("eligible") & _deployed(book, "paid_seats", "active_users")).alias("deployed"),
    )
    current = per_tenant.join(scored_frame, on="month", how="semi")
    year_ago = _year_ago(
        per_tenant.filter(pl.col("counted")),
        "partner_id", "tenant_id", "option",
        rename={"active_users": "active_users_year_ago", "deployed": "deployed_year_ago"},
    ).with_columns(pl.lit(True).alias("counted_year_ago")).join(scored_frame, on="month", how="semi")

    keys = ["month", "partner_id", "tenant_id", "option"]
    # Usage baseline for workloads newly associated within the 12 months (scoring-rules §4):
    # counted now, associated after M-12, not counted in M-12 -> users at association time.
    counted_pairs = held.filter(pl.col("eligible")).select(*keys, "workload", "associated_on")
    new_pairs = (
        counted_pairs.join(scored_frame, on="month", how="semi")
        .join(
            _year_ago(counted_pairs, "partner_id", "tenant_id", "option", "workload", rename={}),
            on=[*keys, "workload"],
            how="anti",
        )
        .with_columns(pl.col("associated_on").dt.truncate("1mo").alias("assoc_month"))
        .filter(pl.col("assoc_month") > pl.col("month").dt.offset_by("-" + YEAR))
        .join(
            usage.lazy().select(
                pl.col("month").alias("assoc_month"), "tenant_id", "workload",
                pl.col("active_users").alias("users_then"),
            ),
            on=["assoc_month", "tenant_id", "workload"],
            how="left",
        )
        .group_by(keys)
        .agg(pl.col("users_then").fill_null(0).sum().alias("baseline_users"))
    )
    # Deployments already made before the association (scoring-rules §5): same held workloads,
    # usage of the month of the earliest association date.
    claim_test = (
        held.join(scored_frame, on="month", how="semi")
        .select(*keys, "workload")
        .join(
            current.filter(pl.col("deployed")).select(
                *keys, pl.col("associated_on").dt.truncate("1mo").alias("assoc_month")
            ),
            on=keys,
            how="inner",
        )
        .filter(pl.col("assoc_month") > pl.col("month").dt.offset_by("-" + YEAR))
        .join(
            usage.lazy().select(
                pl.col("month").alias("assoc_month"), "tenant_id", "workload",
                pl.col("paid_seats").alias("paid_then"), pl.col("active_users").alias("active_then"),
            ),
            on=["assoc_month", "tenant_id", "workload"],
            how="left",
        )
        .group_by(keys)
        .agg(pl.col("paid_then").fill_null(0).sum(), pl.col("active_then").fill_null(0).sum())
        .select(*keys, _deployed(book, "paid_then", "active_then").alias("deployed_at_claim"))
    )
    return (
        current.join(year_ago, on=keys, how="full", coalesce=True)
        .join(new_pairs, on=keys, how="left")
        .join(claim_test, on=keys, how="left")
        .join(elig.select("month", "tenant_id", pl.col("eligible").alias("eligible_now")), on=["month", "tenant_id"], how="left")
        .with_columns(
            pl.col("workloads", "paid_seats", "active_users", "active_users_year_ago", "baseline_users").fill_null(0),
            pl.col("eligible_now", "counted", "deployed", "counted_year_ago", "deployed_year_ago",
                   "deployed_at_claim").fill_null(False),
        )
        .with_columns(
            (pl.col("deployed") & ~pl.col("deployed_year_ago") & pl.col("deployed_at_claim")).alias("excluded"),
            pl.lit(track_name, dtype=_track_dtype(book)).alias("track"),
            pl.col("eligible_now").alias("eligible"),
        )
        .drop("eligible_now", "deployed_at_claim")
        .collect()
    )


def _certified_persons(book: Rulebook, certifications: pl.DataFrame, scored: list[dt.date]) -> pl.DataFrame:
    """(month, partner_id, level, persons): distinct persons with an active certification."""
    levels = book.certification_levels
    level_map = pl.DataFrame(
        {"ckey": list(levels), "level": list(levels.values())}, schema={"ckey": pl.String, "level": pl.String}
    )
    months = pl.DataFrame({"month": scored}, schema={"month": pl.Date}).with_columns(
        pl.col("month").dt.month_end().alias("month_end")
    )
    return (
        certifications.lazy()
        .with_columns(_fold("certification").alias("ckey"))
        .join(level_map.lazy(), on="ckey", how="inner")
        .join(months.lazy(), how="cross")
        .filter(certification_active(pl.col("month_end")))
        .group_by("month", "partner_id", "level")
        .agg(pl.col("person_id").n_unique().cast(pl.Int64).alias("persons"))
        .collect()
    )


def _metric_rows(book: Rulebook, facts: dict[str, pl.DataFrame], persons: pl.DataFrame,
                 partner_dtype: pl.DataType) -> pl.LazyFrame:
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
            .with_columns(
                _points(pl.col("value"), book.units(nca.per_unit), book.units(nca.max_points)).alias("units")
            )
            .with_columns(pl.lit(track.name).alias("track"))
        )
        for level, metric in (("INTERMEDIATE", track.intermediate_certifications),
                              ("ADVANCED", track.advanced_certifications)):
            parts.append(
                persons.lazy()
                .filter(pl.col("level") == level)
                .select(
                    "month", "partner_id",
                    pl.lit(track.name).alias("track"),
                    pl.lit(f"{level}_CERTIFICATIONS").alias("metric"),
                    pl.lit(OPTION_ALL).alias("option"),
                    pl.col("persons").alias("value"),
                    pl.col("persons").alias("current"),
                    pl.lit(0, pl.Int64).alias("year_ago"),
                    pl.lit(0, pl.Int64).alias("adjustment"),
                    _points(pl.col("persons"), book.units(metric.per_unit), book.units(metric.max_points)).alias("units"),
                )
            )
        per_option = f.with_columns(pl.col("option").cast(pl.String)).group_by("month", "partner_id", "option").agg(
            pl.col("active_users").filter(pl.col("counted")).sum().alias("au"),
            pl.col("active_users_year_ago").sum().alias("au_year_ago"),
            pl.col("baseline_users").sum().alias("baseline"),
            pl.col("deployed").sum().cast(pl.Int64).alias("d"),
            pl.col("deployed_year_ago").sum().cast(pl.Int64).alias("d_year_ago"),
            pl.col("excluded").sum().cast(pl.Int64).alias("excluded"),
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
                per_option.join(per_unit.lazy(), on="option", how="inner")
                .select(
                    "month", "partner_id",
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
    types = {"partner_id": partner_dtype, "track": _track_dtype(book), "metric": _lexical_enum(METRICS),
             "option": _option_dtype(book), "value": pl.Int64, "current": pl.Int64,
             "year_ago": pl.Int64, "adjustment": pl.Int64, "units": pl.Int64}
    return pl.concat([p.select(cols).cast(types) for p in parts])


def _grid(book: Rulebook, partners: pl.Series, scored: list[dt.date]) -> pl.LazyFrame:
    """Every (month, partner, track, metric, option) that gets a row, with ranks for ordering."""
    rows = []
    for t_rank, t in enumerate(book.tracks):
        for m_rank, metric in enumerate(METRICS):
            options = t.options if metric in ("USAGE_GROWTH", "DEPLOYMENTS") else (OPTION_ALL,)
            for o_rank, o in enumerate(options):
                rows.append(
                    {
                        "track": t.name, "metric": metric, "option": o, "track_rank": t_rank,
                        "option_rank": o_rank,
                        "max_units": book.units(t.max_points(metric)),
                    }
                )
    shape = pl.DataFrame(rows, schema={"track": _track_dtype(book), "metric": _lexical_enum(METRICS),
                                       "option": _option_dtype(book),
                                       "track_rank": pl.Int64, "option_rank": pl.Int64, "max_units": pl.Int64})
    months = pl.DataFrame({"month": scored}, schema={"month": pl.Date})
    return (
        months.lazy()
        .join(partners.to_frame().lazy(), how="cross")
        .join(shape.lazy(), how="cross")
    )


def score_with_rulebook(
    book: Rulebook,
    *,
    months: list[dt.date],
    snapshots: Snapshots,
    certifications: pl.DataFrame,
    partners: pl.Series,
) -> ScoreResult:
    """Score ``months`` (all under ``book``) for ``partners``; snapshots must cover M-12..M."""
    scored = sorted(months)
    needed = sorted({n for m in scored for n in months_needed(m)})
    # Ids become lexically ordered enums: joins, group-bys and sorts run on integer codes.
    usage_all = snapshots.usage.filter(pl.col("month").is_in(needed))
    assoc_all = snapshots.associations.filter(pl.col("month").is_in(needed))
    tenant_dtype = pl.Enum(
        pl.concat([usage_all["tenant_id"], assoc_all["tenant_id"]]).unique().sort()
    )
    partner_dtype = pl.Enum(
        pl.concat([partners, assoc_all["partner_id"], certifications["partner_id"]]).unique().sort()
    )
    usage_all = usage_all.with_columns(pl.col("tenant_id").cast(tenant_dtype))
    assoc_all = assoc_all.with_columns(
        pl.col("partner_id").cast(partner_dtype), pl.col("tenant_id").cast(tenant_dtype)
    )
    partners = partners.cast(partner_dtype)

    usage = eligible_usage(book, usage_all)
    eligibility = tenant_eligibility(book, usage)
    holdings = partner_holdings(book, assoc_all, usage)
    facts = {t.name: tenant_facts(book, t.name, holdings, eligibility, usage, scored) for t in book.tracks}
    persons = _certified_persons(book, certifications, scored)

    s = book.scale
    keys = ["month", "partner_id", "track", "metric", "option"]
    metric_rows = (
        _grid(book, partners, scored)
        .join(_metric_rows(book, facts, persons, partner_dtype), on=keys, how="left")
        .with_columns(pl.col("value", "current", "year_ago", "adjustment", "units").fill_null(0))
    )
    # The winning option: most points, ties to the option listed first.
    n_opt = 16
    metric_rows = metric_rows.with_columns(
        (pl.col("units") * n_opt - pl.col("option_rank")).alias("_rank_key")
    ).with_columns(
        (pl.col("_rank_key") == pl.col("_rank_key").max().over("month", "partner_id", "track", "metric")).alias("is_winner")
    ).collect()
    metric_points = units_to_points(metric_rows, s, points="units", max_points="max_units").select(
        *keys, "value", "current", "year_ago", "adjustment", "points", "max_points", "is_winner",
    ).sort(keys)

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
    ).sort("month", "partner_id", "track")

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
    ).select(list(DESIGNATIONS_SCHEMA)).sort("month", "partner_id")

    customer_details = pl.concat(
        [f.select(list(CUSTOMER_DETAILS_SCHEMA)) for f in facts.values()]
    ).sort(NAT_KEYS["customer_details"])
    out = {
        "eligible_tenants": eligibility.filter(pl.col("month").is_in(scored)),
        "holdings": holdings.filter(pl.col("month").is_in(scored)),
        "metric_points": metric_points,
        "path_scores": path_scores,
        "designations": designations,
        "customer_details": customer_details,
    }
    return ScoreResult(
        **{
            name: frame.sort(NAT_KEYS[name]).with_columns(
                pl.col(c).cast(pl.String) for c, t in frame.schema.items() if isinstance(t, (pl.Enum, pl.Categorical))
            )
            for name, frame in out.items()
        }
    )
