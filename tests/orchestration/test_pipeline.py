"""The Dagster pipeline, run for real: the example data folder, real partitions, a real SQLite
file and PostgreSQL (``db_url``, see conftest.py), the ``pcs backfill`` command, Dagster's own
command line and the webserver as subprocesses."""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import httpx
import pytest

from orchestration import assets as A
from orchestration import checks as C
from orchestration import partitions as P
from orchestration import specs as S
from orchestration.automation import (
    JOB_NAME,
    certifications_sensor,
    new_month_sensor,
)
from orchestration.definitions import defs
from orchestration.resources import DataFolder, ResultsDatabase
from pcs import cli
from pcs.settings import PROJECT_ROOT
from scoring import ingest
from scoring.calendar import month_range
from storage import results as R
from storage.engines import dispose_engines, get_engine
from tests.support.dagster_runs import assert_same, dagster_home, expected, materialize, step_failure, stored
from tests.support.inputs import EXAMPLE, JUN, MAY, copy_example
from tests.support.ports import free_port

pytestmark = pytest.mark.skipif(not EXAMPLE.exists(), reason="shared/examples/small is not beside the project")

YEAR_2024 = month_range(dt.date(2024, 1, 1), dt.date(2024, 12, 1))
BAD_FILE = "months/2024-06/workload_usage.csv"


# ---- helpers ---------------------------------------------------------------------------------


def broken_copy(tmp_path: Path) -> Path:
    """The example data with a negative paid_seats on data row 2 of 2024-06's usage."""
    data = copy_example(tmp_path)
    usage = data / BAD_FILE
    lines = usage.read_text().splitlines()
    cells = lines[2].split(",")
    cells[2] = "-5"
    lines[2] = ",".join(cells)
    usage.write_text("\n".join(lines) + "\n")
    return data


# ---- definitions -----------------------------------------------------------------------------


def test_definitions_load_with_job_schedule_sensors_and_lookback():
    dg.Definitions.validate_loadable(defs)
    job = defs.resolve_job_def(JOB_NAME)
    assert job.partitions_def == P.MONTHLY
    assert P.MONTHLY.get_first_partition_key() == "2024-01-01"  # PCS_START_MONTH default

    schedule = defs.resolve_schedule_def("monthly_score_schedule")
    assert schedule.cron_schedule == "0 6 20 * *"
    assert {s.name for s in defs.sensors} == {"new_month_sensor", "certifications_sensor", "webhook_delivery_sensor"}

    graph = defs.resolve_asset_graph()
    snapshot = graph.get(S.SNAPSHOT)
    assert snapshot.partitions_def == P.MONTHLY
    assert snapshot.backfill_policy == dg.BackfillPolicy.single_run()
    mapping = graph.get_partition_mapping(dg.AssetKey("customer_details"), S.SNAPSHOT)
    assert (mapping.start_offset, mapping.end_offset) == (-12, 0)
    # the lookback as the UI resolves it: 2024-06 depends on snapshots 2023-06..2024-06, of
    # which 2024-01..2024-06 are partitions
    upstream = mapping.get_upstream_mapped_partitions_result_for_partitions(
        P.MONTHLY.subset_with_partition_keys(["2024-06-01"]), P.MONTHLY, P.MONTHLY
    ).partitions_subset.get_partition_keys()
    assert list(upstream) == [f"2024-0{m}-01" for m in range(1, 7)]
    assert {k.name for k in graph.asset_check_keys} == {C.INPUT_VALID, C.SEATS_WARNING, C.PARTNERS_NAMED}
    assert A.score_months.op.pool == "results_db"


def _scheduled_partition(when: dt.datetime) -> str | None:
    """The partition the monthly schedule requests at ``when``."""
    schedule = defs.resolve_schedule_def("monthly_score_schedule")
    with dg.DagsterInstance.ephemeral() as instance:
        context = dg.build_schedule_context(
            instance=instance, scheduled_execution_time=when, repository_def=defs.get_repository_def()
        )
        (request,) = schedule.evaluate_tick(context).run_requests
    return request.partition_key


def test_schedule_scores_the_previous_month_on_the_20th():
    assert _scheduled_partition(dt.datetime(2024, 7, 20, 6, 0, tzinfo=dt.UTC)) == "2024-06-01"


