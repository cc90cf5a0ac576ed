"""``pcs backfill --from 2024-01 --to 2024-12 [--data DIR] [--database URL] [--parallel N]
[--shards N | --executor celery]``: score months with a job of the code location
``orchestration.definitions``, in the Dagster instance of ``DAGSTER_HOME`` (else
``var/dagster_home``): ``score_months_job`` as one run in this process; with ``--parallel N``
``score_months_parallel_job``, N months (processes) at a time; with ``--shards N``
``score_months_sharded_job``, each month in N partner shards (one process each, ``--parallel`` at
a time); with ``--executor celery`` the parallel job with its steps run by ``pcs worker``
processes (an instance whose storage the workers share: PostgreSQL). Exits 1 naming the months
not scored and why, 2 on bad arguments."""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import os
import shutil
import sys
import time
import warnings
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
from sqlalchemy.engine import make_url

from orchestration import definitions, parallel, shards
from orchestration.executors import DEFAULT_MAX_CONCURRENT
from orchestration.months import span, spans
from orchestration.partitions import partition_span, run_target
from orchestration.resources import DataFolder, ResultsDatabase, resource_config
from orchestration.specs import DESIGNATIONS
from pcs.cli.arguments import add_month_range, month_range_of
from pcs.settings import PROJECT_ROOT, VAR_DIR, get_settings
from scoring.calendar import parse_month
from scoring.shards import MAX_SHARDS

DEFAULT_DAGSTER_HOME = VAR_DIR / "dagster_home"
INSTANCE_TEMPLATE = PROJECT_ROOT / "orchestration" / "dagster.yaml"

# Dagster's own console logger is silenced (its events would drown the progress lines, which come
# from the pcs.pipeline logger); the runs' full logs are in the instance (the UI).
QUIET_RUN_CONFIG = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}

Result = dg.ExecuteInProcessResult | dg.JobExecutionResult


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_month_range(parser)
    parser.add_argument("--database", metavar="URL", help="results database URL (default: PCS_DATABASE_URL)")
    parser.add_argument(
        "--parallel",
        type=int,
        metavar="N",
        help=(
            "score the months in parallel, N at a time, one process per month "
            f"({parallel.JOB_NAME}); default: one run reading each snapshot once. With --shards: "
            f"the shards at a time (default {shards.DEFAULT_MAX_CONCURRENT})"
        ),
    )
    parser.add_argument(
        "--shards",
        type=int,
        metavar="N",
        help=(
            f"score each month in N partner shards, one process each, and publish it at once when all "
            f"are done ({shards.JOB_NAME})"
        ),
    )
    parser.add_argument(
        "--executor",
        choices=["multiprocess", "celery"],
        help=(
            f"run {parallel.JOB_NAME} with this executor: multiprocess (processes of this machine, "
            "--parallel N at a time) or celery (steps run by `pcs worker` processes, on "
            "PCS_CELERY_BROKER; needs a Dagster instance on PostgreSQL)"
        ),
    )


def dagster_instance() -> dg.DagsterInstance:
    """``DAGSTER_HOME``'s instance, else the project's ``var/dagster_home`` (created); a folder
    without ``dagster.yaml`` gets a copy of ``orchestration/dagster.yaml``."""
    home = os.environ.get("DAGSTER_HOME")
    root = Path(home) if home else DEFAULT_DAGSTER_HOME
    root.mkdir(parents=True, exist_ok=True)
    config = root / "dagster.yaml"
    if not config.exists():  # a new instance: our settings (results_db pool limit 1)
        shutil.copyfile(INSTANCE_TEMPLATE, config)
    if home:
        return dg.DagsterInstance.get()
    return dg.DagsterInstance.from_config(str(root))


