"""Score a range of months in parallel: one step per month, with Dagster's multiprocess executor.

The job ``score_months_parallel_job`` is an op graph::

    plan_months ──(one DynamicOutput per month)──> score_month[2024_01], score_month[2024_02], ...
                                                        └──────── collect ────────> summarise_months

* ``plan_months`` takes the months from its config (``from`` / ``to``, ``YYYY-MM``) or, when
  those are not given, from the run's partition tags (``dagster/asset_partition_range_start`` /
  ``_end`` or ``dagster/partition``, as ``pcs backfill``, the UI and the sensors set them). Every
  month must be a partition of ``partitions.MONTHLY``. It connects to the results database
  (applying the migrations once, before the months fan out) and emits one ``DynamicOutput`` per
  month, mapping key ``YYYY_MM``.
* ``score_month`` (one step, hence one process, per month) reads and validates that month's
  snapshots M-12..M and the partner and certification files
  (``scoring.service.score_months([month])``), scores them with the engine and
  replaces the month in the results database in one transaction
  (``storage.results.write_results``), exactly as one month of the ``score_months`` multi-asset.
  A write that meets a transient database error (PostgreSQL's deadlock or serialization
  failure, SQLite's "database is locked") is tried again (``WRITE_ATTEMPTS``), each retry logged
  as a warning. It then logs ``AssetMaterialization`` events for ``monthly_snapshot`` and the six result
  assets with the month's partition key (so the UI's partition status, the asset graph and the
  sensors see the month as materialized) and the check evaluations of ``input_valid``,
  ``active_users_within_paid_seats`` and ``partners_named``. A month whose input is bad (or
  whose scoring or write raises) is not written; its step logs the error (file, column, value,
  row), a failed ``input_valid`` evaluation, and returns an outcome saying so, so the other
  months still run.
* ``summarise_months`` collects every month's outcome. When a month was not scored, it fails
  the run with a ``Failure`` naming the months not scored and why (the input error of each),
  and the months that were written.

Executor: Dagster's ``multiprocess_executor`` (``months_executor``), ``max_concurrent`` 2 by
default (run config ``execution: {config: {max_concurrent: N}}``; ``pcs backfill --parallel N``).
Step processes are forked from a fork server that has imported ``FORKSERVER_PRELOAD`` once
(Dagster, SQLAlchemy, Alembic, psycopg, the table models: none starts a thread or imports
Polars, whose threads would not survive a fork), which halves a step's start-up
against spawning; a step process sees the environment of the process that started the fork
server (the job passes the data folder and database in its run config, not the environment).
Each month is its own process, so memory grows with ``max_concurrent`` (about one month's worth
of scoring each: ~5 GB at 20,000 partners). The steps are not in the ``results_db`` pool (a
pool of one would run the months one after the other): the database orders the writes. On
SQLite each write transaction begins ``IMMEDIATE`` and waits up to ``busy_timeout`` (30 s) for
the other writer (``storage.engines``); on PostgreSQL the months' rows never collide and the
shared partner rows are upserted in the same (sorted) order by every writer.

The multiprocess executor needs a persistent Dagster instance (``DAGSTER_HOME``; ``pcs backfill``
uses ``var/dagster_home`` when unset) and a reconstructable job: ``reconstructable_job()`` (the
job of ``orchestration.definitions``, with its resources; pass ``data_folder`` / ``results_db``
config in the run config to point it elsewhere).

When to use it rather than the single-run asset job: each month re-reads its thirteen snapshots
(a range of n months reads 13n, the asset job reads n + 12), so it pays off when scoring
dominates reading and there are cores and memory to spare; a bad month costs only that month.
"""

import datetime as dt
import time
import traceback
from typing import Any

import dagster as dg
import sqlalchemy as sa

from orchestration.assets import (
    INPUT_VALID,
    RESULT_ORDER,
    SNAPSHOT,
    broken_inputs,
    failure_text,
    partners_named_check,
    per_track,
    seats_check,
    span,
)
from orchestration.partitions import chunks, partition_key, partition_months
from orchestration.resources import DataFolder, ResultsDatabase
from scoring import service
from scoring.calendar import add_months, month_range, parse_month
from scoring.frames import InputError
from storage import results as store
from storage.engines import get_engine

