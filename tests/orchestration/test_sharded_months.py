"""Months scored in partner shards: ``score_months_sharded_job`` (orchestration/shards.py), in
process and with Dagster's multiprocess executor (``pcs backfill --shards``), into a real SQLite
file and a real PostgreSQL database (``db_url``).

The reference is the single-run asset path (``score_months``) over the same months into a SQLite
file of its own; the comparison is on the whole database (``tests.support.tables``: every table's
rows, read with plain SQL, hashed). Also: a shard that fails leaves the stored months as they were
(and its run's staging is dropped by the next run), a shard staged before is replaced, bad input
fails the month with the single-process text."""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import pytest

from orchestration import checks as C
from orchestration import shards
from orchestration.definitions import defs, sharded_job
from orchestration.partitions import partition_key
from orchestration.webhooks import WEBHOOK_EVENTS
from pcs import cli
from pcs.cli.backfill import run_failure
from pcs.generate import generate
from scoring import service
from scoring.frames import InputError
from scoring.shards import Shard
from storage import results as R
from storage.engines import dispose_engines, get_engine
from storage.results import staging
from tests.orchestration.test_parallel_months import results_only, step_windows, worker_pids
from tests.support.dagster_runs import dagster_home, materialize
from tests.support.inputs import EXAMPLE, copy_example, edit_csv
from tests.support.tables import duplicate_keys, fingerprint

NOV, DEC = dt.date(2024, 11, 1), dt.date(2024, 12, 1)
APR, MAY, JUN = dt.date(2024, 4, 1), dt.date(2024, 5, 1), dt.date(2024, 6, 1)


@dataclass(frozen=True)
class Reference:
    tables: dict  # whole database, volatile columns left out


def single_run(data: Path, months: list[dt.date], tmp: Path) -> Reference:
    url = f"sqlite:///{tmp / 'reference.sqlite'}"
    try:
        with dg.DagsterInstance.ephemeral() as instance:
            assert materialize(url, data, months=months, instance=instance).success
        return Reference(results_only(fingerprint(get_engine(url), volatile=False)))
    finally:
        dispose_engines(url)


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> Path:
    """300 listed partners, snapshots 2023-01..2024-06."""
    out = tmp_path_factory.mktemp("sharded") / "data"
    generate(out, partners=300, months=18, start="2023-01", seed=11)
    return out


@pytest.fixture(scope="module")
def example_reference(tmp_path_factory) -> Reference:
    return single_run(EXAMPLE, [NOV, DEC], tmp_path_factory.mktemp("ref-example"))


@pytest.fixture(scope="module")
def generated_reference(generated, tmp_path_factory) -> Reference:
    return single_run(generated, [APR, MAY, JUN], tmp_path_factory.mktemp("ref-generated"))


def run_in_process(db_url: str, data: Path, months: list[dt.date], n: int, *, instance=None, **kw):
    config = shards.run_config(first=months[0], last=months[-1], shards=n, data=str(data), database=db_url)
    return sharded_job().execute_in_process(
        run_config=config, instance=instance or dg.DagsterInstance.ephemeral(), raise_on_error=False, **kw
    )


def failure(result) -> str:
    """The one failed step's ``Failure`` description, else its error and causes."""
    assert len([e for e in result.all_events if e.is_step_failure]) == 1
    return run_failure(result)


# ---- the job ---------------------------------------------------------------------------------


def test_the_job_is_registered_with_a_swappable_executor():
    job = defs.resolve_job_def(shards.JOB_NAME)
    assert job.executor_def.name == "multiprocess_shards"
    assert job.executor_def.executor_creation_fn is dg.multiprocess_executor.executor_creation_fn
    assert {n.name for n in job.graph.nodes} == {"plan_shards", "score_shard", "publish_months"}
    plan = job.graph.node_named("plan_shards").definition.config_schema.config_type.fields
    assert plan["shards"].default_value == shards.DEFAULT_SHARDS
    assert {"data_folder", "results_db"} <= set(job.required_resource_keys)
    other = shards.sharded_job(dg.in_process_executor, name="sharded_in_process")
    assert other.executor_def is dg.in_process_executor
    assert {n.name for n in other.graph.nodes} == {n.name for n in job.graph.nodes}


