"""``pcs backfill --from 2024-01 --to 2024-12 [--data DIR] [--database URL]``.

Runs the scoring job (``score_months_job``) over the range as one run (a partition range, as
the assets' ``BackfillPolicy.single_run()`` and the UI's backfills do), in this process, against
the Dagster instance of ``DAGSTER_HOME`` or, when that is unset, the persistent instance
``var/dagster_home`` under the project. A new instance folder gets ``orchestration/dagster.yaml``.
So every run shows in the Dagster UI started with that ``DAGSTER_HOME``.

The run scores the months a chunk of up to twelve at a time (each chunk reads the snapshots it
needs once, 24 for twelve months, and writes its months in one transaction). Progress (months
read, scoring, writing) is printed as it happens. When any month fails the command exits 1,
naming the months not scored and why (the input error: file, column, value, row); bad arguments
exit 2.
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import sys
import time
import warnings
from pathlib import Path

import dagster as dg

from orchestration.pipeline.assets import LOGGER, SOURCES, score_months, span
from orchestration.pipeline.automation import JOB_NAME, score_job
from orchestration.pipeline.partitions import (
    MONTHS_PER_CHUNK,
    START_MONTH_ENV,
    chunks,
    parse_month,
    partition_months,
    run_target,
)
from orchestration.resources import DataFolder, ResultsDatabase
from orchestration.scoring.engine import month_range

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DAGSTER_HOME = PROJECT_ROOT / "var" / "dagster_home"
INSTANCE_TEMPLATE = Path(__file__).resolve().parent / "dagster.yaml"
DESIGNATIONS = dg.AssetKey("designations")

# Dagster's own console logger is silenced (its events would drown the progress lines); the
# runs' full logs are in the instance (the UI).
QUIET_RUN_CONFIG = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--from", dest="first", required=True, metavar="YYYY-MM", help="first month")
    parser.add_argument("--to", dest="last", metavar="YYYY-MM", help="last month (default: --from)")
    parser.add_argument("--data", metavar="DIR", help="input data folder (default: PCS_DATA_DIR)")
    parser.add_argument(
        "--database", metavar="URL", help="results database URL (default: PCS_DATABASE_URL)"
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


def failure_text(result: dg.ExecuteInProcessResult) -> str:
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

    data = DataFolder(path=args.data)
    db = ResultsDatabase(url=args.database)
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
                f"pcs backfill {span(months)} ({len(months)} month(s), chunks of up to "
                f"{MONTHS_PER_CHUNK})\n  data: {data.resolved()}\n  database: {db.display_url()}\n"
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

    elapsed = time.perf_counter() - t0
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


def written_months(result: dg.ExecuteInProcessResult) -> list:
    """The months a run recorded as materialized (a failed run may have written some chunks)."""
    return sorted(
        {
            parse_month(e.partition)
            for e in result.get_asset_materialization_events()
            if e.asset_key == DESIGNATIONS and e.partition
        }
    )


def _spans(months: list) -> str:
    return ", ".join(span(c) for c in chunks(months, None))
