"""GraphQL API latency: p50/p99/throughput/errors of two queries under 1, 8 and 32 concurrent
clients, on SQLite and PostgreSQL, with the response cache cold (every request a miss) and warm.

    uv run --frozen python benchmarks/api_latency.py [--backends sqlite,postgresql] [--partners 2000]
        [--workers 2] [--clients 1,8,32] [--queries scorecard,page100] [--phases cold,warm]
        [--requests N] [--cache-mb 64] [--pg-url URL] [--json FILE] [--rebuild]

or from Python (another benchmark script): ``rows = api_latency.run(backend="sqlite", ...)``,
one dict per cell (see ``run``).

Data: a synthetic folder of ``--partners`` partners over 24 months (pcs.generate),
2024-01..2024-12 scored by the real scoring and written with ``storage.results.write_results``
into a SQLite file under ``--work-dir`` (default ``var/bench``) or a PostgreSQL database
``pcs_bench_api_<partners>`` made on the server of ``--pg-url`` (default
``postgresql+psycopg://postgres@127.0.0.1:5432/test``, used only to create it); both are reused
by later runs unless ``--rebuild``.

Server: ``pcs serve --workers W`` in a subprocess (uvicorn, one event loop per worker, each with
its own response cache of ``--cache-mb`` MiB). Client: a small asyncio HTTP/1.1 keep-alive client
(``C`` connections, each sending its next request when the last is answered: closed loop) in
this process, on loopback; client and server share the machine's CPUs.

Queries (admin token), over a realistic working set:
- scorecard: one partner's scorecard of one month, both paths, every metric and option; the
  partner and month vary over all 2,000 x 12;
- page100: a 100-scorecard ``designations`` page with the same fields, of a random month,
  starting after a random partner's cursor.

Phases: ``cold``: every measured request is a document/variables pair the server has not seen
(all cache misses: the cost of running the query); ``warm``: requests drawn from a working set
(1,000 scorecards / 40 pages) that every client connection first requested in full (so every
worker it reaches has it cached). Each row reports the hit ratio measured from the ``x-pcs-cache`` header.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import functools
import json
import os
import random
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_ROOT))

SCORECARD = """partnerId month attained bestTrack score
  paths { track total qualifies metrics { metric points maxPoints value option options { option value points } } }"""
SCORECARD_QUERY = f"query($id: ID!, $m: Month) {{ partner(id: $id) {{ scorecard(month: $m) {{ {SCORECARD} }} }} }}"
PAGE_QUERY = f"""query($m: Month!, $after: String) {{ designations(month: $m, first: 100, after: $after) {{
  pageInfo {{ hasNextPage endCursor }} edges {{ cursor node {{ {SCORECARD} }} }} }} }}"""
MONTHS = [f"2024-{m:02d}" for m in range(1, 13)]
PG_ADMIN_URL = os.environ.get("PCS_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
DEFAULT_REQUESTS = {"scorecard": 600, "page100": 150}
WARM_SET = {"scorecard": 1000, "page100": 40}


def _log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


# ---- data --------------------------------------------------------------------------------------


@functools.cache
def _scored(data_dir: Path):
    from scoring.calendar import month_range
    from scoring.service import score_months

    return score_months(month_range(dt.date(2024, 1, 1), dt.date(2024, 12, 1)), directory=data_dir)


def _pg_database(partners: int, admin_url: str, rebuild: bool) -> str:
    import sqlalchemy as sa
    from sqlalchemy.engine import make_url

    name = f"pcs_bench_api_{partners}"
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as c:
            if rebuild:
                c.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            if c.exec_driver_sql("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).first() is None:
                c.exec_driver_sql(f'CREATE DATABASE "{name}"')
    finally:
        admin.dispose()
    return make_url(admin_url).set(database=name).render_as_string(hide_password=False)


def prepare(backend: str, partners: int, work_dir: Path, database_url: str | None = None,
            rebuild: bool = False, pg_admin_url: str = PG_ADMIN_URL) -> tuple[str, dict]:  # fmt: skip
    """The database URL and what the load needs (partner ids, designation cursors), generating,
    scoring and writing the data when it is not there yet."""
    from pcs.generate import generate
    from storage import migrate
    from storage.engines import get_engine
    from storage.results import months_scored, read_frame, write_results

    work_dir.mkdir(parents=True, exist_ok=True)
    data_dir = work_dir / f"data-{partners}"
    if database_url is None:
        if backend == "sqlite":
            path = work_dir / f"api-{partners}.sqlite"
            if rebuild:
                for p in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
                    p.unlink(missing_ok=True)
            database_url = f"sqlite:///{path}"
        else:
            database_url = _pg_database(partners, pg_admin_url, rebuild)
    migrate.upgrade(database_url)
    engine = get_engine(database_url)
    months = [dt.date(2024, m, 1) for m in range(1, 13)]
    if rebuild or months_scored(engine) != months:
        t0 = time.perf_counter()
        if rebuild or not (data_dir / "partners.csv").exists():
            generate(data_dir, partners=partners, months=24, start="2023-01", overwrite=True)
        scored = _scored(data_dir)
        write_results(engine, months=scored.months, frames=scored.result.frames(), partners=scored.partners)
        _log(f"data: {backend} generated/scored and written in {time.perf_counter() - t0:.1f} s")
    ids = read_frame(engine, "partners")["partner_id"].to_list()
    designations = read_frame(engine, "designations").select("month", "partner_id", "score")
    cursors = [(m.isoformat()[:7], score, pid) for m, pid, score in designations.iter_rows()]
    return database_url, {"ids": ids, "cursors": cursors}


# ---- server ------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """``pcs serve`` in a subprocess."""

    def __init__(self, url: str, workers: int, admin: str, cache_mb: float | None = None) -> None:
        self.port = free_port()
        env = {**os.environ, "PCS_DATABASE_URL": url, "PCS_ADMIN_TOKEN": admin}
        if cache_mb is not None:
            env["PCS_API_CACHE_MB"] = str(cache_mb)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "pcs.cli", "serve", "--port", str(self.port),
             "--workers", str(workers), "--log-level", "warning", "--no-ide"],
            cwd=PROJECT_ROOT, env=env,
        )  # fmt: skip
        deadline = time.monotonic() + 90
        while not self._healthy():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("the server did not start")
            time.sleep(0.2)

    def _healthy(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as s:
                s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                return s.recv(64).startswith(b"HTTP/1.1 200")
        except OSError:
            return False

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


# ---- a light HTTP/1.1 keep-alive client --------------------------------------------------------


class Connection:
    """One keep-alive connection: POST a body, read the whole answer (Content-Length framed)."""

    def __init__(self, port: int, admin: str) -> None:
        self.port = port
        self.head = (
            f"POST /graphql HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAuthorization: Bearer {admin}\r\n"
            "Content-Type: application/json\r\nContent-Length: "
        ).encode()
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def open(self) -> None:
        self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)

    async def post(self, body: bytes) -> tuple[int, bytes, bytes | None]:
        """(status, body, x-pcs-cache value)."""
        self.writer.write(self.head + str(len(body)).encode() + b"\r\n\r\n" + body)
        head = await self.reader.readuntil(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        status = int(lines[0].split(b" ", 2)[1])
        length, cache = None, None
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"x-pcs-cache":
                cache = value.strip()
        if length is None:
            raise RuntimeError(f"answer without Content-Length: {head[:200]!r}")
        return status, await self.reader.readexactly(length), cache

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


class Cell:
    latencies: list[float]

    def __init__(self) -> None:
        self.latencies, self.errors, self.hits, self.size, self.first_error = [], 0, 0, 0, None


async def _drive(conns: Sequence[Connection], work: list[bytes], cell: Cell | None) -> float:
    """Send ``work`` over ``conns`` (closed loop); returns the wall time."""
    queue = list(reversed(work))

    async def worker(conn: Connection) -> None:
        while queue:
            body = queue.pop()
            t0 = time.perf_counter()
            status, answer, cache = await conn.post(body)
            elapsed = time.perf_counter() - t0
            if cell is None:
                continue
            cell.latencies.append(elapsed)
            cell.size = len(answer)
            cell.hits += cache == b"hit"
            if status != 200 or b'"errors":' in answer:
                cell.errors += 1
                cell.first_error = cell.first_error or f"{status}: {answer[:200]!r}"

    t0 = time.perf_counter()
    await asyncio.gather(*(worker(c) for c in conns))
    return time.perf_counter() - t0


async def _cell(port: int, admin: str, clients: int, warmup: list[bytes], work: list[bytes],
                prime: list[bytes] | None) -> tuple[Cell, float]:  # fmt: skip
    conns = [Connection(port, admin) for _ in range(clients)]
    await asyncio.gather(*(c.open() for c in conns))
    try:
        await _drive(conns, warmup, None)
        if prime is not None:
            # every connection requests the whole working set: a connection stays on one worker
            # and each worker has its own cache, so this warms every worker the cell will use
            # (and keeps sending until all are through: an idle keep-alive connection is closed
            # by the server after 5 s)
            done = 0

            async def warm(conn: Connection) -> None:
                nonlocal done
                for body in random.sample(prime, len(prime)):
                    await conn.post(body)
                done += 1
                while done < len(conns):
                    await conn.post(random.choice(prime))

            await asyncio.gather(*(warm(c) for c in conns))
        cell = Cell()
        wall = await _drive(conns, work, cell)
        return cell, wall
    finally:
        for c in conns:
            c.close()


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(q / 100 * len(ordered) + 0.5) - 1))  # nearest rank
    return ordered[k]


# ---- the benchmark -------------------------------------------------------------------------------


class _Bodies:
    """Request bodies; ``fresh`` ones were never handed out before (cache misses)."""

    def __init__(self, kind: str, load: dict, seed: int = 0) -> None:
        rng = random.Random(seed)
        if kind == "scorecard":
            pairs = [(pid, m) for pid in load["ids"] for m in MONTHS]
            rng.shuffle(pairs)
            self._all = [
                json.dumps({"query": SCORECARD_QUERY, "variables": {"id": p, "m": m}}).encode() for p, m in pairs
            ]
        else:
            from graphql_api.pagination import encode_cursor

            cursors = list(load["cursors"])
            rng.shuffle(cursors)
            self._all = [
                json.dumps(
                    {"query": PAGE_QUERY, "variables": {"m": m, "after": encode_cursor("d", score, pid)}}
                ).encode()
                for m, score, pid in cursors
            ]
        self._next = 0

    def fresh(self, n: int) -> list[bytes]:
        if self._next + n > len(self._all):
            raise RuntimeError("not enough distinct requests for a cold cell: use more partners or fewer requests")
        out = self._all[self._next : self._next + n]
        self._next += n
        return out


def run(
    *,
    backend: str = "sqlite",
    database_url: str | None = None,
    partners: int = 2000,
    workers: Sequence[int] = (2,),
    clients: Sequence[int] = (1, 8, 32),
    queries: Sequence[str] = ("scorecard", "page100"),
    phases: Sequence[str] = ("cold", "warm"),
    requests: int | None = None,
    warmup: int = 20,
    cache_mb: float | None = None,
    work_dir: str | Path = PROJECT_ROOT / "var" / "bench",
    rebuild: bool = False,
    pg_admin_url: str = PG_ADMIN_URL,
    log: Callable[[str], None] = _log,
) -> list[dict]:
    """Measure; one dict per (query, phase, workers, clients) with ``backend, query, phase,
    workers, clients, requests, errors, p50_ms, p99_ms, mean_ms, max_ms, rps, hit_ratio, bytes,
    partners, cache_mb`` (``cache_mb`` None: the server's default). ``requests`` per cell
    (default 600 scorecards, 150 pages). ``backend`` "sqlite" or "postgresql"; without
    ``database_url`` the data goes to ``work_dir`` / a ``pcs_bench_api_<partners>`` database."""
    try:
        import uvloop
    except ImportError:  # pragma: no cover
        uvloop = None
    url, load = prepare(backend, partners, Path(work_dir), database_url, rebuild, pg_admin_url)
    admin = secrets.token_urlsafe(24)
    rows: list[dict] = []
    runner = uvloop.run if uvloop is not None else asyncio.run
    for w in workers:
        server = Server(url, w, admin, cache_mb)
        try:
            for kind in queries:
                bodies = _Bodies(kind, load)
                n = requests or DEFAULT_REQUESTS[kind]
                for phase in phases:
                    working_set = bodies.fresh(WARM_SET[kind]) if phase == "warm" else None
                    for c in clients:
                        if phase == "cold":
                            work, prime = bodies.fresh(n), None
                        else:
                            rng = random.Random(c)
                            work, prime = [rng.choice(working_set) for _ in range(n)], working_set
                        cell, wall = runner(_cell(server.port, admin, c, bodies.fresh(warmup), work, prime))
                        lat = cell.latencies
                        row = {
                            "backend": backend, "query": kind, "phase": phase, "workers": w, "clients": c,
                            "requests": len(lat), "errors": cell.errors,
                            "p50_ms": percentile(lat, 50) * 1e3, "p99_ms": percentile(lat, 99) * 1e3,
                            "mean_ms": sum(lat) / len(lat) * 1e3, "max_ms": max(lat) * 1e3,
                            "rps": len(lat) / wall, "hit_ratio": cell.hits / len(lat), "bytes": cell.size,
                            "partners": len(load["ids"]), "cache_mb": cache_mb,
                        }  # fmt: skip
                        rows.append(row)
                        log("  " + format_row(row) + (f"  first error: {cell.first_error}" if cell.first_error else ""))
        finally:
            server.stop()
    return rows


HEADER = (
    f"{'backend':<10} {'query':<9} {'phase':<5} {'workers':>7} {'clients':>7} {'requests':>8} {'errors':>6} "
    f"{'p50 ms':>8} {'p99 ms':>8} {'mean ms':>8} {'req/s':>8} {'hits':>5} {'bytes':>7}"
)


def format_row(r: dict) -> str:
    return (
        f"{r['backend']:<10} {r['query']:<9} {r['phase']:<5} {r['workers']:>7} {r['clients']:>7} {r['requests']:>8} "
        f"{r['errors']:>6} {r['p50_ms']:>8.1f} {r['p99_ms']:>8.1f} {r['mean_ms']:>8.1f} {r['rps']:>8.1f} "
        f"{r['hit_ratio']:>5.0%} {r['bytes']:>7}"
    )


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--backends", default="sqlite,postgresql")
    p.add_argument("--partners", type=int, default=2000)
    p.add_argument("--workers", default="2", help="server worker counts, comma separated")
    p.add_argument("--clients", default="1,8,32", help="concurrent clients, comma separated")
    p.add_argument("--queries", default="scorecard,page100")
    p.add_argument("--phases", default="cold,warm")
    p.add_argument("--requests", type=int, help="measured requests per cell (default 600 scorecards, 150 pages)")
    p.add_argument("--warmup", type=int, default=20)
    p.add_argument("--cache-mb", type=float, help="the server's response cache per worker (default: its own, 64)")
    p.add_argument("--work-dir", default=str(PROJECT_ROOT / "var" / "bench"))
    p.add_argument("--database-url", help="benchmark this database (one backend) instead of the default ones")
    p.add_argument("--pg-url", default=PG_ADMIN_URL, help="PostgreSQL server used to create the benchmark database")
    p.add_argument("--json", help="also write the rows to this file")
    p.add_argument("--rebuild", action="store_true", help="generate, score and write the data again")
    args = p.parse_args()

    rows = []
    for backend in args.backends.split(","):
        _log(f"{backend}:")
        rows += run(
            backend=backend, database_url=args.database_url, partners=args.partners,
            workers=[int(w) for w in args.workers.split(",")], clients=[int(c) for c in args.clients.split(",")],
            queries=args.queries.split(","), phases=args.phases.split(","), requests=args.requests,
            warmup=args.warmup, cache_mb=args.cache_mb, work_dir=args.work_dir, rebuild=args.rebuild,
            pg_admin_url=args.pg_url,
        )  # fmt: skip
    load = os.getloadavg()
    print(
        f"\nGraphQL API latency: {rows[0]['partners']:,} partners x 12 scored months; server `pcs serve --workers W` "
        f"(uvicorn, 1 event loop and 1 response cache of {args.cache_mb or 64:g} MiB per worker); client: asyncio "
        f"HTTP/1.1 keep-alive, closed loop, loopback, same machine ({os.cpu_count()} CPUs, load average at the end "
        f"{load[0]:.1f}); cold = every request a cache miss, warm = a working set already cached.\n"
    )
    print(HEADER)
    print("-" * len(HEADER))
    for r in rows:
        print(format_row(r))
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