JOB_NAME = "score_months_parallel_job"
DEFAULT_MAX_CONCURRENT = 2
FORKSERVER_PRELOAD = [
    "dagster",
    "sqlalchemy",
    "alembic",
    "psycopg",
    "storage.models",
    "storage.migrate",
]
"""What the executor's fork server imports once for every step process. None of them starts a
thread on import (Polars does: its jemalloc and spill threads would not survive a fork) or
imports Polars, so each forked step imports Polars and the scoring itself: about half the
start-up of a spawned step."""
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
    """The months of a run: config ``from``/``to`` (``YYYY-MM``), else the partition tags."""
    if config.get("from"):
        first = parse_month(config["from"], what="from")
        last = parse_month(config["to"], what="to") if config.get("to") else first
    elif tags.get(RANGE_START):
        first = parse_month(tags[RANGE_START], what=RANGE_START)
        last = parse_month(tags.get(RANGE_END) or tags[RANGE_START], what=RANGE_END)
    elif tags.get(PARTITION):
        first = last = parse_month(tags[PARTITION], what=PARTITION)
    else:
        raise ValueError(
            "no months: give the op config plan_months: {from: YYYY-MM, to: YYYY-MM} or run "
            f"with the tags {RANGE_START} / {RANGE_END} (or {PARTITION})"
        )
    if last < first:
        raise ValueError(f"to {last:%Y-%m} is before from {first:%Y-%m}")
    months = month_range(first, last)
    valid = set(partition_months())
    outside = [m for m in months if m not in valid]
    if outside:
        raise ValueError(
            f"{', '.join(span(c) for c in chunks(outside, None))} not a monthly partition "
            "(PCS_START_MONTH to the last complete month)"
        )
    return months


def mapping_key(month: dt.date) -> str:
    """``2024_06``: a dynamic output's mapping key (letters, digits and ``_`` only)."""
    return f"{month:%Y_%m}"


