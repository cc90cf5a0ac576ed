"""``score_months_parallel_job``: a range of months scored one step (one process) per month, with
``executors.step_executor`` (Dagster's multiprocess executor by default, or Celery workers):
``plan_months`` fans the months out, ``score_month`` scores and writes one, ``summarise_months``
fails the run naming the months not scored; the values between them go through Dagster's event
log (``outputs.EventLogValues``). Why and when to use it, the executors and the write retries:
docs/architecture.md, "Orchestration"."""

import datetime as dt
import time
import traceback
from collections.abc import Callable
from typing import Any, TypeVar

import dagster as dg
import sqlalchemy as sa

from orchestration import executors
from orchestration.checks import broken_inputs, failure_text, input_invalid, month_evaluation, partners_named_check
from orchestration.metadata import Tally, result_metadata, snapshot_checks, snapshot_metadata
from orchestration.months import span, spans
from orchestration.outputs import IO_MANAGER_KEY
from orchestration.partitions import partition_key, partition_span
from orchestration.resources import DataFolder, ResultsDatabase, resource_config
from orchestration.specs import SNAPSHOT
from orchestration.webhooks import WEBHOOK_EVENTS, queue_events
from scoring import service
from scoring.calendar import parse_month
from scoring.engine import months_needed
from scoring.frames import InputError
from storage import results as store
from storage.engines import get_engine

JOB_NAME = "score_months_parallel_job"
WRITE_ATTEMPTS = 3
TRANSIENT_SQLSTATES = {"40P01": "deadlock detected", "40001": "serialization failure"}
"""PostgreSQL errors after which the month's write is tried again (the write is one transaction
that replaces the month: a failed attempt left nothing). SQLite's "database is locked" (the
other writer held the lock longer than ``busy_timeout``) is retried too. Each retry is logged
as a warning with the error."""
RANGE_START = "dagster/asset_partition_range_start"
RANGE_END = "dagster/asset_partition_range_end"
PARTITION = "dagster/partition"


# ---- plan ------------------------------------------------------------------------------------


def months_to_score(config: dict[str, Any], tags: dict[str, str]) -> list[dt.date]:
    """The months of a run: config ``from``/``to`` (``YYYY-MM``), else the partition tags; every
    one a partition (else ``ValueError``)."""
    if config.get("from"):
        return partition_span(config["from"], config.get("to"))
    if tags.get(RANGE_START):
        return partition_span(tags[RANGE_START], tags.get(RANGE_END), names=(RANGE_START, RANGE_END))
    if tags.get(PARTITION):
        return partition_span(tags[PARTITION], None, names=(PARTITION, PARTITION))
    raise ValueError(
        "no months: give the op config plan_months: {from: YYYY-MM, to: YYYY-MM} or run "
        f"with the tags {RANGE_START} / {RANGE_END} (or {PARTITION})"
    )


def mapping_key(month: dt.date) -> str:
    """``2024_06``: a dynamic output's mapping key (letters, digits and ``_`` only)."""
    return f"{month:%Y_%m}"


@dg.op(
    out=dg.DynamicOut(str, io_manager_key=IO_MANAGER_KEY),
    config_schema={
        "from": dg.Field(str, is_required=False, description="first month, YYYY-MM"),
        "to": dg.Field(str, is_required=False, description="last month, YYYY-MM (default: from)"),
    },
    description="The run's months (config from/to, else the partition tags): one output each.",
)
def plan_months(context: dg.OpExecutionContext, results_db: ResultsDatabase):
    try:
        months = months_to_score(dict(context.op_config or {}), dict(context.run.tags))
    except ValueError as exc:
        raise dg.Failure(description=str(exc), allow_retries=False) from exc
    results_db.engine()  # connect and migrate once, before the months run side by side
    context.log.info(f"{span(months)}: {len(months)} month(s) to score, one step each, into {results_db.display_url()}")
    for month in months:
        yield dg.DynamicOutput(month.isoformat(), mapping_key=mapping_key(month))


# ---- one month -------------------------------------------------------------------------------


