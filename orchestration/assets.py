"""The scoring assets: one multi-asset turns a range of monthly partitions into stored results.

Assets (partitioned by month, ``partitions.MONTHLY``, except the two input files)::

    partners, certifications        external: files of the data folder, not materialized here
    monthly_snapshot                the month's validated input snapshot (months/YYYY-MM)
     ├─ eligible_tenants            monthly_snapshot M-12..M (``partitions.LOOKBACK``)
     ├─ holdings                    monthly_snapshot M-12..M
     └─ customer_details            monthly_snapshot M-12..M, eligible_tenants, holdings
         └─ metric_points           + certifications
             └─ path_scores
                 └─ designations    + partners

The M-12 lookback is the ``TimeWindowPartitionMapping(-12, 0)`` of the results on
``monthly_snapshot``, so the asset graph shows it.

Why one multi-asset (``score_months``) and not one asset per table:

* reading: each snapshot is read once. A separate snapshot step would read the run's months and
  the scoring step would read them again, together with the twelve before; here
  ``service.score_each`` reads the M-12..M snapshots of the run's months once each (twelve
  months: 24 snapshots), validating them as it goes;
* scoring: the engine computes all six tables of a month together from compact per-snapshot
  facts; an asset per table would score again per table or ship ~2M rows a month between
  processes;
* writing: ``storage.results.write_results`` replaces a month in all six tables in one
  transaction: a month is never half written.

A run covers any range of months (``BackfillPolicy.single_run()``). Months are scored one at a
time in order, and each is written (one transaction) as soon as it is scored, so memory holds
at most a year of compact facts plus one month's results, however long the range (20,000
partners: ~1.3 GB). A bad snapshot fails the months that read it (it and the twelve after it):
months before it are already written, months after those are scored by a new pass, and the run
then fails naming every month not scored and why (and records materializations for the months
it did write). See ``partitions.BACKFILL_POLICY``.

Selecting only ``monthly_snapshot`` validates the run's months (each read once) without scoring
or writing anything. Selecting any result asset scores and writes all six tables (one
transaction per month); the result assets that were not selected still get their
materialization recorded. The multi-asset is subsettable so that Dagster's asset backfills can
plan it: a non-subsettable multi-asset whose outputs depend on each other through a non-identity
partition mapping never gets a backfill run ("At least one run should be requested").

Checks (declared with ``check_specs``, reported in the ``MaterializeResult``s):

* ``monthly_snapshot / input_valid`` (blocking, ERROR): every input file the run reads follows
  ``input-data.md``. When it does not, the check fails with the ``InputError`` text (file,
  column, value, row), the run fails with the same text and the months that read it are not
  written (months already stored stay as they were);
* ``monthly_snapshot / active_users_within_paid_seats`` (WARN): allowed but worth a look;
* ``designations / partners_named`` (WARN): scored partners with no name (empty in the partners
  file, or not listed there at all).

The step runs in the concurrency pool ``results_db`` (limit it to 1: SQLite has one writer; see
``orchestration/dagster.yaml``). Progress lines go to the run's log and to the Python logger
``pcs.pipeline`` (``pcs backfill`` prints them).
"""

import datetime as dt
import logging
import re
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import dagster as dg
import polars as pl

from orchestration.partitions import BACKFILL_POLICY, LOOKBACK, MONTHLY, chunks, months_of_window, partition_key
from orchestration.resources import DataFolder, ResultsDatabase
from scoring import ingest, service
from scoring.engine import months_needed
from scoring.frames import InputError
from scoring.scorecards import summary
from storage import results as store

LOGGER = logging.getLogger("pcs.pipeline")

POOL = "results_db"
INPUT_GROUP = "inputs"
RESULT_GROUP = "scores"

SNAPSHOT = dg.AssetKey("monthly_snapshot")
PARTNERS = dg.AssetKey("partners")
CERTIFICATIONS = dg.AssetKey("certifications")

INPUT_VALID = "input_valid"
SEATS_WARNING = "active_users_within_paid_seats"
PARTNERS_NAMED = "partners_named"
INPUT_VALID_KEY = dg.AssetCheckKey(SNAPSHOT, INPUT_VALID)

# ---- specs -----------------------------------------------------------------------------------

