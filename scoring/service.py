"""Score months straight from a data folder: ingestion + the pure engine, no Dagster, no database.

The pipeline's assets, `pcs score` and the API's simulator all go through these functions, so
there is one way from input files to results.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from scoring import calendar, engine, ingest
from scoring.engine import ScoreResult
from scoring.frames import InputError
from scoring.ingest.shards import ReadStats, SeatCount, ShardInputError, ShardReader
from scoring.ingest.tables import registry_frame
from scoring.rulebook import Rulebooks, load_rulebooks
from scoring.shards import Shard


@dataclass
class ScoredRange:
    months: list[dt.date]
    result: ScoreResult
    partners: pl.DataFrame  # partner_id, partner_name, in_registry
    warnings: list[str] = field(default_factory=list)


def partner_registry(directory: str | Path, *, certifications: pl.DataFrame | None = None) -> pl.DataFrame:
    """Every partner known to the data (scoring-rules §8), with its name where listed.
    ``certifications``: the certifications file, when the caller has read it already."""
    listed = ingest.read_partners(directory)
    known = ingest.known_partner_ids(directory, partners=listed, certifications=certifications)
    return registry_frame(known, listed)


def score_months(
    months: Iterable[dt.date],
    *,
    directory: str | Path,
    rulebooks: Rulebooks | None = None,
    progress: Callable[[str], None] | None = None,
) -> ScoredRange:
    """Read the snapshots the months need (each once), validate them, score every partner; all
    the months' results together (``score_each`` hands them over one month at a time)."""
    stream = score_each(months, directory=directory, rulebooks=rulebooks, progress=progress)
    results = [result for _, result in stream.results]
    result = ScoreResult.concat(results or [engine.empty_result()])
    return ScoredRange(stream.months, result, stream.partners, list(stream.warnings))


@dataclass
class MonthStream:
    """Months scored one at a time (``score_each``): iterate ``results`` for (month, result)."""

    months: list[dt.date]
    partners: pl.DataFrame  # partner_id, partner_name, in_registry
    results: Iterator[tuple[dt.date, ScoreResult]]
    warnings: list[str] = field(default_factory=list)  # grows as snapshots are read
    read_seconds: float = 0.0  # time spent reading and validating snapshots so far
    snapshots_read: int = 0


def score_each(
    months: Iterable[dt.date],
    *,
    directory: str | Path,
    rulebooks: Rulebooks | None = None,
    progress: Callable[[str], None] | None = None,
) -> MonthStream:
    """Like ``score_months``, but reads each snapshot when its turn comes and yields each
    month's results as soon as it is scored, so memory holds one month's results at a time.

    A bad snapshot raises its ``InputError`` while iterating, after the months that do not
    need it have been yielded. Missing month folders raise before anything is read.
    """
    directory = Path(directory)
    scored = sorted({calendar.month_start(m) for m in months})
    needed = sorted({n for m in scored for n in engine.months_needed(m)})
    needed_by = "scoring " + ", ".join(f"{m:%Y-%m}" for m in scored)
    snapshots = ingest.iter_snapshots(directory, needed, progress=progress, needed_by=needed_by, rulebooks=rulebooks)
    certifications = ingest.read_certifications(directory)
    partners = partner_registry(directory, certifications=certifications)
    stream = MonthStream(scored, partners, iter(()))

    def load(month: dt.date) -> engine.MonthInputs:
        t0 = time.perf_counter()
        snap = next(snapshots)
        stream.read_seconds += time.perf_counter() - t0
        stream.snapshots_read += 1
        assert snap.months == {month}, (snap.months, month)
        stream.warnings.extend(snap.warnings)
        return snap.usage, snap.associations

    if progress:
        progress(f"scoring {len(scored)} month(s) for {partners.height} partners")
    stream.results = engine.score_each(
        rulebooks=rulebooks or load_rulebooks(),
        months=scored,
        load=load,
        certifications=certifications,
        partner_ids=partners["partner_id"],
    )
    return stream


@dataclass
class ScoredShard:
    """One shard of a month, scored (``score_shard``)."""

    month: dt.date
    shard: Shard
    result: ScoreResult  # the shard's partners' rows; eligible_tenants: the tenants it owns
    partners: pl.DataFrame  # its partners' registry rows: partner_id, partner_name, in_registry
    rulebook_id: str
    seats: list[SeatCount]  # its part of the seats warnings (``ingest.shards.seat_warnings``)
    stats: ReadStats


def score_shard(
    month: dt.date,
    shard: Shard,
    *,
    directory: str | Path,
    rulebooks: Rulebooks | None = None,
    all_tenants: bool = False,
) -> ScoredShard:
    """Score shard ``shard`` of ``month``: the partners whose id hashes to it (``scoring.shards``),
    from their part of the inputs (``ingest.shards.ShardReader``). Every frame holds exactly the
    single-process rows of those partners; ``eligible_tenants`` holds the tenants the shard owns
    (by the hash of the tenant id), so that the shards' rows of every frame are disjoint and
    together the month's (``all_tenants``: every tenant it read, for tests). Bad input raises
    a ``ShardInputError``: the single-process error of the input the shard was reading, which is
    the month's error when it comes first among the shards' (``ingest.shards.first_error``)."""
    books = rulebooks or load_rulebooks()
    month = calendar.month_start(month)
    reader = ShardReader(directory, month, shard, books)
    try:
        reader.open()
        results = engine.score_each(
            rulebooks=books,
            months=[month],
            load=reader.load,
            certifications=reader.certifications,
            partner_ids=reader.partners["partner_id"],
        )
        ((_, result),) = list(results)
    except InputError as exc:
        raise ShardInputError(exc, reader.step) from exc
    if not all_tenants:
        mine = reader.owned_tenants.implode()
        result.eligible_tenants = result.eligible_tenants.filter(pl.col("tenant_id").is_in(mine))
    return ScoredShard(month, shard, result, reader.partners, books.for_month(month).id, reader.seats, reader.stats)
