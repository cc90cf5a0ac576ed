"""Benchmark: ingest + score 12 months of a generated data set in one process.

    uv run python benchmarks/score_months.py --partners 20000 --runs 3

Generates the set (24 months from 2023-01, seed 0) under /tmp unless it exists, then scores
2024-01..2024-12 in a fresh subprocess per run and prints the median wall time of each phase
and the peak RSS of the process.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path


def one_run(data: str) -> dict:
    from orchestration.scoring import engine, service

    t0 = time.perf_counter()
    months = engine.month_range(dt.date(2024, 1, 1), dt.date(2024, 12, 1))
    stream = service.score_each(months, directory=data)
    t1 = time.perf_counter()
    rows: dict[str, int] = {}
    for _, result in stream.results:  # one month's results at a time, as the pipeline writes them
        for name, frame in result.frames().items():
            rows[name] = rows.get(name, 0) + frame.height
    t2 = time.perf_counter()
    return {
        "registry_s": t1 - t0, "ingest_s": stream.read_seconds,
        "score_s": t2 - t1 - stream.read_seconds, "total_s": t2 - t0,
        "peak_rss_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6,
        "rows": rows,
    }


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--partners", type=int, default=20000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--data", help="an existing data folder (skips generation)")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(one_run(args.child)))
        return 0
    data = Path(args.data or f"/tmp/pcs-bench-{args.partners}")
    if not (data / "months").exists():
        from orchestration.generate import generate

        s = generate(data, partners=args.partners, months=24, start="2023-01", seed=0)
        print(f"generated {data}: {s.tenants} tenants, {s.usage_rows} usage rows, "
              f"{s.association_rows} association rows in {s.seconds:.1f} s", flush=True)
    runs = []
    for i in range(args.runs):
        out = subprocess.run([sys.executable, __file__, "--child", str(data)], check=True,
                             capture_output=True, text=True)
        runs.append(json.loads(out.stdout.strip().splitlines()[-1]))
        print(f"run {i + 1}: " + ", ".join(f"{k} {v:.2f}" for k, v in runs[-1].items() if k != "rows"), flush=True)
    print(f"\n12 months scored, {args.partners} partners, {platform.processor() or platform.machine()}, "
          f"medians of {len(runs)} runs")
    for k in ("ingest_s", "registry_s", "score_s", "total_s", "peak_rss_gb"):
        print(f"  {k:12} {statistics.median(r[k] for r in runs):8.2f}")
    print("  rows", runs[-1]["rows"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
