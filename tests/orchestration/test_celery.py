"""``score_months_parallel_job`` on Dagster's Celery executor, with ``pcs worker`` processes as
separate hosts (``tests.support.hosts``: a network namespace each, reaching RabbitMQ and
PostgreSQL over a bridge, seeing none of the test's files but the input folder), a RabbitMQ
virtual host and PostgreSQL databases of their own per test (``tests.support.celery_cluster``).

Each run is compared, table by table (``tests.support.tables``), with ``pcs backfill`` run in one
process over the same months into SQLite. A worker killed mid-step (the whole host, or only the
step's process, as the OOM killer would) is held at a gate (``tests.support.gate``) until the test
has killed it: the step runs again on a worker still alive and the run completes, identical."""

from __future__ import annotations

import _thread
import datetime as dt
import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import dagster as dg
import pytest
import sqlalchemy as sa
import yaml

from orchestration import executors, parallel
from orchestration.definitions import defs
from pcs import cli
from pcs.settings import DEFAULT_CELERY_BROKER, Settings
from scoring.calendar import month_range
from storage.engines import dispose_engines, get_engine
from tests.support import gate as G
from tests.support.celery_cluster import Cluster, rabbitmq_error
from tests.support.dagster_runs import dagster_home
from tests.support.hosts import Network
from tests.support.paths import EXAMPLE_2026, EXAMPLE_DATA, PROJECT_ROOT
from tests.support.tables import fingerprint

BIN = Path(sys.executable).parent
DATA_2026 = EXAMPLE_2026 / "data"
RUN_SECONDS = 600

needs_example = pytest.mark.skipif(not EXAMPLE_DATA.exists(), reason="shared/examples/small is not beside the project")


def comparable(url: str) -> dict:
    """Every table but the webhook outbox's (its events carry their creation time), run ids and
    times aside; the outbox's event ids."""
    engine = get_engine(url)
    try:
        tables = {k: v for k, v in fingerprint(engine, volatile=False).items() if not k.startswith("webhook_")}
        with engine.connect() as c:
            tables["webhook_event ids"] = sorted(c.execute(sa.text("SELECT id FROM webhook_event")).scalars())
        return tables
    finally:
        dispose_engines(url)


_references: dict[tuple[str, str, str], dict] = {}


def reference(data: Path, first: str, last: str, tmp_path_factory) -> dict:
    """The months through ``pcs backfill`` in one process (one run of the asset job), into SQLite."""
    key = (str(data), first, last)
    if key not in _references:
        folder = tmp_path_factory.mktemp("reference")
        url = f"sqlite:///{folder / 'reference.sqlite'}"
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PCS_", "DAGSTER_"))} | {
            "PCS_DATA_DIR": str(data),  # partitions reach the folder's last month
            "DAGSTER_HOME": str(dagster_home(folder)),
        }
        out = subprocess.run(
            [str(BIN / "pcs"), "backfill", "--from", first, "--to", last, "--data", str(data), "--database", url],
            cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=600,
        )  # fmt: skip
        assert out.returncode == 0, (out.stdout + out.stderr)[-3000:]
        _references[key] = comparable(url)
    return _references[key]


@pytest.fixture
def make_cluster(pg_server, tmp_path, tmp_path_factory, monkeypatch):
    """``make_cluster(data)``: a cluster of two hosts for ``data`` (``Cluster.make``), its
    environment also this process's (the run's host)."""
    if pg_server.error:
        pytest.skip(pg_server.error)
    if rabbitmq_error():
        pytest.skip(rabbitmq_error())
    stack = []

    def make(data: Path) -> Cluster:
        cm = Cluster.make(pg_server, tmp_path, hosts=2, data=data, hidden=tmp_path_factory.getbasetemp())
        cluster = cm.__enter__()
        stack.append(cm)
        for k in [k for k in os.environ if k.startswith(("PCS_", "DAGSTER_"))]:
            monkeypatch.delenv(k)
        for k, v in {**cluster.env, "DAGSTER_HOME": str(cluster.home)}.items():
            monkeypatch.setenv(k, v)
        return cluster

    yield make
    for cm in reversed(stack):
        cm.__exit__(None, None, None)


def executed_on(instance: dg.DagsterInstance, run_id: str) -> list[tuple[str, str]]:
    """(step key, Celery worker) of every "Executing steps ... in celery worker" event, in order."""
    out = []
    for record in instance.all_logs(run_id, of_type=dg.DagsterEventType.ENGINE_EVENT):
        metadata = record.dagster_event.event_specific_data.metadata
        if "Celery worker" in metadata:
            out.append((record.step_key, metadata["Celery worker"].value))
    return out


