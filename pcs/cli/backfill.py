"""``pcs backfill --from 2024-01 --to 2024-12 [--data DIR] [--database URL] [--parallel N]``.

Runs the scoring job (``score_months_job``) over the range as one run (a partition range, as
the assets' ``BackfillPolicy.single_run()`` and the UI's backfills do), in this process, against
the Dagster instance of ``DAGSTER_HOME`` or, when that is unset, the persistent instance
``var/dagster_home`` under the project. A new instance folder gets ``orchestration/dagster.yaml``.
So every run shows in the Dagster UI started with that ``DAGSTER_HOME``.

The run scores the months one at a time, in order, reading each snapshot it needs once (24 for
twelve months) and writing each month in its own transaction as soon as it is scored. Progress
(months read, scored, written) is printed as it happens. When any month fails the command exits 1,
naming the months not scored and why (the input error: file, column, value, row); bad arguments
exit 2.

``--parallel N`` runs ``score_months_parallel_job`` instead (``orchestration.parallel``):
one step, in its own process, per month, N at a time (Dagster's multiprocess executor, hence the
persistent instance above). Each month reads its own thirteen snapshots and is written in its
own transaction; a bad month fails alone (the run then fails naming it) and the others are
written. A line per month is printed when the run ends (step processes log to the run only;
Dagster itself prints one ``STEP_WORKER_STARTED`` line per step process on stderr, logged
before the run's logger config applies).
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import shutil
import sys
import time
import warnings
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
from sqlalchemy.engine import make_url

from orchestration import parallel
from orchestration.assets import LOGGER, SOURCES, score_months, span
from orchestration.automation import JOB_NAME, score_job
from orchestration.partitions import (
    chunks,
    partition_months,
    run_target,
)
from orchestration.resources import DataFolder, ResultsDatabase
from pcs.settings import ENV, PROJECT_ROOT, VAR_DIR
from scoring.calendar import month_range, parse_month

START_MONTH_ENV = ENV["start_month"]
DEFAULT_DAGSTER_HOME = VAR_DIR / "dagster_home"
INSTANCE_TEMPLATE = PROJECT_ROOT / "orchestration" / "dagster.yaml"
DESIGNATIONS = dg.AssetKey("designations")

# Dagster's own console logger is silenced (its events would drown the progress lines); the
# runs' full logs are in the instance (the UI).
QUIET_RUN_CONFIG = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--from", dest="first", required=True, metavar="YYYY-MM", help="first month")
    parser.add_argument("--to", dest="last", metavar="YYYY-MM", help="last month (default: --from)")
    parser.add_argument("--data", metavar="DIR", help="input data folder (default: PCS_DATA_DIR)")
    parser.add_argument("--database", metavar="URL", help="results database URL (default: PCS_DATABASE_URL)")
    parser.add_argument(
        "--parallel",
        type=int,
        metavar="N",
        help=(
            "score the months in parallel, N at a time, one process per month "
            f"({parallel.JOB_NAME}); default: one run reading each snapshot once"
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


def _months(args: argparse.Namespace) -> list:
    first = parse_month(args.first, what="--from")
    last = parse_month(args.last, what="--to") if args.last else first
    if last < first:
        raise ValueError(f"--to {last:%Y-%m} is before --from {first:%Y-%m}")
    months = month_range(first, last)
    valid = partition_months()
    if not valid:
        raise ValueError(f"no monthly partition yet ({START_MONTH_ENV} is in the future?)")
    outside = [m for m in months if m not in set(valid)]
    if outside:
        raise ValueError(
            f"{span(outside)} not a partition: the partitions run from {valid[0]:%Y-%m} "
            f"({START_MONTH_ENV}; scoring M needs the snapshot of M-12) to {valid[-1]:%Y-%m} "
            "(the last complete month)"
        )
    return months


def failure_text(result: dg.ExecuteInProcessResult | dg.JobExecutionResult) -> str:
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


class _Printer(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        print(f"  {record.getMessage()}", flush=True)


def run(args: argparse.Namespace) -> int:
    try:
        months = _months(args)
    except ValueError as exc:
        print(f"pcs backfill: {exc}", file=sys.stderr)
        return 2
    if args.parallel is not None and args.parallel < 1:
        print(f"pcs backfill: --parallel must be at least 1, not {args.parallel}", file=sys.stderr)
        return 2

    data = DataFolder(path=args.data)
    db = ResultsDatabase(url=args.database)
    if args.parallel is not None:
        return _run_parallel(months, data, db, args.parallel)
    job = dg.Definitions(
        assets=[*SOURCES, score_months],
        jobs=[score_job],
        resources={"data_folder": data, "results_db": db},
    ).resolve_job_def(JOB_NAME)
    key, tags = run_target(months)

    handler = _Printer()
    LOGGER.addHandler(handler)
    old_level = LOGGER.level
    LOGGER.setLevel(logging.INFO)
    t0 = time.perf_counter()
    try:
        with warnings.catch_warnings(), dagster_instance() as instance:
            warnings.simplefilter("ignore", dg.BetaWarning)
            print(
                f"pcs backfill {span(months)} ({len(months)} month(s), one run)\n"
                f"  data: {data.resolved()}\n  database: {db.display_url()}\n"
                f"  dagster instance: {instance.root_directory}",
                flush=True,
            )
            result = job.execute_in_process(
                instance=instance,
                partition_key=key,
                tags={**tags, "pcs/trigger": "pcs backfill"},
                run_config=QUIET_RUN_CONFIG,
                raise_on_error=False,
            )
    finally:
        LOGGER.removeHandler(handler)
        LOGGER.setLevel(old_level)

    return _report(result, months, time.perf_counter() - t0)


def _run_parallel(months: list, data: DataFolder, db: ResultsDatabase, n: int) -> int:
    """The months through ``score_months_parallel_job``: one process per month, ``n`` at a time.

    The step processes get the data folder and the database in the run's config (shown in the
    UI), except a database URL with a password: that one goes to them in ``PCS_DATABASE_URL``.
    """
    url = db.resolved_url()
    secret = make_url(url).password is not None
    run_config = {
        **QUIET_RUN_CONFIG,
        **parallel.run_config(
            first=months[0],
            last=months[-1],
            data=str(data.resolved()),
            database=None if secret else url,
            max_concurrent=n,
        ),
    }
    t0 = time.perf_counter()
    env = {ENV["database_url"]: url} if secret else {}
    with warnings.catch_warnings(), _environ(env), dagster_instance() as instance:
        warnings.simplefilter("ignore", dg.BetaWarning)
        print(
            f"pcs backfill {span(months)} ({len(months)} month(s) in parallel, {n} at a time, "
            f"one process each)\n  data: {data.resolved()}\n  database: {db.display_url()}\n"
            f"  dagster instance: {instance.root_directory}",
            flush=True,
        )
        result = dg.execute_job(
            parallel.reconstructable_job(),
            instance=instance,
            run_config=run_config,
            tags={"pcs/months": span(months), "pcs/trigger": "pcs backfill --parallel"},
        )
        rows = {
            parse_month(e.partition): e.materialization.metadata["dagster/row_count"].value
            for e in result.get_asset_materialization_events()
            if e.asset_key == DESIGNATIONS and e.partition
        }
        for month in months:
            done = f"{rows[month]} designations written" if month in rows else "not scored"
            print(f"  {month:%Y-%m}: {done}")
        return _report(result, months, time.perf_counter() - t0)


@contextlib.contextmanager
def _environ(values: dict[str, str]) -> Iterator[None]:
    """``os.environ`` with ``values`` set for the block (the run's fork server, started in it,
    copies it to the step processes)."""
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


def _report(result, months: list, elapsed: float) -> int:
    """The final line (and on failure the error); the exit code."""
    if result.success:
        print(f"done: {span(months)} scored in {elapsed:.1f}s (run {result.run_id})")
        return 0
    written = written_months(result)
    not_scored = [m for m in months if m not in written]
    print(
        f"pcs backfill: run {result.run_id} failed after {elapsed:.1f}s; not scored: "
        f"{_spans(not_scored)}; scored and written: {_spans(written) or 'none'}",
        file=sys.stderr,
    )
    print(failure_text(result), file=sys.stderr)
    return 1


def written_months(result: dg.ExecuteInProcessResult | dg.JobExecutionResult) -> list:
    """The months a run recorded as materialized (a failed run may have written some)."""
    return sorted(
        {
            parse_month(e.partition)
            for e in result.get_asset_materialization_events()
            if e.asset_key == DESIGNATIONS and e.partition
        }
    )


def _spans(months: list) -> str:
    return ", ".join(span(c) for c in chunks(months, None))
