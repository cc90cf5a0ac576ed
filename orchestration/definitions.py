"""The Dagster code location of pcs: ``dagster dev -w workspace.yaml`` or
``dagster asset materialize -m orchestration.definitions --select '*' --partition 2024-06-01``.

Environment (read when a step or sensor runs, not at load time, except the first):

* ``PCS_START_MONTH``   first monthly partition, ``YYYY-MM`` (default 2024-01: scoring M reads
                        M-12, and the demo data starts in 2023-01)
* ``PCS_DATA_DIR``      the input data folder (default: the demo folder)
* ``PCS_DATABASE_URL``  the results database (default: ``var/pcs.sqlite``)
* ``DAGSTER_HOME``      the Dagster instance; ``orchestration/dagster.yaml`` is the template
                        (it limits the ``results_db`` pool to one step at a time)
"""

from __future__ import annotations

import dagster as dg

from orchestration.assets import SOURCES, score_months
from orchestration.automation import SCHEDULES, SENSORS, score_job
from orchestration.parallel import score_months_parallel_job
from orchestration.resources import DataFolder, ResultsDatabase

RESOURCES = {"data_folder": DataFolder(), "results_db": ResultsDatabase()}

defs = dg.Definitions(
    assets=[*SOURCES, score_months],
    jobs=[score_job, score_months_parallel_job],
    schedules=SCHEDULES,
    sensors=SENSORS,
    resources=RESOURCES,
)
