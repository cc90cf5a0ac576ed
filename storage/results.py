"""Writing and reading the scoring results.

``write_results`` replaces whole months, idempotently and atomically, in one transaction that
also upserts the partners and records the months in ``scored_month``. Any error (or a killed
process) rolls the whole thing back: a month is never left half written, and readers see it
wholly as it was before or wholly as written.

* SQLite: delete the months' rows, then insert the frames (the driver's ``executemany`` with
  plain tuples, in key order).
* PostgreSQL, where the result tables are LIST-partitioned by month (migration 0002): each
  month of each table is loaded into a brand-new table (``COPY ... FROM STDIN (FREEZE)`` fed
  with CSV that Polars writes; then its primary key and indexes are built in one pass each,
  with a ``CHECK`` on the month), and at the end the month's partition is swapped for it (drop
  the old partition, attach the new one). Deleting a month's rows and inserting them again into
  the same table is ~2.5x slower: the deleted rows stay in the indexes and the heap until a
  vacuum after commit, and every insert's unique check visits them (benchmarks/
  write_results.py). The load takes no lock that readers wait for. The swap takes
  ``ACCESS EXCLUSIVE`` locks on ``scored_month``, ``partner`` and the six parent tables for the
  last few milliseconds of the transaction only; it waits for running readers with a short
  ``lock_timeout`` and retries, so a reader holding one table while it asks for another is
  never deadlocked against it. Writers load concurrently; from the bookkeeping (scored
  months, partners) to commit they go one at a time (an advisory lock). Tables that are not partitioned (a database at
  revision 0001) get the delete and ``COPY``.

  What readers see: a statement in READ COMMITTED sees the month as it was or as written, all
  tables alike. A REPEATABLE READ transaction that read any of those eight tables before the
  swap holds the swap back until it ends (it sees everything as it was). Not MVCC-safe, like
  any DDL swap or TRUNCATE: a REPEATABLE READ transaction whose snapshot was taken before the
  commit but which touches the tables only after it (e.g. its first statement waited for the
  swap's locks) sees the six result tables as written (their rows are frozen) but
  ``scored_month`` and ``partner`` as they were. Starting such a transaction with ``LOCK TABLE
  ONLY scored_month, partner, <the six> IN ACCESS SHARE MODE`` (a statement that takes no
  snapshot; this order) closes that gap: it waits for the swap and the snapshot is taken after
  it. The API does that (``graphql_api.db.PG_LOCK``).

The read helpers return Polars frames with exactly the ``frames.py`` schemas, sorted by the
natural key (the primary key).

All functions take the engine first and everything else by keyword.
"""

from __future__ import annotations

import datetime as dt
import io
import random
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import polars as pl
import sqlalchemy as sa
from sqlalchemy import Connection, Engine
from sqlalchemy.dialects import postgresql, sqlite

from scoring import frames as F
from storage import models as M
from storage.engines import READ_ONLY

# ---- table specs -----------------------------------------------------------------------------


@dataclass(frozen=True)
class TableSpec:
    name: str  # the frame's name (frames.py): "metric_points"
    table: sa.Table
    schema: dict[str, Any]  # column -> polars dtype, in table order
    key: tuple[str, ...]  # natural key = primary key, in order
    by_month: bool = True

    @property
    def not_null(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.table.columns if not c.nullable)


def _spec(name: str, model, schema: dict[str, Any], by_month: bool = True) -> TableSpec:
    table: sa.Table = model.__table__
    if list(table.columns.keys()) != list(schema):
        raise AssertionError(f"{table.name} columns {table.columns.keys()} != {list(schema)}")
    key = tuple(c.name for c in table.primary_key.columns)
    return TableSpec(name, table, dict(schema), key, by_month)


RESULTS: dict[str, TableSpec] = {
    s.name: s
    for s in (
        _spec("eligible_tenants", M.EligibleTenant, F.ELIGIBLE_TENANTS_SCHEMA),
        _spec("holdings", M.Holding, F.HOLDINGS_SCHEMA),
        _spec("metric_points", M.MetricPoint, F.METRIC_POINTS_SCHEMA),
        _spec("path_scores", M.PathScore, F.PATH_SCORES_SCHEMA),
        _spec("designations", M.Designation, F.DESIGNATIONS_SCHEMA),
        _spec("customer_details", M.CustomerDetail, F.CUSTOMER_DETAILS_SCHEMA),
    )
}
"""The six result frames (frames.py names) and their tables, in write order."""

