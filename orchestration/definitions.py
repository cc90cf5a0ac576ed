"""The Dagster code location of pcs (``workspace.yaml``; ``dagster asset materialize -m
orchestration.definitions ...``): the assets, the three jobs, the schedule, the sensors (the webhook
delivery sensor, on by default, among them) and the resources. ``pcs backfill`` runs its jobs
from here too, pointing them with run config."""

from __future__ import annotations

import dagster as dg

from orchestration import parallel, shards
from orchestration.assets import score_months
from orchestration.automation import JOB_NAME, SCHEDULES, SENSORS, score_job
from orchestration.outputs import IO_MANAGER_KEY, event_log_values
from orchestration.resources import DataFolder, ResultsDatabase
from orchestration.specs import SOURCES
from orchestration.webhooks import webhook_delivery_sensor, webhook_events

RESOURCES = {"data_folder": DataFolder(), "results_db": ResultsDatabase(), IO_MANAGER_KEY: event_log_values}

defs = dg.Definitions(
    assets=[*SOURCES, score_months, webhook_events],
    jobs=[score_job, parallel.score_months_parallel_job, shards.score_months_sharded_job],
    schedules=SCHEDULES,
    sensors=[*SENSORS, webhook_delivery_sensor],  # the webhook sensor is on by default
    resources=RESOURCES,
)


def asset_job() -> dg.JobDefinition:
    """``score_months_job`` with its resources bound."""
    return defs.resolve_job_def(JOB_NAME)


def parallel_job() -> dg.JobDefinition:
    """``score_months_parallel_job`` with its resources bound."""
    return defs.resolve_job_def(parallel.JOB_NAME)


def reconstructable_parallel_job() -> dg.ReconstructableJob:
    """The month-parallel job as the multiprocess executor needs it: one each step process can
    rebuild by importing this module (``dg.reconstructable`` of ``parallel_job``)."""
    return dg.reconstructable(parallel_job)


def sharded_job() -> dg.JobDefinition:
    """``score_months_sharded_job`` with its resources bound."""
    return defs.resolve_job_def(shards.JOB_NAME)


def reconstructable_sharded_job() -> dg.ReconstructableJob:
    """The sharded job as a multi-process executor needs it (see ``reconstructable_parallel_job``)."""
    return dg.reconstructable(sharded_job)