def count(instance: dg.DagsterInstance, run_id: str, kind: dg.DagsterEventType, step_key: str) -> int:
    return sum(1 for r in instance.all_logs(run_id, of_type=kind) if r.step_key == step_key)


# ---- the hosts -------------------------------------------------------------------------------


def test_the_hosts_are_separate_and_reach_the_servers_only_over_the_network(tmp_path, tmp_path_factory):
    probe = (
        "import json, os, socket, sys\n"
        "def reach(host, port):\n"
        "    try:\n"
        "        socket.create_connection((host, port), timeout=5).close(); return True\n"
        "    except OSError:\n"
        "        return False\n"
        "print(json.dumps({'host': socket.gethostname(), 'hidden': os.listdir(sys.argv[1]),\n"
        "    'loopback': reach('127.0.0.1', 5432), 'gateway': reach(sys.argv[2], 5432),\n"
        "    'data': sorted(os.listdir(sys.argv[3]))}))\n"
    )
    hidden = tmp_path_factory.getbasetemp()
    (tmp_path / "secret").write_text("the test's own file")
    with Network.make(2, hidden=[hidden], log_dir=tmp_path) as net:
        if not net.isolated:
            pytest.skip(f"workers run as plain processes: {net.why_not}")
        seen = []
        for host in net.hosts:
            log = tmp_path / f"{host.name}.out"
            proc = host.popen([sys.executable, "-c", probe, str(hidden), net.gateway, str(EXAMPLE_DATA)],
                              env=dict(os.environ), log=log)  # fmt: skip
            assert proc.wait(timeout=60) == 0, log.read_text()
            seen.append(json.loads(log.read_text().splitlines()[-1]))
        addresses = [h.address for h in net.hosts]
    assert [s["host"] for s in seen] == ["host1", "host2"]
    assert len(set(addresses)) == 2 and net.gateway not in addresses
    for s in seen:
        assert s["hidden"] == []  # none of the test's files (DAGSTER_HOME among them)
        assert not s["loopback"] and s["gateway"]  # PostgreSQL only over the network
        assert s["data"] == sorted(os.listdir(EXAMPLE_DATA))  # the input folder is shared


# ---- configuration ---------------------------------------------------------------------------


def test_the_broker_setting_and_the_late_acknowledgement_of_both_sides():
    assert Settings.from_env({}).celery_broker == DEFAULT_CELERY_BROKER == "amqp://guest:guest@127.0.0.1:5672//"
    assert Settings.from_env({"PCS_CELERY_BROKER": "redis://r:6379/0"}).celery_broker == "redis://r:6379/0"
    assert (
        Settings.from_env({"PCS_CELERY_BROKER": "redis://r:6379/0"}).to_env()["PCS_CELERY_BROKER"] == "redis://r:6379/0"
    )

    # the executor of a run with `execution: {config: {celery: {}}}`, as the UI launches it
    job = defs.resolve_job_def(parallel.JOB_NAME)
    config = dg.validate_run_config(job, parallel.run_config(first=dt.date(2024, 6, 1), executor="celery"))
    init = dg.InitExecutorContext(
        job=dg.reconstructable(G.gated_job), executor_def=job.executor_def,
        executor_config=config["execution"][executors.EXECUTOR_NAME], instance=dg.DagsterInstance.ephemeral(),
    )  # fmt: skip
    executor = job.executor_def.executor_creation_fn(init)
    assert type(executor).__name__ == "CeleryExecutor"
    assert executor.broker == DEFAULT_CELERY_BROKER and executor.backend == "rpc://"
    settings = vars(executor.config_source)
    assert {k: settings[k] for k in executors.LATE_ACK} == executors.LATE_ACK
    assert settings["task_acks_late"] and settings["task_reject_on_worker_lost"]
    assert settings["worker_prefetch_multiplier"] == 1

    # the workers' app: the same settings, the step task registered and acknowledged late
    app = executors.worker_app("amqp://guest:guest@db.example:5672/pcs")
    assert app.conf.broker_url == "amqp://guest:guest@db.example:5672/pcs"
    assert app.conf.result_backend == "rpc://"
    assert app.conf.task_acks_late and app.conf.task_reject_on_worker_lost
    assert app.conf.worker_prefetch_multiplier == 1 and app.conf.worker_max_tasks_per_child == 1
    task = app.tasks["execute_plan"]
    assert task.acks_late and task.reject_on_worker_lost
    assert [q.name for q in app.conf.task_queues] == [executors.QUEUE]

    # the deploy file launches the same config
    run = yaml.safe_load((PROJECT_ROOT / "deploy" / "run_config.celery.yaml").read_text())
    assert dg.validate_run_config(job, run)["execution"][executors.EXECUTOR_NAME] == {
        "celery": {"backend": "rpc://", "retries": {"enabled": {}}}
    }
    with pytest.raises(ValueError, match="Celery workers set their own"):
        executors.run_config("celery", max_concurrent=2)


