"""Benchmark: ``storage.results.write_results`` rows/s, first write and replace, SQLite and
PostgreSQL; with ``--options``, also the PostgreSQL write paths that were weighed against the
one in use (issue 7).

    uv run --frozen python benchmarks/write_results.py [--partners 10000] [--runs 3]
        [--backends sqlite,postgresql] [--options | --strategies A,B] [--pg-url URL] [--json FILE]

or from Python (the one-command benchmark): ``rows = write_results.run(partners=..., runs=...)``,
one dict per (backend, strategy, case); see ``run``.

Data: ``tests.support.synthetic.synthetic_results`` with ``--partners`` partners, 15 tenants per
partner in the pool and 5 held each: about 89 rows per partner and month in the six result
tables (10,000 partners: 894,511 rows a month; the 20,000-partner generated set scores ~1.1M).
Each measured write is one month, ``write_results`` with everything it does (validation, key
sort, bulk load, partner upsert, ``scored_month``), timed from the call to its return.

Per backend and strategy: a new database (SQLite: a file under a temporary folder; PostgreSQL:
``pcs_bench_write_<random>`` made and dropped on the server of ``--pg-url``, default
``postgresql+psycopg://postgres@127.0.0.1:5432/test``) migrated to head (or to 0001 for the
strategies that need the unpartitioned tables), with two background months already written.
Then ``--runs`` times: **first** writes a month that is not there, **replace** writes that same
month again with other results (another seed: other values and a partly different key set, as
a rescoring gives). The strategies take turns within each run, so load from other work on a
shared machine falls on all of them alike. Reported: the median rows/s of the runs, and every
run.

Strategies: SQLite ``delete+insert`` (``write_results``: delete the month, ``executemany``).
PostgreSQL, with ``--options`` all of these (the first two are the real ``write_results``):

- ``swap`` (in use, head): each month of each table is COPY-ed (FREEZE) into a new table, then
  its primary key and indexes are built, and the month's partition is swapped for it at commit;
- ``delete+copy`` (revision 0001, unpartitioned): delete the month's rows, COPY the new ones;
- ``swap (indexes before load)``: the new table gets its key and indexes before the COPY;
- ``swap (no FREEZE)``: plain COPY into the new table;
- ``swap + ANALYZE``: ``swap``, plus ANALYZE of every new partition inside the transaction;
- ``truncate+copy``: partitioned; TRUNCATE the month's partition, COPY into it (blocks the
  month's readers for the whole load);
- ``stage+merge`` (0001): COPY into a temporary table, delete the keys that are gone, upsert
  the rows that changed (``ON CONFLICT DO UPDATE ... WHERE ... IS DISTINCT FROM``);
- ``drop indexes+delete+copy`` (0001): drop the key and the indexes, delete, COPY, rebuild
  them (rebuilds every month's entries; blocks every reader for the whole write).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import platform
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_ROOT))

import polars as pl  # noqa: E402
import sqlalchemy as sa  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from storage import migrate  # noqa: E402
from storage import results as R  # noqa: E402
from storage.engines import dispose_engines, get_engine  # noqa: E402
from tests.support.synthetic import synthetic_partners, synthetic_results  # noqa: E402

DEFAULT_PG_URL = os.environ.get("PCS_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
BACKGROUND = [dt.date(2024, 1, 1), dt.date(2024, 2, 1)]
IN_USE = {"sqlite": "delete+insert", "postgresql": "swap"}  # what write_results does
Writer = Callable[[sa.Engine, dt.date, dict[str, pl.DataFrame]], None]


# ---- the alternatives (PostgreSQL) -----------------------------------------------------------


def _write(engine: sa.Engine, month: dt.date, frames: dict[str, pl.DataFrame]) -> None:
    R.write_results(engine, months=[month], frames=frames)


@contextlib.contextmanager
def _patched(name: str, replacement) -> Iterator[None]:
    real = getattr(R, name)
    setattr(R, name, replacement)
    try:
        yield
    finally:
        setattr(R, name, real)


def _stage_variant(*, indexes_first: bool = False, freeze: bool = True, analyze: bool = False):
    def stage(conn, spec, month, df):
        table = R._qualified(conn, R._staging_name(spec, month, R._xid(conn)))
        conn.exec_driver_sql(f"CREATE TABLE {table} ({R._columns_ddl(conn, spec)}, CHECK (month = DATE '{month}'))")
        cols = lambda names: ", ".join(f'"{c}"' for c in names)  # noqa: E731
        ddl = [f"ALTER TABLE {table} ADD PRIMARY KEY ({cols(spec.key)})"] + [
            f"CREATE INDEX ON {table} ({cols(c.name for c in ix.columns)})" for ix in spec.table.indexes
        ]
        for q in ddl if indexes_first else ():
            conn.exec_driver_sql(q)
        R._insert_postgresql(conn, spec, df, target=table, freeze=freeze)
        for q in () if indexes_first else ddl:
            conn.exec_driver_sql(q)
        if analyze:
            conn.exec_driver_sql(f"ANALYZE {table}")

    return stage


def _swap_variant(**kw) -> Writer:
    def write(engine, month, frames):
        with _patched("_stage_partition", _stage_variant(**kw)):
            _write(engine, month, frames)

    return write


def _finish(conn, month: dt.date, prepared: dict[str, pl.DataFrame]) -> None:
    """What write_results does besides the result tables: partners, scored_month."""
    t = R.OTHER["scored_months"].table
    conn.execute(sa.delete(t).where(t.c.month == month))
    seen = pl.concat([df.select("partner_id") for df in prepared.values() if "partner_id" in df.columns])
    R._upsert_partners(conn, None, seen["partner_id"].unique().sort())
    conn.execute(sa.insert(t), R._scored_rows([month], prepared["designations"], None))


def _prepared(month, frames):
    return {n: R._prepare_frame(s, frames[n], {month}) for n, s in R.RESULTS.items()}


def _truncate_copy(engine, month, frames) -> None:
    prepared = _prepared(month, frames)
    with engine.begin() as conn:
        for name, spec in R.RESULTS.items():
            part = R._qualified(conn, R._partition_name(spec, month))
            if conn.exec_driver_sql(f"SELECT to_regclass('{part}')").scalar():
                conn.exec_driver_sql(f"TRUNCATE {part}")
            else:
                conn.exec_driver_sql(
                    f"CREATE TABLE {part} PARTITION OF \"{spec.table.name}\" FOR VALUES IN ('{month}')"
                )
            R._insert_postgresql(conn, spec, prepared[name], target=part)
        _finish(conn, month, prepared)


def _stage_merge(engine, month, frames) -> None:
    prepared = _prepared(month, frames)
    with engine.begin() as conn:
        for name, spec in R.RESULTS.items():
            t, stage = f'"{spec.table.name}"', f'"stage_{spec.table.name}"'
            conn.exec_driver_sql(f"CREATE TEMP TABLE {stage} (LIKE {t}) ON COMMIT DROP")
            R._insert_postgresql(conn, spec, prepared[name], target=stage)
            same_key = " AND ".join(f's."{k}" = d."{k}"' for k in spec.key)
            conn.exec_driver_sql(
                f"DELETE FROM {t} d WHERE d.month = DATE '{month}' "
                f"AND NOT EXISTS (SELECT 1 FROM {stage} s WHERE {same_key})"
            )
            rest = [c for c in spec.schema if c not in spec.key]
            conn.exec_driver_sql(
                f"INSERT INTO {t} SELECT * FROM {stage} ON CONFLICT ({', '.join(spec.key)}) "
                f"DO UPDATE SET {', '.join(f'{c} = EXCLUDED.{c}' for c in rest)} WHERE "
                + " OR ".join(f"{t}.{c} IS DISTINCT FROM EXCLUDED.{c}" for c in rest)
            )
        _finish(conn, month, prepared)


def _drop_indexes_delete_copy(engine, month, frames) -> None:
    prepared = _prepared(month, frames)
    with engine.begin() as conn:
        for name, spec in R.RESULTS.items():
            t = f'"{spec.table.name}"'
            conn.exec_driver_sql(f'ALTER TABLE {t} DROP CONSTRAINT "pk_{spec.table.name}"')
            for ix in spec.table.indexes:
                conn.exec_driver_sql(f'DROP INDEX "{ix.name}"')
            conn.exec_driver_sql(f"DELETE FROM {t} WHERE month = DATE '{month}'")
            R._insert_postgresql(conn, spec, prepared[name])
            conn.exec_driver_sql(
                f'ALTER TABLE {t} ADD CONSTRAINT "pk_{spec.table.name}" PRIMARY KEY ({", ".join(spec.key)})'
            )
            for ix in spec.table.indexes:
                conn.exec_driver_sql(f'CREATE INDEX "{ix.name}" ON {t} ({", ".join(c.name for c in ix.columns)})')
        _finish(conn, month, prepared)


# strategy -> (revision, writer)
STRATEGIES: dict[str, tuple[str, Writer]] = {
    "delete+insert": ("head", _write),  # SQLite
    "swap": ("head", _write),
    "delete+copy": ("0001", _write),
    "swap (indexes before load)": ("head", _swap_variant(indexes_first=True)),
    "swap (no FREEZE)": ("head", _swap_variant(freeze=False)),
    "swap + ANALYZE": ("head", _swap_variant(analyze=True)),
    "truncate+copy": ("head", _truncate_copy),
    "stage+merge": ("0001", _stage_merge),
    "drop indexes+delete+copy": ("0001", _drop_indexes_delete_copy),
}


# ---- databases -------------------------------------------------------------------------------


@contextlib.contextmanager
def scratch_database(backend: str, pg_url: str, directory: Path | None = None) -> Iterator[str]:
    """A new, empty database for one measurement, removed afterwards: a SQLite file in a temporary
    folder (under ``directory`` when given) or a PostgreSQL database beside ``pg_url``'s."""
    if backend == "sqlite":
        with tempfile.TemporaryDirectory(prefix="pcs-bench-write-", dir=directory) as tmp:
            url = f"sqlite:///{Path(tmp) / 'results.sqlite'}"
            try:
                yield url
            finally:
                dispose_engines(url)
        return
    admin = sa.create_engine(pg_url, isolation_level="AUTOCOMMIT")
    name = f"pcs_bench_{uuid.uuid4().hex[:10]}"
    try:
        with admin.connect() as c:
            c.exec_driver_sql(f'CREATE DATABASE "{name}"')
        url = make_url(pg_url).set(database=name).render_as_string(hide_password=False)
        try:
            yield url
        finally:
            dispose_engines(url)
            with admin.connect() as c:
                c.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        admin.dispose()


