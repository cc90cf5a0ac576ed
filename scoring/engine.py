"""Scoring months: the entry points (``score``, ``score_each``) and the scoring of one month
from its facts. Inputs are the validated frames of ``frames.py`` and the ``Rulebooks``; outputs
are the result frames of ``frames.py`` (see docs/architecture.md, "Scoring"). Each month is
scored wholly under its rulebook version, with facts per distinct workload list of it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import TypeVar

import polars as pl

from scoring.calendar import add_months, month_start
from scoring.customers import YearAgo, promoted, tenant_facts, year_ago_facts
from scoring.facts import SnapshotFacts, UsageAt, narrowed_facts, snapshot_facts
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
from scoring.metrics import deployments, metric_rows, usage_growth
from scoring.metrics.certifications import certification_active, certification_levels, certified_persons
from scoring.points import units_to_points
from scoring.ranking import designations, path_scores, path_totals
from scoring.rulebook import Rulebook, Rulebooks

__all__ = [
    "MonthExplained",
    "MonthInputs",
    "ScoreResult",
    "certification_active",
    "check_snapshots",
    "empty_result",
    "explain_each",
    "explain_month",
    "months_needed",
    "score",
    "score_each",
    "score_month",
]

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
    return _each(score_month, rulebooks, months, load, certifications, partner_ids)


def explain_each(
    *,
    rulebooks: Rulebooks,
    months: Iterable[dt.date],
    load: Callable[[dt.date], MonthInputs],
    certifications: pl.DataFrame,
    partner_ids: Iterable[str] | pl.Series,
) -> Iterator[tuple[dt.date, MonthExplained]]:
    """``score_each``, yielding with each month's results the per-customer facts and the
    leveled certifications they were computed from (``explain_month``)."""
    return _each(explain_month, rulebooks, months, load, certifications, partner_ids)


_T = TypeVar("_T")


def _each(
    scorer: Callable[
        [
            Rulebook,
            dt.date,
            list[SnapshotFacts],
            list[dict[str, YearAgo]],
            list[dict[dt.date, UsageAt]],
            pl.DataFrame,
            pl.Series,
        ],
        _T,
    ],
    rulebooks: Rulebooks,
    months: Iterable[dt.date],
    load: Callable[[dt.date], MonthInputs],
    certifications: pl.DataFrame,
    partner_ids: Iterable[str] | pl.Series,
) -> Iterator[tuple[dt.date, _T]]:
    """The month loop of ``score_each``; ``scorer`` scores one month (``score_month`` or
    ``explain_month``).
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
    # facts are per rulebook and per distinct workload list of it (index in workload_lists)
    usage_kept: dict[tuple[dt.date, str], list[UsageAt]] = {}
    year_ago: dict[dt.date, list[dict[str, YearAgo]]] = {}
    leveled: dict[str, pl.DataFrame] = {}  # certification_levels per rulebook
    for n in sorted(users):
        usage_raw, assoc_raw = load(n)
        # every rulebook's facts of the snapshot first, then the raw snapshot is dropped: it is
        # not held while a month is scored and its results are consumed
        facts = {book.id: _snapshot_facts(book, n, usage_raw, assoc_raw) for book in users[n].values()}
        del usage_raw, assoc_raw
        for book in users[n].values():
            snapshots = facts.pop(book.id)
            later = add_months(n, 12)
            if later in books and books[later].id == book.id:
                year_ago[later] = [{t.name: year_ago_facts(book, t.name, s) for t in book.tracks} for s in snapshots]
            if any(books[m].id == book.id and m >= n for m in scored if m <= add_months(n, 11)):
                usage_kept[(n, book.id)] = [s.usage_at for s in snapshots]
            if n in books and books[n].id == book.id:
                windows = [
                    {k: usage_kept[(k, book.id)][i] for k in months_needed(n)[1:]} for i in range(len(snapshots))
                ]
                if book.id not in leveled:
                    leveled[book.id] = certification_levels(book, certifications)
                result = scorer(book, n, snapshots, year_ago.pop(n), windows, leveled[book.id], partners)
                del snapshots  # the month's facts but those kept above, not held while it is consumed
                yield n, result
        for key in [k for k in usage_kept if k[0] <= add_months(n, -11)]:
            del usage_kept[key]


def _snapshot_facts(
    book: Rulebook, month: dt.date, usage: pl.DataFrame, associations: pl.DataFrame
) -> list[SnapshotFacts]:
    """The snapshot's facts for each workload list of ``book`` (in ``workload_lists`` order): a
    list held within a wider one is narrowed from its facts, the others read from the inputs."""
    lists = book.workload_lists
    done: dict[int, SnapshotFacts] = {}
    for i in sorted(range(len(lists)), key=lambda k: -len(lists[k])):
        wider = next((j for j in done if set(lists[i]) <= set(lists[j])), None)
        done[i] = (
            snapshot_facts(book, month, usage, associations, lists[i])
            if wider is None
            else narrowed_facts(book, done[wider], lists[i])
        )
    return [done[i] for i in range(len(lists))]


def empty_result() -> ScoreResult:
    return ScoreResult(
        eligible_tenants=pl.DataFrame(schema=ELIGIBLE_TENANTS_SCHEMA),
        holdings=pl.DataFrame(schema=HOLDINGS_SCHEMA),
        metric_points=pl.DataFrame(schema=METRIC_POINTS_SCHEMA),
        path_scores=pl.DataFrame(schema=PATH_SCORES_SCHEMA),
        designations=pl.DataFrame(schema=DESIGNATIONS_SCHEMA),
        customer_details=pl.DataFrame(schema=CUSTOMER_DETAILS_SCHEMA),
    )


