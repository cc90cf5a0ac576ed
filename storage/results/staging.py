"""Sharded months: each shard stages its rows in tables of its own (``stage_shard``), and
``publish`` replaces the month in the result tables from every shard's staged rows in one
transaction, server-side, then drops them.

A shard's staged tables are named ``stg_<batch>_<YYYYMM>_<k>of<n>_<table>`` (on PostgreSQL in
``models.PARTITION_SCHEMA``), one per stored table: the six result tables (the holdings as
``holding`` rows), ``association`` and ``partner``. They are made like the table they stand for
(its columns read from the catalog, its primary key) and filled through the same insert paths
(``sqlite.insert_sqlite``, ``postgres.copy_rows``), so they hold the values exactly as the result
tables store them. ``batch`` names one run's staging; ``staged_batches`` and ``drop_batches``
let a later run clean the staging of runs that died. Why: docs/architecture.md, "Sharded months".
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import polars as pl
import sqlalchemy as sa
from sqlalchemy import Connection, Engine

from storage import models as M
from storage.engines import READ_ONLY
from storage.results.associations import holding_rows
from storage.results.dbapi import quote
from storage.results.postgres import (
    PG_WRITE_LOCK,
    columns_ddl,
    copy_rows,
    create_partition,
    index_partition,
    is_partitioned,
    qualified,
    swap_partitions,
)
from storage.results.prepare import as_month, prepare_frame, prepare_partners
from storage.results.specs import ASSOCIATION_SCHEMA, OTHER, RESULTS, TableSpec
from storage.results.sqlite import insert_sqlite

PREFIX = "stg_"
BATCH = re.compile(r"^[0-9a-z]{1,16}$")
_NAME = re.compile(r"^stg_([0-9a-z]{1,16})_(\d{6})_(\d{3})of(\d{3})_([a-z_]+)$")
STAGED: tuple[TableSpec, ...] = (*RESULTS.values(), OTHER["associations"], OTHER["partners"])
"""The tables a shard stages, in the order they are staged and published."""
_ASSOCIATIONS, _PARTNERS = OTHER["associations"], OTHER["partners"]


class StagingIncomplete(RuntimeError):
    """``publish`` found shards of the month not staged: nothing was published."""


@dataclass(frozen=True)
class StagedMonth:
    """One run's staging of one month in ``shards`` shards (``batch``: the run's, [0-9a-z]{1,16})."""

    batch: str
    month: dt.date
    shards: int

    def __post_init__(self) -> None:
        if not BATCH.match(self.batch):
            raise ValueError(f"batch {self.batch!r}: 1 to 16 lower-case letters and digits")
        if not 1 <= self.shards <= 999:
            raise ValueError(f"shards: {self.shards} is not between 1 and 999")
        object.__setattr__(self, "month", as_month(self.month))

    def name(self, shard: int, spec: TableSpec) -> str:
        """The staged table of ``spec`` of shard ``shard`` (0-based)."""
        if not 0 <= shard < self.shards:
            raise ValueError(f"shard {shard} is not between 0 and {self.shards - 1}")
        return f"{PREFIX}{self.batch}_{self.month:%Y%m}_{shard:03d}of{self.shards:03d}_{spec.table.name}"

    def names(self, shard: int) -> list[str]:
        return [self.name(shard, spec) for spec in STAGED]


# ---- the catalog -------------------------------------------------------------------------------


def _where(conn: Connection, name: str) -> str:
    """A staged table's name as SQL: in the partition schema on PostgreSQL."""
    return qualified(conn, name) if conn.dialect.name == "postgresql" else quote(conn, name)


def _staged_names(conn: Connection) -> list[str]:
    if conn.dialect.name == "postgresql":
        sql = (
            "SELECT c.relname FROM pg_catalog.pg_class c WHERE c.relnamespace = %s::regnamespace "
            "AND c.relkind = 'r' AND c.relname LIKE 'stg\\_%%'"
        )
        names = conn.exec_driver_sql(sql, (M.PARTITION_SCHEMA,)).scalars().all()
    else:
        sql = "SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'stg\\_%' ESCAPE '\\'"
        names = conn.exec_driver_sql(sql).scalars().all()
    return sorted(n for n in names if _NAME.match(n))