def run(args: argparse.Namespace) -> int:
    months = month_range_of(args, "backfill", partition_span)
    if months is None:
        return 2
    if args.parallel is not None and args.parallel < 1:
        print(f"pcs backfill: --parallel must be at least 1, not {args.parallel}", file=sys.stderr)
        return 2
    celery = args.executor == "celery"
    if celery and args.parallel is not None:
        print("pcs backfill: --parallel is for this machine's processes; Celery workers set their own "
              "(pcs worker --concurrency N)", file=sys.stderr)  # fmt: skip
        return 2
    if celery and args.shards is not None:
        print("pcs backfill: --shards runs on this machine's processes for now; the sharded job is not "
              "wired to the Celery executor yet", file=sys.stderr)  # fmt: skip
        return 2
    if args.shards is not None and not 1 <= args.shards <= MAX_SHARDS:
        print(f"pcs backfill: --shards must be between 1 and {MAX_SHARDS}, not {args.shards}", file=sys.stderr)
        return 2

    data = str(DataFolder(path=args.data).resolved())
    db = ResultsDatabase(url=args.database)
    url = db.resolved_url()
    secret = make_url(url).password is not None
    if celery and secret and args.database:
        print("pcs backfill: a database URL with a password is not sent to Celery workers (the run "
              "config is stored in the instance); set PCS_DATABASE_URL in the workers' environment "
              "and leave out --database", file=sys.stderr)  # fmt: skip
        return 2
    config = {**QUIET_RUN_CONFIG, "resources": resource_config(data=data, database=None if secret else url)}
    if celery:
        how = " in parallel on Celery workers, one step each"
    elif args.shards is not None:
        at_once = args.parallel or shards.DEFAULT_MAX_CONCURRENT
        how = f" in {args.shards} shard(s) each, {at_once} shard(s) at a time, one process each"
    elif args.parallel is None and args.executor is None:
        how = ", one run"
    else:
        n = args.parallel or DEFAULT_MAX_CONCURRENT
        how = f" in parallel, {n} at a time, one process each"
    database = db.display_url() + (" (each worker's PCS_DATABASE_URL)" if celery and secret else "")
    t0 = time.perf_counter()
    with warnings.catch_warnings(), _database_env(url if secret else None), dagster_instance() as instance:
        warnings.simplefilter("ignore", dg.BetaWarning)
        print(
            f"pcs backfill {span(months)} ({len(months)} month(s){how})\n  data: {data}\n"
            f"  database: {database}\n  dagster instance: {instance.root_directory}",
            flush=True,
        )
        if celery and not shared_storage(instance):
            print("pcs backfill: --executor celery needs a Dagster instance whose run and event storage the "
                  "workers share (PostgreSQL: deploy/dagster.yaml, DAGSTER_HOME); this one keeps them in "
                  "SQLite files", file=sys.stderr)  # fmt: skip
            return 2
        if args.shards is not None:
            result = _run_sharded(instance, months, config, args.shards, args.parallel)
        elif args.parallel is None and args.executor is None:
            result = _run_one(instance, months, config)
        elif celery:
            result = _run_parallel(instance, months, config, executor="celery")
        else:
            result = _run_parallel(instance, months, config, max_concurrent=args.parallel)
    return _report(result, months, time.perf_counter() - t0)


def shared_storage(instance: dg.DagsterInstance) -> bool:
    """Whether the instance keeps runs and events where other machines reach them (not in
    SQLite files under DAGSTER_HOME)."""
    return not any("Sqlite" in type(s).__name__ for s in (instance.run_storage, instance.event_log_storage))


def _run_one(instance: dg.DagsterInstance, months: list[dt.date], config: dict) -> Result:
    """The months through ``score_months_job``: one run, in this process."""
    key, tags = run_target(months)
    return definitions.asset_job().execute_in_process(
        instance=instance,
        partition_key=key,
        tags={**tags, "pcs/trigger": "pcs backfill"},
        run_config=config,
        raise_on_error=False,
    )


