"""``pcs worker [--concurrency N] [--name NAME] [--loglevel LEVEL]``: a Celery worker for the steps
of the code location's jobs run with the Celery executor (``orchestration.executors``), on the
broker of ``PCS_CELERY_BROKER``. N steps at a time, each in a process of its own forked for it.
Runs until stopped: SIGTERM lets the running steps finish; a worker killed mid-step has its steps
run again by another worker (late acknowledgement). The steps reach Dagster's storage through the
instance the run sends (its ``env:`` values, such as ``DAGSTER_PG_URL``, read here), and the
results database and the input folder as the run's config or this environment says."""

from __future__ import annotations

import argparse
import importlib
import os
import sys

from orchestration import executors
from pcs.settings import get_settings

PROGRESS_STREAM = "stderr"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--concurrency", type=int, default=1, metavar="N", help="steps at a time, one process each (default 1)"
    )
    parser.add_argument(
        "--name", default="pcs", help="worker name; the node name is NAME@host (default pcs; unique per host)"
    )
    parser.add_argument("--loglevel", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"])


def run(args: argparse.Namespace) -> int:
    if args.concurrency < 1:
        print(f"pcs worker: --concurrency must be at least 1, not {args.concurrency}", file=sys.stderr)
        return 2
    broker = get_settings().celery_broker
    for module in executors.FORKSERVER_PRELOAD:  # once here, not in every step process
        importlib.import_module(module)
    app = executors.worker_app(broker)
    if "polars" in sys.modules:  # the pool forks this process: Polars' threads would not survive
        raise RuntimeError("pcs worker imported Polars before forking its step processes")
    print(
        f"pcs worker {args.name}: {args.concurrency} step(s) at a time from queue {executors.QUEUE!r} "
        f"on {app.connection_for_read().as_uri()} (pid {os.getpid()})",
        file=sys.stderr,
        flush=True,
    )
    app.worker_main(
        [
            "worker",
            f"--concurrency={args.concurrency}",
            f"--hostname={args.name}@%h",
            f"--loglevel={args.loglevel}",
            f"--queues={executors.QUEUE}",
            "--pool=prefork",
            "--without-mingle",
            "--without-gossip",
        ]
    )
    return 0
