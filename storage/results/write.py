"""``write_results``: replace whole months of results, idempotently and atomically, in one
transaction that also upserts the partners and records the months in ``scored_month``."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import polars as pl
import sqlalchemy as sa
from sqlalchemy import Connection, Engine
from sqlalchemy.dialects import postgresql, sqlite

from storage import models as M
from storage.results.associations import split_holdings
from storage.results.postgres import PG_WRITE_LOCK, copy_rows, is_partitioned, stage_partition, swap_partitions
from storage.results.prepare import as_month, prepare_frame, prepare_partners, scored_month_rows
from storage.results.specs import OTHER, RESULTS, TableSpec
from storage.results.sqlite import by_month, insert_sqlite


def write_results(
    engine: Engine,
    *,
    months: Iterable[dt.date],
    frames: Mapping[str, pl.DataFrame],
    partners: pl.DataFrame | None = None,
    scored: Sequence[Mapping[str, Any]] | None = None,
) -> dict[str, int]:
    """Replace the results of ``months`` with ``frames``, in one transaction.

    ``frames``: all six result frames of frames.py by name (``eligible_tenants``, ``holdings``,
    ``metric_points``, ``path_scores``, ``designations``, ``customer_details``), with exactly the
    schema columns (dtypes are cast strictly), every row in one of ``months``; pass empty
    frames (``empty_frames()``) to clear a table's months.
    ``partners``: ``partner_id``, ``partner_name`` and optionally ``in_registry`` (default True:
    a PARTNERS_SCHEMA frame is the registry); upserted. Partners that appear in the frames but
    not in the table yet are inserted with ``in_registry=False``.
    ``scored``: optional dicts per month with ``rulebook_id``, ``materialized_at`` (aware),
    ``run_id`` (and, checked against the designations, ``partners_scored`` /
    ``partners_attained``); a month with designations gets its ``scored_month`` row even
    without an entry.

    Validation errors raise ValueError before the database is touched; database errors are
    SQLAlchemy's (``IntegrityError`` for a duplicate key, ...). Either way nothing is written.
    Returns the rows written per frame name, plus ``partners``, ``scored_months`` and
    ``associations`` (new associations stored).
    """
    month_list = sorted({as_month(m) for m in months})
    if not month_list:
        raise ValueError("months: give at least one month")
    month_set = set(month_list)
    missing = [n for n in RESULTS if n not in frames]
    unknown = [n for n in frames if n not in RESULTS]
    if missing or unknown:
        raise ValueError(f"frames: missing {missing}, unknown {unknown} (use empty_frames())")
    prepared = {n: prepare_frame(spec, frames[n], month_set, sort=False) for n, spec in RESULTS.items()}
    partners_df = prepare_partners(partners) if partners is not None else None
    seen = (
        pl.concat([df.select("partner_id") for df in prepared.values() if "partner_id" in df.columns])["partner_id"]
        .unique()
        .sort()
    )
    scored_rows = scored_month_rows(month_list, prepared["designations"], scored)

    counts: dict[str, int] = {}
    scored_table = OTHER["scored_months"].table
    with engine.begin() as conn:
        swapped = [
            spec for spec in RESULTS.values() if conn.dialect.name == "postgresql" and is_partitioned(conn, spec)
        ]
        in_place = [s for s in RESULTS.values() if s.name not in {w.name for w in swapped}]
        for spec in in_place:
            conn.execute(sa.delete(spec.table).where(spec.table.c.month.in_(month_list)))
        split = split_holdings(conn, prepared["holdings"])  # adds the associations not stored yet
        stored = {**prepared, "holdings": split.holdings}  # in key order already
        for name, spec in RESULTS.items():  # partitioned tables: loaded aside, nothing locked
            # key order: B-tree inserts in order (much faster on both backends than random
            # order); one table's sorted copy at a time
            df = stored[name] if name == "holdings" else stored[name].sort(list(spec.key))
            _bulk_insert(conn, spec, df)
            counts[name] = df.height
            del df
        if swapped:
            # from here to commit one writer at a time: two writers holding each other's
            # partner rows or scored months while waiting for the swap's locks would deadlock
            conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({PG_WRITE_LOCK})")
        conn.execute(sa.delete(scored_table).where(scored_table.c.month.in_(month_list)))
        counts["partners"] = _upsert_partners(conn, partners_df, seen)
        if scored_rows:
            conn.execute(sa.insert(scored_table), scored_rows)
        counts["scored_months"] = len(scored_rows)
        swap_partitions(conn, swapped, month_list)  # last: the tables' locks are held to commit
    split.commit()  # the associations added are known to be there from now on
    counts["associations"] = split.added.height
    return counts


def _bulk_insert(conn: Connection, spec: TableSpec, df: pl.DataFrame) -> None:
    """Load one table's rows: into the table itself, or (partitioned PostgreSQL tables) into
    new per-month tables that ``swap_partitions`` attaches at the end of the transaction."""
    if df.height == 0:
        return
    backend = conn.dialect.name
    if backend == "sqlite":
        insert_sqlite(conn, spec, df)
    elif backend == "postgresql":
        if is_partitioned(conn, spec):
            for month, part in by_month(df):
                stage_partition(conn, spec, month, part)
        else:
            copy_rows(conn, spec, df)
    else:  # portable fallback
        conn.execute(sa.insert(spec.table), df.to_dicts())


def _dialect_insert(conn: Connection, table: sa.Table):
    if conn.dialect.name == "postgresql":
        return postgresql.insert(table)
    if conn.dialect.name == "sqlite":
        return sqlite.insert(table)
    raise NotImplementedError(f"upserts on {conn.dialect.name}")


def _upsert_partners(conn: Connection, partners: pl.DataFrame | None, seen: pl.Series) -> int:
    table = M.Partner.__table__
    n = 0
    if partners is not None and partners.height:
        stmt = _dialect_insert(conn, table)
        stmt = stmt.on_conflict_do_update(
            index_elements=["partner_id"],
            set_={
                "partner_name": stmt.excluded.partner_name,
                "in_registry": stmt.excluded.in_registry,
            },
        )
        conn.execute(stmt, partners.to_dicts())
        n += partners.height
        seen = seen.filter(~seen.is_in(partners["partner_id"].implode()))
    if seen.len():
        # partners that appear in the results but not in the registry given: make sure they
        # exist (a partner's existing name and registry flag are left alone)
        stmt = _dialect_insert(conn, table).on_conflict_do_nothing(index_elements=["partner_id"])
        conn.execute(stmt, [{"partner_id": p, "partner_name": None, "in_registry": False} for p in seen])
        n += seen.len()
    return n