def _run_parallel(
    instance: dg.DagsterInstance,
    months: list[dt.date],
    config: dict,
    *,
    max_concurrent: int | None = None,
    executor: str = "multiprocess",
) -> Result:
    """The months through ``score_months_parallel_job``: one step (process) per month, on this
    machine ``max_concurrent`` at a time, or on Celery workers; a line per month when the run
    ends (the step processes log to the run only)."""
    months_config = parallel.run_config(
        first=months[0], last=months[-1], max_concurrent=max_concurrent, executor=executor
    )
    trigger = "pcs backfill --executor celery" if executor == "celery" else "pcs backfill --parallel"
    result = dg.execute_job(
        definitions.reconstructable_parallel_job(),
        instance=instance,
        run_config={**config, **months_config},
        tags={"pcs/months": span(months), "pcs/trigger": trigger},
    )
    rows = designations_written(result)
    for month in months:
        done = f"{rows[month]} designations written" if month in rows else "not scored"
        print(f"  {month:%Y-%m}: {done}")
    return result


def _run_sharded(
    instance: dg.DagsterInstance, months: list[dt.date], config: dict, n: int, at_once: int | None
) -> Result:
    """The months through ``score_months_sharded_job``: each in ``n`` shards, one process per
    shard, ``at_once`` at a time; a line per month when the run ends."""
    result = dg.execute_job(
        definitions.reconstructable_sharded_job(),
        instance=instance,
        run_config={**config, **shards.run_config(first=months[0], last=months[-1], shards=n, max_concurrent=at_once)},
        tags={"pcs/months": span(months), "pcs/shards": str(n), "pcs/trigger": "pcs backfill --shards"},
    )
    rows = designations_written(result)
    for month in months:
        done = f"published from {n} shard(s), {rows[month]} designations" if month in rows else "not scored"
        print(f"  {month:%Y-%m}: {done}")
    return result


@contextlib.contextmanager
def _database_env(url: str | None) -> Iterator[None]:
    """The settings with the results database ``url`` as the environment of the block (nothing
    when ``url`` is None). A URL with a password reaches the run this way, not in its run config
    (which the instance stores and the UI shows): the step of ``score_months_job`` reads it in this
    process, and the step processes of the parallel job inherit it from the fork server the run
    starts in the block."""
    if url is None:
        yield
        return
    values = get_settings().with_overrides(database_url=url).to_env()
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _report(result: Result, months: list[dt.date], elapsed: float) -> int:
    """The final line (and on failure the error); the exit code."""
    if result.success:
        print(f"done: {span(months)} scored in {elapsed:.1f}s (run {result.run_id})")
        return 0
    written = sorted(designations_written(result))
    not_scored = [m for m in months if m not in written]
    print(
        f"pcs backfill: run {result.run_id} failed after {elapsed:.1f}s; not scored: "
        f"{spans(not_scored)}; scored and written: {spans(written)}",
        file=sys.stderr,
    )
    print(run_failure(result), file=sys.stderr)
    return 1


def designations_written(result: Result) -> dict[dt.date, int | None]:
    """Month -> designation rows (None: not recorded), of the months a run recorded as
    materialized (a failed run may have written some)."""
    written = {}
    for event in result.get_asset_materialization_events():
        if event.asset_key == DESIGNATIONS and event.partition:
            rows = event.materialization.metadata.get("dagster/row_count")
            written[parse_month(event.partition)] = rows.value if rows else None
    return written


def run_failure(result: Result) -> str:
    """Why a run failed: the step's ``Failure`` description (the input error), else the error."""
    for event in result.all_events:
        if event.is_step_failure:
            data = event.step_failure_data
            if data.user_failure_data is not None and data.user_failure_data.description:
                return data.user_failure_data.description
            err = data.error
            parts = []
            while err is not None:
                parts.append(err.message.strip())
                err = err.cause
            return "\n".join(parts)
    for event in result.all_events:
        if event.is_failure:
            return event.message or "run failed"
    return "run failed"
