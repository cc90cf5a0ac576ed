"""The production deployment of deploy/, run for real: ``deploy/dagster.yaml`` as the instance of
a temporary ``DAGSTER_HOME`` with Dagster's storage in a fresh PostgreSQL database, runs
enqueued with ``dagster job launch`` and started by a real ``dagster-daemon`` (queued run
coordinator, default run launcher, multiprocess executors), scoring into a fresh PostgreSQL
results database; then ``pcs serve --workers 2`` answering from those results on one port.

(``tests/graphql_api/test_tokens.py::test_pcs_serve_with_two_workers`` covers the API command line itself
on SQLite; here it is the production pairing: several workers over the pipeline's PostgreSQL.)
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import dagster as dg
import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from orchestration.automation import JOB_NAME
from orchestration.parallel import JOB_NAME as PARALLEL_JOB_NAME
from storage import results as R
from storage.engines import dispose_engines, get_engine
from tests.support.dagster_runs import assert_same, expected, stored
from tests.support.inputs import EXAMPLE
from tests.support.paths import PROJECT_ROOT
from tests.support.ports import free_port

DEPLOY = PROJECT_ROOT / "deploy"
APR, MAY, JUN = dt.date(2024, 4, 1), dt.date(2024, 5, 1), dt.date(2024, 6, 1)
BIN = Path(sys.executable).parent

pytestmark = pytest.mark.skipif(not EXAMPLE.exists(), reason="shared/examples/small is not beside the project")


@pytest.fixture
def production(pg_server, tmp_path, monkeypatch):
    """DAGSTER_HOME with deploy/dagster.yaml, Dagster's and the results' PostgreSQL databases
    (fresh, dropped afterwards), and the environment deploy/README.md describes."""
    if pg_server.error:
        pytest.skip(pg_server.error)
    dagster_db = pg_server.create("pcs_test_dagster")
    results_db = pg_server.create("pcs_test_results")
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copyfile(DEPLOY / "dagster.yaml", home / "dagster.yaml")
    # dagster-postgres needs psycopg2 (SQLAlchemy 2.1's default for postgresql:// is psycopg 3)
    dagster_url = make_url(dagster_db).set(drivername="postgresql+psycopg2").render_as_string(hide_password=False)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PCS_", "DAGSTER_"))}
    env |= {
        "DAGSTER_HOME": str(home),
        "DAGSTER_PG_URL": dagster_url,
        "PCS_DATABASE_URL": results_db,
        "PCS_DATA_DIR": str(EXAMPLE),
        "PCS_ADMIN_TOKEN": "prod-admin",
    }
    for k in [k for k in os.environ if k.startswith(("PCS_", "DAGSTER_"))]:
        monkeypatch.delenv(k)
    for k, v in env.items():
        if k.startswith(("PCS_", "DAGSTER_")):
            monkeypatch.setenv(k, v)
    try:
        yield {"home": home, "env": env, "dagster_db": dagster_db, "results_db": results_db}
    finally:
        dispose_engines(results_db)
        for url in (dagster_db, results_db):
            pg_server.drop(url)


class _Process:
    """A command in its own process group, stopped (group-wide) at the end."""

    def __init__(self, args: list[str], env: dict, log: Path):
        self.log = log
        self._out = log.open("wb")
        self.proc = subprocess.Popen(args, cwd=PROJECT_ROOT, env=env, stdout=self._out,
                                     stderr=subprocess.STDOUT, start_new_session=True)  # fmt: skip

    def tail(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]

    def alive(self) -> bool:
        return self.proc.poll() is None

    def stop(self) -> None:
        if self.alive():
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self._out.close()


def _launch(env: dict, job: str, tags: dict, config: Path | None = None) -> str:
    run_id = str(uuid.uuid4())
    args = [str(BIN / "dagster"), "job", "launch", "-w", "workspace.yaml", "-j", job,
            "--run-id", run_id, "--tags", json.dumps(tags)]  # fmt: skip
    if config is not None:
        args += ["-c", str(config)]
    out = subprocess.run(args, cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=180)
    assert out.returncode == 0, out.stderr[-3000:]
    return run_id


def test_deploy_config_runs_the_pipeline_into_postgresql_and_the_api_serves_it(production, tmp_path):
    env, home = production["env"], production["home"]

    # the instance deploy/dagster.yaml describes
    with dg.DagsterInstance.get() as instance:
        assert type(instance.run_storage).__name__ == "PostgresRunStorage"
        assert type(instance.event_log_storage).__name__ == "PostgresEventLogStorage"
        assert type(instance.schedule_storage).__name__ == "PostgresScheduleStorage"
        assert type(instance.run_coordinator).__name__ == "QueuedRunCoordinator"
        assert type(instance.run_launcher).__name__ == "DefaultRunLauncher"
        concurrency = instance.get_concurrency_config()
        assert concurrency.run_queue_config.max_concurrent_runs == 2
        assert concurrency.pool_config.default_pool_limit == 2
        assert instance.run_monitoring_enabled and instance.run_retries_enabled

    # two runs enqueued (nothing runs them yet), then started by the daemon: June by the asset
    # job (one run, its multiprocess executor); April and May by the parallel job, one step per
    # month with the executor concurrency of deploy/run_config.parallel.yaml
    june = _launch(env, JOB_NAME, {"dagster/partition": "2024-06-01"})
    spring = _launch(env, PARALLEL_JOB_NAME, {"dagster/asset_partition_range_start": "2024-04-01",
                                              "dagster/asset_partition_range_end": "2024-05-01"},
                     DEPLOY / "run_config.parallel.yaml")  # fmt: skip
    with dg.DagsterInstance.get() as instance:
        assert {instance.get_run_by_id(r).status for r in (june, spring)} == {dg.DagsterRunStatus.QUEUED}

    daemon = _Process([str(BIN / "dagster-daemon"), "run", "-w", "workspace.yaml"], env, tmp_path / "daemon.log")
    try:
        deadline = time.monotonic() + 420
        with dg.DagsterInstance.get() as instance:
            while True:
                statuses = {r: instance.get_run_by_id(r).status for r in (june, spring)}
                if all(s in (dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.FAILURE) for s in statuses.values()):
                    break
                assert daemon.alive(), daemon.tail()
                assert time.monotonic() < deadline, f"runs not done: {statuses}\n{daemon.tail()}"
                time.sleep(1)
    finally:
        daemon.stop()
    assert set(statuses.values()) == {dg.DagsterRunStatus.SUCCESS}, daemon.tail()

    # the runs and their events are in Dagster's PostgreSQL database, not in SQLite files
    assert not list(home.rglob("*.db")), list(home.rglob("*.db"))
    dagster_engine = sa.create_engine(production["dagster_db"])
    try:
        with dagster_engine.connect() as c:
            runs = dict(c.exec_driver_sql("SELECT run_id, status FROM runs").all())
            assert runs == {june: "SUCCESS", spring: "SUCCESS"}
            events = {
                (run, kind): n
                for run, kind, n in c.exec_driver_sql(
                    "SELECT run_id, dagster_event_type, count(*) FROM event_logs "
                    "WHERE dagster_event_type IS NOT NULL GROUP BY 1, 2"
                )
            }
            for run in (june, spring):
                for kind in ("PIPELINE_ENQUEUED", "PIPELINE_STARTING", "PIPELINE_START",
                             "PIPELINE_SUCCESS", "STEP_SUCCESS"):  # fmt: skip
                    assert events.get((run, kind)), (run, kind)
            # June: the snapshot, the six result assets and the webhook events; April and May:
            # the same per month
            assert events[(june, "ASSET_MATERIALIZATION")] == 1 + len(R.RESULTS) + 1
            assert events[(spring, "ASSET_MATERIALIZATION")] == 2 * (1 + len(R.RESULTS) + 1)
            materialized = set(
                c.exec_driver_sql(
                    "SELECT DISTINCT partition FROM event_logs "
                    "WHERE dagster_event_type = 'ASSET_MATERIALIZATION' AND asset_key = %s",
                    ('["designations"]',),
                ).scalars()
            )
            assert materialized == {"2024-04-01", "2024-05-01", "2024-06-01"}
            # the asset job's step ran in the results_db pool, whose limit deploy/dagster.yaml set
            pools = {
                key: (limit, default)
                for key, limit, default in c.exec_driver_sql(
                    'SELECT concurrency_key, "limit", using_default_limit FROM concurrency_limits'
                )
            }
            assert pools == {"results_db": (2, True)}, pools
    finally:
        dagster_engine.dispose()

    # the scores are in the PostgreSQL results database, exactly as the scoring computes them
    results = production["results_db"]
    assert R.months_scored(get_engine(results)) == [APR, MAY, JUN]
    for month in (APR, MAY, JUN):
        assert_same(stored(results, [month]), expected([month]))

    # the API over them: two uvicorn workers behind one port
    port = free_port()
    server = _Process([str(BIN / "pcs"), "serve", "--host", "127.0.0.1", "--port", str(port),
                       "--workers", "2", "--log-level", "warning"], env, tmp_path / "serve.log")  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            assert server.alive(), server.tail()
            try:
                if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, f"pcs serve did not answer\n{server.tail()}"
            time.sleep(0.3)
        workers = _children(server.proc.pid)
        assert len(workers) == 2, (workers, server.tail())
        auth = {"Authorization": "Bearer prod-admin"}
        query = '{ months designations(month: "2024-06", first: 1) { totalCount } }'
        want_total = expected([JUN])["designations"].height
        for _ in range(6):  # a new connection each time: the kernel spreads them over the workers
            with httpx.Client(base_url=base, headers=auth, timeout=30) as client:
                data = client.post("/graphql", json={"query": query}).json()["data"]
            assert data["months"] == ["2024-04", "2024-05", "2024-06"]
            assert data["designations"]["totalCount"] == want_total
        assert _children(server.proc.pid) == workers  # both still up
    finally:
        server.stop()


def _children(pid: int) -> list[int]:
    """The worker processes of uvicorn (the children of ``pid`` running Python code)."""
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            cmdline = (stat.parent / "cmdline").read_bytes()
        except OSError:
            continue
        if int(fields[1]) == pid and b"multiprocessing" in cmdline and b"resource_tracker" not in cmdline:
            out.append(int(stat.parent.name))
    return sorted(out)
