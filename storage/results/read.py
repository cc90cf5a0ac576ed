"""Reading the results back as Polars frames with exactly the ``scoring.frames`` schemas,
sorted by the natural key (the primary key), in one snapshot per call."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

import polars as pl
import sqlalchemy as sa
from sqlalchemy import Connection, Engine

from storage import models as M
from storage.engines import READ_ONLY
from storage.results.associations import holdings_sql
from storage.results.dbapi import fetch_frame, quote
from storage.results.postgres import lock_for_reading
from storage.results.prepare import as_month
from storage.results.specs import OTHER, RESULTS, TableSpec, table_spec


def _read_conn(engine: Engine) -> Connection:
    return engine.connect().execution_options(**READ_ONLY)


def months_scored(engine: Engine) -> list[dt.date]:
    """The months that have scores (``scored_month``), ascending."""
    t = M.ScoredMonth.__table__
    with _read_conn(engine) as conn:
        return list(conn.execute(sa.select(t.c.month).order_by(t.c.month)).scalars())


def row_counts(engine: Engine, months: Iterable[dt.date] | None = None) -> dict[str, int]:
    """Rows per result frame name (and ``scored_months``), for ``months`` or in all."""
    month_list = None if months is None else sorted({as_month(m) for m in months})
    out = {}
    with _read_conn(engine) as conn:
        for name, spec in (*RESULTS.items(), ("scored_months", OTHER["scored_months"])):
            q = sa.select(sa.func.count()).select_from(spec.table)
            if month_list is not None:
                q = q.where(spec.table.c.month.in_(month_list))
            out[name] = conn.execute(q).scalar_one()
    return out


def read_frame(
    engine: Engine,
    table: str,
    *,
    months: Iterable[dt.date] | None = None,
    partner_ids: Iterable[str] | None = None,
) -> pl.DataFrame:
    """A table as a frame with its frames.py schema, sorted by the natural key (byte order).

    ``table``: a result frame name (``metric_points``) or table name (``metric_point``), or
    ``partners`` / ``scored_months``. ``months`` / ``partner_ids`` filter (None: all).
    """
    spec = table_spec(table)
    t = spec.table
    month_list = None
    if months is not None:
        if not spec.by_month:
            raise ValueError(f"{spec.name} has no month column")
        month_list = sorted({as_month(m) for m in months})
    id_chunks: list[list[str] | None] = [None]
    if partner_ids is not None:
        if "partner_id" not in t.c:
            raise ValueError(f"{spec.name} has no partner_id column")
        ids = sorted(set(partner_ids))
        step = 10_000  # keep clear of the backends' bound-parameter limits
        id_chunks = [ids[i : i + step] for i in range(0, len(ids), step)]
    if month_list == [] or not id_chunks:
        return pl.DataFrame(schema=spec.frame_schema)
    with _read_conn(engine) as conn, conn.begin():  # one snapshot for every chunk
        lock_for_reading(conn)
        if spec.name in RESULTS and conn.dialect.name in ("sqlite", "postgresql"):
            parts = [_read_raw(conn, spec, month_list, ids) for ids in id_chunks]
        else:
            parts = [_read_core(conn, spec, month_list, ids) for ids in id_chunks]
    df = pl.concat(parts) if len(parts) > 1 else parts[0]
    # sorted here, not with ORDER BY: byte order of strings whatever the database's collation
    return df.sort(list(spec.natural_key))


def _read_core(conn, spec: TableSpec, months, ids) -> pl.DataFrame:
    t = spec.table
    if spec.frame is not None:  # the holdings
        a = OTHER["associations"].table
        cols = {c: (t.c[c] if c in t.c else a.c[c]) for c in spec.frame}
        q = sa.select(*cols.values()).select_from(t.join(a, a.c.id == t.c.association_id))
    else:
        cols = dict(t.c)
        q = sa.select(*t.columns)
    if months is not None:
        q = q.where(cols["month"].in_(months))
    if ids is not None:
        q = q.where(cols["partner_id"].in_(ids))
    rows = conn.execute(q).all()
    return pl.DataFrame([tuple(r) for r in rows], schema=spec.frame_schema, orient="row")


def _read_raw(conn, spec: TableSpec, months, ids) -> pl.DataFrame:
    """The driver's cursor, without SQLAlchemy's per-value result processing (2x faster)."""
    q = lambda name: quote(conn, name)  # noqa: E731
    sqlite_ = conn.dialect.name == "sqlite"
    mark = "?" if sqlite_ else "%s"
    if spec.frame is not None:  # the holdings: holding joined with association
        sql, cols = holdings_sql(conn)
    else:
        cols = {c: q(c) for c in spec.schema}
        sql = f"SELECT {', '.join(cols.values())} FROM {q(spec.table.name)}"
    where, params = [], []
    if months is not None:
        where.append(f"{cols['month']} IN ({', '.join(mark for _ in months)})")
        params += [m.toordinal() - M.EPOCH_ORDINAL for m in months] if sqlite_ else months
    if ids is not None:
        where.append(f"{cols['partner_id']} IN ({', '.join(mark for _ in ids)})")
        params += ids
    if where:
        sql += " WHERE " + " AND ".join(where)
    # names come as their codes; SQLite gives dates as day numbers and booleans as 0/1
    return fetch_frame(conn, sql, params, spec.frame_schema, codes=spec.codes)
