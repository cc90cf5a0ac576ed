"""One month scored in partner shards, one shard at a time, each in a fresh process: per shard the
wall time (reading, scoring, staging), peak RSS, bytes read and rows kept; then the publication;
beside the single-process scoring and write of the same month. CSV and Parquet.

    uv run --frozen python benchmarks/shards.py [--data /tmp/bench20k] [--month 2024-12]
        [--shards 1,4,8] [--formats csv,parquet] [--parquet-dir DIR] [--work DIR] [--pg URL]

``--parquet-dir`` (default ``<work>/parquet``) receives a Parquet copy of the data folder (made
once, same rows; the partners and certifications files stay CSV). ``--pg``: also stage and
publish on PostgreSQL (a scratch database is created at that server and dropped). Bytes read are
the process's ``rchar`` (/proc/self/io: every byte returned by read(2), page cache or not); the
peak RSS is ``ru_maxrss``. The machine is shared: the report starts with ``uptime``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import resource
import subprocess
import sys
import time
import uuid
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_ROOT))


def log(line: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {line}", flush=True)


def io_counters() -> dict[str, int]:
    with open("/proc/self/io") as f:
        return {k: int(v) for k, v in (line.split(": ") for line in f.read().splitlines())}


def rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def parquet_copy(data: Path, out: Path) -> Path:
    """The month files of ``data`` as Parquet (typed columns), once; partners/certifications as CSV."""
    import polars as pl

    marker = out / ".complete"
    if marker.exists():
        return out
    for src in sorted(data.rglob("*.csv")):
        rel = src.relative_to(data)
        dst = out / rel
        dst.parent.mkdir(parents=True, exist_ok=True)
        if rel.parts[0] == "months":
            pl.scan_csv(src).sink_parquet(dst.with_suffix(".parquet"))
        else:
            dst.write_bytes(src.read_bytes())
    marker.write_text("")
    return out


# ---- children (fresh processes) ------------------------------------------------------------------


def shard_child(data: str, month: str, k: int, n: int, urls: dict[str, str], batch: str) -> dict:
    """Score shard ``k`` of ``n`` and stage it in each database of ``urls`` (backend -> URL)."""
    from scoring import service
    from scoring.shards import Shard
    from storage.engines import get_engine
    from storage.results import staging

    base_rss = rss_mb()
    io0 = io_counters()
    t0 = time.perf_counter()
    m = dt.date.fromisoformat(month + "-01")
    scored = service.score_shard(m, Shard(k, n), directory=data)
    t1 = time.perf_counter()
    io1 = io_counters()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    staged = staging.StagedMonth(batch, m, n)
    stage_s, rows = {}, 0
    for backend, url in urls.items():
        t = time.perf_counter()
        counts = staging.stage_shard(
            get_engine(url), staged=staged, shard=k, frames=scored.result.frames(), partners=scored.partners
        )
        stage_s[backend] = time.perf_counter() - t
        rows = sum(counts.values())
    stats = scored.stats.as_dict()
    return {
        "shard": k,
        "score_wall_s": t1 - t0,
        "read_s": stats["seconds"],
        "stage_s": stage_s,
        "peak_rss_mb": peak,  # reading and scoring (before staging)
        "peak_rss_staged_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "base_rss_mb": base_rss,
        "rchar_mb": (io1["rchar"] - io0["rchar"]) / 1e6,
        "scanned_mb": stats["file_bytes"] / 1e6,
        "scans": stats["scans"],
        "rows": stats["rows"],
        "staged_rows": rows,
    }


def single_child(data: str, month: str, url: str) -> dict:
    from scoring import service
    from storage import results
    from storage.engines import get_engine

    base_rss = rss_mb()
    io0 = io_counters()
    t0 = time.perf_counter()
    m = dt.date.fromisoformat(month + "-01")
    scored = service.score_months([m], directory=data)
    t1 = time.perf_counter()
    io1 = io_counters()
    counts = results.write_results(get_engine(url), months=[m], frames=scored.result.frames(), partners=scored.partners)
    t2 = time.perf_counter()
    return {
        "wall_s": t2 - t0,
        "score_s": t1 - t0,
        "write_s": t2 - t1,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "base_rss_mb": base_rss,
        "rchar_mb": (io1["rchar"] - io0["rchar"]) / 1e6,
        "written_rows": sum(counts[n] for n in results.RESULTS),
    }


def publish_child(url: str, month: str, n: int, batch: str, rulebook: str) -> dict:
    from storage.engines import get_engine
    from storage.results import staging

    t0 = time.perf_counter()
    counts = staging.publish(
        get_engine(url),
        staged=staging.StagedMonth(batch, dt.date.fromisoformat(month + "-01"), n),
        rulebook_id=rulebook,
    )
    return {"publish_s": time.perf_counter() - t0, "rows": sum(counts.values())}


def child(kind: str, **kw: object) -> dict:
    """``<kind>_child(**kw)`` in a fresh process (its peak RSS and bytes read are its own)."""
    proc = subprocess.run(
        [sys.executable, __file__, "--child", json.dumps({"kind": kind, "kw": kw})],
        capture_output=True,
        text=True,
        cwd=PROJECT_ROOT,
    )
    if proc.returncode:
        raise RuntimeError(proc.stderr[-3000:])
    return json.loads(proc.stdout.strip().splitlines()[-1])


# ---- the report ----------------------------------------------------------------------------------


def database(kind: str, work: Path, pg: str | None, tag: str) -> tuple[str, object]:
    """A new migrated results database and a function that removes it."""
    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url

    from storage import migrate

    if kind == "sqlite":
        path = work / f"{tag}-{uuid.uuid4().hex[:8]}.sqlite"
        url = f"sqlite:///{path}"
        migrate.upgrade(url)
        return url, lambda: [p.unlink() for p in work.glob(path.name + "*")]
    admin = create_engine(pg, isolation_level="AUTOCOMMIT")
    name = f"pcs_bench_{tag}_{uuid.uuid4().hex[:8]}"
    with admin.connect() as c:
        c.exec_driver_sql(f'CREATE DATABASE "{name}"')
    url = make_url(pg).set(database=name).render_as_string(hide_password=False)
    migrate.upgrade(url)

    def drop() -> None:
        from storage.engines import dispose_engines

        dispose_engines(url)
        with admin.connect() as c:
            c.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    return url, drop


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", default="/tmp/bench20k")
    ap.add_argument("--month", default="2024-12")
    ap.add_argument("--shards", default="1,4,8")
    ap.add_argument("--formats", default="csv,parquet")
    ap.add_argument("--work", default="/tmp/pcs-bench-shards")
    ap.add_argument("--parquet-dir")
    ap.add_argument("--pg", help="PostgreSQL server URL: also stage and publish there")
    ap.add_argument("--no-single", action="store_true", help="skip the single-process reference")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        task = json.loads(args.child)
        fn = {"shard": shard_child, "single": single_child, "publish": publish_child}[task["kind"]]
        print(json.dumps(fn(**task["kw"])))
        return

    from scoring.rulebook import load_rulebooks

    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    rulebook = load_rulebooks().for_month(dt.date.fromisoformat(args.month + "-01")).id
    print(f"uptime: {subprocess.run(['uptime'], capture_output=True, text=True).stdout.strip()}")
    print(f"nproc: {os.cpu_count()}; data: {args.data}; month: {args.month}")
    folders = {"csv": Path(args.data)}
    if "parquet" in args.formats:
        folders["parquet"] = parquet_copy(Path(args.data), Path(args.parquet_dir or work / "parquet"))
    backends = ["sqlite"] + (["postgresql"] if args.pg else [])
    for fmt in args.formats.split(","):
        data = str(folders[fmt])
        if not args.no_single:
            url, drop = database("sqlite", work, None, "single")
            r = child("single", data=data, month=args.month, url=url)
            drop()
            log(
                f"{fmt} single process: wall {r['wall_s']:.1f}s (score {r['score_s']:.1f}s, write {r['write_s']:.1f}s "
                f"SQLite), peak RSS {r['peak_rss_mb']:.0f} MB (after imports {r['base_rss_mb']:.0f}), "
                f"read {r['rchar_mb']:.0f} MB"
            )
        for n in [int(x) for x in args.shards.split(",")]:
            dbs = {b: database(b, work, args.pg, f"{fmt}{n}") for b in backends}
            batch = uuid.uuid4().hex[:16]
            rows = []
            for k in range(n):
                urls = {b: url for b, (url, _) in dbs.items()}
                r = child("shard", data=data, month=args.month, k=k, n=n, urls=urls, batch=batch)
                rows.append(r)
                staged = ", ".join(f"{b} {s:.1f}s" for b, s in r["stage_s"].items())
                log(
                    f"{fmt} shard {k + 1}/{n}: read+score {r['score_wall_s']:.1f}s (read {r['read_s']:.1f}s), "
                    f"stage {staged}; peak RSS {r['peak_rss_mb']:.0f} MB (after imports {r['base_rss_mb']:.0f}); "
                    f"read {r['rchar_mb']:.0f} MB (files scanned {r['scanned_mb']:.0f} MB in {r['scans']} scans); "
                    f"rows kept {r['rows']}; staged {r['staged_rows']} rows"
                )
            for backend, (url, drop) in dbs.items():
                p = child("publish", url=url, month=args.month, n=n, batch=batch, rulebook=rulebook)
                drop()
                log(f"{fmt} {n} shard(s): publish on {backend} {p['publish_s']:.1f}s ({p['rows']} rows)")
            walls = [r["score_wall_s"] for r in rows]
            log(
                f"{fmt} {n} shard(s): read+score per shard max {max(walls):.1f}s, sum {sum(walls):.1f}s; "
                f"peak RSS max {max(r['peak_rss_mb'] for r in rows):.0f} MB; "
                f"read per shard max {max(r['rchar_mb'] for r in rows):.0f} MB"
            )
    print(f"uptime: {subprocess.run(['uptime'], capture_output=True, text=True).stdout.strip()}")


if __name__ == "__main__":
    main()
