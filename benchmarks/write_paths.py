"""Measurement (issue 16, first step): ways of writing one month of real results, into a new
SQLite file and a new PostgreSQL database per write; rows/s and bytes per table per path.

    .venv/bin/python benchmarks/write_paths.py [--data /tmp/bench20k] [--month 2024-06] [--runs 3]
        [--backends sqlite,postgresql] [--pg-url URL] [--paths a,b] [--json FILE] [--cache DIR]
    .venv/bin/python benchmarks/write_paths.py --overlap 4 [--month 2024-06]

Needs ``adbc-driver-sqlite`` and ``adbc-driver-postgresql`` (1.13.0) in the environment; they are
not project dependencies (``uv pip install adbc-driver-sqlite==1.13.0 adbc-driver-postgresql==1.13.0``);
the paths that need them are skipped without them.

Data: one month scored by ``scoring.service.score_months`` from ``--data`` (the 20,000-partner
generated set: ~1.8M result rows). Paths, each writing the six result tables of that month:

- ``write_results``: the project's ``storage.results.write_results`` (head schema; SQLite
  executemany, PostgreSQL COPY into new tables swapped in as partitions), partners included;
- ``adbc``: ADBC bulk ingest (``adbc_ingest``, Arrow) into the same tables (SQLite: the head
  schema's WITHOUT ROWID tables; PostgreSQL: plain tables of the same columns and primary key
  made by this script), one transaction;
- ``polars-adbc``: ``DataFrame.write_database(engine="adbc")`` per table on one ADBC connection
  (polars commits after each table), into the same tables as ``adbc``;
- ``adbc-ordered``: ``adbc`` with every frame sorted by its primary key first (the sort counted;
  the scoring already hands the frames over in key order, so this is the sort's cost);
- ``adbc-shuffled``: ``adbc`` with the rows in random order (shuffled before the clock starts):
  what the key order is worth;
- ``adbc-key-after``: ``adbc`` into tables without a key (SQLite: rowid tables), the primary
  key made after the load in the same transaction (SQLite: a unique index), as the PostgreSQL
  swap does;
- ``adbc-intkeys``: ``adbc-ordered`` with ``partner_id``/``tenant_id`` as 32-bit integer
  surrogate keys (a dictionary per id made here and counted; the dictionaries' own tables are
  written too) and the dates of ``month``/``associated_on`` as integer days: the narrower tables;
- ``adbc-intkeys-noholdings``: ``adbc-intkeys`` without the ``holding`` table (the rows the API
  could derive from ``customer_detail`` or store once per association).

With ``--overlap N``, only this: N months from ``--month`` scored as the backfill scores them
and written by ADBC into a new SQLite file, each month written before the next is scored, then
each written in a thread while the next is scored: what writing month M while M+1 is scored saves.

Each write is timed from the call to its commit; the paths take turns within each run (load from
other work falls on all alike), a new database for every write. Reported: the median of the runs
of rows/s (all tables), seconds, and bytes per table (SQLite: ``dbstat`` pages of the table and
its indexes; PostgreSQL: ``pg_total_relation_size``, partitions summed).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_ROOT))

import polars as pl  # noqa: E402
import sqlalchemy as sa  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402
from write_results import scratch_database  # noqa: E402  (the sibling benchmark, on sys.path as the script's folder)

from storage import migrate  # noqa: E402
from storage import results as R  # noqa: E402
from storage.engines import SQLITE_PRAGMAS, dispose_engines, get_engine  # noqa: E402

DEFAULT_PG_URL = os.environ.get("PCS_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
PATHS = ("write_results", "adbc", "polars-adbc", "adbc-ordered", "adbc-shuffled", "adbc-key-after", "adbc-intkeys",
         "adbc-intkeys-noholdings")  # fmt: skip
PG_TYPES = {pl.String: "TEXT", pl.Int64: "BIGINT", pl.Int32: "INTEGER", pl.Float64: "DOUBLE PRECISION",
            pl.Boolean: "BOOLEAN", pl.Date: "DATE"}  # fmt: skip
SQLITE_TYPES = {pl.String: "VARCHAR", pl.Int64: "BIGINT", pl.Int32: "INTEGER", pl.Float64: "FLOAT",
                pl.Boolean: "BOOLEAN", pl.Date: "DATE"}  # fmt: skip


def log(line: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {line}", flush=True)


# ---- the month -------------------------------------------------------------------------------


def score_month(data: Path, month: dt.date, cache: Path | None) -> tuple[dict[str, pl.DataFrame], pl.DataFrame]:
    """The month's six result frames and the partner registry (kept as Parquet under ``cache``
    when given, for the next run)."""
    from scoring import service

    names = [*R.RESULTS, "partners"]
    if cache is not None and all((cache / f"{n}.parquet").exists() for n in names):
        got = {n: pl.read_parquet(cache / f"{n}.parquet") for n in names}
        return {n: got[n] for n in R.RESULTS}, got["partners"]
    scored = service.score_months([month], directory=data)
    frames = scored.result.frames()
    if cache is not None:
        cache.mkdir(parents=True, exist_ok=True)
        for n, df in {**frames, "partners": scored.partners}.items():
            df.write_parquet(cache / f"{n}.parquet")
    return frames, scored.partners


def row_counts(url: str, tables: list[str]) -> dict[str, int]:
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        out = {t: conn.exec_driver_sql(f'SELECT COUNT(*) FROM "{t}"').scalar_one() for t in tables}
    engine.dispose()
    return out


def table_frames(frames: dict[str, pl.DataFrame]) -> dict[str, pl.DataFrame]:
    """The six frames by table name, with exactly the table's columns and dtypes."""
    return {spec.table.name: frames[n].select(list(spec.schema)).cast(spec.schema) for n, spec in R.RESULTS.items()}