def test_partitions_reach_the_data_folders_last_month_and_the_schedule_still_scores_the_previous_one(tmp_path):
    for name in ("2026-10", "2027-07", "not-a-month"):
        (tmp_path / "months" / name).mkdir(parents=True)
    assert P.last_data_month(tmp_path) == dt.date(2027, 7, 1)
    assert P.months_ahead(tmp_path, today=dt.date(2026, 12, 7)) == 8  # 2026-11 (last complete) -> 2027-07
    assert P.months_ahead(tmp_path, today=dt.date(2027, 8, 1)) == 0
    assert P.months_ahead(tmp_path / "nothing", today=dt.date(2026, 12, 7)) == 0
    monthly = dg.MonthlyPartitionsDefinition(start_date="2026-08-01", end_offset=8)
    keys = monthly.get_partition_keys(current_time=dt.datetime(2026, 12, 7, tzinfo=dt.UTC))
    assert (keys[0], keys[-1]) == ("2026-08-01", "2027-07-01")
    assert _scheduled_partition(dt.datetime(2026, 12, 20, 6, 0, tzinfo=dt.UTC)) == "2026-11-01"


# ---- materializing real partitions -----------------------------------------------------------


def test_month_rows_equal_the_service_output_and_a_rerun_is_identical(db_url):
    with dg.DagsterInstance.ephemeral() as instance:
        result = materialize(db_url, months=[JUN], instance=instance)
        assert result.success
        first = stored(db_url, [JUN])
        assert_same(first, expected([JUN]))

        materialized = {
            e.asset_key.to_user_string(): e.materialization for e in result.get_asset_materialization_events()
        }
        assert set(materialized) == {"monthly_snapshot", *R.RESULTS}
        for name in R.RESULTS:
            assert materialized[name].metadata["dagster/row_count"].value == first[name].height
        meta = materialized["designations"].metadata
        assert meta["partners scored"].value == 30
        assert meta["rulebook version"].value == "2023-06-12 (2024-06)"
        assert "| score" in meta["score distribution"].md_str
        checks = {c.check_name: c for c in result.get_asset_check_evaluations()}
        assert checks[C.INPUT_VALID].passed
        assert not checks[C.SEATS_WARNING].passed  # the example has active_users > paid_seats
        assert checks[C.SEATS_WARNING].severity == dg.AssetCheckSeverity.WARN
        assert not checks[C.PARTNERS_NAMED].passed  # and partners without a name
        run_1 = R.read_frame(get_engine(db_url), "scored_months")["run_id"].to_list()
        assert run_1 == [result.run_id]

        again = materialize(db_url, months=[JUN], instance=instance)
        assert again.success
        assert_same(stored(db_url, [JUN]), first)
        scored = R.read_frame(get_engine(db_url), "scored_months")
        assert scored["month"].to_list() == [JUN] and scored["run_id"].to_list() == [again.run_id]


def test_broken_month_fails_names_the_problem_and_writes_nothing(db_url, tmp_path):
    with dg.DagsterInstance.ephemeral() as instance:
        assert materialize(db_url, months=[MAY, JUN], instance=instance).success
        before = stored(db_url, [MAY, JUN])
        data = broken_copy(tmp_path)

        result = materialize(db_url, data, months=[JUN], instance=instance)
        assert not result.success
        text = step_failure(result)
        assert text.startswith("2024-06 not scored, nothing written (bad input: 2024-06)")
        assert f"{BAD_FILE}, column 'paid_seats', row 2, value '-5'" in text
        (check,) = result.get_asset_check_evaluations()
        assert (check.check_name, check.passed, check.severity) == (C.INPUT_VALID, False, dg.AssetCheckSeverity.ERROR)
        assert BAD_FILE in check.metadata["error"].md_str
        assert not result.get_asset_materialization_events()

        # the stored months are as they were, 2024-06 included (nothing of it was written)
        assert_same(stored(db_url, [MAY, JUN]), before)
        # a month that does not need 2024-06 still scores from the broken folder
        assert materialize(db_url, data, months=[MAY], instance=instance).success


def test_range_run_reads_each_input_month_once(db_url, monkeypatch):
    reads: list[dt.date] = []
    real = ingest._read_month

    def counting(data_dir, month, tables):
        reads.append(month)
        return real(data_dir, month, tables)

    monkeypatch.setattr(ingest, "_read_month", counting)
    with dg.DagsterInstance.ephemeral() as instance:
        result = materialize(db_url, months=YEAR_2024, instance=instance)
        assert result.success
        assert len(instance.get_runs()) == 1
    assert sorted(reads) == month_range(dt.date(2023, 1, 1), dt.date(2024, 12, 1))  # 24, once each
    partitions = {e.partition for e in result.get_asset_materialization_events() if e.asset_key == S.SNAPSHOT}
    assert partitions == {P.partition_key(m) for m in YEAR_2024}
    assert_same(stored(db_url, YEAR_2024), expected(YEAR_2024))