def transient(exc: sa.exc.OperationalError) -> bool:
    """Whether a failed write is worth another attempt (see ``WRITE_ATTEMPTS``)."""
    orig = exc.orig
    return getattr(orig, "sqlstate", None) in TRANSIENT_SQLSTATES or ("database is locked" in str(orig))


T = TypeVar("T")


def retried(context: dg.OpExecutionContext, what: str, write: Callable[[], T]) -> T:
    """``write()``, tried again after a transient database error (each attempt one transaction);
    ``what`` names it in the warning ("2024-05: write" logs "2024-05: write attempt 1 of 3 ...")."""
    for attempt in range(1, WRITE_ATTEMPTS + 1):
        try:
            return write()
        except sa.exc.OperationalError as exc:
            if attempt == WRITE_ATTEMPTS or not transient(exc):
                raise
            context.log.warning(
                f"{what} attempt {attempt} of {WRITE_ATTEMPTS} failed, nothing written; trying again: "
                f"{str(exc.orig).strip()}"
            )
            time.sleep(attempt)
    raise AssertionError("unreachable")


def write_month(context: dg.OpExecutionContext, engine: sa.Engine, month: dt.date, **kw) -> dict:
    """``storage.results.write_results`` for one month, tried again after a transient error."""
    return retried(context, f"{month:%Y-%m}: write", lambda: store.write_results(engine, months=[month], **kw))


def _record(context: dg.OpExecutionContext, month: dt.date, tally: Tally, directory: str) -> None:
    """The month's materializations (snapshot and the six results) and check evaluations."""
    pk = partition_key(month)
    months = [month]
    snapshot = snapshot_metadata(tally, months, directory, job=JOB_NAME)
    context.log_event(dg.AssetMaterialization(asset_key=SNAPSHOT, partition=pk, metadata=snapshot))
    for name, metadata in result_metadata(tally, months, tables=False, job=JOB_NAME).items():
        context.log_event(dg.AssetMaterialization(asset_key=dg.AssetKey(name), partition=pk, metadata=metadata))
    for check in [*snapshot_checks(tally, months), partners_named_check(tally.partners)]:
        context.log_event(month_evaluation(check, month))


@dg.op(
    out=dg.Out(dict, io_manager_key=IO_MANAGER_KEY),
    description=(
        "Read, validate and score one month (snapshots M-12..M), replace it in the results "
        "database (one transaction) and record its materializations; a failure is returned as "
        "the month's outcome, so the other months still run."
    ),
)
def score_month(
    context: dg.OpExecutionContext,
    month: str,
    data_folder: DataFolder,
    results_db: ResultsDatabase,
) -> dict:
    m = dt.date.fromisoformat(month)
    label = f"{m:%Y-%m}"
    directory = data_folder.resolved()
    # the plan step migrated the database: no migration check (a write lock on SQLite) per month
    engine = get_engine(results_db.resolved_url())
    t0 = time.perf_counter()
    progress: list[str] = []  # one log event for the month's reads, not thirteen
    try:
        scored = service.score_months([m], directory=directory, progress=progress.append)
        read_score_s = time.perf_counter() - t0
        frames = scored.result.frames()
        context.log.info(
            "\n".join(progress) + f"\nscored {label}: {frames['designations'].height} designations in "
            f"{read_score_s:.1f}s; writing to {results_db.display_url()}"
        )
        t1 = time.perf_counter()
        now = dt.datetime.now(dt.UTC)
        counts = write_month(
            context,
            engine,
            m,
            frames=frames,
            partners=scored.partners,
            scored=[{"month": m, "run_id": context.run.run_id, "materialized_at": now}],
        )
        write_s = time.perf_counter() - t1
    except InputError as exc:  # nothing of the month written
        text = failure_text([m], exc)
        context.log.error("\n".join([*progress, text]))
        context.log_event(month_evaluation(input_invalid(text, {"problems": exc.total}), m))
        return {"month": label, "scored": False, "error": text, "bad input": broken_inputs(exc)}
    except Exception as exc:
        detail = "".join(traceback.format_exception(exc)).rstrip()
        text = f"{label} not scored, nothing written ({type(exc).__name__}: {exc})"
        context.log.error("\n".join([*progress, text, detail]))
        return {"month": label, "scored": False, "error": text, "bad input": []}
    rows = sum(counts[n] for n in store.RESULTS)
    context.log.info(f"wrote {label}: {rows} rows in {write_s:.1f}s")
    tally = Tally(read_warnings=scored.warnings, snapshot_reads=len(months_needed(m)), read_score_s=read_score_s)
    tally.add(m, scored.result, scored.partners, counts, write_s)
    _record(context, m, tally, str(directory))
    return {
        "month": label,
        "scored": True,
        "rows": rows,
        "designations": counts["designations"],
        "seconds": round(time.perf_counter() - t0, 2),
    }


