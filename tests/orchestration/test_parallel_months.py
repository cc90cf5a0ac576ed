"""Months scored in parallel: ``score_months_parallel_job`` (orchestration/parallel.py)
with Dagster's multiprocess executor, for real: a persistent Dagster instance in a temporary
``DAGSTER_HOME``, one process per month, a real SQLite file and a real PostgreSQL database
(``db_url``, see conftest.py), generated data (300 partners), and ``pcs backfill --parallel``.

The reference is the single-run asset path (``score_months``, one run) over the same
months into a SQLite file of its own; the comparison is on the whole database (``tests.support.tables``:
every table's rows, read with plain SQL, hashed), so a duplicate, a missing row or any other
month written by mistake shows."""

from __future__ import annotations

import csv
import datetime as dt
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import pytest

from orchestration import checks as C
from orchestration import executors, parallel
from orchestration import specs as S
from orchestration.definitions import defs, reconstructable_parallel_job
from orchestration.outputs import IO_MANAGER_KEY
from orchestration.partitions import partition_key
from orchestration.webhooks import WEBHOOK_EVENTS
from pcs import cli
from pcs.generate import generate
from scoring.calendar import month_range
from storage import results as R
from storage.engines import dispose_engines, get_engine
from tests.support.dagster_runs import dagster_home, materialize
from tests.support.inputs import USAGE_HEADER, set_cell, write_csv
from tests.support.tables import Table, duplicate_keys, fingerprint, month_rows

SIX = month_range(dt.date(2024, 1, 1), dt.date(2024, 6, 1))
ASSET_KEYS = [S.SNAPSHOT, *(dg.AssetKey(n) for n in S.RESULT_ORDER)]


def results_only(tables: dict) -> dict:
    """The tables of the scores, without the webhook outbox (which the reference path, the
    ``score_months`` asset alone, does not fill; tests/orchestration/test_webhooks.py compares
    the two jobs' events)."""
    return {name: v for name, v in tables.items() if not name.startswith("webhook_")}


LOCKED = "database is locked"
# what concurrent writers must never meet (a retried write logs "write attempt ... failed")
CONTENTION = (LOCKED, "deadlock detected", "serialization failure", "write attempt")


@dataclass(frozen=True)
class Reference:
    tables: dict[str, Table]  # whole database, volatile columns left out
    months: dict[str, dict[dt.date, int]]  # rows per month per table


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> Path:
    """300 listed partners, snapshots 2023-01..2024-06 (scoring 2024-01 reads 2023-01)."""
    out = tmp_path_factory.mktemp("parallel") / "data"
    generate(out, partners=300, months=18, start="2023-01", seed=11)
    return out


@pytest.fixture(scope="module")
def reference(generated, tmp_path_factory) -> Reference:
    """The six months through the single-run asset path, in a SQLite file of its own."""
    url = f"sqlite:///{tmp_path_factory.mktemp('reference') / 'reference.sqlite'}"
    try:
        with dg.DagsterInstance.ephemeral() as instance:
            result = materialize(url, generated, months=SIX, instance=instance)
            assert result.success
            assert len(instance.get_runs()) == 1
        engine = get_engine(url)
        assert R.months_scored(engine) == SIX
        return Reference(results_only(fingerprint(engine, volatile=False)), results_only(month_rows(engine)))
    finally:
        dispose_engines(url)


def step_windows(instance: dg.DagsterInstance, run_id: str) -> dict[str, tuple[float, float]]:
    """Step key -> (its process launched, step succeeded) timestamps of the steps that succeeded."""
    start, end = {}, {}
    for record in instance.all_logs(run_id):
        event = record.dagster_event
        if event is None or not record.step_key:
            continue
        if event.event_type == dg.DagsterEventType.STEP_WORKER_STARTING:
            start[record.step_key] = record.timestamp
        elif event.event_type == dg.DagsterEventType.STEP_SUCCESS:
            end[record.step_key] = record.timestamp
    return {k: (start[k], end[k]) for k in end}


def most_at_once(windows: list[tuple[float, float]]) -> int:
    """The largest number of (start, end) windows open at the same moment."""
    edges = sorted([(s, 1) for s, _ in windows] + [(e, -1) for _, e in windows])
    open_, most = 0, 0
    for _, delta in edges:
        open_ += delta
        most = max(most, open_)
    return most


def worker_pids(instance: dg.DagsterInstance, run_id: str) -> dict[str, str]:
    return {
        r.step_key: r.dagster_event.event_specific_data.metadata["pid"].value
        for r in instance.all_logs(run_id, of_type=dg.DagsterEventType.STEP_WORKER_STARTED)
    }