def test_bad_run_config_fails_the_plan(engine, db_url):
    result = run_in_process(db_url, EXAMPLE, [DEC], 0)
    assert not result.success and "shards: 0 is not between 1 and 256" in failure(result)


# ---- the same tables as the single-run path --------------------------------------------------


def test_example_months_in_4_shards_equal_the_single_run(engine, db_url, example_reference):
    result = run_in_process(db_url, EXAMPLE, [NOV, DEC], 4)
    assert result.success, failure(result)
    assert results_only(fingerprint(engine, volatile=False)) == example_reference.tables
    assert set(duplicate_keys(engine).values()) == {0}
    assert staging.staged_batches(engine) == {}
    # the UI's view: each month materialized, its checks evaluated, its events queued
    keys = {partition_key(m) for m in (NOV, DEC)}
    events = result.get_asset_materialization_events()
    for key in [dg.AssetKey("monthly_snapshot"), dg.AssetKey("designations"), WEBHOOK_EVENTS]:
        assert {e.partition for e in events if e.asset_key == key} == keys
    checks = {(c.check_name, c.passed) for c in result.get_asset_check_evaluations()}
    assert (C.INPUT_VALID, True) in checks and (C.PARTNERS_NAMED, False) in checks
    scored = R.read_frame(engine, "scored_months")
    assert set(scored["run_id"]) == {result.run_id}


def test_generated_months_in_8_shards_equal_the_single_run(engine, db_url, generated, generated_reference):
    result = run_in_process(db_url, generated, [APR, MAY, JUN], 8)
    assert result.success, failure(result)
    assert results_only(fingerprint(engine, volatile=False)) == generated_reference.tables
    steps = {e.step_key for e in result.all_events if e.is_step_success}
    assert len([s for s in steps if s.startswith("score_shard[")]) == 3 * 8


def test_pcs_backfill_shards_runs_the_shards_in_processes(
    db_url, generated, generated_reference, tmp_path, monkeypatch, capsys
):
    """``pcs backfill --shards 4``: Dagster's multiprocess executor, one process per step, two at a
    time; the tables are those of the single-run path."""
    home = dagster_home(tmp_path)
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    args = ["backfill", "--from", "2024-04", "--to", "2024-06", "--data", str(generated), "--database", db_url]
    assert cli.main([*args, "--shards", "0"]) == 2
    assert "--shards must be between 1 and 256" in capsys.readouterr().err
    code = cli.main([*args, "--shards", "4"])
    out, err = capsys.readouterr()
    assert code == 0, out + err
    assert "3 month(s) in 4 shard(s) each, 2 shard(s) at a time" in out
    engine = get_engine(db_url)
    june = R.read_frame(engine, "designations", months=[JUN]).height
    assert f"  2024-06: published from 4 shard(s), {june} designations" in out
    assert results_only(fingerprint(engine, volatile=False)) == generated_reference.tables
    with dg.DagsterInstance.get() as instance:
        (run,) = [r for r in instance.get_runs() if r.job_name == shards.JOB_NAME]
        windows = step_windows(instance, run.run_id)
        shard_steps = [k for k in windows if k.startswith("score_shard[")]
        assert len(shard_steps) == 12
        pids = worker_pids(instance, run.run_id)
        assert len(set(pids.values())) == len(windows) and str(os.getpid()) not in pids.values()


# ---- failures ----------------------------------------------------------------------------------


def test_a_failed_shard_publishes_nothing_and_the_next_run_drops_its_staging(
    engine, db_url, example_reference, monkeypatch
):
    """A shard that fails (not bad input: a crash) fails its step, so nothing of the run is
    published: the stored months stay as they were; the other shards' staging stays until the
    next run of the job, which drops it (its run has ended) and publishes."""
    assert run_in_process(db_url, EXAMPLE, [NOV, DEC], 2).success  # stored once
    before = fingerprint(engine)
    score_shard = service.score_shard

    def crashing(month, shard, **kw):
        if month == DEC and shard.index == 2:
            raise RuntimeError("worker lost")
        return score_shard(month, shard, **kw)

    monkeypatch.setattr(service, "score_shard", crashing)
    result = run_in_process(db_url, EXAMPLE, [NOV, DEC], 4)
    assert not result.success and "worker lost" in failure(result)
    started = {e.step_key for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_START}
    assert "score_shard[2024_12_s003]" in started and "publish_months" not in started
    assert fingerprint(engine) == before  # run ids and times included
    (batch,) = staging.staged_batches(engine)
    assert batch == shards.batch_of(result.run_id)
    assert len(staging.staged_batches(engine)[batch]) == 7 * len(staging.STAGED)  # 8 shards but one

    monkeypatch.setattr(service, "score_shard", score_shard)
    again = run_in_process(db_url, EXAMPLE, [NOV, DEC], 4)
    assert again.success, failure(again)
    assert staging.staged_batches(engine) == {}
    assert results_only(fingerprint(engine, volatile=False)) == example_reference.tables


