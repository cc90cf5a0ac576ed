"""The SQLite insert path: the driver's ``executemany`` with plain tuples, one statement per
month (see docs/architecture.md, "Storage")."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import polars as pl
from sqlalchemy import Connection

from storage.models import EPOCH_ORDINAL
from storage.results.dbapi import quote, to_codes, wrap_dbapi_error
from storage.results.specs import TableSpec

SQLITE_CHUNK_ROWS = 50_000


def by_month(df: pl.DataFrame) -> Iterator[tuple[dt.date, pl.DataFrame]]:
    """``(month, rows)`` per month of ``df``, in order: the frame itself when it holds one
    month (the usual write: no copy)."""
    months = df["month"].unique(maintain_order=True)
    if months.len() == 1:
        yield months[0], df
        return
    for (month,), part in df.partition_by("month", maintain_order=True, as_dict=True).items():
        yield month, part


def sqlite_values(spec: TableSpec, df: pl.DataFrame) -> pl.DataFrame:
    """A frame of ``spec``'s table as SQLite stores it: names as their codes (``models.Code``),
    dates as day numbers (days since 1970-01-01, ``models.DayNumber``), booleans as 0/1."""
    dates = [c for c, t in spec.schema.items() if t == pl.Date and c in df.columns]
    bools = [c for c, t in spec.schema.items() if t == pl.Boolean and c in df.columns]
    return to_codes(spec.codes, df).with_columns(
        *([pl.col(dates).cast(pl.Int32).cast(pl.Int64)] if dates else []),
        *([pl.col(bools).cast(pl.Int64)] if bools else []),
    )


def insert_sqlite(conn: Connection, spec: TableSpec, df: pl.DataFrame, *, target: str | None = None) -> None:
    """Insert the rows into the table (or into ``target``, a table with the same columns)."""
    cols = ", ".join(quote(conn, c) for c in spec.schema)
    marks = ", ".join("?" for _ in spec.schema)
    sql = f"INSERT INTO {quote(conn, target or spec.table.name)} ({cols}) VALUES ({marks})"
    cursor = conn.connection.driver_connection.cursor()
    try:
        if not spec.by_month:
            for chunk in df.select(list(spec.schema)).iter_slices(SQLITE_CHUNK_ROWS):
                cursor.executemany(sql, sqlite_values(spec, chunk).iter_rows())
            return
        assert next(iter(spec.schema)) == "month"
        # one statement per month with the month as a literal (a day number made here, not
        # user text): one bound value less per row, ~10% faster
        for month, part in by_month(df):
            day = month.toordinal() - EPOCH_ORDINAL
            month_sql = sql.replace("VALUES (?", f"VALUES ({int(day)}", 1)
            for chunk in part.drop("month").iter_slices(SQLITE_CHUNK_ROWS):
                # stored as the models store them on SQLite: names as codes (models.Code),
                # dates as day numbers (models.DayNumber), booleans as 0/1. Booleans go in as
                # ints: sqlite3 binds exact ints directly but runs its adapter lookup for every
                # bool (a subclass of int), which makes inserts of the boolean-heavy tables ~2x
                # slower. Per chunk, so that no converted copy of a whole table is held.
                chunk = sqlite_values(spec, chunk)
                rows = zip(*(s.to_list() for s in chunk.iter_columns()), strict=True)
                cursor.executemany(month_sql, rows)
    except Exception as exc:
        raise wrap_dbapi_error(conn, sql, exc) from exc
    finally:
        cursor.close()