# ---- summary ---------------------------------------------------------------------------------


def _spans(labels: list[str]) -> str:
    return spans([parse_month(x) for x in labels])


def _queue_events(context: dg.OpExecutionContext, data_folder: DataFolder, results_db: ResultsDatabase, written):
    """The written months' webhook events into the outbox, after every month is written (month
    M's events read M-1's results), recorded as ``webhook_events`` materializations."""
    months = sorted(parse_month(m) for m in written)
    if not months:
        return
    queued = queue_events(results_db.engine(), months=months, directory=data_folder.resolved(), log=context.log)
    metadata = queued.metadata(months)
    for month in months:
        context.log_event(dg.AssetMaterialization(WEBHOOK_EVENTS, partition=partition_key(month), metadata=metadata))


@dg.op(
    out=dg.Out(dict, io_manager_key=IO_MANAGER_KEY),
    description="Queues the written months' webhook events; fails the run naming the months not scored.",
)
def summarise_months(
    context: dg.OpExecutionContext, data_folder: DataFolder, results_db: ResultsDatabase, outcomes: list[dict]
) -> dict:
    outcomes = sorted(outcomes, key=lambda o: o["month"])
    written = [o["month"] for o in outcomes if o["scored"]]
    failed = [o for o in outcomes if not o["scored"]]
    _queue_events(context, data_folder, results_db, written)
    summary = {
        "scored and written": _spans(written),
        "not scored": _spans([o["month"] for o in failed]),
        "rows written": sum(o.get("rows", 0) for o in outcomes),
    }
    context.add_output_metadata(summary)
    if failed:
        text = "\n".join(
            [
                f"not scored: {summary['not scored']}; scored and written: {summary['scored and written']}",
                *(o["error"] for o in failed),
            ]
        )
        context.log.error(text)
        raise dg.Failure(description=text, metadata=summary, allow_retries=False)
    context.log.info(f"scored and written: {summary['scored and written']}")
    return summary


# ---- the job ---------------------------------------------------------------------------------


@dg.job(
    name=JOB_NAME,
    executor_def=executors.step_executor,
    description=(
        "Score a range of months in parallel, one step (process) per month: with the "
        "multiprocess executor (execution config multiprocess, max_concurrent 2 by default) or "
        "on Celery workers (execution config celery: `pcs worker` processes). Months: op config "
        "plan_months from/to, or the run's partition range tags."
    ),
    tags={"pcs/job": "parallel months"},
)
def score_months_parallel_job():
    summarise_months(plan_months().map(score_month).collect())


def run_config(
    *,
    first: dt.date | None = None,
    last: dt.date | None = None,
    data: str | None = None,
    database: str | None = None,
    max_concurrent: int | None = None,
    executor: str = "multiprocess",
) -> dict:
    """Run config for the job: months, data folder, results database, and the executor
    (``multiprocess`` with ``max_concurrent``, or ``celery``; ``executors.run_config``). The job
    itself, with its resources, is ``orchestration.definitions.parallel_job``."""
    config: dict[str, Any] = {}
    if first is not None:
        months = {"from": f"{first:%Y-%m}", "to": f"{(last or first):%Y-%m}"}
        config["ops"] = {"plan_months": {"config": months}}
    resources = resource_config(data=data, database=database)
    if resources:
        config["resources"] = resources
    config |= executors.run_config(executor, max_concurrent=max_concurrent)
    return config