def _pg_unreachable(pg_url: str) -> str | None:
    try:
        engine = sa.create_engine(pg_url)
        with engine.connect() as c:
            c.exec_driver_sql("SELECT 1")
        engine.dispose()
    except Exception as exc:
        return f"PostgreSQL not reachable at {pg_url}: {exc.__class__.__name__}"
    return None


# ---- measuring -------------------------------------------------------------------------------


def _frames(month: dt.date, partners: int, seed: int) -> dict[str, pl.DataFrame]:
    return synthetic_results([month], partners=partners, tenants=15 * partners,
                             tenants_per_partner=5, seed=seed)  # fmt: skip


def _summary(backend: str, strategy: str, partners: int,
             timings: dict[str, list[tuple[int, float]]]) -> list[dict]:  # fmt: skip
    out = []
    for case, samples in timings.items():
        rates = [rows / s for rows, s in samples]
        out.append({
            "benchmark": "write_results", "backend": backend, "strategy": strategy,
            "in_use": strategy == IN_USE[backend], "case": case,
            "revision": STRATEGIES[strategy][0], "partners": partners, "rows": samples[0][0],
            "runs": len(samples), "median_s": statistics.median(s for _, s in samples),
            "median_rows_per_s": statistics.median(rates), "rows_per_s": [round(r) for r in rates],
        })  # fmt: skip
    return out