def keys_of(table: str) -> tuple[str, ...]:
    return next(s.key for s in R.RESULTS.values() if s.table.name == table)


def ordered(tables: dict[str, pl.DataFrame]) -> dict[str, pl.DataFrame]:
    return {t: df.sort(list(keys_of(t))) for t, df in tables.items()}


def int_keys(tables: dict[str, pl.DataFrame]) -> dict[str, pl.DataFrame]:
    """Partner and tenant ids as Int32 surrogates (dictionaries ``partner_key``/``tenant_key``
    added), dates as Int32 days since 1970-01-01; sorted by the (now integer) primary key."""
    out: dict[str, pl.DataFrame] = {}
    for col, dict_table in (("partner_id", "partner_key"), ("tenant_id", "tenant_key")):
        ids = pl.concat([df.select(col) for df in tables.values() if col in df.columns]).unique().sort(col)
        out[dict_table] = ids.with_row_index("id").with_columns(pl.col("id").cast(pl.Int32)).select("id", col)
    mapped = {}
    for t, df in tables.items():
        for col, dict_table in (("partner_id", "partner_key"), ("tenant_id", "tenant_key")):
            if col in df.columns:
                ids = out[dict_table].rename({"id": "_id"})
                df = df.join(ids, on=col, how="left").with_columns(pl.col("_id").alias(col)).drop("_id")
        dates = [c for c, d in df.schema.items() if d == pl.Date]
        df = df.with_columns(pl.col(dates).cast(pl.Int32))
        mapped[t] = df.sort(list(keys_of(t)))
    return {**mapped, **out}


# ---- databases -------------------------------------------------------------------------------


def adbc_uri(url: str) -> str:
    u = make_url(url)
    if u.get_backend_name() == "sqlite":
        return str(u.database)
    return u.set(drivername="postgresql").render_as_string(hide_password=False)


def adbc_connect(url: str):
    """An ADBC connection; SQLite with the project's pragmas (storage.engines: WAL, synchronous
    NORMAL, 64 MiB cache), so that only the insert path differs."""
    if make_url(url).get_backend_name() != "sqlite":
        import adbc_driver_postgresql.dbapi as pg

        return pg.connect(adbc_uri(url))
    import adbc_driver_sqlite.dbapi as lite

    conn = lite.connect(adbc_uri(url), autocommit=True)  # pragmas outside a transaction
    with conn.cursor() as cur:
        for pragma in SQLITE_PRAGMAS:
            cur.execute(pragma)
            cur.fetchall()
    conn.adbc_connection.set_autocommit(False)
    conn._autocommit, conn._commit_supported = False, True  # as connect(autocommit=False) sets them
    return conn