def score_month(
    book: Rulebook,
    month: dt.date,
    snapshots: list[SnapshotFacts],
    year_ago: list[dict[str, YearAgo]],
    windows: list[dict[dt.date, UsageAt]],
    leveled: pl.DataFrame,
    partners: pl.Series,
) -> ScoreResult:
    """Score ``month`` for ``partners`` from, per workload list of ``book``
    (``Rulebook.workload_lists``): its snapshot's facts, the year-ago facts per track and the
    eligible usage of the eleven months before it and itself (``windows``); and the
    certifications that count, with their levels (``leveled``: ``certification_levels``)."""
    return explain_month(book, month, snapshots, year_ago, windows, leveled, partners).result


@dataclass
class MonthExplained:
    """A scored month with what its metrics were counted from (``scoring.attribution`` reads it)."""

    book: Rulebook
    month: dt.date
    # per workload list of ``book`` (``Rulebook.workload_lists``), per track: customers.tenant_facts
    customers: list[dict[str, pl.DataFrame]]
    leveled: pl.DataFrame  # certification_levels of ``book``
    result: ScoreResult


def explain_month(
    book: Rulebook,
    month: dt.date,
    snapshots: list[SnapshotFacts],
    year_ago: list[dict[str, YearAgo]],
    windows: list[dict[dt.date, UsageAt]],
    leveled: pl.DataFrame,
    partners: pl.Series,
) -> MonthExplained:
    """``score_month``, keeping the per-customer facts the metrics were counted from."""
    snapshots = [promoted(book, s, y) for s, y in zip(snapshots, year_ago, strict=True)]
    customers = [
        {t.name: tenant_facts(book, t.name, s, y[t.name], w) for t in book.tracks}
        for s, y, w in zip(snapshots, year_ago, windows, strict=True)
    ]
    rows = metric_rows(book, partners, month, customers, certified_persons(leveled, [month]))
    totals = path_totals(book, rows)
    eligibility, holdings = _shown_facts(book, snapshots)
    out = {
        "eligible_tenants": eligibility,
        "holdings": holdings,
        "metric_points": units_to_points(rows, book.scale, points="units", max_points="max_units").select(
            list(METRIC_POINTS_SCHEMA)
        ),
        "path_scores": path_scores(book, totals),
        "designations": designations(book, totals),
        "customer_details": _customer_details(book, customers),
    }
    # Unsorted (sorting a month's ~2M rows would cost more than scoring them): the database
    # does not care, and ``score`` sorts what it returns.
    result = ScoreResult(
        **{
            name: frame.with_columns(
                pl.col(c).cast(pl.String) for c, t in frame.schema.items() if isinstance(t, (pl.Enum, pl.Categorical))
            )
            for name, frame in out.items()
        }
    )
    return MonthExplained(book, month, customers, leveled, result)


def _texts(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.with_columns(
        pl.col(c).cast(pl.String) for c, t in frame.schema.items() if isinstance(t, (pl.Enum, pl.Categorical))
    )


def _shown_facts(book: Rulebook, snapshots: list[SnapshotFacts]) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The eligible tenants and holdings the results show: for the workloads of any metric. With
    one workload list they are its facts; with a list that holds every other, that list's;
    otherwise the lists' facts together (a tenant's largest seats, each holding once)."""
    if len(snapshots) == 1:
        return snapshots[0].eligibility, snapshots[0].holdings
    union = set(book.eligible_workloads)
    for names, s in zip(book.workload_lists, snapshots, strict=True):
        if set(names) == union:
            return s.eligibility, s.holdings
    eligibility = (
        pl.concat([_texts(s.eligibility) for s in snapshots])
        .group_by("month", "tenant_id", "track")
        .agg(pl.col("max_paid_seats").max())
        .select(list(ELIGIBLE_TENANTS_SCHEMA))
    )
    holdings = pl.concat([_texts(s.holdings) for s in snapshots]).unique(NAT_KEYS["holdings"], keep="first")
    return eligibility, holdings


def _customer_details(book: Rulebook, customers: list[dict[str, pl.DataFrame]]) -> pl.DataFrame:
    """The ``customer_details`` rows: a customer as usage growth counts it (its list's eligibility,
    held workloads, sums, ``counted`` and baseline), with the deployment columns from the
    deployments list when that list differs."""
    growth = customers[book.list_index(usage_growth.NAME)]
    frame = pl.concat([_texts(f.select(list(CUSTOMER_DETAILS_SCHEMA))) for f in growth.values()])
    if book.list_index(deployments.NAME) == book.list_index(usage_growth.NAME):
        return frame
    deployed_cols = ["deployed", "deployed_year_ago", "excluded"]
    keys = NAT_KEYS["customer_details"]
    deploy = pl.concat(
        [_texts(f.select(*keys, *deployed_cols)) for f in customers[book.list_index(deployments.NAME)].values()]
    )
    return (
        frame.drop(deployed_cols)
        .join(deploy, on=keys, how="full", coalesce=True)
        .with_columns(
            pl.col(c).fill_null(False if t == pl.Boolean else 0)
            for c, t in CUSTOMER_DETAILS_SCHEMA.items()
            if t in (pl.Boolean, pl.Int64)
        )
        .select(list(CUSTOMER_DETAILS_SCHEMA))
    )