PARTNERS_TABLE_SCHEMA = {
    "partner_id": pl.String,
    "partner_name": pl.String,
    "in_registry": pl.Boolean,
}
SCORED_MONTH_SCHEMA = {
    "month": pl.Date,
    "rulebook_id": pl.String,
    "partners_scored": pl.Int64,
    "partners_attained": pl.Int64,
    "materialized_at": pl.Datetime("us", "UTC"),
    "run_id": pl.String,
}
OTHER: dict[str, TableSpec] = {
    "partners": _spec("partners", M.Partner, PARTNERS_TABLE_SCHEMA, by_month=False),
    "scored_months": _spec("scored_months", M.ScoredMonth, SCORED_MONTH_SCHEMA),
}
_ALL: dict[str, TableSpec] = {**RESULTS, **OTHER}

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
        names = ", ".join(_quote(conn, t.name) for t in SWAP_LOCK_ORDER)
        conn.exec_driver_sql(f"LOCK TABLE ONLY {names} IN ACCESS SHARE MODE")


_BY_TABLE: dict[str, TableSpec] = {s.table.name: s for s in _ALL.values()}

SQLITE_CHUNK_ROWS = 50_000
PG_CHUNK_ROWS = 200_000


def table_spec(name: str) -> TableSpec:
    """The spec of a frame name ("metric_points") or table name ("metric_point")."""
    spec = _ALL.get(name) or _BY_TABLE.get(name)
    if spec is None:
        known = sorted(_ALL) + sorted(_BY_TABLE)
        raise ValueError(f"unknown table {name!r}; known: {', '.join(known)}")
    return spec


def empty_frames() -> dict[str, pl.DataFrame]:
    """The six result frames, empty (write them to clear months)."""
    return {name: pl.DataFrame(schema=spec.schema) for name, spec in RESULTS.items()}


# ---- validation ------------------------------------------------------------------------------


def _as_month(value: Any) -> dt.date:
    if isinstance(value, dt.datetime):
        raise ValueError(f"month {value!r}: give a date, not a datetime")
    if isinstance(value, str):
        value = dt.date.fromisoformat(value if len(value) > 7 else value + "-01")
    if not isinstance(value, dt.date):
        raise ValueError(f"month {value!r}: not a date")
    if value.day != 1:
        raise ValueError(f"month {value}: months are the first day of the month")
    return value


def _prepare_frame(spec: TableSpec, df: pl.DataFrame, months: set[dt.date]) -> pl.DataFrame:
    if not isinstance(df, pl.DataFrame):
        raise ValueError(f"{spec.name}: expected a polars DataFrame, got {type(df).__name__}")
    missing = [c for c in spec.schema if c not in df.columns]
    extra = [c for c in df.columns if c not in spec.schema]
    if missing or extra:
        raise ValueError(f"{spec.name}: columns missing {missing}, unexpected {extra}")
    try:
        df = df.select(pl.col(c).cast(t, strict=True) for c, t in spec.schema.items())
    except Exception as exc:  # polars raises several types here
        raise ValueError(f"{spec.name}: cannot cast to the frames.py schema: {exc}") from exc
    nulls = df.select(pl.col(list(spec.not_null)).null_count()).row(0, named=True)
    bad = {c: n for c, n in nulls.items() if n}
    if bad:
        raise ValueError(f"{spec.name}: nulls in NOT NULL columns {bad}")
    floats = [c for c, t in spec.schema.items() if t == pl.Float64]
    if floats:
        nans = df.select(pl.col(floats).is_nan().sum()).row(0, named=True)
        bad = {c: n for c, n in nans.items() if n}
        if bad:  # SQLite cannot store NaN (it becomes NULL): refused on both backends
            raise ValueError(f"{spec.name}: NaN in {bad}")
        # -0.0 -> 0.0: SQLite keeps no negative zero, so both backends store the same value
        df = df.with_columns(pl.when(pl.col(c) == 0.0).then(0.0).otherwise(pl.col(c)).alias(c) for c in floats)
    if spec.by_month and df.height:
        outside = df.filter(~pl.col("month").is_in(sorted(months)))["month"].unique().sort()
        if outside.len():
            raise ValueError(f"{spec.name}: rows for months not being written: {outside.to_list()[:5]}")
    # key order: B-tree inserts in order (much faster on both backends than random order)
    return df.sort(list(spec.key))