SOURCES = [
    dg.AssetSpec(
        PARTNERS,
        group_name=INPUT_GROUP,
        description="partners.csv|parquet of the data folder (PCS_DATA_DIR): the partner registry.",
        kinds={"csv"},
    ),
    dg.AssetSpec(
        CERTIFICATIONS,
        group_name=INPUT_GROUP,
        description=(
            "certifications.csv|parquet of the data folder (PCS_DATA_DIR). The "
            "certifications_sensor rescores the latest scored month when it changes."
        ),
        kinds={"csv"},
    ),
]
"""The two unpartitioned input files, as external assets (lineage only)."""

# Every dependency on monthly_snapshot has the same mapping (Dagster keeps one per upstream key
# and multi-asset): the engine computes holdings and eligibility for M-12..M too, and keeps M.
_SNAPSHOTS = dg.AssetDep(SNAPSHOT, partition_mapping=LOOKBACK)
_RESULT_DEPS: dict[str, list] = {
    "eligible_tenants": [_SNAPSHOTS],
    "holdings": [_SNAPSHOTS],
    "customer_details": [_SNAPSHOTS, "eligible_tenants", "holdings"],
    "metric_points": ["customer_details", CERTIFICATIONS],
    "path_scores": ["metric_points"],
    "designations": ["path_scores", PARTNERS],
}
_RESULT_DESCRIPTIONS = {
    "eligible_tenants": "Tenants eligible for each track in the month (seat bands).",
    "holdings": "Eligible workloads each partner holds per tenant and association option.",
    "customer_details": "Per partner, tenant, track and option: what counts in M and M-12.",
    "metric_points": "The five metrics per partner, track and option, with their points.",
    "path_scores": "Each partner's total per track, and whether the track qualifies.",
    "designations": "Each partner's designation: attained, best track, score.",
}
assert set(_RESULT_DEPS) == set(store.RESULTS), "one asset per result table"
RESULT_ORDER = list(_RESULT_DEPS)
"""The result assets in dependency order (a multi-asset yields its results in that order)."""
RESULT_KEYS = {dg.AssetKey(n) for n in RESULT_ORDER}

SNAPSHOT_SPEC = dg.AssetSpec(
    SNAPSHOT,
    group_name=INPUT_GROUP,
    description=(
        "The month's input snapshot (months/YYYY-MM: workload_usage, associations), read and "
        "validated. Materialized with the results that read it, or alone (validation only)."
    ),
    kinds={"polars"},
)
RESULT_SPECS = [
    dg.AssetSpec(
        name,
        group_name=RESULT_GROUP,
        deps=_RESULT_DEPS[name],
        description=_RESULT_DESCRIPTIONS[name]
        + f" Table `{store.RESULTS[name].table.name}` of the results database (PCS_DATABASE_URL).",
        kinds={"polars", "sql"},
        metadata={"dagster/table_name": store.RESULTS[name].table.name},
    )
    for name in RESULT_ORDER
]
CHECK_SPECS = [
    dg.AssetCheckSpec(
        INPUT_VALID,
        asset=SNAPSHOT,
        blocking=True,
        description=(
            "Every input file the run reads follows input-data.md; else the months that read a "
            "bad file are not written."
        ),
    ),
    dg.AssetCheckSpec(
        SEATS_WARNING,
        asset=SNAPSHOT,
        description="No usage row with active_users > paid_seats (allowed, worth a warning).",
    ),
    dg.AssetCheckSpec(
        PARTNERS_NAMED,
        asset="designations",
        description="Every scored partner has a name in the partners file.",
    ),
]


# ---- helpers ---------------------------------------------------------------------------------


def span(months: list[dt.date]) -> str:
    """``2024-06`` or ``2024-01..2024-12``."""
    first, last = min(months), max(months)
    return f"{first:%Y-%m}" if first == last else f"{first:%Y-%m}..{last:%Y-%m}"


_MONTH_FILE = re.compile(r"^months/(\d{4}-\d{2})(/|$)")
_MONTH_LABEL = re.compile(r"^\d{4}-\d{2}$")


def broken_inputs(exc: InputError) -> list[str]:
    """The inputs an error is about: month folders (``2024-06``) or files (``partners.csv``)."""
    out = set()
    for p in exc.problems:
        m = _MONTH_FILE.match(p.file)
        out.add(m.group(1) if m else p.file)
    return sorted(out)