def run(
    *,
    partners: int = 10_000,
    runs: int = 3,
    backends: Sequence[str] = ("sqlite", "postgresql"),
    options: bool = False,
    strategies: Sequence[str] | None = None,
    pg_url: str = DEFAULT_PG_URL,
    log: Callable[[str], None] | None = None,
) -> list[dict]:
    """Measure and return one dict per (backend, strategy, case): ``benchmark``
    ("write_results"), ``backend``, ``strategy``, ``in_use`` (the strategy write_results uses),
    ``case`` ("first" | "replace"), ``revision``, ``partners``, ``rows`` (per write), ``runs``,
    ``median_s``, ``median_rows_per_s``, ``rows_per_s`` (every run). PostgreSQL without a
    server gives one dict with ``skipped`` (the reason) instead. ``options``: also the
    PostgreSQL alternatives of ``STRATEGIES``; ``strategies``: only these PostgreSQL ones
    (names of ``STRATEGIES``). ``log``: progress lines (default: none).

    The strategies take turns within each run (run 1 of every one, then run 2, ...), so load
    from other work on a shared machine falls on all of them alike."""
    log = log or (lambda line: None)
    out: list[dict] = []
    cells: list[tuple[str, str]] = []
    for backend in backends:
        if backend not in ("sqlite", "postgresql"):
            raise ValueError(f"unknown backend {backend!r}")
        if backend == "postgresql" and (reason := _pg_unreachable(pg_url)):
            out.append({"benchmark": "write_results", "backend": backend, "skipped": reason})
            continue
        if backend == "postgresql" and strategies:
            unknown = set(strategies) - set(STRATEGIES)
            if unknown:
                raise ValueError(f"unknown strategies {sorted(unknown)}; known: {list(STRATEGIES)}")
            cells += [(backend, s) for s in strategies]
            continue
        cells.append((backend, IN_USE[backend]))
        if options and backend == "postgresql":
            cells += [(backend, s) for s in STRATEGIES if s not in IN_USE.values()]
    if not cells:
        return out
    months = [dt.date(2024 + (2 + i) // 12, (2 + i) % 12 + 1, 1) for i in range(runs)]
    timings = {cell: {"first": [], "replace": []} for cell in cells}
    with contextlib.ExitStack() as stack:
        engines = {}
        for backend, strategy in cells:
            url = stack.enter_context(scratch_database(backend, pg_url))
            migrate.upgrade(url, STRATEGIES[strategy][0])
            engines[backend, strategy] = get_engine(url)
        log(f"writing the background months ({', '.join(f'{m:%Y-%m}' for m in BACKGROUND)})")
        for m in BACKGROUND:
            frames = _frames(m, partners, seed=m.month)
            for engine in engines.values():
                R.write_results(engine, months=[m], frames=frames, partners=synthetic_partners(frames))
        for i, m in enumerate(months):
            for case, seed in (("first", 10 + i), ("replace", 100 + i)):
                frames = _frames(m, partners, seed)
                rows = sum(df.height for df in frames.values())
                for (backend, strategy), engine in engines.items():
                    t0 = time.perf_counter()
                    STRATEGIES[strategy][1](engine, m, frames)
                    seconds = time.perf_counter() - t0
                    timings[backend, strategy][case].append((rows, seconds))
                    log(f"  {backend:10} {strategy:26} {case:8} run {i + 1}: {rows:,} rows "
                        f"in {seconds:.2f} s = {rows / seconds:,.0f} rows/s")  # fmt: skip
        for (_backend, strategy), engine in engines.items():  # every strategy wrote the same
            got = R.row_counts(engine, months=[months[-1]])
            assert all(got[n] == frames[n].height for n in R.RESULTS), (strategy, got)
    for (backend, strategy), t in timings.items():
        out += _summary(backend, strategy, partners, t)
    return out


def format_table(rows: list[dict]) -> str:
    lines = ["| backend | strategy | rows/write | first: rows/s | replace: rows/s |",
             "| --- | --- | ---: | ---: | ---: |"]  # fmt: skip
    cells: dict[tuple[str, str], dict[str, dict]] = {}
    for r in rows:
        if "skipped" in r:
            lines.append(f"| {r['backend']} | skipped: {r['skipped']} | | | |")
            continue
        cells.setdefault((r["backend"], r["strategy"]), {})[r["case"]] = r
    for (backend, strategy), c in cells.items():
        label = strategy + (" (in use)" if c["first"]["in_use"] else "")
        lines.append(
            f"| {backend} | {label} | {c['first']['rows']:,} | "
            f"{c['first']['median_rows_per_s']:,.0f} | {c['replace']['median_rows_per_s']:,.0f} |"
        )
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--partners", type=int, default=10_000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--backends", default="sqlite,postgresql")
    ap.add_argument("--options", action="store_true", help="also the PostgreSQL alternatives")
    ap.add_argument("--strategies", help="only these PostgreSQL strategies (comma-separated)")
    ap.add_argument("--pg-url", default=DEFAULT_PG_URL)
    ap.add_argument("--json", metavar="FILE", help="also write the rows as JSON")
    args = ap.parse_args()
    t0 = time.perf_counter()
    rows = run(partners=args.partners, runs=args.runs, backends=args.backends.split(","),
               options=args.options, pg_url=args.pg_url, log=lambda s: print(s, flush=True),
               strategies=args.strategies.split(",") if args.strategies else None)  # fmt: skip
    print(f"\nwrite_results, one month per write, {args.partners:,} partners, medians of "
          f"{args.runs} runs ({platform.machine()}, {os.cpu_count()} CPUs, "
          f"{time.perf_counter() - t0:.0f} s in all)\n")  # fmt: skip
    print(format_table(rows))
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