def _prepare_partners(partners: pl.DataFrame) -> pl.DataFrame:
    if "partner_id" not in partners.columns:
        raise ValueError("partners: needs a partner_id column")
    extra = set(partners.columns) - set(PARTNERS_TABLE_SCHEMA)
    if extra:
        raise ValueError(f"partners: unexpected columns {sorted(extra)}")
    if "partner_name" not in partners.columns:
        partners = partners.with_columns(partner_name=pl.lit(None, pl.String))
    if "in_registry" not in partners.columns:  # a PARTNERS_SCHEMA frame: the registry itself
        partners = partners.with_columns(in_registry=pl.lit(True))
    partners = partners.select(pl.col(c).cast(t, strict=True) for c, t in PARTNERS_TABLE_SCHEMA.items())
    if partners["partner_id"].null_count() or partners["in_registry"].null_count():
        raise ValueError("partners: null partner_id or in_registry")
    dup = partners.filter(pl.col("partner_id").is_duplicated())["partner_id"].unique().sort()
    if dup.len():
        raise ValueError(f"partners: duplicate partner_id {dup.to_list()[:5]}")
    return partners


_SCORED_KEYS = {"month", "rulebook_id", "partners_scored", "partners_attained",
                "materialized_at", "run_id"}  # fmt: skip


def _scored_rows(months: list[dt.date], designations: pl.DataFrame, scored: Sequence[Mapping] | None) -> list[dict]:
    """One scored_month row per month that has designations or a ``scored`` entry.

    Counts come from the designations; given counts must agree with them. ``rulebook_id``
    defaults to the designations' (one per month), ``materialized_at`` to now.
    """
    given: dict[dt.date, Mapping] = {}
    for entry in scored or ():
        unknown = set(entry) - _SCORED_KEYS
        if unknown:
            raise ValueError(f"scored: unknown keys {sorted(unknown)}")
        m = _as_month(entry.get("month"))
        if m not in months:
            raise ValueError(f"scored: month {m} is not among the months written")
        if m in given:
            raise ValueError(f"scored: month {m} given twice")
        given[m] = entry
    stats = {
        r["month"]: r
        for r in designations.group_by("month")
        .agg(
            n=pl.len(),
            attained=pl.col("attained").sum(),
            rulebooks=pl.col("rulebook_id").unique().sort(),
        )
        .iter_rows(named=True)
    }
    now = dt.datetime.now(dt.UTC)
    rows = []
    for m in months:
        entry, st = given.get(m), stats.get(m)
        if entry is None and st is None:
            continue  # nothing scored that month
        entry = entry or {}
        n = st["n"] if st else 0
        attained = st["attained"] if st else 0
        for k, v in (("partners_scored", n), ("partners_attained", attained)):
            if entry.get(k) is not None and entry[k] != v:
                raise ValueError(f"scored: {m} {k}={entry[k]} but the designations say {v}")
        rulebooks = st["rulebooks"] if st else []
        rulebook = entry.get("rulebook_id")
        if rulebook is None:
            if len(rulebooks) != 1:
                raise ValueError(f"scored: {m}: give rulebook_id (designations have {rulebooks})")
            rulebook = rulebooks[0]
        elif rulebooks and rulebooks != [rulebook]:
            raise ValueError(f"scored: {m} rulebook_id={rulebook!r} but designations {rulebooks}")
        materialized_at = entry.get("materialized_at") or now
        if not isinstance(materialized_at, dt.datetime) or materialized_at.tzinfo is None:
            raise ValueError(f"scored: {m} materialized_at must be a timezone-aware datetime")
        rows.append(
            {
                "month": m,
                "rulebook_id": rulebook,
                "partners_scored": n,
                "partners_attained": attained,
                "materialized_at": materialized_at,
                "run_id": entry.get("run_id"),
            }
        )
    return rows


# ---- bulk insert -----------------------------------------------------------------------------


def _quote(conn: Connection, name: str) -> str:
    return conn.dialect.identifier_preparer.quote(name)


def _wrap_dbapi_error(conn: Connection, statement: str, exc: Exception) -> Exception:
    """The driver's error as SQLAlchemy's (IntegrityError, ...), the same on both backends."""
    dbapi = conn.dialect.loaded_dbapi
    if isinstance(exc, dbapi.Error):
        return sa.exc.DBAPIError.instance(statement, None, exc, dbapi.Error)
    return exc