def failure_text(months: list[dt.date], exc: InputError) -> str:
    """The run's failure message: which months, why, nothing written, then the error itself."""
    bad = ", ".join(broken_inputs(exc))
    return f"{span(months)} not scored, nothing written (bad input: {bad})\n{exc}"


def failure_summary(failures: list[tuple[list[dt.date], InputError]], written: list[dt.date]) -> str:
    """The run's failure message: every chunk not scored and why, then what was written."""
    parts = [failure_text(chunk, exc) for chunk, exc in failures]
    if written:
        parts.append(f"(scored and written: {', '.join(span(c) for c in chunks(written, None))})")
    return "\n".join(parts)


def markdown(df: pl.DataFrame, rows: int = 40) -> str:
    """A frame as a Markdown table (Polars has no ``to_markdown``: pola-rs/polars#13907)."""
    with pl.Config(
        tbl_formatting="ASCII_MARKDOWN",
        tbl_hide_column_data_types=True,
        tbl_hide_dataframe_shape=True,
        tbl_rows=rows,
        tbl_cols=-1,
        tbl_width_chars=400,
        fmt_str_lengths=120,
    ):
        return str(df.head(rows))


def score_distribution(designations: pl.DataFrame) -> pl.DataFrame:
    """Partners (and attaining partners) per 10-point score band, every band listed."""
    bands = pl.DataFrame({"lo": list(range(0, 100, 10))}, schema={"lo": pl.Int64})
    counts = (
        designations.select((pl.col("score") // 10).cast(pl.Int64).clip(0, 9).mul(10).alias("lo"), "attained")
        .group_by("lo")
        .agg(pl.len().alias("partners"), pl.col("attained").sum().alias("attained"))
    )
    return (
        bands.join(counts, on="lo", how="left")
        .sort("lo")
        .select(
            pl.format("{}–{}", "lo", pl.col("lo") + 10).alias("score"),
            pl.col("partners").fill_null(0).cast(pl.Int64),
            pl.col("attained").fill_null(0).cast(pl.Int64),
        )
    )


def top_scores(designations: pl.DataFrame, partners: pl.DataFrame, n: int = 10) -> pl.DataFrame:
    """The ``n`` best scores (any month), with the partners' names."""
    names = partners.select("partner_id", "partner_name")
    return (
        designations.sort(["score", "month", "partner_id"], descending=[True, False, False])
        .head(n)
        .join(names, on="partner_id", how="left", maintain_order="left")
        .select("month", "partner_id", "partner_name", "best_track", "score", "attained")
    )


def per_track(frame: pl.DataFrame, track: str, flag: str) -> dict[str, int]:
    """How many rows per track have ``flag`` set."""
    rows = frame.filter(pl.col(flag)).group_by(track).len().sort(track).rows()
    return {t: int(n) for t, n in rows}


def _bullets(lines: list[str]) -> str:
    return "\n".join(f"- {line}" for line in lines) or "none"


class Progress:
    """Progress lines to the run's log and to the ``pcs.pipeline`` logger, with elapsed time."""

    def __init__(self, context: dg.AssetExecutionContext):
        self.context = context
        self.t0 = time.perf_counter()

    def elapsed(self) -> float:
        return time.perf_counter() - self.t0

    def __call__(self, message: str) -> None:
        self.context.log.info(message)
        LOGGER.info("[%6.1fs] %s", self.elapsed(), message)


# ---- the multi-asset -------------------------------------------------------------------------


@dataclass
class _Tally:
    """What the run's metadata needs from the scored months (small: not the result frames)."""

    months: list[dt.date] = field(default_factory=list)  # written
    counts: Counter = field(default_factory=Counter)  # rows written per result table
    designations: list[pl.DataFrame] = field(default_factory=list)
    summaries: list[pl.DataFrame] = field(default_factory=list)
    qualifying: Counter = field(default_factory=Counter)
    tracks: list[str] = field(default_factory=list)
    partners: pl.DataFrame | None = None
    read_warnings: list[str] = field(default_factory=list)  # of every snapshot read
    snapshot_reads: int = 0
    read_score_s: float = 0.0
    write_s: float = 0.0

    def add(self, month: dt.date, result, partners: pl.DataFrame, counts, write_s) -> None:
        self.months.append(month)
        self.counts.update({n: counts[n] for n in store.RESULTS})
        self.designations.append(result.designations.select("month", "partner_id", "attained", "best_track", "score"))
        self.summaries.append(summary(result))
        self.qualifying.update(per_track(result.path_scores, "track", "qualifies"))
        for t in result.path_scores["track"].unique(maintain_order=True).to_list():
            if t not in self.tracks:
                self.tracks.append(t)
        self.partners = partners
        self.write_s += write_s

    @property
    def warnings(self) -> list[str]:
        """Warnings of the snapshots of the written months."""
        own = tuple(f"months/{m:%Y-%m}/" for m in self.months)
        return list(dict.fromkeys(w for w in self.read_warnings if w.startswith(own)))

    @property
    def earlier_warnings(self) -> list[str]:
        """Warnings of the lookback snapshots (M-12..) only."""
        own = tuple(f"months/{m:%Y-%m}/" for m in self.months)
        return list(dict.fromkeys(w for w in self.read_warnings if not w.startswith(own)))


@dg.multi_asset(
    name="score_months",
    specs=[SNAPSHOT_SPEC, *RESULT_SPECS],
    check_specs=CHECK_SPECS,
    partitions_def=MONTHLY,
    backfill_policy=BACKFILL_POLICY,
    pool=POOL,
    can_subset=True,
)
def score_months(
    context: dg.AssetExecutionContext, data_folder: DataFolder, results_db: ResultsDatabase
) -> Iterator[dg.MaterializeResult | dg.AssetCheckResult]:
    """Score the run's months (``context.partition_time_window``) a chunk of up to twelve at a
    time: read and validate the snapshots the chunk needs (each once), score every partner, and
    replace the chunk's months in the results database in one transaction."""
    months = months_of_window(context.partition_time_window)
    directory = data_folder.resolved()
    say = Progress(context)
    if not context.selected_asset_keys & RESULT_KEYS:
        yield from _validate_only(context, months, directory, say)
        return
    results_db.engine()  # connect and migrate first: fail before the expensive scoring
    say(f"scoring {span(months)} ({len(months)} month(s)) from {directory}")

    tally = _Tally()
    try:
        failures = _score_stream(context, months, directory, results_db, say, tally)
    except Exception:
        yield from _record_written(tally.months)
        raise

    if failures:
        text = failure_summary(failures, tally.months)
        yield from _input_invalid(
            context,
            text,
            {
                "not scored": ", ".join(span(c) for c, _ in failures),
                "scored and written": span(tally.months) if tally.months else "none",
                "bad input": ", ".join(sorted({b for _, e in failures for b in broken_inputs(e)})),
                "problems": sum(e.total for _, e in failures),
            },
        )
        yield from _record_written(tally.months)
        raise dg.Failure(description=text, allow_retries=False)

    yield from _results(context, directory, months, tally)


def _input_invalid(context: dg.AssetExecutionContext, text: str, metadata: dict) -> Iterator[dg.AssetCheckResult]:
    """The failed blocking check (when it is part of the run)."""
    if INPUT_VALID_KEY in context.selected_asset_check_keys:
        yield dg.AssetCheckResult(
            asset_key=SNAPSHOT,
            check_name=INPUT_VALID,
            passed=False,
            severity=dg.AssetCheckSeverity.ERROR,
            description=text.splitlines()[0],
            metadata={**metadata, "error": dg.MetadataValue.md(f"```\n{text}\n```")},
        )


def _emit(
    context: dg.AssetExecutionContext,
    key: dg.AssetKey,
    metadata: dict,
    checks: list[dg.AssetCheckResult] = (),
) -> Iterator[dg.MaterializeResult]:
    """The materialization of ``key``: a ``MaterializeResult`` (with the selected checks) when the
    run selected it; else it was written together with the selected ones (one transaction), and
    its materialization is recorded per partition all the same."""
    if key in context.selected_asset_keys:
        selected = context.selected_asset_check_keys
        yield dg.MaterializeResult(
            asset_key=key,
            metadata=metadata,
            check_results=[c for c in checks if dg.AssetCheckKey(key, c.check_name) in selected],
        )
        return
    for pk in context.partition_keys:
        context.log_event(dg.AssetMaterialization(asset_key=key, partition=pk, metadata=metadata))


def _validate_only(
    context: dg.AssetExecutionContext, months: list[dt.date], directory: Path, say: "Progress"
) -> Iterator[dg.MaterializeResult | dg.AssetCheckResult]:
    """Only ``monthly_snapshot`` selected: read and validate the run's months (each once), no
    scoring, nothing written to the results database."""
    label = span(months)
    say(f"validating {label} (monthly_snapshot only: nothing is scored)")
    usage_rows = association_rows = 0
    warnings: list[str] = []
    try:  # one month in memory at a time: only counts and warnings are kept
        for snap in ingest.iter_snapshots(directory, months, progress=say, needed_by=f"validating {label}"):
            usage_rows += snap.usage.height
            association_rows += snap.associations.height
            warnings.extend(snap.warnings)
    except InputError as exc:
        text = f"{label}: input not valid (bad input: {', '.join(broken_inputs(exc))})\n{exc}"
        context.log.error(text)
        yield from _input_invalid(context, text, {"months": label, "problems": exc.total})
        raise dg.Failure(description=text, allow_retries=False) from exc
    yield from _emit(
        context,
        SNAPSHOT,
        {
            "months": label,
            "dagster/row_count": usage_rows + association_rows,
            "usage rows": usage_rows,
            "association rows": association_rows,
            "data folder": str(directory),
            "warnings": len(warnings),
        },
        [
            dg.AssetCheckResult(asset_key=SNAPSHOT, check_name=INPUT_VALID, passed=True),
            seats_check(label, warnings, []),
        ],
    )


def months_hit(months: list[dt.date], exc: InputError) -> list[dt.date]:
    """The ``months`` that read an input ``exc`` is about (all of them for a file outside the
    month folders, such as certifications.csv)."""
    bad = broken_inputs(exc)
    if not all(_MONTH_LABEL.match(b) for b in bad):
        return list(months)
    hit = [m for m in months if any(f"{n:%Y-%m}" in bad for n in months_needed(m))]
    return hit or list(months)


def _score_stream(
    context: dg.AssetExecutionContext,
    months: list[dt.date],
    directory: Path,
    results_db: ResultsDatabase,
    say: Progress,
    tally: _Tally,
) -> list[tuple[list[dt.date], InputError]]:
    """Score ``months`` one at a time (each snapshot read once) and replace each month in the
    results database as soon as it is scored (one transaction per month). A bad snapshot fails
    the months that read it; the months before it are already written and the months after
    the twelve that need it are scored by a new pass. Returns the failures."""
    failures: list[tuple[list[dt.date], InputError]] = []
    remaining = sorted(months)
    while remaining:
        t0 = time.perf_counter()
        write_s = 0.0
        stream = None
        try:
            stream = service.score_each(remaining, directory=directory, progress=say)
            partners = stream.partners
            for month, result in stream.results:
                t1 = time.perf_counter()
                counts = _write_month(context, month, result, partners, results_db, say)
                month_write_s = time.perf_counter() - t1
                write_s += month_write_s
                tally.add(month, result, stream.partners, counts, month_write_s)
                remaining.remove(month)
                partners = None  # upserted once per pass
                say(f"{len(tally.months)}/{len(months)} month(s) written")
            return failures
        except InputError as exc:  # nothing of the months that read it is written
            failed = months_hit(remaining, exc)
            failures.append((failed, exc))
            context.log.error(failure_text(failed, exc))
            remaining = [m for m in remaining if m not in failed]
        finally:
            if stream is not None:
                tally.read_warnings.extend(stream.warnings)
                tally.snapshot_reads += stream.snapshots_read
            tally.read_score_s += time.perf_counter() - t0 - write_s
    return failures


def _write_month(
    context: dg.AssetExecutionContext,
    month: dt.date,
    result,
    partners: pl.DataFrame | None,
    results_db: ResultsDatabase,
    say: Progress,
) -> dict[str, int]:
    frames = result.frames()
    label = f"{month:%Y-%m}"
    say(
        f"scored {label}: {frames['designations'].height} designations, "
        f"{sum(f.height for f in frames.values())} result rows; writing to {results_db.display_url()}"
    )
    t0 = time.perf_counter()
    counts = store.write_results(
        results_db.engine(),
        months=[month],
        frames=frames,
        partners=partners,
        scored=[{"month": month, "run_id": context.run.run_id, "materialized_at": dt.datetime.now(dt.UTC)}],
    )
    say(f"wrote {label}: {sum(counts[n] for n in store.RESULTS)} rows in {time.perf_counter() - t0:.1f}s")
    return counts


def _record_written(months: list[dt.date]) -> Iterator[dg.AssetMaterialization]:
    """A failing run still wrote these months: record their materializations (per partition),
    so the UI shows them as materialized. Yielded (not logged), so that they are emitted before
    the step fails."""
    for key in [SNAPSHOT, *(dg.AssetKey(n) for n in RESULT_ORDER)]:
        for m in months:
            yield (
                dg.AssetMaterialization(
                    asset_key=key,
                    partition=partition_key(m),
                    metadata={"note": "written by a run that failed for other months"},
                )
            )


def seats_check(label: str, warnings: list[str], earlier: list[str]) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(
        asset_key=SNAPSHOT,
        check_name=SEATS_WARNING,
        passed=not warnings,
        severity=dg.AssetCheckSeverity.WARN,
        description=(f"{len(warnings)} usage file(s) of {label} with active_users > paid_seats" if warnings else None),
        metadata={
            "files": len(warnings),
            "details": dg.MetadataValue.md(_bullets(warnings)),
            "earlier snapshots read (M-12..)": dg.MetadataValue.md(_bullets(earlier)),
        },
    )


def _results(
    context: dg.AssetExecutionContext, directory: Path, months: list[dt.date], tally: _Tally
) -> Iterator[dg.MaterializeResult]:
    label = span(months)
    first = min(months)
    read_span = span([dt.date(first.year - 1, first.month, 1), max(months)])
    yield from _emit(
        context,
        SNAPSHOT,
        {
            "months": label,
            "snapshots read": read_span,
            "snapshot reads": tally.snapshot_reads,
            "data folder": str(directory),
            "read and score seconds": round(tally.read_score_s, 1),
            "warnings": len(tally.warnings),
        },
        [
            dg.AssetCheckResult(
                asset_key=SNAPSHOT,
                check_name=INPUT_VALID,
                passed=True,
                metadata={"snapshots read": read_span},
            ),
            seats_check(label, tally.warnings, tally.earlier_warnings),
        ],
    )

    designations = pl.concat(tally.designations)
    for name in RESULT_ORDER:
        metadata: dict[str, object] = {
            "dagster/row_count": tally.counts[name],
            "months": label,
            "write seconds": round(tally.write_s, 1),
        }
        checks = []
        if name == "designations":
            attained = per_track(designations, "best_track", "attained")
            partners = tally.partners
            metadata |= {
                "partners scored": designations["partner_id"].n_unique(),
                "attained": int(designations["attained"].sum()),
                **{f"attained ({t})": attained.get(t, 0) for t in tally.tracks},
                **{f"qualifying ({t})": tally.qualifying.get(t, 0) for t in tally.tracks},
                "per month": dg.MetadataValue.md(
                    markdown(pl.concat(tally.summaries, how="diagonal_relaxed"), rows=200)
                ),
                "score distribution": dg.MetadataValue.md(markdown(score_distribution(designations))),
                "top scores": dg.MetadataValue.md(markdown(top_scores(designations, partners))),
            }
            checks.append(partners_named_check(partners))
        yield from _emit(context, dg.AssetKey(name), metadata, checks)


def partners_named_check(partners: pl.DataFrame) -> dg.AssetCheckResult:
    unnamed = partners.filter(pl.col("partner_name").is_null())
    unlisted = unnamed.filter(~pl.col("in_registry"))
    empty = unnamed.filter(pl.col("in_registry"))
    examples = ", ".join(unnamed["partner_id"].head(10).to_list())
    return dg.AssetCheckResult(
        asset_key=dg.AssetKey("designations"),
        check_name=PARTNERS_NAMED,
        passed=unnamed.is_empty(),
        severity=dg.AssetCheckSeverity.WARN,
        description=(
            f"{unnamed.height} scored partner(s) without a name: {unlisted.height} not in the "
            f"partners file, {empty.height} with an empty name"
            if unnamed.height
            else None
        ),
        metadata={
            "without a name": unnamed.height,
            "not in partners file": unlisted.height,
            "empty name": empty.height,
            "examples": examples or "none",
        },
    )