@pytest.fixture(scope="module")
def thirty_months(tmp_path_factory) -> Path:
    """A generated data folder with 30 months of snapshots, 2023-01..2025-06."""
    from pcs.generate import generate

    out = tmp_path_factory.mktemp("gen") / "data"
    generate(out, partners=40, months=30, start="2023-01", seed=7)
    return out


def test_long_range_is_one_run_reading_each_snapshot_once(thirty_months, tmp_path, monkeypatch):
    reads: list[dt.date] = []
    real = ingest._read_month
    monkeypatch.setattr(ingest, "_read_month", lambda d, m, t: reads.append(m) or real(d, m, t))
    months = month_range(dt.date(2024, 1, 1), dt.date(2025, 6, 1))  # 18 months, 30 snapshots
    url = f"sqlite:///{tmp_path / 'results.sqlite'}"
    try:
        with dg.DagsterInstance.ephemeral() as instance:
            assert materialize(url, thirty_months, months=months, instance=instance).success
            assert len(instance.get_runs()) == 1
        # scored one month at a time in one pass: 2023-01..2025-06, each read once
        assert len(reads) == 30
        assert sorted(set(reads)) == month_range(dt.date(2023, 1, 1), dt.date(2025, 6, 1))
        assert R.months_scored(get_engine(url)) == months
        assert_same(stored(url, months), expected(months, thirty_months))

        # a bad month: the months before it are written and recorded, it and later ones are not
        data = tmp_path / "broken"
        shutil.copytree(thirty_months, data)
        usage = data / "months/2025-03/workload_usage.csv"
        usage.write_text(usage.read_text().replace("\n", "\nT-bad,Exchange,x,1\n", 1))
        fresh = f"sqlite:///{tmp_path / 'fresh.sqlite'}"
        with dg.DagsterInstance.ephemeral() as instance:
            result = materialize(fresh, data, months=months, instance=instance)
            assert not result.success
            text = step_failure(result)
            assert text.startswith("2025-03..2025-06 not scored, nothing written (bad input: 2025-03)")
            assert "months/2025-03/workload_usage.csv, column 'paid_seats', row 1, value 'x'" in text
            assert text.endswith("(scored and written: 2024-01..2025-02)")
            assert R.months_scored(get_engine(fresh)) == months[:14]
            assert_same(stored(fresh, months[:14]), expected(months[:14], thirty_months))
            written = instance.get_materialized_partitions(dg.AssetKey("designations"))
            assert written == {P.partition_key(m) for m in months[:14]}
        dispose_engines(fresh)
    finally:
        dispose_engines(url)


def test_selecting_the_snapshot_only_validates_and_a_result_subset_writes_all(tmp_path):
    url = f"sqlite:///{tmp_path / 'results.sqlite'}"
    data = broken_copy(tmp_path)
    try:
        with dg.DagsterInstance.ephemeral() as instance:
            ok = materialize(url, data, months=[MAY], instance=instance, selection=[S.SNAPSHOT])
            assert ok.success
            (event,) = ok.get_asset_materialization_events()
            assert event.asset_key == S.SNAPSHOT and event.partition == "2024-05-01"
            assert event.materialization.metadata["usage rows"].value == 732
            assert not (tmp_path / "results.sqlite").exists()  # the database is not even opened

            bad = materialize(url, data, months=[JUN], instance=instance, selection=[S.SNAPSHOT])
            assert not bad.success
            assert step_failure(bad).startswith("2024-06: input not valid (bad input: 2024-06)")

            some = materialize(url, months=[JUN], instance=instance, selection=["designations"])
            assert some.success
            assert [e.asset_key.to_user_string() for e in some.get_asset_materialization_events()] == [
                "monthly_snapshot",
                *S.RESULT_ORDER,
            ]  # all written (one transaction), all recorded
            assert_same(stored(url, [JUN]), expected([JUN]))
    finally:
        dispose_engines(url)


# ---- sensors ---------------------------------------------------------------------------------