def _insert_sqlite(conn: Connection, spec: TableSpec, df: pl.DataFrame) -> None:
    assert next(iter(spec.schema)) == "month"
    cols = ", ".join(_quote(conn, c) for c in spec.schema)
    marks = ", ".join("?" for _ in spec.schema)
    sql = f"INSERT INTO {_quote(conn, spec.table.name)} ({cols}) VALUES ({marks})"
    # stored as SQLAlchemy stores them on SQLite: dates as ISO text, booleans as 0/1. Booleans
    # go in as ints: sqlite3 binds exact ints directly but runs its adapter lookup for every
    # bool (a subclass of int), which makes inserts of the boolean-heavy tables ~2x slower.
    dates = [c for c, t in spec.schema.items() if t == pl.Date]
    bools = [c for c, t in spec.schema.items() if t == pl.Boolean]
    df = df.with_columns(
        *([pl.col(dates).dt.to_string("%Y-%m-%d")] if dates else []),
        *([pl.col(bools).cast(pl.Int64)] if bools else []),
    )
    cursor = conn.connection.driver_connection.cursor()
    try:
        # one statement per month with the month as a literal (an ISO date made here, not
        # user text): one bound value less per row, ~10% faster
        for (month,), part in df.partition_by("month", maintain_order=True, as_dict=True).items():
            month_sql = sql.replace("VALUES (?", f"VALUES ('{month}'", 1)
            part = part.drop("month")
            for chunk in part.iter_slices(SQLITE_CHUNK_ROWS):
                rows = zip(*(s.to_list() for s in chunk.iter_columns()), strict=True)
                cursor.executemany(month_sql, rows)
    except Exception as exc:
        raise _wrap_dbapi_error(conn, sql, exc) from exc
    finally:
        cursor.close()


def _insert_postgresql(
    conn: Connection, spec: TableSpec, df: pl.DataFrame, *, target: str | None = None,
    freeze: bool = False,
) -> None:  # fmt: skip
    cols = ", ".join(_quote(conn, c) for c in spec.schema)
    target = target or _quote(conn, spec.table.name)
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
        raise _wrap_dbapi_error(conn, sql, exc) from exc


def _bulk_insert(conn: Connection, spec: TableSpec, df: pl.DataFrame) -> None:
    """Load one table's rows: into the table itself, or (partitioned PostgreSQL tables) into
    new per-month tables that ``_swap_partitions`` attaches at the end of the transaction."""
    if df.height == 0:
        return
    backend = conn.dialect.name
    if backend == "sqlite":
        _insert_sqlite(conn, spec, df)
    elif backend == "postgresql":
        if _pg_partitioned(conn, spec):
            for (month,), part in df.partition_by("month", maintain_order=True, as_dict=True).items():
                _stage_partition(conn, spec, month, part)
        else:
            _insert_postgresql(conn, spec, df)
    else:  # portable fallback
        conn.execute(sa.insert(spec.table), df.to_dicts())


# ---- PostgreSQL: month partitions, loaded aside and swapped in -------------------------------

#: pg_advisory_xact_lock key: the end of a write (partners, scored months, swap), one at a time
PG_WRITE_LOCK = 0x7063735F777269  # "pcs_wri"
#: each attempt to lock the tables for the swap waits this long for running readers ...
SWAP_LOCK_TIMEOUT_MS = 200
#: ... and the attempts go on for this long before the write gives up (and rolls back)
SWAP_LOCK_PATIENCE_S = 300.0


def _pg_partitioned(conn: Connection, spec: TableSpec) -> bool:
    """Whether ``spec``'s table is a partitioned table (catalog read, no lock taken)."""
    sql = (
        "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_partitioned_table p "
        "JOIN pg_catalog.pg_class c ON c.oid = p.partrelid "
        "WHERE c.relname = %s AND c.relnamespace = current_schema()::regnamespace)"
    )
    return bool(conn.exec_driver_sql(sql, (spec.table.name,)).scalar())


def _partition_name(spec: TableSpec, month: dt.date) -> str:
    """The partition of ``month``: ``<table>_<YYYY>_<MM>`` in ``models.PARTITION_SCHEMA``."""
    return f"{spec.table.name}_{month:%Y_%m}"


def _qualified(conn: Connection, name: str) -> str:
    return f"{_quote(conn, M.PARTITION_SCHEMA)}.{_quote(conn, name)}"


def _xid(conn: Connection) -> int:
    return conn.exec_driver_sql("SELECT txid_current()").scalar()


def _staging_name(spec: TableSpec, month: dt.date, xid: int) -> str:
    """The table transaction ``xid`` loads ``month`` into: the transaction id in the name keeps
    concurrent writers' tables (and the indexes named after them) apart, and apart from the
    partitions (whose indexes keep the names they were built with)."""
    return f"{_partition_name(spec, month)}_x{xid}"