@dg.op(
    out=dg.DynamicOut(str),
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


def write_month(context: dg.OpExecutionContext, engine: sa.Engine, month: dt.date, **kw) -> dict:
    """``storage.results.write_results`` for one month, tried again after a transient error."""
    for attempt in range(1, WRITE_ATTEMPTS + 1):
        try:
            return store.write_results(engine, months=[month], **kw)
        except sa.exc.OperationalError as exc:
            if attempt == WRITE_ATTEMPTS or not transient(exc):
                raise
            context.log.warning(
                f"{month:%Y-%m}: write attempt {attempt} of {WRITE_ATTEMPTS} failed, nothing "
                f"written; trying again: {str(exc.orig).strip()}"
            )
            time.sleep(attempt)
    raise AssertionError("unreachable")


def _evaluation(result: dg.AssetCheckResult, month: dt.date) -> dg.AssetCheckEvaluation:
    """A check result as an event an op can log (the month in its metadata)."""
    return dg.AssetCheckEvaluation(
        asset_key=result.asset_key,
        check_name=result.check_name,
        passed=result.passed,
        metadata={**result.metadata, "month": f"{month:%Y-%m}"},
        severity=result.severity,
        description=result.description,
    )


def _input_invalid(month: dt.date, text: str, problems: int | None) -> dg.AssetCheckEvaluation:
    return dg.AssetCheckEvaluation(
        asset_key=SNAPSHOT,
        check_name=INPUT_VALID,
        passed=False,
        severity=dg.AssetCheckSeverity.ERROR,
        description=text.splitlines()[0],
        metadata={
            "month": f"{month:%Y-%m}",
            "problems": problems if problems is not None else 0,
            "error": dg.MetadataValue.md(f"```\n{text}\n```"),
        },
    )


def _record(
    context: dg.OpExecutionContext,
    month: dt.date,
    scored: service.ScoredRange,
    counts: dict[str, int],
    directory: str,
    seconds: tuple[float, float],
) -> None:
    """The month's materializations (snapshot and the six results) and check evaluations."""
    pk = partition_key(month)
    read_span = span([add_months(month, -12), month])
    own = f"months/{month:%Y-%m}/"
    warnings = [w for w in scored.warnings if w.startswith(own)]
    earlier = [w for w in scored.warnings if not w.startswith(own)]
    context.log_event(
        dg.AssetMaterialization(
            asset_key=SNAPSHOT,
            partition=pk,
            metadata={
                "months": f"{month:%Y-%m}",
                "snapshots read": read_span,
                "snapshot reads": 13,
                "data folder": directory,
                "read and score seconds": round(seconds[0], 1),
                "warnings": len(warnings),
                "job": JOB_NAME,
            },
        )
    )
    result = scored.result
    designations = result.designations
    tracks = result.path_scores["track"].unique(maintain_order=True).to_list()
    attained = per_track(designations, "best_track", "attained")
    qualifying = per_track(result.path_scores, "track", "qualifies")
    for name in RESULT_ORDER:
        metadata: dict[str, Any] = {
            "dagster/row_count": counts[name],
            "months": f"{month:%Y-%m}",
            "write seconds": round(seconds[1], 1),
            "job": JOB_NAME,
        }
        if name == "designations":
            metadata |= {
                "partners scored": designations["partner_id"].n_unique(),
                "attained": int(designations["attained"].sum()),
                **{f"attained ({t})": attained.get(t, 0) for t in tracks},
                **{f"qualifying ({t})": qualifying.get(t, 0) for t in tracks},
            }
        context.log_event(dg.AssetMaterialization(asset_key=dg.AssetKey(name), partition=pk, metadata=metadata))
    label = f"{month:%Y-%m}"
    checks = [
        dg.AssetCheckResult(
            asset_key=SNAPSHOT, check_name=INPUT_VALID, passed=True,
            metadata={"snapshots read": read_span},
        ),
        seats_check(label, warnings, earlier),
        partners_named_check(scored.partners),
    ]  # fmt: skip
    for check in checks:
        context.log_event(_evaluation(check, month))


@dg.op(
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
        context.log_event(_input_invalid(m, text, exc.total))
        return {"month": label, "scored": False, "error": text, "bad input": broken_inputs(exc)}
    except Exception as exc:
        detail = "".join(traceback.format_exception(exc)).rstrip()
        text = f"{label} not scored, nothing written ({type(exc).__name__}: {exc})"
        context.log.error("\n".join([*progress, text, detail]))
        return {"month": label, "scored": False, "error": text, "bad input": []}
    rows = sum(counts[n] for n in store.RESULTS)
    context.log.info(f"wrote {label}: {rows} rows in {write_s:.1f}s")
    _record(context, m, scored, counts, str(directory), (read_score_s, write_s))
    return {
        "month": label,
        "scored": True,
        "rows": rows,
        "designations": counts["designations"],
        "seconds": round(time.perf_counter() - t0, 2),
    }


# ---- summary ---------------------------------------------------------------------------------


def _spans(labels: list[str]) -> str:
    return ", ".join(span(c) for c in chunks([parse_month(x) for x in labels], None)) or "none"


@dg.op(description="Every month's outcome; fails the run naming the months not scored.")
def summarise_months(context: dg.OpExecutionContext, outcomes: list[dict]) -> dict:
    outcomes = sorted(outcomes, key=lambda o: o["month"])
    written = [o["month"] for o in outcomes if o["scored"]]
    failed = [o for o in outcomes if not o["scored"]]
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


def _executor_config(config: dict) -> dict:
    return {
        "max_concurrent": config["max_concurrent"],
        "start_method": {"forkserver": {"preload_modules": FORKSERVER_PRELOAD}},
    }


months_executor = dg.multiprocess_executor.configured(
    _executor_config,
    name="multiprocess_months",
    config_schema={
        "max_concurrent": dg.Field(
            int,
            default_value=DEFAULT_MAX_CONCURRENT,
            description="months (step processes) at a time; each holds one month's scoring",
        )
    },
    description=(
        "Dagster's multiprocess executor: one process per step, at most max_concurrent at a "
        "time (default 2), started from a fork server (FORKSERVER_PRELOAD)."
    ),
)


@dg.job(
    name=JOB_NAME,
    executor_def=months_executor,
    description=(
        "Score a range of months in parallel, one step (process) per month, with the "
        "multiprocess executor (max_concurrent 2 by default). Months: op config plan_months "
        "from/to, or the run's partition range tags."
    ),
    tags={"pcs/job": "parallel months"},
)
def score_months_parallel_job():
    summarise_months(plan_months().map(score_month).collect())


def _job_of_definitions() -> dg.JobDefinition:
    from orchestration.definitions import defs  # imports this module: not at module level

    return defs.resolve_job_def(JOB_NAME)


def reconstructable_job():
    """The job as the multiprocess executor needs it: one each step process can rebuild (from
    ``orchestration.definitions``, resources included)."""
    return dg.reconstructable(_job_of_definitions)


def run_config(
    *,
    first: dt.date | None = None,
    last: dt.date | None = None,
    data: str | None = None,
    database: str | None = None,
    max_concurrent: int | None = None,
) -> dict:
    """Run config for the job: months, data folder, results database, concurrency."""
    config: dict[str, Any] = {}
    if first is not None:
        months = {"from": f"{first:%Y-%m}", "to": f"{(last or first):%Y-%m}"}
        config["ops"] = {"plan_months": {"config": months}}
    resources = {}
    if data is not None:
        resources["data_folder"] = {"config": {"path": data}}
    if database is not None:
        resources["results_db"] = {"config": {"url": database}}
    if resources:
        config["resources"] = resources
    if max_concurrent is not None:
        config["execution"] = {"config": {"max_concurrent": max_concurrent}}
    return config
