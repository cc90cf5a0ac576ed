"""Holding a step mid-step until the test has killed its worker, without sleeping.

``Gate`` is a TCP server of the test process. ``gated_parallel_job`` is ``score_months_parallel_job``
with ``score_month`` replaced by an op of the same name that, once Dagster has started the step
(STEP_START logged, inputs loaded), reports to the gate (``step_key host pid``) and waits for its
answer before running the real ``score_month`` body. The gate holds the first report it gets
unanswered (that step blocks until its process dies) and answers ``go`` to every later one (the
other steps, and the held step run again elsewhere). The test learns from ``Gate.held`` which
host and process to kill. The job is rebuilt by the Celery workers from this module
(``gated_job``), which they import from the project folder (``PYTHONPATH``)."""

import os
import queue
import socket
import socketserver
import threading
from dataclasses import dataclass

import dagster as dg

from orchestration import executors, parallel
from orchestration.definitions import RESOURCES
from orchestration.outputs import IO_MANAGER_KEY
from orchestration.resources import DataFolder, ResultsDatabase

JOB_NAME = "gated_parallel_job"
HOLD_SECONDS = 600  # a held step is released (and fails) after this, should the test not kill it


@dataclass(frozen=True)
class Arrival:
    step_key: str
    host: str
    pid: int


class Gate:
    """The gate server on ``address`` (an address the hosts reach); ``held`` gets the first
    arrival, ``arrivals`` lists them all."""

    def __init__(self, address: str):
        self.held: queue.Queue[Arrival] = queue.Queue()
        self.arrivals: list[Arrival] = []
        self._lock = threading.Lock()
        self._release = threading.Event()
        gate = self

        class Handler(socketserver.StreamRequestHandler):
            def handle(self) -> None:
                step_key, host, pid = self.rfile.readline().decode().split()
                arrival = Arrival(step_key, host, int(pid))
                with gate._lock:
                    first = not gate.arrivals
                    gate.arrivals.append(arrival)
                if first:
                    gate.held.put(arrival)
                    gate._release.wait(HOLD_SECONDS)  # answered never, unless the test ends
                    return
                self.wfile.write(b"go\n")

        class Server(socketserver.ThreadingTCPServer):
            daemon_threads = True
            allow_reuse_address = True

        self._server = Server((address, 0), Handler)
        self.address = f"{address}:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self._release.set()
        self._server.shutdown()
        self._server.server_close()


def _wait_at_gate(address: str, step_key: str) -> None:
    host, port = address.rsplit(":", 1)
    with socket.create_connection((host, int(port))) as conn:
        conn.sendall(f"{step_key} {socket.gethostname()} {os.getpid()}\n".encode())
        answer = conn.makefile().readline().strip()
    if answer != "go":
        raise RuntimeError(f"the test's gate let {step_key} go without a word: the test did not kill it")


@dg.op(
    name="score_month",
    out=dg.Out(dict, io_manager_key=IO_MANAGER_KEY),
    config_schema={"gate": dg.Field(str, description="host:port of the test's Gate")},
)
def gated_score_month(
    context: dg.OpExecutionContext, month: str, data_folder: DataFolder, results_db: ResultsDatabase
) -> dict:
    _wait_at_gate(context.op_config["gate"], context.get_step_execution_context().step.key)
    return parallel.score_month.compute_fn.decorated_fn(context, month, data_folder, results_db)


@dg.job(name=JOB_NAME, executor_def=executors.step_executor, resource_defs=RESOURCES)
def _gated_parallel_job():
    parallel.summarise_months(parallel.plan_months().map(gated_score_month).collect())


def gated_job() -> dg.JobDefinition:
    return _gated_parallel_job


def run_config(gate: Gate, **kw) -> dict:
    """``parallel.run_config(**kw)`` with the gate's address for every ``score_month`` step."""
    config = parallel.run_config(**kw)
    config.setdefault("ops", {})["score_month"] = {"config": {"gate": gate.address}}
    return config
