"""The benchmark of record: one command measures everything issue 7 asks and writes
``benchmarks/results.md``.

    uv run --frozen python benchmarks/run.py [--sets 2000,20000,100000] [--runs 3] [--large-runs 1]
        [--api-sets 2000,20000] [--skip-api] [--skip-writes] [--backfill-set N] [--out FILE] [--merge]

For each set of partners (generated once under ``--data-root``, 24 months from 2023-01, seed 0):

1. ingestion: reading and validating one month (both files), medians over several months;
2. scoring 12 months (2024-01..2024-12) as the pipeline does it (``service.score_each``: each
   snapshot read once, months scored and handed over one at a time), in a fresh process per
   run: wall time, time waiting for input, and peak RSS (``ru_maxrss``);
3. with ``--backfill-set`` (default the 20,000 set): the same 12 months as one real Dagster run
   (``pcs backfill``) into a new SQLite file, i.e. reading, scoring and writing ~21M rows: wall
   time and peak RSS, the split per month (read, score, write) from the run's ``split`` progress
   lines, and the rows and bytes (SQLite's ``dbstat``, indexes included) per table;

then, once: ``write_results`` rows/s on SQLite and PostgreSQL, first write and replace
(``benchmarks/write_results.py``), and GraphQL p50/p99/throughput at 1, 8 and 32 clients for the
scorecard and 100-scorecard page queries (``benchmarks/api_latency.py``) on the ``--api-sets``.

Sets of 100,000 partners and more run ``--large-runs`` times (default 1: ~2 minutes each).
Every figure is a median over the runs; the machine is shared, so the report carries the load
average before and after.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import re
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_ROOT))

SCORED = ("2024-01", "2024-12")
TARGETS = {  # issue 7, on a 2-core machine
    20_000: {"score_s": 20.0, "peak_rss_gb": 2.0},
    100_000: {"score_s": 120.0, "peak_rss_gb": 6.0},
}


def log(line: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {line}", flush=True)


def ensure_set(root: Path, partners: int) -> tuple[Path, dict]:
    """The generated data set of ``partners`` (made once; a marker file records its stats)."""
    data = root / f"pcs-bench-{partners}"
    marker = data / "generated.json"
    if not marker.exists():
        from pcs.generate import generate

        log(f"generating {partners} partners x 24 months into {data}")
        s = generate(data, partners=partners, months=24, start="2023-01", seed=0)
        marker.write_text(
            json.dumps(
                {
                    "partners": partners,
                    "tenants": s.tenants,
                    "usage_rows": s.usage_rows,
                    "association_rows": s.association_rows,
                    "seconds": round(s.seconds, 1),
                }
            )
        )
    stats = json.loads(marker.read_text())
    stats["csv_gb"] = round(sum(f.stat().st_size for f in data.rglob("*.csv")) / 1e9, 2)
    return data, stats


def ingest_per_month(data: Path, samples: int) -> dict:
    """Median seconds to read and validate one month (both files), over ``samples`` months."""
    from scoring import ingest

    times, rows = [], []
    for i in range(samples):
        month = dt.date(2024, 1 + i % 12, 1)
        t0 = time.perf_counter()
        snap = ingest.read_month(data, month)
        times.append(time.perf_counter() - t0)
        rows.append(snap.usage.height + snap.associations.height)
    s = statistics.median(times)
    return {"month_s": s, "rows_per_month": int(statistics.median(rows)), "rows_per_s": statistics.median(rows) / s}


def score_child(data: str) -> dict:
    """One scoring run (in a fresh process: peak RSS is this run's)."""
    from scoring import calendar, service

    months = calendar.month_range(dt.date.fromisoformat(SCORED[0] + "-01"), dt.date.fromisoformat(SCORED[1] + "-01"))
    t0 = time.perf_counter()
    stream = service.score_each(months, directory=data)
    t1 = time.perf_counter()
    rows = 0
    for _, result in stream.results:  # one month at a time, as the pipeline writes them
        rows += sum(f.height for f in result.frames().values())
    t2 = time.perf_counter()
    return {
        "score_s": t2 - t0,
        "registry_s": t1 - t0,
        "input_wait_s": stream.read_seconds,
        "result_rows": rows,
        "peak_rss_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6,
    }


def score_runs(data: Path, runs: int) -> dict:
    out = []
    for i in range(runs):
        proc = subprocess.run(
            [sys.executable, __file__, "--score-child", str(data)],
            check=True,
            capture_output=True,
            text=True,
            cwd=PROJECT_ROOT,
        )
        out.append(json.loads(proc.stdout.strip().splitlines()[-1]))
        log(f"  scoring run {i + 1}/{runs}: {out[-1]['score_s']:.1f} s, {out[-1]['peak_rss_gb']:.2f} GB")
    med = {k: statistics.median(r[k] for r in out) for k in out[0]}
    med["runs"] = [round(r["score_s"], 1) for r in out]
    return med


def backfill_run(data: Path, work: Path) -> dict:
    """12 months through ``pcs backfill`` (one Dagster run) into a new SQLite file."""
    work.mkdir(parents=True, exist_ok=True)
    db = work / f"backfill-{os.getpid()}.sqlite"
    home = work / f"dagster_home-{os.getpid()}"
    env = {**os.environ, "DAGSTER_HOME": str(home)}
    cmd = [
        "/usr/bin/time",
        "-f",
        "%e %M",
        sys.executable,
        "-m",
        "pcs.cli",
        "backfill",
        "--from",
        SCORED[0],
        "--to",
        SCORED[1],
        "--data",
        str(data),
        "--database",
        f"sqlite:///{db}",
    ]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=PROJECT_ROOT)
        if proc.returncode != 0:
            raise RuntimeError(f"pcs backfill failed:\n{proc.stderr[-2000:]}")
        wall, kb = proc.stderr.strip().splitlines()[-1].split()
        return {
            "wall_s": float(wall),
            "peak_rss_gb": int(kb) / 1e6,
            "db_gb": db.stat().st_size / 1e9,
            "split": parse_split(proc.stdout),
            "tables": sqlite_table_sizes(db),
        }
    finally:
        for p in work.glob(f"backfill-{os.getpid()}.sqlite*"):
            p.unlink()
        subprocess.run(["rm", "-rf", str(home)], check=False)


