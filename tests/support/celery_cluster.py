"""Celery workers on separate hosts (``tests.support.hosts``) for the distributed tests.

``Cluster.make`` sets up, for one test: a RabbitMQ virtual host of its own (``rabbitmqctl``;
deleted afterwards, with its queues), Dagster's storage in a new PostgreSQL database and the
results in another (dropped afterwards), a ``DAGSTER_HOME`` with ``deploy/dagster.yaml`` for the
run's host (the test process), and the hosts, whose ``pcs worker`` processes ``start_workers``
starts. Every URL names the network's gateway, which every host and the test process reach. The
hosts see none of the test's temporary files (``DAGSTER_HOME`` included): a step's outputs must
travel through Dagster's storage, as between machines."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.engine import make_url

from tests.support.hosts import Host, Network
from tests.support.paths import PROJECT_ROOT

BIN = Path(sys.executable).parent
READY_SECONDS = 120


def rabbitmq_error() -> str | None:
    """Why the tests cannot use this machine's RabbitMQ (None: they can)."""
    if shutil.which("rabbitmqctl") is None:
        return "rabbitmqctl is not installed (RabbitMQ is needed for the Celery tests)"
    try:
        socket.create_connection(("127.0.0.1", 5672), timeout=3).close()
    except OSError as exc:
        return f"RabbitMQ is not listening on 127.0.0.1:5672: {exc}"
    return None


def _rabbitmqctl(*args: str) -> None:
    out = subprocess.run(["rabbitmqctl", *args], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, f"rabbitmqctl {' '.join(args)}: {out.stdout}{out.stderr}"


@contextlib.contextmanager
def rabbitmq_vhost() -> Iterator[str]:
    """A new virtual host, ``guest`` allowed on it; deleted (queues and messages too) at the end."""
    name = f"pcs-test-{uuid.uuid4().hex[:10]}"
    _rabbitmqctl("add_vhost", name)
    try:
        _rabbitmqctl("set_permissions", "-p", name, "guest", ".*", ".*", ".*")
        yield name
    finally:
        _rabbitmqctl("delete_vhost", name)


def _on(url: str, host: str) -> str:
    return make_url(url).set(host=host).render_as_string(hide_password=False)


@dataclass
class Cluster:
    network: Network
    home: Path  # DAGSTER_HOME of the run's host (the test process)
    env: dict[str, str]  # PCS_* and DAGSTER_* of every process, URLs on the gateway
    results_url: str
    log_dir: Path
    workers: dict[str, subprocess.Popen] = field(default_factory=dict)

    @classmethod
    @contextlib.contextmanager
    def make(cls, pg_server, tmp_path: Path, *, hosts: int, data: Path, hidden: Path) -> Iterator[Cluster]:
        """``hidden``: what the hosts must not see (the test session's temporary folder)."""
        dagster_db = pg_server.create("pcs_test_dagster")
        results_db = pg_server.create("pcs_test_results")
        home = tmp_path / "dagster_home"
        home.mkdir()
        shutil.copyfile(PROJECT_ROOT / "deploy" / "dagster.yaml", home / "dagster.yaml")
        log_dir = tmp_path / "logs"
        log_dir.mkdir()
        try:
            with rabbitmq_vhost() as vhost, Network.make(hosts, hidden=[hidden], log_dir=log_dir) as net:
                gw = net.gateway
                env = {
                    # dagster-postgres needs psycopg2 (deploy/README.md)
                    "DAGSTER_PG_URL": _on(
                        make_url(dagster_db)
                        .set(drivername="postgresql+psycopg2")
                        .render_as_string(hide_password=False),
                        gw,
                    ),  # fmt: skip
                    "PCS_CELERY_BROKER": f"amqp://guest:guest@{gw}:5672/{vhost}",
                    "PCS_DATABASE_URL": _on(results_db, gw),
                    "PCS_DATA_DIR": str(data),
                }
                yield cls(net, home, env, env["PCS_DATABASE_URL"], log_dir)
        finally:
            for url in (dagster_db, results_db):
                pg_server.drop(url)

    def worker_env(self) -> dict[str, str]:
        """A host's environment: this one without the test's PCS_*/DAGSTER_* (no DAGSTER_HOME:
        the instance comes with each step), the cluster's, and the project folder on the path
        (the test-only jobs of ``tests.support``)."""
        base = {k: v for k, v in os.environ.items() if not k.startswith(("PCS_", "DAGSTER_", "PYTEST_"))}
        return {**base, **self.env, "PYTHONPATH": str(PROJECT_ROOT)}

    def start_workers(self, concurrency: int = 1) -> None:
        """``pcs worker`` on every host, each ready (connected to the broker) on return."""
        for host in self.network.hosts:
            log = self.log_dir / f"{host.name}.log"
            args = [str(BIN / "pcs"), "worker", "--concurrency", str(concurrency), "--name", host.name]
            self.workers[host.name] = host.popen(args, env=self.worker_env(), log=log)
        deadline = time.monotonic() + READY_SECONDS
        for host in self.network.hosts:
            while f"{self.node(host)} ready." not in self.log(host):
                assert self.workers[host.name].poll() is None, self.log(host)
                assert time.monotonic() < deadline, f"{host.name}: no worker ready\n{self.log(host)}"
                time.sleep(0.2)

    def node(self, host: Host) -> str:
        """The Celery node name of the host's worker: ``host1@host1`` (its own hostname), or
        ``host1@<this machine>`` without namespaces."""
        return f"{host.name}@{host.name if self.network.isolated else socket.gethostname()}"

    def log(self, host: Host) -> str:
        return (self.log_dir / f"{host.name}.log").read_text(errors="replace")

    def logs(self) -> str:
        return "\n".join(f"---- {h.name}\n{self.log(h)[-6000:]}" for h in self.network.hosts)
