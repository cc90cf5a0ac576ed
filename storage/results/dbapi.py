"""What the write and read paths share when they talk to the driver directly: quoting
identifiers, turning the driver's errors into SQLAlchemy's, names to and from their stored codes,
and reading a query into a frame."""

from __future__ import annotations

from collections.abc import Mapping

import polars as pl
import sqlalchemy as sa
from sqlalchemy import Connection


def quote(conn: Connection, name: str) -> str:
    return conn.dialect.identifier_preparer.quote(name)


def wrap_dbapi_error(conn: Connection, statement: str, exc: Exception) -> Exception:
    """The driver's error as SQLAlchemy's (IntegrityError, ...), the same on both backends."""
    dbapi = conn.dialect.loaded_dbapi
    if isinstance(exc, dbapi.Error):
        return sa.exc.DBAPIError.instance(statement, None, exc, dbapi.Error)
    return exc


def to_codes(codes: Mapping[str, tuple[str, ...]], df: pl.DataFrame) -> pl.DataFrame:
    """``df``'s columns named in ``codes`` as the codes the tables store (``models.Code``): a
    strict cast to an Enum of the vocabulary, whose physical value is the name's index in it."""
    present = [c for c in codes if c in df.columns]
    return df.with_columns(pl.col(c).cast(pl.Enum(codes[c])).to_physical().cast(pl.Int16) for c in present)


def stored(schema: dict, codes: Mapping[str, tuple[str, ...]], sqlite: bool) -> tuple[dict, list[pl.Expr]]:
    """What the driver gives for a frame of ``schema`` (codes as integers; SQLite: day numbers
    and 0/1 as integers too), and the expressions that turn such a frame back into ``schema``."""
    converted = {c for c, d in schema.items() if c in codes or (sqlite and d in (pl.Date, pl.Boolean))}
    raw = {c: pl.Int64 if c in converted else d for c, d in schema.items()}
    return raw, [_from_stored(c, schema[c], codes) for c in schema if c in converted]


def _from_stored(column: str, dtype, codes: Mapping[str, tuple[str, ...]]) -> pl.Expr:
    if column in codes:  # an unknown code is an error (replace_strict), not a null
        names = codes[column]
        return pl.col(column).replace_strict(range(len(names)), names, return_dtype=pl.String)
    if dtype == pl.Date:
        return pl.col(column).cast(pl.Int32).cast(pl.Date)
    return pl.col(column).cast(dtype)


def fetch_frame(
    conn: Connection,
    sql: str,
    params,
    schema: dict,
    *,
    codes: Mapping[str, tuple[str, ...]] | None = None,
    batch: int = 100_000,
) -> pl.DataFrame:
    """The rows of a driver-level query as a frame of ``schema``, read in batches through the
    driver's cursor, without SQLAlchemy's per-value result processing (2x faster). The columns
    in ``codes`` come back as names; SQLite's day numbers and 0/1 as dates and booleans."""
    raw, back = stored(schema, codes or {}, conn.dialect.name == "sqlite")
    cursor = conn.connection.driver_connection.cursor()
    try:
        cursor.execute(sql, params)
        parts = []
        while rows := cursor.fetchmany(batch):
            parts.append(pl.DataFrame(rows, schema=raw, orient="row"))
    finally:
        cursor.close()
    df = pl.concat(parts) if parts else pl.DataFrame(schema=raw)
    return df.with_columns(back) if back else df