SPLIT = re.compile(r"split (\d{4}-\d{2}): read ([\d.]+)s, score ([\d.]+)s, write ([\d.]+)s")


def parse_split(stdout: str) -> list[dict]:
    """The per-month split of a backfill's progress lines (``orchestration.assets.split_line``):
    seconds waiting for the month's snapshots, scoring it, writing it."""
    return [
        {"month": m, "read_s": float(r), "score_s": float(sc), "write_s": float(w)}
        for m, r, sc, w in SPLIT.findall(stdout)
    ]


def sqlite_table_sizes(db: Path) -> list[dict]:
    """Rows and bytes on disk per table of a SQLite file (bytes: the ``dbstat`` pages of the
    table and of its indexes), largest first."""
    import sqlite3

    con = sqlite3.connect(db)
    try:
        owner = dict(con.execute("SELECT name, tbl_name FROM sqlite_master WHERE type IN ('table', 'index')"))
        size: dict[str, int] = {}
        for name, pages in con.execute("SELECT name, SUM(pgsize) FROM dbstat GROUP BY name"):
            table = owner.get(name, name)
            size[table] = size.get(table, 0) + pages
        out = []
        for table, nbytes in size.items():
            if table.startswith("sqlite_"):
                continue
            rows = con.execute(f'SELECT COUNT(*) FROM "{table}"').fetchone()[0]
            out.append({"table": table, "rows": rows, "bytes": nbytes})
        return sorted(out, key=lambda t: -t["bytes"])
    finally:
        con.close()


def machine() -> str:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.machine(),
    )
    mem = (
        int(
            next(
                line.split()[1]
                for line in Path("/proc/meminfo").read_text().splitlines()
                if line.startswith("MemTotal")
            )
        )
        / 2**20
    )
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=PROJECT_ROOT
    ).stdout.strip()
    return f"{os.cpu_count()} cores ({cpu}), {mem:.0f} GiB, Python {platform.python_version()}, commit {commit or '?'}"


def load() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