def everything_logged(instance: dg.DagsterInstance, run_id: str, home: Path) -> str:
    """The run's event log (messages and errors) and every step's captured stdout/stderr."""
    texts = [repr(r) for r in instance.all_logs(run_id)]
    logs = [p for p in home.rglob("*") if p.is_file() and p.suffix in (".err", ".out")]
    assert len(logs) >= 2 * (len(SIX) + 2), "no compute logs captured: nothing was checked"
    texts += [p.read_text(errors="replace") for p in logs]
    return "\n".join(texts)


# ---- the job ---------------------------------------------------------------------------------


def test_the_job_is_registered_with_the_step_executor():
    job = defs.resolve_job_def(parallel.JOB_NAME)
    assert job.executor_def is executors.step_executor
    assert {n.name for n in job.graph.nodes} == {"plan_months", "score_month", "summarise_months"}
    # multiprocess by default, max_concurrent 2, or celery
    choices = job.executor_def.config_schema.config_type.fields
    assert set(choices) == {"multiprocess", "celery"}
    assert job.executor_def.config_schema.default_value == {"multiprocess": {}}
    schema = choices["multiprocess"].config_type.fields["max_concurrent"]
    assert schema.default_value == executors.DEFAULT_MAX_CONCURRENT == 2
    assert {"data_folder", "results_db", IO_MANAGER_KEY} <= set(job.required_resource_keys)


def test_months_come_from_the_config_else_the_partition_tags():
    jan, jun = dt.date(2024, 1, 1), dt.date(2024, 6, 1)
    tags = {parallel.RANGE_START: "2024-01-01", parallel.RANGE_END: "2024-06-01"}
    assert parallel.months_to_score({"from": "2024-03", "to": "2024-04"}, tags) == month_range(
        dt.date(2024, 3, 1), dt.date(2024, 4, 1)
    )
    assert parallel.months_to_score({}, tags) == month_range(jan, jun)
    assert parallel.months_to_score({}, {parallel.PARTITION: "2024-06-01"}) == [jun]
    assert parallel.months_to_score({"from": "2024-06"}, {}) == [jun]
    with pytest.raises(ValueError, match="2023-11..2023-12 not a monthly partition"):
        parallel.months_to_score({"from": "2023-11", "to": "2024-01"}, {})
    with pytest.raises(ValueError, match="is before"):
        parallel.months_to_score({"from": "2024-06", "to": "2024-01"}, {})
    with pytest.raises(ValueError, match="no months"):
        parallel.months_to_score({}, {})


# ---- six months in parallel ------------------------------------------------------------------


def test_six_months_in_parallel_equal_the_single_run_path(db_url, generated, reference, tmp_path, capfd):
    home = dagster_home(tmp_path)
    run_config = parallel.run_config(
        first=SIX[0], last=SIX[-1], data=str(generated), database=db_url
    )  # max_concurrent: the default, 2
    with dg.DagsterInstance.from_config(str(home)) as instance:
        job = reconstructable_parallel_job()
        result = dg.execute_job(job, instance=instance, run_config=run_config)
        assert result.success, [e.message for e in result.all_events if e.is_failure]
        run_id = result.run_id

        # one process per step, the months' processes two at a time (never more, at times two)
        month_steps = {f"score_month[{m:%Y_%m}]" for m in SIX}
        windows = step_windows(instance, run_id)
        assert set(windows) == {"plan_months", "summarise_months", *month_steps}
        assert most_at_once([windows[k] for k in month_steps]) == 2
        pids = worker_pids(instance, run_id)
        assert set(pids) == set(windows) and len(set(pids.values())) == len(windows)
        assert str(os.getpid()) not in pids.values()

        # the UI's view: every asset of the multi-asset materialized for the six partitions
        keys = {partition_key(m) for m in SIX}
        for key in ASSET_KEYS:
            assert instance.get_materialized_partitions(key) == keys, key
        assert instance.get_materialized_partitions(WEBHOOK_EVENTS) == keys  # queued once all are written
        events = [e for e in result.get_asset_materialization_events() if e.asset_key != WEBHOOK_EVENTS]
        assert len(events) == len(ASSET_KEYS) * len(SIX)
        checks = [c for c in result.get_asset_check_evaluations() if c.check_name == C.INPUT_VALID]
        assert len(checks) == len(SIX) and all(c.passed for c in checks)
        rows_logged = {
            (e.asset_key.to_user_string(), e.partition): e.materialization.metadata["dagster/row_count"].value
            for e in events
            if e.asset_key != S.SNAPSHOT
        }

        logged = everything_logged(instance, run_id, home)
        assert all(f"wrote {m:%Y-%m}: " in logged for m in SIX)  # the months' own log lines
    captured = capfd.readouterr()
    everything = (logged + captured.out + captured.err).lower()
    assert [c for c in CONTENTION if c in everything] == []

    engine = get_engine(db_url)
    assert set(duplicate_keys(engine).values()) == {0}
    per_month = results_only(month_rows(engine))
    assert per_month == reference.months  # rows per month and table, as the sequential run
    for (name, pk), n in rows_logged.items():  # and as the materializations said
        assert per_month[R.RESULTS[name].table.name][dt.date.fromisoformat(pk)] == n
    # every table, every row: the same as the single-run asset path (run ids and times aside)
    assert results_only(fingerprint(engine, volatile=False)) == reference.tables
    scored = R.read_frame(engine, "scored_months")
    assert scored["month"].to_list() == SIX
    assert set(scored["run_id"]) == {run_id}