def _month_folder(data: Path, name: str, fmt: str = "csv", files=("workload_usage", "associations")):
    folder = data / "months" / name
    folder.mkdir(parents=True, exist_ok=True)
    for stem in files:
        (folder / f"{stem}.{fmt}").write_text("x\n")
    return folder


def test_new_month_sensor_requests_new_folders_once(tmp_path):
    data = tmp_path / "data"
    for name in ("2023-12", "2024-01", "2024-02", "2024-03"):  # 2023-12 is not a partition
        _month_folder(data, name)
    _month_folder(data, "2024-05", files=("workload_usage",))  # incomplete: not yet
    res = {"data_folder": DataFolder(path=str(data))}

    result = new_month_sensor(dg.build_sensor_context(resources=res))
    (request,) = result.run_requests  # three consecutive months: one range run
    assert request.partition_key is None
    assert request.partition_key_range == dg.PartitionKeyRange("2024-01-01", "2024-03-01")
    assert request.run_key.startswith("months/2024-01..2024-03@")
    assert result.cursor == "2024-03"

    skipped = new_month_sensor(dg.build_sensor_context(cursor="2024-03", resources=res))
    assert isinstance(skipped, dg.SkipReason)

    _month_folder(data, "2024-05", fmt="parquet", files=("associations",))  # now complete
    result = new_month_sensor(dg.build_sensor_context(cursor="2024-03", resources=res))
    (request,) = result.run_requests
    mtime = max(p.stat().st_mtime_ns for p in [data / "months/2024-05", *(data / "months/2024-05").iterdir()])
    assert (request.partition_key, request.run_key) == ("2024-05-01", f"months/2024-05@{mtime}")
    assert result.cursor == "2024-05"


def test_certifications_sensor_rescores_the_latest_scored_month(tmp_path):
    data = copy_example(tmp_path)
    url = f"sqlite:///{tmp_path / 'results.sqlite'}"
    res = {"data_folder": DataFolder(path=str(data)), "results_db": ResultsDatabase(url=url)}
    try:
        empty = certifications_sensor(dg.build_sensor_context(resources=res))
        assert empty.run_requests == [] and "no month scored" in empty.skip_reason.skip_message

        assert materialize(url, data, months=[MAY, JUN]).success
        # scores newer than the file: nothing to do on the first evaluation
        first = certifications_sensor(dg.build_sensor_context(resources=res))
        assert first.run_requests == [] and first.cursor.startswith("certifications.csv@")
        assert isinstance(
            certifications_sensor(dg.build_sensor_context(cursor=first.cursor, resources=res)),
            dg.SkipReason,
        )

        certs = data / "certifications.csv"
        certs.write_text(certs.read_text())  # changed: a new modification time
        later = time.time() + 5
        os.utime(certs, (later, later))
        result = certifications_sensor(dg.build_sensor_context(cursor=first.cursor, resources=res))
        (request,) = result.run_requests
        assert request.partition_key == "2024-06-01"
        assert request.run_key == f"certifications.csv@{certs.stat().st_mtime_ns}:2024-06"
        assert result.cursor == f"certifications.csv@{certs.stat().st_mtime_ns}"
        (observation,) = result.asset_events
        assert observation.asset_key == S.CERTIFICATIONS
    finally:
        dispose_engines(url)


# ---- pcs backfill ----------------------------------------------------------------------------


def test_pcs_backfill_scores_a_range_in_the_dagster_instance(tmp_path, monkeypatch, capsys):
    home = tmp_path / "dagster_home"
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    url = f"sqlite:///{tmp_path / 'results.sqlite'}"
    try:
        code = cli.main(["backfill", "--from", "2024-01", "--to", "2024-12", "--data", str(EXAMPLE), "--database", url])
        out = capsys.readouterr().out
        assert code == 0, out
        assert "read months/2023-01" in out and "read months/2024-12" in out
        assert out.count("read months/") == 24
        assert "scoring 12 month(s) for 30 partners" in out
        assert "wrote 2024-01: " in out and "wrote 2024-12: " in out and "12/12 month(s) written" in out
        split = re.findall(r"split (2024-\d\d): read ([\d.]+)s, score ([\d.]+)s, write ([\d.]+)s", out)
        assert [m for m, *_ in split] == [f"2024-{i:02d}" for i in range(1, 13)]  # benchmarks/run.py parses these
        assert float(split[0][1]) > 0 and all(float(w) > 0 for *_, w in split)  # 2024-01 waited for 13 snapshots
        # the webhook step after them: each month's events, and the latest month's projections
        assert re.findall(r"webhook events (2024-\d\d): \d+ events", out) == [f"2024-{i:02d}" for i in range(1, 13)]
        assert re.search(r"webhook events: projected \d+ partners from 2024-12 in [\d.]+s", out)
        assert re.search(r"webhook events: projected \d+ partners from 2024-11 in [\d.]+s", out)
        assert R.months_scored(get_engine(url)) == YEAR_2024
        assert (home / "dagster.yaml").read_text() == (PROJECT_ROOT / "orchestration/dagster.yaml").read_text()
        with dg.DagsterInstance.get() as instance:  # the run is in DAGSTER_HOME's instance
            (run,) = instance.get_runs()
            assert run.is_success and run.job_name == JOB_NAME
            assert run.tags["dagster/asset_partition_range_start"] == "2024-01-01"
            assert run.tags["dagster/asset_partition_range_end"] == "2024-12-01"
    finally:
        dispose_engines(url)