def create_plain_tables(url: str, tables: dict[str, pl.DataFrame], *, key_after: bool = False) -> None:
    """Tables of the frames' columns and primary keys (SQLite: WITHOUT ROWID, as the head
    schema; the ``partner_key``/``tenant_key`` dictionaries keyed by ``id``), no other index.
    ``key_after``: no key (SQLite: rowid tables); ``add_keys`` makes it after the load."""
    engine = get_engine(url)  # SQLite: a new file with the project's pragmas (page size, WAL)
    sqlite = engine.dialect.name == "sqlite"
    types = SQLITE_TYPES if sqlite else PG_TYPES
    with engine.begin() as conn:
        for t, df in tables.items():
            key = ("id",) if t.endswith("_key") else keys_of(t)
            nullable = set() if t.endswith("_key") else {c.name for c in R.table_spec(t).table.columns if c.nullable}
            cols = ", ".join(
                f'"{c}" {types[d.base_type()]}{"" if c in nullable else " NOT NULL"}' for c, d in df.schema.items()
            )
            if key_after:
                conn.exec_driver_sql(f'CREATE TABLE "{t}" ({cols})')
                continue
            tail = " WITHOUT ROWID" if sqlite else ""
            conn.exec_driver_sql(f'CREATE TABLE "{t}" ({cols}, PRIMARY KEY ({", ".join(key)})){tail}')
    dispose_engines(url)


def table_bytes(url: str, tables: list[str]) -> dict[str, int]:
    engine = sa.create_engine(url)
    out = {}
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            owner = dict(conn.exec_driver_sql("SELECT name, tbl_name FROM sqlite_master").all())
            for name, size in conn.exec_driver_sql("SELECT name, SUM(pgsize) FROM dbstat GROUP BY name"):
                t = owner.get(name, name)
                if t in tables:
                    out[t] = out.get(t, 0) + size
        else:
            for t in tables:
                out[t] = int(
                    conn.exec_driver_sql(
                        "SELECT CASE WHEN c.relkind = 'p' THEN (SELECT SUM(pg_total_relation_size(relid)) "
                        "FROM pg_partition_tree(c.oid)) ELSE pg_total_relation_size(c.oid) END "
                        f"FROM pg_class c WHERE c.oid = '\"{t}\"'::regclass"
                    ).scalar_one()
                    or 0
                )
    engine.dispose()
    return out


# ---- the paths -------------------------------------------------------------------------------


def add_keys(conn, sqlite: bool, tables: list[str]) -> None:
    """The primary keys of ``tables``, made after their load (SQLite: a unique index)."""
    with conn.cursor() as cur:
        for t in tables:
            cols = ", ".join(("id",) if t.endswith("_key") else keys_of(t))
            if sqlite:
                cur.execute(f'CREATE UNIQUE INDEX "pk_{t}" ON "{t}" ({cols})')
            else:
                cur.execute(f'ALTER TABLE "{t}" ADD PRIMARY KEY ({cols})')


def path_write_results(url: str, month: dt.date, frames, partners) -> dict[str, pl.DataFrame]:
    migrate.upgrade(url)
    engine = get_engine(url)
    t0 = time.perf_counter()
    R.write_results(engine, months=[month], frames=frames, partners=partners)
    return {"seconds": time.perf_counter() - t0, "tables": [s.table.name for s in R.RESULTS.values()]}


def _adbc_ingest(url: str, tables: dict[str, pl.DataFrame], prepare: Callable | None = None) -> float:
    conn = adbc_connect(url)
    try:
        t0 = time.perf_counter()
        if prepare is not None:
            tables = prepare(tables)
        with conn.cursor() as cur:
            for t, df in tables.items():
                cur.adbc_ingest(t, df.to_arrow(), mode="append")
        conn.commit()
        return time.perf_counter() - t0
    finally:
        conn.close()


def _setup_adbc(url: str, tables: dict[str, pl.DataFrame]) -> None:
    if make_url(url).get_backend_name() == "sqlite":
        migrate.upgrade(url)  # the head schema's tables (WITHOUT ROWID, indexes)
        dispose_engines(url)
    else:
        create_plain_tables(url, tables)


def path_adbc_key_after(url, month, frames, partners):
    tables = table_frames(frames)
    create_plain_tables(url, tables, key_after=True)
    conn = adbc_connect(url)
    try:
        t0 = time.perf_counter()
        with conn.cursor() as cur:
            for t, df in tables.items():
                cur.adbc_ingest(t, df.to_arrow(), mode="append")
        add_keys(conn, make_url(url).get_backend_name() == "sqlite", list(tables))
        conn.commit()
        return {"seconds": time.perf_counter() - t0, "tables": list(tables)}
    finally:
        conn.close()


