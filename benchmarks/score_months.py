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
    from orchestration.scoring import engine, ingest, service
    from orchestration.scoring.rulebook import load_rulebooks

    t0 = time.perf_counter()
    months = engine.month_range(dt.date(2024, 1, 1), dt.date(2024, 12, 1))
    needed = sorted({n for m in months for n in engine.months_needed(m)})
    snapshots = ingest.read_snapshots(data, needed)
    t1 = time.perf_counter()
    certs = ingest.read_certifications(data)
    partners = service.partner_registry(data)
    t2 = time.perf_counter()
    result = engine.score(rulebooks=load_rulebooks(), months=months, snapshots=snapshots,
                          certifications=certs, partner_ids=partners["partner_id"])
    t3 = time.perf_counter()
    return {
        "ingest_s": t1 - t0, "registry_s": t2 - t1, "score_s": t3 - t2, "total_s": t3 - t0,
        "peak_rss_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6,
        "rows": {k: v.height for k, v in result.frames().items()},
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