def _columns_ddl(conn: Connection, spec: TableSpec) -> str:
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
    return ", ".join(f"{_quote(conn, name)} {type_}{' NOT NULL' if not_null else ''}" for name, type_, not_null in rows)


def _stage_partition(conn: Connection, spec: TableSpec, month: dt.date, df: pl.DataFrame) -> None:
    """A new table holding ``df`` (one month, key order), ready to be attached as its partition.

    Created and filled in this transaction, so ``COPY ... FREEZE`` writes the rows already
    frozen and all-visible (no hint-bit or vacuum writes later, index-only scans at once), and
    nobody else can see the table before commit. The primary key and the indexes are built
    after the load (one sorted pass each, ~2x faster than maintaining them row by row); the
    ``CHECK`` on the month lets ``ATTACH PARTITION`` skip its validation scan.
    """
    table = _qualified(conn, _staging_name(spec, month, _xid(conn)))
    conn.exec_driver_sql(
        f"CREATE TABLE {table} ({_columns_ddl(conn, spec)}, "
        f"CHECK ({_quote(conn, 'month')} = DATE '{month.isoformat()}'))"
    )
    _insert_postgresql(conn, spec, df, target=table, freeze=True)
    cols = lambda names: ", ".join(_quote(conn, c) for c in names)  # noqa: E731
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
    names = ", ".join(_quote(conn, s.table.name) for s in specs)
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


def _swap_partitions(conn: Connection, specs: Sequence[TableSpec], months: list[dt.date]) -> None:
    """Replace each month's partition of each table by the table this transaction loaded for
    it (none loaded: the month is left without a partition, i.e. without rows)."""
    if not specs:
        return
    # the scored months and partners too, first: a reader that has read any of these tables
    # keeps the swap waiting until it ends, so it sees every table as it was before. The API
    # (graphql_api/db.py, PG_LOCK) begins each request by taking ACCESS SHARE on these eight
    # tables in this same order, before its snapshot: keep the two orders the same.
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
    xid = _xid(conn)
    for spec in specs:
        parent = _quote(conn, spec.table.name)
        for month in months:
            final = _partition_name(spec, month)
            staged = _staging_name(spec, month, xid)
            if final in existing:
                conn.exec_driver_sql(f"DROP TABLE {_qualified(conn, final)}")
            if staged in existing:
                conn.exec_driver_sql(f"ALTER TABLE {_qualified(conn, staged)} RENAME TO {_quote(conn, final)}")
                conn.exec_driver_sql(
                    f"ALTER TABLE {parent} ATTACH PARTITION {_qualified(conn, final)} "
                    f"FOR VALUES IN ('{month.isoformat()}')"
                )


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