def _create_like(conn: Connection, spec: TableSpec, name: str) -> str:
    """An empty table with ``spec``'s columns (as the catalog has them) and primary key."""
    target = _where(conn, name)
    key = ", ".join(quote(conn, c) for c in spec.key)
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(f"CREATE TABLE {target} ({columns_ddl(conn, spec)})")
        return target
    info = conn.exec_driver_sql(f"PRAGMA table_info({quote(conn, spec.table.name)})").all()
    cols = ", ".join(f"{quote(conn, r[1])} {r[2]}{' NOT NULL' if r[3] else ''}" for r in info)
    # WITHOUT ROWID: one B-tree in key order, as the result tables
    conn.exec_driver_sql(f"CREATE TABLE {target} ({cols}, PRIMARY KEY ({key})) WITHOUT ROWID")
    return target


def _drop(conn: Connection, names: Iterable[str]) -> int:
    n = 0
    for name in names:
        conn.exec_driver_sql(f"DROP TABLE IF EXISTS {_where(conn, name)}")
        n += 1
    return n


def _lock_key(text: str) -> int:
    """A signed 64-bit advisory lock key for ``text``."""
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "little", signed=True)


# ---- staging one shard -------------------------------------------------------------------------


def stage_shard(
    engine: Engine,
    *,
    staged: StagedMonth,
    shard: int,
    frames: Mapping[str, pl.DataFrame],
    partners: pl.DataFrame,
) -> dict[str, int]:
    """Stage shard ``shard`` of ``staged``: its six result frames (``frames.py`` names, rows of
    ``staged.month`` only) and its partners' registry rows (``partner_id``, ``partner_name``,
    ``in_registry``), in one transaction that first drops what this shard staged before (a shard
    run again replaces its rows). The frames are checked as ``write_results`` checks them
    (``prepare_frame``; ValueError before the database is touched); the holdings become
    ``holding`` rows and their associations, ids computed here. Returns the rows staged per
    frame name, plus ``associations`` and ``partners``."""
    missing = [n for n in RESULTS if n not in frames]
    unknown = [n for n in frames if n not in RESULTS]
    if missing or unknown:
        raise ValueError(f"frames: missing {missing}, unknown {unknown}")
    months = {staged.month}
    prepared = {n: prepare_frame(spec, frames[n], months, sort=False) for n, spec in RESULTS.items()}
    holdings, associations = holding_rows(prepared.pop("holdings").sort(list(RESULTS["holdings"].natural_key)))
    rows = {
        **prepared,
        "holdings": holdings,
        "associations": associations,
        "partners": prepare_partners(partners),
    }
    names = staged.names(shard)
    counts: dict[str, int] = {}
    with engine.begin() as conn:
        pg = conn.dialect.name == "postgresql"
        if pg:  # two attempts of one shard (a redelivered task): one after the other
            conn.exec_driver_sql("SELECT pg_advisory_xact_lock(%s)", (_lock_key(names[0]),))
        _drop(conn, names)
        for spec, name in zip(STAGED, names, strict=True):
            df = rows[spec.name]
            df = df.sort(list(spec.key) if spec.name != "holdings" else ["month", "association_id"])
            target = _create_like(conn, spec, name)
            if df.height:
                if pg:
                    copy_rows(conn, spec, df, target=target, freeze=True)
                else:
                    insert_sqlite(conn, spec, df, target=name)
            if pg:  # the key after the load: one sorted pass
                key = ", ".join(quote(conn, c) for c in spec.key)
                conn.exec_driver_sql(f"ALTER TABLE {target} ADD PRIMARY KEY ({key})")
            counts[spec.name] = df.height
    return counts


# ---- publishing a month ------------------------------------------------------------------------