# ---- pcs backfill --parallel: a bad month fails alone ----------------------------------------


def test_pcs_backfill_parallel_a_bad_month_fails_alone(generated, reference, tmp_path, monkeypatch, capsys):
    home = dagster_home(tmp_path)
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    url = f"sqlite:///{tmp_path / 'results.sqlite'}"
    data = tmp_path / "data"
    shutil.copytree(generated, data)
    may, jun = dt.date(2024, 5, 1), dt.date(2024, 6, 1)
    months = ["--from", "2024-05", "--to", "2024-06", "--data", str(data), "--database", url]
    try:
        # 2024-06 is stored (single run), then its usage file goes bad: of the two months only
        # 2024-06 reads it (2024-05 reads 2023-05..2024-05)
        assert cli.main(["backfill", "--from", "2024-06", *months[4:]]) == 0
        june_before = fingerprint(get_engine(url), months=[jun])
        usage = data / "months/2024-06/workload_usage.csv"
        with usage.open(newline="") as f:
            header, *rows = csv.reader(f)
        assert header == USAGE_HEADER
        write_csv(usage, USAGE_HEADER, set_cell(rows, USAGE_HEADER, 3, "paid_seats", "-5"))
        capsys.readouterr()

        assert cli.main(["backfill", *months, "--parallel", "0"]) == 2
        assert "--parallel must be at least 1" in capsys.readouterr().err

        code = cli.main(["backfill", *months, "--parallel", "2"])
        out, err = capsys.readouterr()
        assert code == 1, out + err
        assert "2 month(s) in parallel, 2 at a time" in out
        assert f"  2024-05: {reference.months['designation'][may]} designations written" in out
        assert "  2024-06: not scored" in out
        assert "; not scored: 2024-06; scored and written: 2024-05" in err
        assert "2024-06 not scored, nothing written (bad input: 2024-06)" in err
        assert "months/2024-06/workload_usage.csv, column 'paid_seats', row 3, value '-5'" in err
        assert LOCKED not in (out + err).lower()

        engine = get_engine(url)
        assert R.months_scored(engine) == [may, jun]
        assert fingerprint(engine, months=[jun]) == june_before  # not touched
        assert {t: rows.get(may) for t, rows in results_only(month_rows(engine)).items()} == {
            t: rows.get(may) for t, rows in reference.months.items()
        }
        with dg.DagsterInstance.get() as instance:  # the run is in DAGSTER_HOME's instance
            (run,) = [r for r in instance.get_runs() if r.job_name == parallel.JOB_NAME]
            assert run.is_failure and run.tags["pcs/months"] == "2024-05..2024-06"
            logs = lambda kind: instance.all_logs(run.run_id, of_type=kind)  # noqa: E731
            failed_steps = {r.step_key for r in logs(dg.DagsterEventType.STEP_FAILURE)}
            assert failed_steps == {"summarise_months"}  # each month's step ran to its end
            written = instance.get_materialized_partitions(dg.AssetKey("designations"))
            assert written == {partition_key(may), partition_key(jun)}  # jun: the first run's
            (check,) = [
                r.dagster_event.event_specific_data
                for r in logs(dg.DagsterEventType.ASSET_CHECK_EVALUATION)
                if r.dagster_event.event_specific_data.check_name == C.INPUT_VALID
                and not r.dagster_event.event_specific_data.passed
            ]
            assert check.description.startswith("2024-06 not scored")
    finally:
        dispose_engines(url)
