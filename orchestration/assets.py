"""The ``score_months`` multi-asset: a range of monthly partitions read, validated, scored and
written to the results database month by month (or only validated, when just the snapshot is
selected). Why one multi-asset and one pass: docs/architecture.md, "Orchestration"."""

import datetime as dt
import functools
import logging
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import dagster as dg
import polars as pl

from orchestration.checks import (
    CHECK_SPECS,
    INPUT_VALID_KEY,
    MONTH_LABEL,
    broken_inputs,
    failure_summary,
    failure_text,
    input_invalid,
    input_valid,
    partners_named_check,
    seats_check,
)
from orchestration.metadata import Tally, result_metadata, snapshot_checks, snapshot_metadata
from orchestration.months import span
from orchestration.partitions import BACKFILL_POLICY, MONTHLY, months_of_window, partition_key
from orchestration.resources import DataFolder, ResultsDatabase
from orchestration.specs import DESIGNATIONS, RESULT_KEYS, RESULT_ORDER, RESULT_SPECS, SNAPSHOT, SNAPSHOT_SPEC
from scoring import ingest, service
from scoring.engine import months_needed
from scoring.frames import InputError
from storage import results as store

LOGGER = logging.getLogger("pcs.pipeline")
"""Progress lines also go here, beside the run's log (``pcs backfill`` shows them)."""
POOL = "results_db"

Say = Callable[[str], None]


def log_progress(context: dg.AssetExecutionContext, message: str) -> None:
    """A progress line: to the run's log (the UI) and to the ``pcs.pipeline`` logger."""
    context.log.info(message)
    LOGGER.info(message)


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
    """Score the run's months one at a time (each snapshot read once) and replace each month in
    the results database as soon as it is scored (one transaction per month)."""
    months = months_of_window(context.partition_time_window)
    directory = data_folder.resolved()
    say = functools.partial(log_progress, context)
    if not context.selected_asset_keys & RESULT_KEYS:
        yield from _validate_only(context, months, directory, say)
        return
    results_db.engine()  # connect and migrate first: fail before the expensive scoring
    say(f"scoring {span(months)} ({len(months)} month(s)) from {directory}")

    tally = Tally()
    try:
        failures = _score_stream(context, months, directory, results_db, say, tally)
    except Exception:
        yield from _record_written(tally.months)
        raise

    if failures:
        text = failure_summary(failures, tally.months)
        if INPUT_VALID_KEY in context.selected_asset_check_keys:
            yield input_invalid(
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

    yield from _emit(context, SNAPSHOT, snapshot_metadata(tally, months, directory), snapshot_checks(tally, months))
    for name, metadata in result_metadata(tally, months, tables=True).items():
        key = dg.AssetKey(name)
        yield from _emit(context, key, metadata, [partners_named_check(tally.partners)] if key == DESIGNATIONS else [])


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
    context: dg.AssetExecutionContext, months: list[dt.date], directory: Path, say: Say
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
        if INPUT_VALID_KEY in context.selected_asset_check_keys:
            yield input_invalid(text, {"months": label, "problems": exc.total})
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
        [input_valid(), seats_check(label, warnings, [])],
    )


def months_hit(months: list[dt.date], exc: InputError) -> list[dt.date]:
    """The ``months`` that read an input ``exc`` is about (all of them for a file outside the
    month folders, such as certifications.csv)."""
    bad = broken_inputs(exc)
    if not all(MONTH_LABEL.match(b) for b in bad):
        return list(months)
    hit = [m for m in months if any(f"{n:%Y-%m}" in bad for n in months_needed(m))]
    return hit or list(months)


def _score_stream(
    context: dg.AssetExecutionContext,
    months: list[dt.date],
    directory: Path,
    results_db: ResultsDatabase,
    say: Say,
    tally: Tally,
) -> list[tuple[list[dt.date], InputError]]:
    """Score ``months`` one at a time and write each as soon as it is scored. A bad snapshot fails
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
            mark, read_mark = t0, -(time.perf_counter() - t0)  # the registry counts as reading
            for month, result in stream.results:
                t1 = time.perf_counter()
                read_s = stream.read_seconds - read_mark
                counts = _write_month(context, month, result, partners, results_db, say)
                month_write_s = time.perf_counter() - t1
                write_s += month_write_s
                tally.add(month, result, stream.partners, counts, month_write_s)
                remaining.remove(month)
                partners = None  # upserted once per pass
                say(split_line(month, read_s, t1 - mark - read_s, month_write_s))
                say(f"{len(tally.months)}/{len(months)} month(s) written")
                mark, read_mark = time.perf_counter(), stream.read_seconds
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


def split_line(month: dt.date, read_s: float, score_s: float, write_s: float) -> str:
    """The progress line with a month's split: seconds the scoring waited for the snapshots
    (read and validated ahead in a thread; the first month also counts the partner registry),
    scoring it, writing it (``benchmarks/run.py`` parses it)."""
    return f"split {month:%Y-%m}: read {read_s:.2f}s, score {score_s:.2f}s, write {write_s:.2f}s"


def _write_month(
    context: dg.AssetExecutionContext,
    month: dt.date,
    result,
    partners: pl.DataFrame | None,
    results_db: ResultsDatabase,
    say: Say,
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
            yield dg.AssetMaterialization(
                asset_key=key,
                partition=partition_key(m),
                metadata={"note": "written by a run that failed for other months"},
            )
