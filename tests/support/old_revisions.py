"""Writing and reading results in a database at an earlier revision, for migration tests.

Before revision 0004 every result table held its frame's columns (the holdings too), so rows go
in and come out by the frame's column names, with plain SQL: nothing here depends on today's
write and read paths, which only know the head revision. On PostgreSQL (0002 and later) each
month's partition is made before its rows go in. ``read_0005`` reads revisions 0004 and 0005
(holdings on associations; names as text; 0005 on SQLite: dates as day numbers)."""

from __future__ import annotations

import datetime as dt

import polars as pl
import sqlalchemy as sa

from storage import results as R
from tests.support.synthetic import synthetic_partners


def _partitioned(conn, table: str) -> bool:
    sql = (
        "SELECT EXISTS (SELECT 1 FROM pg_partitioned_table p JOIN pg_class c ON c.oid = p.partrelid "
        "WHERE c.relname = %s AND c.relnamespace = current_schema()::regnamespace)"
    )
    return bool(conn.exec_driver_sql(sql, (table,)).scalar())


def write_old(engine: sa.Engine, frames: dict[str, pl.DataFrame]) -> None:
    """Insert result frames (frames.py columns) as they are, with their partners (in the
    registry) and a scored_month row per month of designations."""
    pg = engine.dialect.name == "postgresql"
    with engine.begin() as conn:
        for name, spec in R.RESULTS.items():
            table, df = spec.table.name, frames[name]
            if not df.height:
                continue
            if pg and _partitioned(conn, table):
                for month in df["month"].unique().sort():
                    part = f'pcs_partitions."{table}_{month:%Y_%m}"'
                    conn.exec_driver_sql(f'CREATE TABLE IF NOT EXISTS {part} PARTITION OF "{table}" '
                                         f"FOR VALUES IN ('{month.isoformat()}')")  # fmt: skip
            cols = list(spec.frame_schema)
            stmt = sa.text(f'INSERT INTO "{table}" ({", ".join(cols)}) VALUES ({", ".join(":" + c for c in cols)})')
            conn.execute(stmt, df.select(cols).to_dicts())
        partners = synthetic_partners(frames).with_columns(in_registry=pl.lit(True))
        conn.execute(sa.text("INSERT INTO partner VALUES (:partner_id, :partner_name, :in_registry)"),
                     partners.select("partner_id", "partner_name", "in_registry").to_dicts())  # fmt: skip
        counts = frames["designations"].group_by("month").agg(n=pl.len(), a=pl.col("attained").sum(),
                                                              rb=pl.col("rulebook_id").first())  # fmt: skip
        now = dt.datetime.now(dt.UTC)
        for m, n, a, rb in counts.iter_rows():
            conn.execute(
                sa.text("INSERT INTO scored_month (month, rulebook_id, partners_scored, partners_attained, "
                        "materialized_at) VALUES (:m, :rb, :n, :a, :t)"),
                {"m": m, "rb": rb, "n": n, "a": a, "t": now},
            )  # fmt: skip


def read_old(engine: sa.Engine) -> dict[str, pl.DataFrame]:
    """Every result table as its frame (frames.py schema, natural-key order)."""
    sqlite = engine.dialect.name == "sqlite"
    out = {}
    with engine.connect() as conn:
        for name, spec in R.RESULTS.items():
            schema = spec.frame_schema
            rows = conn.exec_driver_sql(f'SELECT {", ".join(schema)} FROM "{spec.table.name}"').all()
            raw = {c: pl.String if sqlite and d == pl.Date else pl.Int64 if sqlite and d == pl.Boolean else d
                   for c, d in schema.items()}  # fmt: skip
            df = pl.DataFrame([tuple(r) for r in rows], schema=raw, orient="row")
            if sqlite:
                df = df.with_columns(
                    pl.col(c).str.to_date("%Y-%m-%d") if d == pl.Date else pl.col(c).cast(d)
                    for c, d in schema.items() if d in (pl.Date, pl.Boolean)
                )  # fmt: skip
            out[name] = df.sort(list(spec.natural_key))
    return out


def read_0005(engine: sa.Engine) -> dict[str, pl.DataFrame]:
    """Every result table as its frame (frames.py schema, natural-key order), at revision 0004 or
    0005: the holdings are ``holding`` joined with ``association``; names are text."""
    sqlite = engine.dialect.name == "sqlite"
    out = {}
    with engine.connect() as conn:
        day_numbers = sqlite and conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar() == "0005"
        for name, spec in R.RESULTS.items():
            schema = spec.frame_schema
            if name == "holdings":
                cols = [f"h.{c}" if c in ("month", "paid_seats", "active_users") else f"a.{c}" for c in schema]
                sql = f"SELECT {', '.join(cols)} FROM holding h JOIN association a ON a.id = h.association_id"
            else:
                sql = f'SELECT {", ".join(schema)} FROM "{spec.table.name}"'
            rows = conn.exec_driver_sql(sql).all()
            date_raw = pl.Int64 if day_numbers else pl.String
            raw = {c: date_raw if sqlite and d == pl.Date else pl.Int64 if sqlite and d == pl.Boolean else d
                   for c, d in schema.items()}  # fmt: skip
            df = pl.DataFrame([tuple(r) for r in rows], schema=raw, orient="row")
            if sqlite:
                as_date = (lambda c: pl.col(c).cast(pl.Int32).cast(pl.Date)) if day_numbers else (
                    lambda c: pl.col(c).str.to_date("%Y-%m-%d"))  # fmt: skip
                df = df.with_columns(
                    as_date(c) if d == pl.Date else pl.col(c).cast(d)
                    for c, d in schema.items() if d in (pl.Date, pl.Boolean)
                )  # fmt: skip
            out[name] = df.sort(list(spec.natural_key))
    return out
