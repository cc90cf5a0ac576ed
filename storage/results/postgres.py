"""The PostgreSQL write path: ``COPY`` into a new table per month, swapped in for the month's
partition at the end of the transaction, under the lock order ``SWAP_LOCK_ORDER`` that readers
follow too (``lock_for_reading``). Why it is built this way: docs/architecture.md, "Storage"."""

from __future__ import annotations

import datetime as dt
import io
import random
import time
from collections.abc import Sequence

import polars as pl
import sqlalchemy as sa
from sqlalchemy import Connection

from storage import models as M
from storage.results.dbapi import quote, to_codes, wrap_dbapi_error
from storage.results.specs import OTHER, RESULTS, TableSpec

PG_CHUNK_ROWS = 200_000
#: pg_advisory_xact_lock key: the end of a write (partners, scored months, swap), one at a time
PG_WRITE_LOCK = 0x7063735F777269  # "pcs_wri"
#: each attempt to lock the tables for the swap waits this long for running readers ...
SWAP_LOCK_TIMEOUT_MS = 200
#: ... and the attempts go on for this long before the write gives up (and rolls back)
SWAP_LOCK_PATIENCE_S = 300.0

SWAP_LOCK_ORDER: tuple[sa.Table, ...] = (
    OTHER["scored_months"].table,
    OTHER["partners"].table,
    *(s.table for s in RESULTS.values()),
)
"""The order in which a PostgreSQL write locks the tables to swap its months in. A reader that
must see every table at one moment (an API request, ``read_frame``) takes ACCESS SHARE on them in
this same order before its first read (``lock_for_reading``): a different order can starve the
writer."""


def lock_for_reading(conn: Connection) -> None:
    """On PostgreSQL, take ACCESS SHARE on ``SWAP_LOCK_ORDER``'s tables, first thing in a
    REPEATABLE READ transaction: a swap then waits for this reader, and a reader arriving during
    a swap waits for its commit, so the reader's snapshot holds every table as of one moment.
    Nothing to do on SQLite (a deferred BEGIN already reads one snapshot)."""
    if conn.dialect.name == "postgresql":
        names = ", ".join(quote(conn, t.name) for t in SWAP_LOCK_ORDER)
        conn.exec_driver_sql(f"LOCK TABLE ONLY {names} IN ACCESS SHARE MODE")


def copy_rows(
    conn: Connection, spec: TableSpec, df: pl.DataFrame, *, target: str | None = None,
    freeze: bool = False,
) -> None:  # fmt: skip
    """``COPY`` the rows into the table (or into ``target``), as CSV that Polars writes; names
    as their codes (``models.Code``)."""
    rows = to_codes(spec.codes, df.select(list(spec.schema)))
    copy_frame(conn, rows, target=target or quote(conn, spec.table.name), freeze=freeze)


def copy_frame(conn: Connection, df: pl.DataFrame, *, target: str, freeze: bool = False) -> None:
    """``COPY`` a frame's columns (by name) into ``target`` (quoted), as CSV that Polars writes."""
    cols = ", ".join(quote(conn, c) for c in df.columns)
    # CSV: nulls are unquoted empty fields, empty strings are written quoted ("")
    options = "FORMAT csv, FREEZE" if freeze else "FORMAT csv"
    sql = f"COPY {target} ({cols}) FROM STDIN ({options})"
    raw = conn.connection.driver_connection
    try:
        with raw.cursor() as cursor, cursor.copy(sql) as copy:
            for chunk in df.iter_slices(PG_CHUNK_ROWS):
                buf = io.BytesIO()
                chunk.write_csv(buf, include_header=False, date_format="%Y-%m-%d")
                copy.write(buf.getbuffer())
    except Exception as exc:
        raise wrap_dbapi_error(conn, sql, exc) from exc


def is_partitioned(conn: Connection, spec: TableSpec) -> bool:
    """Whether ``spec``'s table is a partitioned table (catalog read, no lock taken)."""
    sql = (
        "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_partitioned_table p "
        "JOIN pg_catalog.pg_class c ON c.oid = p.partrelid "
        "WHERE c.relname = %s AND c.relnamespace = current_schema()::regnamespace)"
    )
    return bool(conn.exec_driver_sql(sql, (spec.table.name,)).scalar())


def partition_name(spec: TableSpec, month: dt.date) -> str:
    """The partition of ``month``: ``<table>_<YYYY>_<MM>`` in ``models.PARTITION_SCHEMA``."""
    return f"{spec.table.name}_{month:%Y_%m}"


def qualified(conn: Connection, name: str) -> str:
    return f"{quote(conn, M.PARTITION_SCHEMA)}.{quote(conn, name)}"


def transaction_id(conn: Connection) -> int:
    return conn.exec_driver_sql("SELECT txid_current()").scalar()


def staging_name(spec: TableSpec, month: dt.date, xid: int) -> str:
    """The table transaction ``xid`` loads ``month`` into: the transaction id in the name keeps
    concurrent writers' tables (and the indexes named after them) apart, and apart from the
    partitions (whose indexes keep the names they were built with)."""
    return f"{partition_name(spec, month)}_x{xid}"


def columns_ddl(conn: Connection, spec: TableSpec) -> str:
    """The parent table's columns as the catalog has them (names, types, NOT NULL).

    Read from ``pg_attribute``, not with ``CREATE TABLE ... (LIKE parent)``: that would take a
    lock on the parent until commit, and two writers each holding one while waiting for the
    other's to go (for the swap) would never get through.
    """
    rows = conn.exec_driver_sql(
        "SELECT a.attname, pg_catalog.format_type(a.atttypid, a.atttypmod), a.attnotnull "
        "FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_class c ON c.oid = a.attrelid "
        "WHERE c.relname = %s AND c.relnamespace = current_schema()::regnamespace "
        "AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum",
        (spec.table.name,),
    ).all()
    return ", ".join(f"{quote(conn, name)} {type_}{' NOT NULL' if not_null else ''}" for name, type_, not_null in rows)