def _union(conn: Connection, staged: StagedMonth, spec: TableSpec, *, order: bool = True) -> str:
    """Every shard's staged rows of ``spec`` as one SELECT (in key order)."""
    cols = ", ".join(quote(conn, c) for c in spec.schema)
    parts = [f"SELECT {cols} FROM {_where(conn, staged.name(k, spec))}" for k in range(staged.shards)]
    sql = " UNION ALL ".join(parts)
    if order:
        sql += " ORDER BY " + ", ".join(quote(conn, c) for c in spec.key)
    return sql


def _check_staged(conn: Connection, staged: StagedMonth) -> None:
    present = set(_staged_names(conn))
    missing = [k for k in range(staged.shards) if not set(staged.names(k)) <= present]
    if missing:
        shown = ", ".join(str(k) for k in missing[:20]) + (" ..." if len(missing) > 20 else "")
        raise StagingIncomplete(
            f"{staged.month:%Y-%m}: {len(missing)} of {staged.shards} shard(s) not staged in batch "
            f"{staged.batch} (shards {shown}); nothing published"
        )


def publish(
    engine: Engine,
    *,
    staged: StagedMonth,
    rulebook_id: str,
    run_id: str | None = None,
    materialized_at: dt.datetime | None = None,
) -> dict[str, int]:
    """Replace ``staged.month`` in the result tables with every shard's staged rows, in one
    transaction, as ``write_results`` would have written the shards' frames together: the
    associations not stored yet added (a different association under a stored id refused),
    the partners upserted, the month's ``scored_month`` row (counts from the designations, which
    must all be of ``rulebook_id``), on PostgreSQL each table's month loaded aside and swapped in
    (the same swap and lock order). The staged tables of the month are dropped in the same
    transaction. Raises ``StagingIncomplete`` when a shard is not staged, ValueError on a
    collision or a rulebook mismatch; either way nothing changes. Returns the rows written per
    frame name, plus ``partners``, ``scored_months`` and ``associations`` (new ones)."""
    month = staged.month
    counts: dict[str, int] = {}
    with engine.begin() as conn:
        pg = conn.dialect.name == "postgresql"
        _check_staged(conn, staged)
        swapped = [spec for spec in RESULTS.values() if pg and is_partitioned(conn, spec)]
        swapped_names = {spec.name for spec in swapped}
        for spec in RESULTS.values():
            if spec.name not in swapped_names:
                conn.execute(sa.delete(spec.table).where(spec.table.c.month == month))
        counts["associations"] = _publish_associations(conn, staged)
        for spec in RESULTS.values():
            cols = ", ".join(quote(conn, c) for c in spec.schema)
            if spec.name in swapped_names:  # a new table for the month, attached in place of the old below
                target = create_partition(conn, spec, month)
                counts[spec.name] = conn.exec_driver_sql(
                    f"INSERT INTO {target} ({cols}) {_union(conn, staged, spec)}"
                ).rowcount
                index_partition(conn, spec, target)
            else:
                target = quote(conn, spec.table.name)
                counts[spec.name] = conn.exec_driver_sql(
                    f"INSERT INTO {target} ({cols}) {_union(conn, staged, spec)}"
                ).rowcount
        if swapped:  # from here to commit one writer at a time, as in write_results
            conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({PG_WRITE_LOCK})")
        counts["scored_months"] = _scored_month(conn, staged, rulebook_id, run_id, materialized_at)
        counts["partners"] = _publish_partners(conn, staged)
        swap_partitions(conn, swapped, [month])
        _drop(conn, [name for k in range(staged.shards) for name in staged.names(k)])
    return counts


def _publish_associations(conn: Connection, staged: StagedMonth) -> int:
    """Insert the staged associations the table does not hold yet (in id order, so that two
    writers wait for each other rather than deadlock); refuse an id that names another one."""
    table = quote(conn, _ASSOCIATIONS.table.name)
    cols = ", ".join(quote(conn, c) for c in ASSOCIATION_SCHEMA)
    source = _union(conn, staged, _ASSOCIATIONS, order=False)
    inserted = conn.exec_driver_sql(
        f"INSERT INTO {table} ({cols}) SELECT {cols} FROM ({source}) s WHERE true ORDER BY {quote(conn, 'id')} "
        f"ON CONFLICT ({quote(conn, 'id')}) DO NOTHING"
    ).rowcount
    differ = " OR ".join(f"a.{quote(conn, c)} <> s.{quote(conn, c)}" for c in ASSOCIATION_SCHEMA if c != "id")
    key = quote(conn, "id")
    clash = conn.exec_driver_sql(
        f"SELECT s.{key} FROM ({source}) s JOIN {table} a ON a.{key} = s.{key} WHERE {differ} LIMIT 1"
    ).scalar()
    if clash is not None:
        raise ValueError(f"associations: id {clash} already names another association (hash collision)")
    return inserted


