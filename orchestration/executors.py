"""``step_executor``, the executor of the step jobs (``score_months_parallel_job``), chosen in run
config: ``multiprocess`` (Dagster's multiprocess executor: one process per step on the run's
machine) or ``celery`` (dagster-celery: each step a Celery task, run by ``pcs worker`` processes
on any machine that reaches the broker, Dagster's storage and the results database); and
``worker_app``, the Celery app of ``pcs worker``. Both sides take their Celery settings from here
(late acknowledgement). Why: docs/architecture.md, "Orchestration"."""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import Any

import dagster as dg
from dagster._core.execution.retries import RetryMode, get_retries_config
from dagster._core.executor.multiprocess import MultiprocessExecutor

from pcs.settings import get_settings

EXECUTOR_NAME = "pcs_steps"
DEFAULT_MAX_CONCURRENT = 2
FORKSERVER_PRELOAD = [
    "dagster",
    "sqlalchemy",
    "alembic",
    "psycopg",
    "storage.models",
    "storage.migrate",
]
"""What a process that forks step processes imports once before forking: the multiprocess
executor's fork server, and the main process of ``pcs worker``. None of them starts a thread on
import (Polars does: its jemalloc and spill threads would not survive a fork) or imports Polars,
so each forked step imports Polars and the scoring itself: about half the start-up of a spawned
step."""

RESULT_BACKEND = "rpc://"
"""Celery's results come back to the run's process as messages on the broker (``rpc://``): the
only reader of a step's result is the process that submitted the step, once; the step's events
are in Dagster's event log already. No result store to run or to clean."""
QUEUE = "dagster"  # dagster-celery's queue (its make_app declares it; steps may not choose another)
LATE_ACK: dict[str, Any] = {
    "task_acks_late": True,
    "task_reject_on_worker_lost": True,
    "worker_prefetch_multiplier": 1,
}
"""A step's message is acknowledged when the step has ended, not when a worker takes it: a worker
that dies mid-step (killed, machine lost: its broker connection closes) leaves the message
unacknowledged and the broker hands it to another worker; a step process that dies under a live
worker (the OOM killer) has its message rejected back to the queue. A worker reserves no message
beyond the steps it runs. The same settings go to the executor's app and to the workers'."""
WORKER_ONLY: dict[str, Any] = {
    "worker_max_tasks_per_child": 1,
    "broker_connection_retry_on_startup": True,
    "worker_redirect_stdouts_level": "INFO",
}
"""A fresh step process per step (forked from the worker, which imported ``FORKSERVER_PRELOAD``
only): a step's memory goes back to the system when it ends, and no process that has imported
Polars ever forks. What a step prints (Dagster's console log) is logged at INFO, not WARNING."""


def celery_settings(extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The Celery settings of the executor's app: ``LATE_ACK``, then ``extra`` (run config)."""
    return {**LATE_ACK, **(extra or {})}


# ---- the executor -----------------------------------------------------------------------------

_MULTIPROCESS = {
    "max_concurrent": dg.Field(
        int,
        default_value=DEFAULT_MAX_CONCURRENT,
        description="steps (processes) at a time on the run's machine; each holds one step's work",
    ),
    "retries": get_retries_config(),
}
_CELERY = {
    "broker": dg.Field(
        dg.Noneable(dg.StringSource),
        is_required=False,
        description="Celery broker URL (default: PCS_CELERY_BROKER of the run's process)",
    ),
    "backend": dg.Field(
        dg.StringSource, default_value=RESULT_BACKEND, description="Celery result backend (default rpc://)"
    ),
    "config_source": dg.Field(
        dg.Permissive(),
        is_required=False,
        description="more Celery settings of the executor's app, over the late-acknowledgement ones",
    ),
    "retries": get_retries_config(),
}


@dg.executor(
    name=EXECUTOR_NAME,
    config_schema=dg.Field(
        dg.Selector({"multiprocess": _MULTIPROCESS, "celery": _CELERY}),
        default_value={"multiprocess": {}},
    ),
    requirements=dg.multiple_process_executor_requirements(),
)
def step_executor(init_context: dg.InitExecutorContext) -> dg.Executor:
    """``multiprocess`` (default): Dagster's multiprocess executor, ``max_concurrent`` step
    processes at a time (default 2), forked from a fork server that imported
    ``FORKSERVER_PRELOAD``. ``celery``: dagster-celery's executor on ``broker`` (default
    ``PCS_CELERY_BROKER``), steps run by ``pcs worker`` (late acknowledgement: ``LATE_ACK``)."""
    ((kind, config),) = init_context.executor_config.items()
    retries = RetryMode.from_config(config["retries"])
    if kind == "multiprocess":
        return MultiprocessExecutor(
            retries=retries,
            max_concurrent=config["max_concurrent"],
            start_method="forkserver",
            explicit_forkserver_preload=FORKSERVER_PRELOAD,
        )
    from celery.exceptions import DuplicateTaskNameWarning
    from dagster_celery.executor import CeleryExecutor

    # dagster-celery registers its step task again (the same function) for every step it
    # submits, which Celery 5.7 reports once per run: nothing is wrong
    warnings.filterwarnings("ignore", category=DuplicateTaskNameWarning, module="dagster_celery")
    return CeleryExecutor(
        retries=retries,
        broker=config.get("broker") or get_settings().celery_broker,
        backend=config["backend"],
        config_source=celery_settings(config.get("config_source")),
    )


def run_config(executor: str = "multiprocess", *, max_concurrent: int | None = None) -> dict:
    """The ``execution`` run config of ``step_executor``: ``multiprocess`` (``max_concurrent``:
    None for the default) or ``celery`` (the broker of the run's process)."""
    if executor == "celery":
        if max_concurrent is not None:
            raise ValueError("max_concurrent is for the multiprocess executor; Celery workers set their own")
        return {"execution": {"config": {"celery": {}}}}
    if executor != "multiprocess":
        raise ValueError(f"executor: multiprocess or celery, not {executor!r}")
    config = {} if max_concurrent is None else {"max_concurrent": max_concurrent}
    return {"execution": {"config": {"multiprocess": config}}}


# ---- the workers ------------------------------------------------------------------------------


def worker_app(broker: str, backend: str = RESULT_BACKEND):
    """The Celery app ``pcs worker`` runs: dagster-celery's app (its queue) with its step task
    registered, and the settings of ``LATE_ACK`` and ``WORKER_ONLY`` over dagster-celery's
    defaults. The task rebuilds each step's job from the code pointer the run sends (the code
    location's module), so a worker runs the steps of every job of the code location."""
    from dagster_celery.executor import CeleryExecutor
    from dagster_celery.make_app import make_app
    from dagster_celery.tasks import create_task

    executor = CeleryExecutor.for_cli(broker=broker, backend=backend, config_source={**LATE_ACK, **WORKER_ONLY})
    app = make_app(executor.app_args())
    create_task(app)
    return app
