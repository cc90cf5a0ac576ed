"""Running the pipeline in tests: materialize the ``score_months`` asset for months, a persistent
Dagster instance folder, reading back the stored results and comparing them with the scoring
service's, and the failure text of a failed run."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import dagster as dg
import polars as pl

from orchestration import partitions as P
from orchestration.assets import score_months
from orchestration.resources import DataFolder, ResultsDatabase
from pcs.settings import PROJECT_ROOT
from scoring import service
from storage import results as R
from storage.engines import get_engine
from tests.support.inputs import EXAMPLE


def resources(db_url: str, data: Path = EXAMPLE) -> dict:
    return {"data_folder": DataFolder(path=str(data)), "results_db": ResultsDatabase(url=db_url)}


def materialize(
    db_url: str, data: Path = EXAMPLE, *, months: list[dt.date], instance=None, selection=None, assets=(score_months,)
):
    """``score_months`` (or ``assets``) over ``months`` (one run) into ``db_url``; the result, not raising."""
    key, tags = P.run_target(months)
    return dg.materialize(
        list(assets),
        partition_key=key,
        tags=tags,
        instance=instance or dg.DagsterInstance.ephemeral(),
        resources=resources(db_url, data),
        raise_on_error=False,
        selection=selection,
    )


def dagster_home(tmp_path: Path) -> Path:
    """A persistent instance folder with the project's instance settings."""
    home = tmp_path / "dagster_home"
    home.mkdir(exist_ok=True)
    shutil.copyfile(PROJECT_ROOT / "orchestration/dagster.yaml", home / "dagster.yaml")
    return home


def step_failure(result) -> str:
    """The description of the run's one failed step."""
    (event,) = [e for e in result.all_events if e.is_step_failure]
    return event.step_failure_data.user_failure_data.description


def stored(db_url: str, months: list[dt.date]) -> dict[str, pl.DataFrame]:
    engine = get_engine(db_url)
    return {name: R.read_frame(engine, name, months=months) for name in R.RESULTS}


def expected(months: list[dt.date], data: Path = EXAMPLE) -> dict[str, pl.DataFrame]:
    frames = service.score_months(months, directory=data).result.frames()
    return {n: df.sort(list(R.RESULTS[n].natural_key)) for n, df in frames.items()}


def assert_same(got: dict[str, pl.DataFrame], want: dict[str, pl.DataFrame]) -> None:
    assert set(got) == set(want)
    for name in want:
        assert got[name].height == want[name].height, name
        assert got[name].height > 0, name
        assert got[name].equals(want[name].select(got[name].columns)), f"{name} differs"