def _scored_month(
    conn: Connection, staged: StagedMonth, rulebook_id: str, run_id: str | None, materialized_at: dt.datetime | None
) -> int:
    """The month's ``scored_month`` row, its counts from the staged designations."""
    designations = RESULTS["designations"]
    source = _union(conn, staged, designations, order=False)
    attained, rulebook = quote(conn, "attained"), quote(conn, "rulebook_id")
    n, won, low, high = conn.exec_driver_sql(
        f"SELECT COUNT(*), SUM(CASE WHEN {attained} THEN 1 ELSE 0 END), MIN({rulebook}), MAX({rulebook}) "
        f"FROM ({source}) d"
    ).one()
    if n and (low != rulebook_id or high != rulebook_id):
        raise ValueError(f"scored: {staged.month} rulebook_id={rulebook_id!r} but designations {sorted({low, high})}")
    if materialized_at is not None and materialized_at.tzinfo is None:
        raise ValueError(f"scored: {staged.month} materialized_at must be a timezone-aware datetime")
    table = OTHER["scored_months"].table
    conn.execute(sa.delete(table).where(table.c.month == staged.month))
    row = {
        "month": staged.month,
        "rulebook_id": rulebook_id,
        "partners_scored": int(n),
        "partners_attained": int(won or 0),
        "materialized_at": materialized_at or dt.datetime.now(dt.UTC),
        "run_id": run_id,
    }
    conn.execute(sa.insert(table), [row])
    return 1


def _publish_partners(conn: Connection, staged: StagedMonth) -> int:
    """Upsert the staged registry rows (in key order, as every writer does), then add any
    scored partner not there yet, unnamed and not in the registry (as ``write_results``)."""
    table = quote(conn, _PARTNERS.table.name)
    pid, name, listed = (quote(conn, c) for c in ("partner_id", "partner_name", "in_registry"))
    source = _union(conn, staged, _PARTNERS, order=False)
    n = conn.exec_driver_sql(
        f"INSERT INTO {table} ({pid}, {name}, {listed}) SELECT {pid}, {name}, {listed} FROM ({source}) s "
        f"WHERE true ORDER BY {pid} ON CONFLICT ({pid}) DO UPDATE SET {name} = excluded.{name}, "
        f"{listed} = excluded.{listed}"
    ).rowcount
    scored = _union(conn, staged, RESULTS["designations"], order=False)
    n += conn.exec_driver_sql(
        f"INSERT INTO {table} ({pid}, {name}, {listed}) SELECT {pid}, NULL, false FROM "
        f"(SELECT DISTINCT {pid} FROM ({scored}) d) p WHERE true ORDER BY {pid} ON CONFLICT ({pid}) DO NOTHING"
    ).rowcount
    return n


# ---- staging of runs that died -----------------------------------------------------------------


def staged_batches(engine: Engine) -> dict[str, list[str]]:
    """The batches with staged tables, and their tables' names."""
    out: dict[str, list[str]] = {}
    with engine.connect().execution_options(**READ_ONLY) as conn:
        for name in _staged_names(conn):
            match = _NAME.match(name)
            assert match is not None
            out.setdefault(match.group(1), []).append(name)
    return out


def drop_batches(engine: Engine, batches: Iterable[str]) -> int:
    """Drop every staged table of ``batches`` (one transaction); the number dropped."""
    wanted = set(batches)
    if not wanted:
        return 0
    with engine.begin() as conn:
        names = [n for n in _staged_names(conn) if (m := _NAME.match(n)) is not None and m.group(1) in wanted]
        return _drop(conn, names)
