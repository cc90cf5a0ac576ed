"""GraphQL API latency: p50/p99 of two queries under 1, 8 and 32 concurrent clients.

    uv run python benchmarks/api_latency.py [--partners 2000] [--workers 1,2] [--clients 1,8,32]
                                            [--requests 300] [--database-url URL] [--rebuild]

Data: a synthetic folder of ``--partners`` partners over 24 months (orchestration.generate),
2024-01..2024-12 scored by the real scoring and written with storage.results.write_results into
a SQLite file under ``--work-dir`` (default ``var/bench``; reused by later runs unless
``--rebuild``), or into ``--database-url`` (e.g. a PostgreSQL database; written there once).

Server: ``pcs serve --workers W`` in a subprocess (uvicorn; one event loop per worker). Client:
``httpx.AsyncClient`` on loopback in this process, ``C`` tasks each sending its next request as
soon as the last one is answered (closed loop), a bounded number of requests per cell after a
short warm-up. Both run on the same machine, so they share its CPUs.

Queries (admin token):
- scorecard: one partner's scorecard of one month with both paths, all metrics and options;
- page100: a 100-scorecard ``designations`` page with paths, metrics and options.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import random
import secrets
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx

PROJECT_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_ROOT))

SCORECARD = """partnerId month attained bestTrack score
  paths { track total qualifies metrics { metric points maxPoints value option options { option value points } } }"""
SCORECARD_QUERY = f"query($id: ID!, $m: Month) {{ partner(id: $id) {{ scorecard(month: $m) {{ {SCORECARD} }} }} }}"
PAGE_QUERY = f"""query($m: Month!, $after: String) {{ designations(month: $m, first: 100, after: $after) {{
  pageInfo {{ hasNextPage endCursor }} edges {{ cursor node {{ {SCORECARD} }} }} }} }}"""
MONTHS = [f"2024-{m:02d}" for m in range(1, 13)]


# ---- data --------------------------------------------------------------------------------------


def prepare(args) -> tuple[str, list[str]]:
    """The database URL and the partner ids, generating and scoring the data when needed."""
    from orchestration.generate import generate
    from orchestration.scoring.engine import month_range
    from orchestration.scoring.service import score_months
    from storage import migrate
    from storage.results import months_scored, read_frame, write_results
    from storage.settings import get_engine

    work = Path(args.work_dir)
    work.mkdir(parents=True, exist_ok=True)
    data_dir = work / f"data-{args.partners}"
    url = args.database_url or f"sqlite:///{work / f'api-{args.partners}.sqlite'}"
    if args.rebuild and not args.database_url:
        Path(url.removeprefix("sqlite:///")).unlink(missing_ok=True)
    migrate.upgrade(url)
    engine = get_engine(url)
    months = month_range(dt.date(2024, 1, 1), dt.date(2024, 12, 1))
    if args.rebuild or months_scored(engine) != months:
        t0 = time.perf_counter()
        if args.rebuild or not (data_dir / "partners.csv").exists():
            generate(data_dir, partners=args.partners, months=24, start="2023-01", overwrite=True)
        scored = score_months(months, directory=data_dir)
        write_results(engine, months=scored.months, frames=scored.result.frames(), partners=scored.partners)
        print(f"data: generated, scored and written in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
    ids = read_frame(engine, "partners")["partner_id"].to_list()
    return url, ids


# ---- server ------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, url: str, workers: int, admin: str) -> None:
        self.port = free_port()
        env = {**os.environ, "PCS_DATABASE_URL": url, "PCS_ADMIN_TOKEN": admin}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "orchestration.cli", "serve", "--port", str(self.port),
             "--workers", str(workers), "--log-level", "warning", "--no-ide"],
            cwd=PROJECT_ROOT, env=env,
        )  # fmt: skip
        self.base = f"http://127.0.0.1:{self.port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{self.base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the server did not start")
            time.sleep(0.2)

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


# ---- load --------------------------------------------------------------------------------------


def bodies(kind: str, ids: list[str], n: int, seed: int) -> list[dict]:
    rng = random.Random(seed)
    if kind == "scorecard":
        return [
            {"query": SCORECARD_QUERY, "variables": {"id": rng.choice(ids), "m": rng.choice(MONTHS)}} for _ in range(n)
        ]
    return [{"query": PAGE_QUERY, "variables": {"m": rng.choice(MONTHS), "after": None}} for _ in range(n)]


async def run_cell(
    base: str, admin: str, work: list[dict], clients: int, warmup: int
) -> tuple[list[float], float, int]:
    headers = {"Authorization": f"Bearer {admin}", "Content-Type": "application/json"}
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    import json

    payloads = [json.dumps(b).encode() for b in work]
    async with httpx.AsyncClient(base_url=base, headers=headers, limits=limits, timeout=120) as client:
        size = 0

        async def worker(queue: list[bytes], out: list[float] | None) -> None:
            nonlocal size
            while queue:
                body = queue.pop()
                t0 = time.perf_counter()
                r = await client.post("/graphql", content=body)
                elapsed = time.perf_counter() - t0
                if r.status_code != 200 or b'"errors":' in r.content:
                    raise RuntimeError(f"bad answer {r.status_code}: {r.text[:300]}")
                size = len(r.content)
                if out is not None:
                    out.append(elapsed)

        warm = payloads[:warmup]
        await asyncio.gather(*(worker(warm, None) for _ in range(clients)))
        queue = payloads[warmup:]
        latencies: list[float] = []
        t0 = time.perf_counter()
        await asyncio.gather(*(worker(queue, latencies) for _ in range(clients)))
        wall = time.perf_counter() - t0
    return latencies, wall, size


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(q / 100 * len(ordered) + 0.5) - 1))  # nearest rank
    return ordered[k]


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--partners", type=int, default=2000)
    p.add_argument("--workers", default="1,2", help="server worker counts, comma separated")
    p.add_argument("--clients", default="1,8,32", help="concurrent clients, comma separated")
    p.add_argument("--requests", type=int, default=300, help="measured requests per cell")
    p.add_argument("--warmup", type=int, default=20)
    p.add_argument("--queries", default="scorecard,page100")
    p.add_argument("--work-dir", default=str(PROJECT_ROOT / "var" / "bench"))
    p.add_argument("--database-url", help="benchmark this database instead of the SQLite file")
    p.add_argument("--rebuild", action="store_true", help="generate, score and write the data again")
    args = p.parse_args()

    url, ids = prepare(args)
    admin = secrets.token_urlsafe(24)
    backend = url.split(":", 1)[0]
    rows = []
    for workers in [int(w) for w in args.workers.split(",")]:
        server = Server(url, workers, admin)
        try:
            for kind in args.queries.split(","):
                for clients in [int(c) for c in args.clients.split(",")]:
                    work = bodies(kind, ids, args.requests + args.warmup, seed=clients)
                    lat, wall, size = asyncio.run(run_cell(server.base, admin, work, clients, args.warmup))
                    rows.append((kind, workers, clients, len(lat), percentile(lat, 50) * 1e3,
                                 percentile(lat, 99) * 1e3, statistics.fmean(lat) * 1e3, len(lat) / wall, size))  # fmt: skip
                    print("  " + _fmt(rows[-1]), file=sys.stderr, flush=True)
        finally:
            server.stop()

    print(f"\nGraphQL API latency: {len(ids):,} partners, 12 scored months, {backend} "
          f"({url.rsplit('/', 1)[-1] if backend == 'sqlite' else 'server'}); server `pcs serve --workers W` "
          f"(uvicorn, 1 event loop per worker); client httpx.AsyncClient, closed loop, loopback, same machine "
          f"({os.cpu_count()} CPUs); {args.requests} measured requests per row after {args.warmup} warm-up.\n")  # fmt: skip
    print(HEADER)
    print("-" * len(HEADER))
    for r in rows:
        print(_fmt(r))
    return 0


HEADER = f"{'query':<10} {'workers':>7} {'clients':>7} {'requests':>8} {'p50 ms':>8} {'p99 ms':>8} {'mean ms':>8} {'req/s':>7} {'bytes':>8}"


def _fmt(r) -> str:
    kind, workers, clients, n, p50, p99, mean, rps, size = r
    return f"{kind:<10} {workers:>7} {clients:>7} {n:>8} {p50:>8.1f} {p99:>8.1f} {mean:>8.1f} {rps:>7.1f} {size:>8}"


if __name__ == "__main__":
    sys.exit(main())