def test_a_shard_staged_before_is_replaced(engine, db_url, example_reference):
    """A shard that staged wrong rows under the run's batch (a worker killed after staging, its
    task run again) is staged again by its step, replacing them."""
    run_id = "0123456789abcdef0123456789abcdef"
    wrong = service.score_shard(DEC, Shard(0, 4), directory=EXAMPLE)
    frames = {name: df.head(2) for name, df in wrong.result.frames().items()}
    staged = staging.StagedMonth(shards.batch_of(run_id), DEC, 4)
    staging.stage_shard(engine, staged=staged, shard=1, frames=frames, partners=wrong.partners.head(2))
    result = run_in_process(db_url, EXAMPLE, [NOV, DEC], 4, run_id=run_id)
    assert result.success, failure(result)
    assert results_only(fingerprint(engine, volatile=False)) == example_reference.tables


def test_bad_input_fails_the_month_with_the_single_process_text(engine, db_url, tmp_path):
    """A bad usage row in 2024-06 (read by 2024-06 only, of 2024-05..2024-06): 2024-05 is
    published, 2024-06 is not and stays as it was, and the run fails with the text the
    single-process scoring raises."""
    data = copy_example(tmp_path)
    assert run_in_process(db_url, data, [JUN], 4).success
    june = fingerprint(engine, months=[JUN])
    edit_csv(data / "months/2024-06/workload_usage.csv", 3, "paid_seats", "-5")
    with pytest.raises(InputError) as single:
        service.score_months([JUN], directory=data)
    result = run_in_process(db_url, data, [MAY, JUN], 4)
    assert not result.success
    text = failure(result)
    assert text.startswith("not scored: 2024-06; scored and written: 2024-05\n")
    assert text.endswith(C.failure_text([JUN], single.value))
    assert fingerprint(engine, months=[JUN]) == june
    assert R.months_scored(engine) == [MAY, JUN]
    checks = [
        e.event_specific_data
        for e in result.all_events
        if e.event_type == dg.DagsterEventType.ASSET_CHECK_EVALUATION
        and e.event_specific_data.check_name == C.INPUT_VALID
    ]
    assert {(c.passed, c.metadata["month"].value) for c in checks} == {(True, "2024-05"), (False, "2024-06")}
    designations = [e for e in result.get_asset_materialization_events() if e.asset_key == dg.AssetKey("designations")]
    assert [e.partition for e in designations] == [partition_key(MAY)]  # the failed run's published month
    assert staging.staged_batches(engine) != {}  # the good shards of 2024-06: dropped by the next run


def test_dead_runs_staging_is_dropped_but_not_a_live_runs(engine):
    part = service.score_shard(DEC, Shard(0, 2), directory=EXAMPLE)
    for batch in ("aaaa", "bbbb", "cccc"):
        staged = staging.StagedMonth(batch, DEC, 2)
        staging.stage_shard(engine, staged=staged, shard=0, frames=part.result.frames(), partners=part.partners)

    class Run:
        def __init__(self, run_id, root=None):
            self.run_id, self.root_run_id = run_id, root

    class Instance:  # a queued run and a re-execution (of a run whose batch is cccc) in progress
        def get_runs(self, filters):
            assert dg.DagsterRunStatus.STARTED in filters.statuses
            assert dg.DagsterRunStatus.SUCCESS not in filters.statuses
            return [Run("bbbb"), Run("ffff", root="cccc")]

    dropped = shards.drop_dead_staging(Instance(), engine, keep="dddd")
    assert dropped == ["aaaa"]
    assert set(staging.staged_batches(engine)) == {"bbbb", "cccc"}
