"""Separate hosts on this machine, for the distributed tests: each host is a network namespace
(``ip netns``) on a bridge of its own, with an address, a hostname (UTS namespace) and a mount
namespace in which the folders given as ``hidden`` are empty (a tmpfs over each), so a host shares
with the test only what it is meant to: the input folder, and the servers over the network.

The bridge's address (``Network.gateway``) is the "database and broker host": a forwarder
(``tests.support.forward``, in the root namespace) relays its PostgreSQL and RabbitMQ ports to
this machine's servers, which listen on 127.0.0.1 only. The test process itself reaches the same
address, so every process uses the same URLs, as machines of a real deployment would.

Without the means to make namespaces (not root, no ``ip``, no kernel support) ``Network.make``
gives plain processes on 127.0.0.1 instead, and ``Network.isolated`` is False with the reason in
``Network.why_not``.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import random
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from tests.support.paths import PROJECT_ROOT

FORWARDED_PORTS = (5432, 5672)  # PostgreSQL, RabbitMQ
_SUBNET_LOCK = Path("/tmp/pcs-test-subnets.lock")
_ISOLATE = (
    'hostname "$PCS_HOST_NAME" && for d in $PCS_HOST_HIDE; do mount -t tmpfs -o size=4m tmpfs "$d"; done && exec "$@"'
)


def _ip(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(["ip", *args], capture_output=True, text=True, check=check)


def _why_no_namespaces() -> str | None:
    if os.geteuid() != 0:
        return "network namespaces need root"
    for tool in ("ip", "unshare", "mount"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed"
    name = f"pcs-probe-{uuid.uuid4().hex[:6]}"
    made = _ip("netns", "add", name, check=False)
    if made.returncode != 0:
        return f"ip netns add failed: {made.stderr.strip()}"
    _ip("netns", "del", name, check=False)
    return None


@dataclass
class Host:
    """One host: its name, its network namespace (None: a plain process) and address."""

    name: str
    netns: str | None
    address: str
    hidden: list[Path]
    procs: list[subprocess.Popen] = field(default_factory=list)

    def popen(self, args: list[str], *, env: dict[str, str], log: Path) -> subprocess.Popen:
        """``args`` on this host (its own session), output to ``log``."""
        with log.open("ab") as out:
            if self.netns is None:
                cmd = args
            else:
                env = {**env, "PCS_HOST_NAME": self.name, "PCS_HOST_HIDE": " ".join(map(str, self.hidden))}
                cmd = ["ip", "netns", "exec", self.netns, "unshare", "--mount", "--uts", "--propagation",
                       "private", "--", "sh", "-c", _ISOLATE, "sh", *args]  # fmt: skip
            proc = subprocess.Popen(cmd, cwd=PROJECT_ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
                                    start_new_session=True)  # fmt: skip
        self.procs.append(proc)
        return proc

    def pids(self) -> list[int]:
        """Every process on the host: in its network namespace, else its processes' sessions."""
        if self.netns is not None:
            out = _ip("netns", "pids", self.netns, check=False).stdout
            return [int(p) for p in out.split()]
        pids = []
        sessions = {p.pid for p in self.procs if p.poll() is None}
        for stat in Path("/proc").glob("[0-9]*/stat"):
            with contextlib.suppress(OSError, ValueError, IndexError):
                fields = stat.read_text().rsplit(")", 1)[1].split()
                if int(fields[3]) in sessions:  # field 6 of stat: the session id
                    pids.append(int(stat.parent.name))
        return pids

    def kill(self) -> list[int]:
        """SIGKILL every process of the host, as if the machine went away; the pids killed."""
        killed: list[int] = []
        for _ in range(50):  # until none is left (a dying pool may still fork)
            pids = self.pids()
            if not pids:
                break
            for pid in pids:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            killed += pids
            time.sleep(0.05)
        for proc in self.procs:
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=10)
        return sorted(set(killed))

    def stop(self, timeout: float = 30) -> None:
        """SIGTERM to the host's processes, SIGKILL to what is left after ``timeout``."""
        for proc in self.procs:
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for proc in self.procs:
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        self.kill()


@dataclass
class Network:
    """A bridge, ``hosts`` namespaces on it and the forwarder on ``gateway``."""

    gateway: str
    hosts: list[Host]
    isolated: bool
    why_not: str | None
    _cleanup: list = field(default_factory=list)

    @classmethod
    @contextlib.contextmanager
    def make(cls, n: int, *, hidden: list[Path], log_dir: Path) -> Iterator[Network]:
        why_not = _why_no_namespaces()
        if why_not is not None:
            hosts = [Host(f"host{i}", None, "127.0.0.1", hidden) for i in range(1, n + 1)]
            net = cls("127.0.0.1", hosts, isolated=False, why_not=why_not)
            try:
                yield net
            finally:
                for host in hosts:
                    host.stop()
            return
        tag = uuid.uuid4().hex[:6]
        bridge = f"pb{tag}"
        net = cls("", [], isolated=True, why_not=None)
        try:
            with _SUBNET_LOCK.open("a") as lock:  # tests side by side (xdist) pick different subnets
                fcntl.flock(lock, fcntl.LOCK_EX)
                subnet = _free_subnet()
                _ip("link", "add", bridge, "type", "bridge")
                net._cleanup.append(lambda: _ip("link", "del", bridge, check=False))
                _ip("addr", "add", f"{subnet}.1/24", "dev", bridge)
            net.gateway = f"{subnet}.1"
            _ip("link", "set", bridge, "up")
            for i in range(1, n + 1):
                ns, veth = f"pcs-{tag}-host{i}", f"pv{tag}{i}"
                _ip("netns", "add", ns)
                net._cleanup.append(lambda ns=ns: _ip("netns", "del", ns, check=False))
                _ip("link", "add", veth, "type", "veth", "peer", "name", f"{veth}p")
                _ip("link", "set", f"{veth}p", "netns", ns)
                _ip("-n", ns, "link", "set", f"{veth}p", "name", "eth0")
                _ip("link", "set", veth, "master", bridge)
                _ip("link", "set", veth, "up")
                _ip("-n", ns, "addr", "add", f"{subnet}.{10 + i}/24", "dev", "eth0")
                _ip("-n", ns, "link", "set", "eth0", "up")
                _ip("-n", ns, "link", "set", "lo", "up")
                net.hosts.append(Host(f"host{i}", ns, f"{subnet}.{10 + i}", hidden))
            log = (log_dir / "forward.log").open("w")
            forward = subprocess.Popen(
                [sys.executable, "-m", "tests.support.forward", net.gateway, *map(str, FORWARDED_PORTS)],
                cwd=PROJECT_ROOT, stdout=subprocess.PIPE, stderr=log, text=True,
            )  # fmt: skip
            net._cleanup.append(lambda: (forward.kill(), forward.wait(), log.close()))
            assert forward.stdout.readline().strip() == "ready", (log_dir / "forward.log").read_text()
            yield net
        finally:
            for host in net.hosts:
                host.stop()
            for undo in reversed(net._cleanup):
                undo()


def _free_subnet() -> str:
    """``10.213.X``: a /24 no interface of this machine is in (tests running side by side)."""
    used = _ip("-o", "-4", "addr").stdout
    candidates = [f"10.213.{x}" for x in range(256)]
    random.shuffle(candidates)
    for subnet in candidates:
        if f" {subnet}." not in used:
            return subnet
    raise RuntimeError("no free 10.213.X.0/24 subnet")