def test_pcs_backfill_on_celery_refuses_what_cannot_reach_the_workers(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("DAGSTER_HOME", str(dagster_home(tmp_path)))  # SQLite files: not shared
    months = ["backfill", "--from", "2024-06", "--data", str(EXAMPLE_DATA)]
    assert cli.main([*months, "--executor", "celery", "--parallel", "2"]) == 2
    assert "Celery workers set their own" in capsys.readouterr().err
    assert cli.main([*months, "--executor", "celery", "--database", "postgresql://u:secret@db/pcs"]) == 2
    assert "a database URL with a password is not sent to Celery workers" in capsys.readouterr().err
    assert cli.main([*months, "--executor", "celery", "--database", f"sqlite:///{tmp_path / 'r.sqlite'}"]) == 2
    assert "needs a Dagster instance whose run and event storage the workers share" in capsys.readouterr().err


# ---- the example data on two hosts -----------------------------------------------------------


@needs_example
def test_pcs_backfill_on_two_celery_hosts_equals_the_single_process_run(make_cluster, tmp_path_factory):
    want = reference(EXAMPLE_DATA, "2024-07", "2024-12", tmp_path_factory)
    cluster = make_cluster(EXAMPLE_DATA)
    cluster.start_workers()
    out = subprocess.run(
        [str(BIN / "pcs"), "backfill", "--from", "2024-07", "--to", "2024-12", "--data", str(EXAMPLE_DATA),
         "--executor", "celery"],
        cwd=PROJECT_ROOT, env=os.environ.copy(), capture_output=True, text=True, timeout=RUN_SECONDS,
    )  # fmt: skip
    assert out.returncode == 0, out.stdout + out.stderr + cluster.logs()
    assert "6 month(s) in parallel on Celery workers" in out.stdout
    assert "DuplicateTaskNameWarning" not in out.stderr

    with dg.DagsterInstance.get() as instance:
        (run,) = instance.get_runs()
        ran = executed_on(instance, run.run_id)
    steps = {
        "plan_months",
        "summarise_months",
        *(f"score_month[{m:%Y_%m}]" for m in month_range(dt.date(2024, 7, 1), dt.date(2024, 12, 1))),
    }
    assert sorted(k for k, _ in ran) == sorted(steps)  # each step once, each on a worker
    assert {w for _, w in ran} == {cluster.node(h) for h in cluster.network.hosts}  # on both hosts
    assert comparable(cluster.results_url) == want


@pytest.mark.skipif(not DATA_2026.exists(), reason="shared/examples/small-2026 is not beside the project")
def test_a_run_launched_with_celery_run_config_like_the_ui_equals_the_single_process_run(
    make_cluster, tmp_path_factory
):
    """``dagster job launch`` with ``deploy/run_config.celery.yaml`` (what the UI's Launchpad
    sends), started by a real ``dagster-daemon``: the run's process loads the job from the code
    location and the workers rebuild it from there; six months across the 2026 revision."""
    want = reference(DATA_2026, "2026-08", "2027-01", tmp_path_factory)
    cluster = make_cluster(DATA_2026)
    cluster.start_workers()
    run_id = str(uuid.uuid4())
    tags = '{"dagster/asset_partition_range_start": "2026-08-01", "dagster/asset_partition_range_end": "2027-01-01"}'
    launch = subprocess.run(
        [str(BIN / "dagster"), "job", "launch", "-w", "workspace.yaml", "-j", parallel.JOB_NAME, "--run-id", run_id,
         "-c", "deploy/run_config.celery.yaml", "--tags", tags],
        cwd=PROJECT_ROOT, env=os.environ.copy(), capture_output=True, text=True, timeout=180,
    )  # fmt: skip
    assert launch.returncode == 0, launch.stderr[-3000:]
    log = (cluster.log_dir / "daemon.log").open("wb")
    daemon = subprocess.Popen([str(BIN / "dagster-daemon"), "run", "-w", "workspace.yaml"], cwd=PROJECT_ROOT,
                              env=os.environ.copy(), stdout=log, stderr=subprocess.STDOUT, start_new_session=True)  # fmt: skip
    try:
        deadline = time.monotonic() + RUN_SECONDS
        with dg.DagsterInstance.get() as instance:
            while not (run := instance.get_run_by_id(run_id)).is_finished:
                assert daemon.poll() is None, (cluster.log_dir / "daemon.log").read_text()[-3000:]
                assert time.monotonic() < deadline, f"run {run.status}\n{cluster.logs()}"
                time.sleep(1)
            ran = executed_on(instance, run_id)
    finally:
        os.killpg(daemon.pid, signal.SIGTERM)
        daemon.wait(timeout=60)
        log.close()
    assert run.is_success, cluster.logs()
    assert len(ran) == 8 and {w for _, w in ran} <= {cluster.node(h) for h in cluster.network.hosts}
    assert comparable(cluster.results_url) == want


# ---- a worker killed mid-step ----------------------------------------------------------------


@needs_example
@pytest.mark.parametrize("kill", ["host", "step process"])
def test_a_worker_killed_mid_step_has_the_step_run_again_on_another(kill, make_cluster, tmp_path_factory):
    """The first ``score_month`` step to start is held at the gate; the test kills it, either
    the whole worker host (every process in its namespace: its broker connection closes with
    the message unacknowledged) or only the step's process under a live worker (the worker
    rejects the message back to the queue). The step is delivered again and run through."""
    want = reference(EXAMPLE_DATA, "2024-04", "2024-06", tmp_path_factory)
    cluster = make_cluster(EXAMPLE_DATA)
    cluster.start_workers()
    gate = G.Gate(cluster.network.gateway)
    killed: dict = {}

    def killer() -> None:
        try:
            held = gate.held.get(timeout=RUN_SECONDS)
        except Exception:  # nothing reached the gate: the run fails on its own
            return
        killed["arrival"] = held
        (killed["host"],) = [h for h in cluster.network.hosts if held.pid in h.pids()]
        if kill == "host":
            killed["pids"] = killed["host"].kill()
        else:
            os.kill(held.pid, signal.SIGKILL)
            killed["pids"] = [held.pid]

    threading.Thread(target=killer, daemon=True).start()
    watchdog = threading.Timer(RUN_SECONDS, _thread.interrupt_main)  # a hung run fails the test
    watchdog.start()
    months = {"first": dt.date(2024, 4, 1), "last": dt.date(2024, 6, 1), "data": str(EXAMPLE_DATA)}
    try:
        with dg.DagsterInstance.get() as instance:
            try:
                result = dg.execute_job(
                    dg.reconstructable(G.gated_job), instance=instance,
                    run_config=G.run_config(gate, executor="celery", database=cluster.results_url, **months),
                )  # fmt: skip
            except KeyboardInterrupt:
                pytest.fail(f"the run did not end within {RUN_SECONDS}s\n{cluster.logs()}")
            ran = executed_on(instance, result.run_id)
            held = killed["arrival"]
            starts = count(instance, result.run_id, dg.DagsterEventType.STEP_START, held.step_key)
            successes = count(instance, result.run_id, dg.DagsterEventType.STEP_SUCCESS, held.step_key)
    finally:
        watchdog.cancel()
        gate.close()
    assert result.success, cluster.logs()

    # the held step: started on one worker, killed there, delivered again and run to its end
    again = [a for a in gate.arrivals if a.step_key == held.step_key]
    assert len(again) == 2 and again[0] == held and again[1].pid != held.pid
    on = [w for k, w in ran if k == held.step_key]
    assert len(on) == 2 and starts == 2 and successes == 1
    if kill == "host":
        assert held.pid in killed["pids"] and not killed["host"].pids()
        survivor = {cluster.node(h) for h in cluster.network.hosts if h is not killed["host"]}
        assert on[0] == cluster.node(killed["host"]) and {on[1]} == survivor
    else:  # the worker saw its step process die and put the message back
        log = cluster.log(killed["host"])
        assert f"pid:{held.pid} exited with 'signal 9 (SIGKILL)'" in log
        assert "WorkerLostError" in log and on[0] == cluster.node(killed["host"])
    assert comparable(cluster.results_url) == want