def path_adbc(url, month, frames, partners, *, prepare=None, drop=(), shuffle=False):
    tables = {t: df for t, df in table_frames(frames).items() if t not in drop}
    if shuffle:  # before the clock starts
        tables = {t: df.sample(fraction=1.0, shuffle=True, seed=0) for t, df in tables.items()}
    _setup_adbc(url, tables)
    return {"seconds": _adbc_ingest(url, tables, prepare), "tables": list(tables)}


def path_polars_adbc(url, month, frames, partners):
    tables = table_frames(frames)
    _setup_adbc(url, tables)
    conn = adbc_connect(url)  # polars commits after each table
    try:
        t0 = time.perf_counter()
        for t, df in tables.items():
            df.write_database(t, connection=conn, engine="adbc", if_table_exists="append")
        return {"seconds": time.perf_counter() - t0, "tables": list(tables)}
    finally:
        conn.close()


def path_intkeys(url, month, frames, partners, *, drop=()):
    tables = {t: df for t, df in table_frames(frames).items() if t not in drop}
    shape = int_keys(tables)  # only for the table definitions; the timed run maps again
    create_plain_tables(url, shape)
    conn = adbc_connect(url)
    try:
        t0 = time.perf_counter()
        mapped = int_keys(tables)
        with conn.cursor() as cur:
            for t, df in mapped.items():
                cur.adbc_ingest(t, df.to_arrow(), mode="append")
        conn.commit()
        seconds = time.perf_counter() - t0
    finally:
        conn.close()
    return {"seconds": seconds, "tables": list(shape)}


WRITERS: dict[str, Callable] = {
    "write_results": path_write_results,
    "adbc": path_adbc,
    "polars-adbc": path_polars_adbc,
    "adbc-ordered": lambda *a: path_adbc(*a, prepare=ordered),
    "adbc-shuffled": lambda *a: path_adbc(*a, shuffle=True),
    "adbc-key-after": path_adbc_key_after,
    "adbc-intkeys": path_intkeys,
    "adbc-intkeys-noholdings": lambda *a: path_intkeys(*a, drop=("holding",)),
}


def _ingest(conn, tables: dict[str, pl.DataFrame]) -> float:
    t0 = time.perf_counter()
    with conn.cursor() as cur:
        for t, df in tables.items():
            cur.adbc_ingest(t, df.to_arrow(), mode="append")
    conn.commit()
    return time.perf_counter() - t0