def verdict(partners: int, key: str, value: float) -> str:
    target = TARGETS.get(partners, {}).get(key)
    if target is None:
        return ""
    unit = {"score_s": "s", "peak_rss_gb": "GB"}[key]
    return f"target {target:g} {unit}: {'met' if value <= target else f'missed by {value / target:.1f}x'}"


def render(report: dict) -> str:
    out = [
        "# Measured figures",
        "",
        f"Produced by `uv run --frozen python benchmarks/run.py {report['args']}` on {report['date']}.",
        "",
        f"Machine: {report['machine']}. Load average before {report['load_before']}, after "
        f"{report['load_after']} (the machine is shared: medians, expect noise).",
        "",
    ]
    out += [
        "## Data sets",
        "",
        "| partners | tenants | usage rows (24 months) | association rows | CSV | generated in |",
        "| ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for s in report["sets"]:
        g = s["data"]
        out.append(
            f"| {g['partners']:,} | {g['tenants']:,} | {g['usage_rows']:,} | {g['association_rows']:,} "
            f"| {g['csv_gb']} GB | {g['seconds']} s |"
        )
    out += [
        "",
        "## Ingestion and scoring",
        "",
        "Ingestion: reading and validating one month's two files. Scoring: 2024-01..2024-12 as the "
        "pipeline runs it (each of the 24 snapshots read and validated once, months scored one at a "
        "time), without writing; in a fresh process per run.",
        "",
        "| partners | ingest / month | rows/s | scoring 12 months (median) | runs | waiting for input "
        "| result rows | peak RSS | vs targets |",
        "| ---: | ---: | ---: | ---: | --- | ---: | ---: | ---: | --- |",
    ]
    for s in report["sets"]:
        i, c, n = s["ingest"], s["score"], s["data"]["partners"]
        targets = "; ".join(
            v for v in (verdict(n, "score_s", c["score_s"]), verdict(n, "peak_rss_gb", c["peak_rss_gb"])) if v
        )
        out.append(
            f"| {n:,} | {i['month_s']:.2f} s | {i['rows_per_s'] / 1e6:.2f}M | {c['score_s']:.1f} s | "
            f"{', '.join(map(str, c['runs']))} | {c['input_wait_s']:.1f} s | {int(c['result_rows']):,} | "
            f"{c['peak_rss_gb']:.2f} GB | {targets} |"
        )
    if report.get("backfill"):
        b = report["backfill"]
        out += [
            "",
            "## One backfill run (read, score, write)",
            "",
            f"`pcs backfill --from {SCORED[0]} --to {SCORED[1]}` into a new SQLite file, "
            f"{b['partners']:,} partners: {b['wall_s']:.1f} s wall, peak RSS {b['peak_rss_gb']:.2f} GB, "
            f"database {b['db_gb']:.2f} GB.",
        ]
        if b.get("split"):
            out += [
                "",
                "Per month (read: time the scoring waited for its snapshots, which are read ahead in a thread, "
                "with the partner registry for the first month; score; write: `write_results`), from the run's "
                "`split` progress lines:",
                "",
                "| month | read s | score s | write s |",
                "| --- | ---: | ---: | ---: |",
            ]
            for m in b["split"]:
                out.append(f"| {m['month']} | {m['read_s']:.2f} | {m['score_s']:.2f} | {m['write_s']:.2f} |")
            total = {k: sum(m[k] for m in b["split"]) for k in ("read_s", "score_s", "write_s")}
            out.append(f"| total | {total['read_s']:.1f} | {total['score_s']:.1f} | {total['write_s']:.1f} |")
        if b.get("tables"):
            out += ["", "| table | rows written | bytes (with indexes) | bytes/row |", "| --- | ---: | ---: | ---: |"]
            for t in b["tables"]:
                per_row = f"{t['bytes'] / t['rows']:.0f}" if t["rows"] else ""
                out.append(f"| {t['table']} | {t['rows']:,} | {t['bytes'] / 1e6:,.1f} MB | {per_row} |")
    if report.get("writes"):
        out += [
            "",
            "## Writing results (`write_results`, one month per write)",
            "",
            "| backend | strategy | case | rows per write | median rows/s | runs (rows/s) |",
            "| --- | --- | --- | ---: | ---: | --- |",
        ]
        for w in report["writes"]:
            if w.get("skipped"):
                out.append(f"| {w.get('backend')} | skipped: {w['skipped']} | | | | |")
                continue
            out.append(
                f"| {w['backend']} | {w['strategy']}{' (in use)' if w.get('in_use') else ''} | {w['case']} | "
                f"{w['rows']:,} | {w['median_rows_per_s']:,.0f} | "
                f"{', '.join(f'{r:,.0f}' for r in w['rows_per_s'])} |"
            )
    if report.get("api"):
        out += [
            "",
            "## GraphQL",
            "",
            "| set | backend | query | phase | workers | clients | requests | errors "
            "| p50 ms | p99 ms | req/s | cache hits |",
            "| ---: | --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
        ]
        for r in report["api"]:
            out.append(
                f"| {r['partners']:,} | {r['backend']} | {r['query']} | {r['phase']} | {r['workers']} | "
                f"{r['clients']} | {r['requests']} | {r['errors']} | {r['p50_ms']:.1f} | {r['p99_ms']:.1f} | "
                f"{r['rps']:.0f} | {r['hit_ratio']:.0%} |"
            )
    return "\n".join(out) + "\n"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sets", default="2000,20000,100000")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--large-runs", type=int, default=1, help="runs for sets of 100,000 partners or more")
    ap.add_argument("--ingest-samples", type=int, default=5)
    ap.add_argument("--data-root", default="/tmp")
    ap.add_argument("--backfill-set", type=int, default=20000, help="0: skip the backfill run")
    ap.add_argument("--write-partners", type=int, default=20000)
    ap.add_argument("--skip-writes", action="store_true")
    ap.add_argument("--api-sets", default="2000,20000")
    ap.add_argument("--skip-api", action="store_true")
    ap.add_argument("--out", default=str(PROJECT_ROOT / "benchmarks" / "results.md"))
    ap.add_argument(
        "--merge",
        action="store_true",
        help="keep the sections of the last report (results.json) that this run does not measure",
    )
    ap.add_argument("--score-child", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.score_child:
        print(json.dumps(score_child(args.score_child)))
        return 0

    report: dict = {
        "args": " ".join(sys.argv[1:]),
        "date": dt.date.today().isoformat(),
        "machine": machine(),
        "load_before": load(),
        "sets": [],
    }
    root = Path(args.data_root)
    paths = {}
    for n in [int(x) for x in args.sets.split(",") if x]:
        data, stats = ensure_set(root, n)
        paths[n] = data
        log(f"{n} partners: ingestion")
        ingest = ingest_per_month(data, args.ingest_samples)
        log(f"{n} partners: scoring 12 months")
        score = score_runs(data, args.large_runs if n >= 100_000 else args.runs)
        report["sets"].append({"data": stats, "ingest": ingest, "score": score})
    if args.backfill_set:
        data, _ = ensure_set(root, args.backfill_set)
        log(f"{args.backfill_set} partners: one backfill run into SQLite")
        report["backfill"] = {"partners": args.backfill_set, **backfill_run(data, PROJECT_ROOT / "var" / "bench")}
    if not args.skip_writes:
        from benchmarks import write_results

        log("writes")
        report["writes"] = write_results.run(partners=args.write_partners, runs=args.runs, log=log)
    if not args.skip_api:
        from benchmarks import api_latency

        report["api"] = []
        for n in [int(x) for x in args.api_sets.split(",") if x]:
            for backend in ("sqlite", "postgresql"):
                log(f"GraphQL: {n} partners, {backend}")
                rows = api_latency.run(backend=backend, partners=n, log=log)
                report["api"] += [{**r, "partners": n} for r in rows]
    report["load_after"] = load()
    previous = Path(args.out).with_suffix(".json")
    if args.merge and previous.exists():
        old = json.loads(previous.read_text())
        for key in ("sets", "backfill", "writes", "api"):
            if not report.get(key) and old.get(key):
                report[key] = old[key]
        report["args"] = f"{old.get('args', '')}` and `... {report['args']}"
        report["load_before"] = f"{old.get('load_before')} / {report['load_before']}"
        report["load_after"] = f"{old.get('load_after')} / {report['load_after']}"
    text = render(report)
    Path(args.out).write_text(text)
    Path(args.out).with_suffix(".json").write_text(json.dumps(report, indent=1, default=str))
    print("\n" + text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