def test_pcs_backfill_with_a_broken_month_exits_non_zero_naming_it(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster_home"))
    url = f"sqlite:///{tmp_path / 'results.sqlite'}"
    data = broken_copy(tmp_path)
    spring = month_range(dt.date(2024, 1, 1), MAY)  # does not need 2024-06
    try:
        assert (
            cli.main(["backfill", "--from", "2024-01", "--to", "2024-05", "--data", str(data), "--database", url]) == 0
        )
        before = stored(url, spring)
        capsys.readouterr()

        code = cli.main(["backfill", "--from", "2024-01", "--to", "2024-12", "--data", str(data), "--database", url])
        err = capsys.readouterr().err
        assert code == 1
        assert "pcs backfill: run " in err
        assert "; not scored: 2024-06..2024-12; scored and written: 2024-01..2024-05" in err
        assert "2024-06..2024-12 not scored, nothing written (bad input: 2024-06)" in err
        assert f"{BAD_FILE}, column 'paid_seats', row 2, value '-5': must be an integer >= 0" in err
        assert R.months_scored(get_engine(url)) == spring
        assert_same(stored(url, spring), before)

        assert cli.main(["backfill", "--from", "2023-06", "--to", "2024-01", "--database", url]) == 2
        assert "2023-06..2023-12 not a monthly partition" in capsys.readouterr().err
    finally:
        dispose_engines(url)


# ---- Dagster's command line and webserver ----------------------------------------------------


def _env(tmp_path: Path, url: str) -> dict[str, str]:
    home = dagster_home(tmp_path)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PCS_", "DAGSTER_"))}
    return env | {"PCS_DATA_DIR": str(EXAMPLE), "PCS_DATABASE_URL": url, "DAGSTER_HOME": str(home)}


def _bin(name: str) -> str:
    return str(Path(sys.executable).parent / name)


def test_dagster_asset_materialize_command_scores_a_month(tmp_path):
    url = f"sqlite:///{tmp_path / 'results.sqlite'}"
    proc = subprocess.run(
        [_bin("dagster"), "asset", "materialize", "-m", "orchestration.definitions",
         "--select", "*", "--partition", "2024-06-01"],
        cwd=PROJECT_ROOT, env=_env(tmp_path, url), capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "RUN_SUCCESS" in proc.stderr
    try:
        assert_same(stored(url, [JUN]), expected([JUN]))
    finally:
        dispose_engines(url)


def test_webserver_serves_the_workspace(tmp_path):
    port = free_port()
    proc = subprocess.Popen(
        [_bin("dagster-webserver"), "-w", "workspace.yaml", "-h", "127.0.0.1", "-p", str(port)],
        cwd=PROJECT_ROOT, env=_env(tmp_path, f"sqlite:///{tmp_path / 'r.sqlite'}"),
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            assert proc.poll() is None, proc.stderr.read().decode()[-3000:]
            try:
                if httpx.get(f"{base}/server_info", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "webserver did not answer in 90 s"
            time.sleep(0.5)
        query = (
            "{ workspaceOrError { ... on Workspace { locationEntries { name locationOrLoadError { __typename } } } } }"
        )
        entries = httpx.post(f"{base}/graphql", json={"query": query}, timeout=30).json()
        (entry,) = entries["data"]["workspaceOrError"]["locationEntries"]
        assert entry == {"name": "pcs", "locationOrLoadError": {"__typename": "RepositoryLocation"}}
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