# ---- write -----------------------------------------------------------------------------------


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
    Returns the rows written per frame name, plus ``partners`` and ``scored_months``.
    """
    month_list = sorted({_as_month(m) for m in months})
    if not month_list:
        raise ValueError("months: give at least one month")
    month_set = set(month_list)
    missing = [n for n in RESULTS if n not in frames]
    unknown = [n for n in frames if n not in RESULTS]
    if missing or unknown:
        raise ValueError(f"frames: missing {missing}, unknown {unknown} (use empty_frames())")
    prepared = {n: _prepare_frame(spec, frames[n], month_set) for n, spec in RESULTS.items()}
    partners_df = _prepare_partners(partners) if partners is not None else None
    seen = (
        pl.concat([df.select("partner_id") for df in prepared.values() if "partner_id" in df.columns])["partner_id"]
        .unique()
        .sort()
    )
    scored_rows = _scored_rows(month_list, prepared["designations"], scored)

    counts: dict[str, int] = {}
    scored_table = OTHER["scored_months"].table
    with engine.begin() as conn:
        swapped = [
            spec for spec in RESULTS.values() if conn.dialect.name == "postgresql" and _pg_partitioned(conn, spec)
        ]
        in_place = [s for s in RESULTS.values() if s.name not in {w.name for w in swapped}]
        for spec in in_place:
            conn.execute(sa.delete(spec.table).where(spec.table.c.month.in_(month_list)))
        for name, spec in RESULTS.items():  # partitioned tables: loaded aside, nothing locked
            _bulk_insert(conn, spec, prepared[name])
            counts[name] = prepared[name].height
        if swapped:
            # from here to commit one writer at a time: two writers holding each other's
            # partner rows or scored months while waiting for the swap's locks would deadlock
            conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({PG_WRITE_LOCK})")
        conn.execute(sa.delete(scored_table).where(scored_table.c.month.in_(month_list)))
        counts["partners"] = _upsert_partners(conn, partners_df, seen)
        if scored_rows:
            conn.execute(sa.insert(scored_table), scored_rows)
        counts["scored_months"] = len(scored_rows)
        _swap_partitions(conn, swapped, month_list)  # last: the tables' locks are held to commit
    return counts


# ---- read ------------------------------------------------------------------------------------


def _read_conn(engine: Engine) -> Connection:
    return engine.connect().execution_options(**READ_ONLY)


def months_scored(engine: Engine) -> list[dt.date]:
    """The months that have scores (``scored_month``), ascending."""
    t = M.ScoredMonth.__table__
    with _read_conn(engine) as conn:
        return list(conn.execute(sa.select(t.c.month).order_by(t.c.month)).scalars())


def row_counts(engine: Engine, months: Iterable[dt.date] | None = None) -> dict[str, int]:
    """Rows per result frame name (and ``scored_months``), for ``months`` or in all."""
    month_list = None if months is None else sorted({_as_month(m) for m in months})
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
        month_list = sorted({_as_month(m) for m in months})
    id_chunks: list[list[str] | None] = [None]
    if partner_ids is not None:
        if "partner_id" not in t.c:
            raise ValueError(f"{spec.name} has no partner_id column")
        ids = sorted(set(partner_ids))
        step = 10_000  # keep clear of the backends' bound-parameter limits
        id_chunks = [ids[i : i + step] for i in range(0, len(ids), step)]
    if month_list == [] or not id_chunks:
        return pl.DataFrame(schema=spec.schema)
    with _read_conn(engine) as conn, conn.begin():  # one snapshot for every chunk
        lock_for_reading(conn)
        if spec.name in RESULTS and conn.dialect.name in ("sqlite", "postgresql"):
            parts = [_read_raw(conn, spec, month_list, ids) for ids in id_chunks]
        else:
            parts = [_read_core(conn, spec, month_list, ids) for ids in id_chunks]
    df = pl.concat(parts) if len(parts) > 1 else parts[0]
    # sorted here, not with ORDER BY: byte order of strings whatever the database's collation
    return df.sort(list(spec.key))


def _read_core(conn, spec: TableSpec, months, ids) -> pl.DataFrame:
    t = spec.table
    q = sa.select(*t.columns)
    if months is not None:
        q = q.where(t.c.month.in_(months))
    if ids is not None:
        q = q.where(t.c.partner_id.in_(ids))
    rows = conn.execute(q).all()
    return pl.DataFrame([tuple(r) for r in rows], schema=spec.schema, orient="row")


def _read_raw(conn, spec: TableSpec, months, ids) -> pl.DataFrame:
    """The driver's cursor, without SQLAlchemy's per-value result processing (2x faster)."""
    q = lambda name: _quote(conn, name)  # noqa: E731
    sqlite_ = conn.dialect.name == "sqlite"
    mark = "?" if sqlite_ else "%s"
    where, params = [], []
    if months is not None:
        where.append(f"{q('month')} IN ({', '.join(mark for _ in months)})")
        params += [m.isoformat() for m in months] if sqlite_ else months
    if ids is not None:
        where.append(f"{q('partner_id')} IN ({', '.join(mark for _ in ids)})")
        params += ids
    sql = f"SELECT {', '.join(q(c) for c in spec.schema)} FROM {q(spec.table.name)}"
    if where:
        sql += " WHERE " + " AND ".join(where)
    # SQLite gives dates as ISO text and booleans as 0/1; psycopg gives Python values
    raw_schema = (
        {c: pl.String if d == pl.Date else pl.Int64 if d == pl.Boolean else d
         for c, d in spec.schema.items()}
        if sqlite_ else spec.schema
    )  # fmt: skip
    cursor = conn.connection.driver_connection.cursor()
    try:
        cursor.execute(sql, params)
        parts = []
        while rows := cursor.fetchmany(100_000):
            parts.append(pl.DataFrame(rows, schema=raw_schema, orient="row"))
    finally:
        cursor.close()
    df = pl.concat(parts) if parts else pl.DataFrame(schema=raw_schema)
    if sqlite_:
        df = df.with_columns(
            pl.col(c).str.to_date("%Y-%m-%d") if d == pl.Date else pl.col(c).cast(d)
            for c, d in spec.schema.items()
            if d in (pl.Date, pl.Boolean)
        )
    return df