def overlap(data: Path, first: dt.date, count: int, tmp: Path) -> list[dict]:
    """``count`` months from ``first`` scored (``service.score_each``, as the backfill) and
    written by ADBC into a new SQLite file of the head schema, a month per transaction: each
    month written before the next is scored (``sequential``), or written in a thread while the
    next is scored (``overlapped``; the ADBC call holds no GIL). Wall time of each."""
    from concurrent.futures import ThreadPoolExecutor

    from scoring import calendar, service

    months = calendar.month_range(first, calendar.add_months(first, count - 1))
    out = []
    for mode in ("sequential", "overlapped"):
        with scratch_database("sqlite", "", tmp) as url:
            migrate.upgrade(url)
            dispose_engines(url)
            conn = adbc_connect(url)
            pool = ThreadPoolExecutor(1)
            try:
                t0 = time.perf_counter()
                stream = service.score_each(months, directory=data)
                pending, write_s = None, 0.0
                for _, result in stream.results:
                    tables = table_frames(result.frames())
                    if mode == "sequential":
                        write_s += _ingest(conn, tables)
                        continue
                    if pending is not None:
                        write_s += pending.result()
                    pending = pool.submit(_ingest, conn, tables)
                if pending is not None:
                    write_s += pending.result()
                wall = time.perf_counter() - t0
            finally:
                pool.shutdown()
                conn.close()
        out.append({"mode": mode, "months": len(months), "wall_s": wall, "write_s": write_s,
                    "read_wait_s": stream.read_seconds})  # fmt: skip
        log(f"  {mode:11} {len(months)} months: {wall:.1f}s wall, of which writing {write_s:.1f}s "
            f"(waiting for input {stream.read_seconds:.1f}s)")  # fmt: skip
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", default="/tmp/bench20k")
    ap.add_argument("--month", default="2024-06")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--backends", default="sqlite,postgresql")
    ap.add_argument("--pg-url", default=DEFAULT_PG_URL)
    ap.add_argument("--paths", default=",".join(PATHS))
    ap.add_argument("--json")
    ap.add_argument("--cache", help="a folder keeping the scored month as Parquet between runs")
    ap.add_argument("--overlap", type=int, metavar="N", help="only the overlap measurement, on N months")
    args = ap.parse_args()
    month = dt.date.fromisoformat(args.month + "-01")
    if args.overlap:
        log(f"load average {' '.join(Path('/proc/loadavg').read_text().split()[:3])}")
        with tempfile.TemporaryDirectory(prefix="pcs-write-paths-") as tmp:
            out = overlap(Path(args.data), month, args.overlap, Path(tmp))
        log(f"load average {' '.join(Path('/proc/loadavg').read_text().split()[:3])}")
        if args.json:
            Path(args.json).write_text(json.dumps(out, indent=1))
        return 0
    paths = [p for p in args.paths.split(",") if p]
    try:
        import adbc_driver_postgresql.dbapi  # noqa: F401
        import adbc_driver_sqlite.dbapi  # noqa: F401
    except ImportError:
        log("adbc-driver-sqlite / adbc-driver-postgresql not installed: only write_results is measured")
        paths = [p for p in paths if p == "write_results"]
    log(f"load average {' '.join(Path('/proc/loadavg').read_text().split()[:3])}")
    t0 = time.perf_counter()
    frames, partners = score_month(Path(args.data), month, Path(args.cache) if args.cache else None)
    rows = {spec.table.name: frames[n].height for n, spec in R.RESULTS.items()}
    log(f"scored {args.month} in {time.perf_counter() - t0:.1f}s: {sum(rows.values()):,} rows {rows}")
    samples: dict[tuple[str, str], list[dict]] = {}
    with tempfile.TemporaryDirectory(prefix="pcs-write-paths-") as tmp:
        for run in range(args.runs):
            for backend in args.backends.split(","):
                for path in paths:
                    with scratch_database(backend, args.pg_url, Path(tmp)) as url:
                        out = WRITERS[path](url, month, frames, partners)
                        out["bytes"] = table_bytes(url, out["tables"])
                        stored = row_counts(url, [t for t in out["tables"] if t in rows])
                        if stored != {t: rows[t] for t in stored}:  # every path wrote every row
                            raise AssertionError(f"{backend} {path}: {stored} != {rows}")
                    n = sum(rows.get(t, 0) for t in out["tables"])
                    out["rows"] = n
                    samples.setdefault((backend, path), []).append(out)
                    log(f"  run {run + 1} {backend:10} {path:24} {n:,} rows in {out['seconds']:.2f}s = "
                        f"{n / out['seconds']:,.0f} rows/s, {sum(out['bytes'].values()) / 1e6:,.1f} MB")  # fmt: skip
    report = []
    for (backend, path), outs in samples.items():
        tables = outs[0]["tables"]
        report.append({
            "backend": backend, "path": path, "rows": outs[0]["rows"], "runs": len(outs),
            "median_s": statistics.median(o["seconds"] for o in outs),
            "median_rows_per_s": statistics.median(o["rows"] / o["seconds"] for o in outs),
            "bytes": {t: statistics.median(o["bytes"].get(t, 0) for o in outs) for t in tables},
            "rows_per_table": {t: rows.get(t) for t in tables},
        })  # fmt: skip
    log(f"load average {' '.join(Path('/proc/loadavg').read_text().split()[:3])}")
    print("| backend | path | rows | median s | median rows/s | MB total | MB per table |")
    print("| --- | --- | ---: | ---: | ---: | ---: | --- |")
    for r in report:
        per = ", ".join(f"{t} {b / 1e6:.1f}" for t, b in r["bytes"].items())
        print(f"| {r['backend']} | {r['path']} | {r['rows']:,} | {r['median_s']:.2f} | "
              f"{r['median_rows_per_s']:,.0f} | {sum(r['bytes'].values()) / 1e6:,.1f} | {per} |")  # fmt: skip
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=1, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