def stage_partition(conn: Connection, spec: TableSpec, month: dt.date, df: pl.DataFrame) -> None:
    """A new table holding ``df`` (one month, key order), ready to be attached as its partition.

    Created and filled in this transaction, so ``COPY ... FREEZE`` writes the rows already
    frozen and all-visible (no hint-bit or vacuum writes later, index-only scans at once), and
    nobody else can see the table before commit. The primary key and the indexes are built
    after the load (one sorted pass each, ~2x faster than maintaining them row by row); the
    ``CHECK`` on the month lets ``ATTACH PARTITION`` skip its validation scan.
    """
    table = create_partition(conn, spec, month)
    copy_rows(conn, spec, df, target=table, freeze=True)
    index_partition(conn, spec, table)


def create_partition(conn: Connection, spec: TableSpec, month: dt.date) -> str:
    """The empty table this transaction loads ``month`` of ``spec`` into (``stage_partition``,
    ``staging.publish``): the parent's columns and a ``CHECK`` on the month; its qualified name."""
    table = qualified(conn, staging_name(spec, month, transaction_id(conn)))
    conn.exec_driver_sql(
        f"CREATE TABLE {table} ({columns_ddl(conn, spec)}, CHECK ({quote(conn, 'month')} = DATE '{month.isoformat()}'))"
    )
    return table


def index_partition(conn: Connection, spec: TableSpec, table: str) -> None:
    """The primary key and the parent's indexes on a loaded ``create_partition`` table."""
    cols = lambda names: ", ".join(quote(conn, c) for c in names)  # noqa: E731
    conn.exec_driver_sql(f"ALTER TABLE {table} ADD PRIMARY KEY ({cols(spec.key)})")
    for index in spec.table.indexes:
        conn.exec_driver_sql(f"CREATE INDEX ON {table} ({cols(c.name for c in index.columns)})")


def _lock_for_swap(conn: Connection, specs: Sequence[TableSpec]) -> None:
    """``ACCESS EXCLUSIVE`` on the tables (on a parent table, what dropping a partition needs).

    Each attempt waits ``SWAP_LOCK_TIMEOUT_MS`` for the readers holding them, in a savepoint: on
    a timeout the locks of that attempt are given back, so a reader that holds one table and
    asks for another (an API request's REPEATABLE READ snapshot reads several) goes on, instead
    of the two waiting for each other until PostgreSQL's deadlock check kills one of them.
    """
    names = ", ".join(quote(conn, s.table.name) for s in specs)
    dbapi = conn.dialect.loaded_dbapi
    deadline = time.monotonic() + SWAP_LOCK_PATIENCE_S
    delay = 0.02
    while True:
        savepoint = conn.begin_nested()
        try:
            conn.exec_driver_sql(f"SET LOCAL lock_timeout = {int(SWAP_LOCK_TIMEOUT_MS)}")
            conn.exec_driver_sql(f"LOCK TABLE {names} IN ACCESS EXCLUSIVE MODE")
        except sa.exc.OperationalError as exc:
            savepoint.rollback()
            lock_not_available = isinstance(exc.orig, dbapi.Error) and getattr(exc.orig, "sqlstate", None) == "55P03"
            if not lock_not_available:
                raise
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"could not lock {names} for the partition swap in {SWAP_LOCK_PATIENCE_S:.0f}"
                    " s: a long transaction holds them (see pg_stat_activity / pg_locks)"
                ) from exc
            time.sleep(delay * (0.5 + random.random()))
            delay = min(delay * 2, 1.0)
            continue
        savepoint.commit()
        # the locks are held to commit; later statements wait as long as they must
        conn.exec_driver_sql("SET LOCAL lock_timeout = DEFAULT")
        return


def swap_partitions(conn: Connection, specs: Sequence[TableSpec], months: list[dt.date]) -> None:
    """Replace each month's partition of each table by the table this transaction loaded for
    it (none loaded: the month is left without a partition, i.e. without rows)."""
    if not specs:
        return
    # the scored months and partners too, first: a reader that has read any of these tables
    # keeps the swap waiting until it ends, so it sees every table as it was before. Readers
    # take ACCESS SHARE in this same order (SWAP_LOCK_ORDER, lock_for_reading).
    order = {t.name: i for i, t in enumerate(SWAP_LOCK_ORDER)}
    _lock_for_swap(conn, sorted([OTHER["scored_months"], OTHER["partners"], *specs], key=lambda s: order[s.table.name]))
    existing = {
        name
        for (name,) in conn.exec_driver_sql(
            "SELECT c.relname FROM pg_catalog.pg_class c "
            "WHERE c.relnamespace = %s::regnamespace AND c.relkind IN ('r', 'p')",
            (M.PARTITION_SCHEMA,),
        )
    }
    xid = transaction_id(conn)
    for spec in specs:
        parent = quote(conn, spec.table.name)
        for month in months:
            final = partition_name(spec, month)
            staged = staging_name(spec, month, xid)
            if final in existing:
                conn.exec_driver_sql(f"DROP TABLE {qualified(conn, final)}")
            if staged in existing:
                conn.exec_driver_sql(f"ALTER TABLE {qualified(conn, staged)} RENAME TO {quote(conn, final)}")
                conn.exec_driver_sql(
                    f"ALTER TABLE {parent} ATTACH PARTITION {qualified(conn, final)} "
                    f"FOR VALUES IN ('{month.isoformat()}')"
                )
