"""The holdings as stored: each association (partner, tenant, option, workload, association date)
once in ``association``, under an id that is a stable hash of those five values, and each month's
holdings as narrow ``holding`` rows (month, association id, seats, users).

``split_holdings`` turns a holdings frame into the two, inserting the associations the database
does not have yet; ``holdings_select`` reads them back joined. Why: docs/architecture.md,
"Storage", "Holdings on associations"."""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass

import polars as pl
import sqlalchemy as sa
from sqlalchemy import Connection

from storage.results.dbapi import fetch_frame, quote, to_codes
from storage.results.postgres import copy_frame
from storage.results.specs import ASSOCIATION_KEY, ASSOCIATION_SCHEMA, HOLDING_TABLE_SCHEMA, OTHER
from storage.results.sqlite import sqlite_values

_SEP = "\x1f"  # the unit separator: in no id, option or workload name


def association_ids(keys: pl.DataFrame) -> pl.Series:
    """The id of each row's association: the first 8 bytes of the BLAKE2b digest of its five key
    values (``ASSOCIATION_KEY``, the date as ISO text) joined by U+001F, as a signed little-endian
    64-bit integer. Frozen: ids already stored depend on it (a change needs a migration)."""
    text = keys.select(
        pl.concat_str(
            [pl.col(c).cast(pl.String) if c == "associated_on" else pl.col(c) for c in ASSOCIATION_KEY],
            separator=_SEP,
        )
    ).to_series()
    digest = hashlib.blake2b
    parts = [  # in slices: a first write hashes millions of associations
        pl.Series(
            "id",
            [int.from_bytes(digest(t.encode(), digest_size=8).digest(), "little", signed=True) for t in chunk],
            dtype=pl.Int64,
        )
        for chunk in (text.slice(i, 100_000) for i in range(0, text.len(), 100_000))
    ]
    return pl.concat(parts) if parts else pl.Series("id", [], dtype=pl.Int64)


@dataclass
class _Known:
    """The associations a database is known to hold (committed), by key, with their ids."""

    frame: pl.DataFrame  # ASSOCIATION_SCHEMA and the join key ``_k``, unique ids

    @property
    def ends(self) -> list[int]:
        """Its smallest and largest id: still in the table means the same table."""
        return [self.frame["id"].min(), self.frame["id"].max()] if self.frame.height else []


_KNOWN: dict[str, _Known] = {}
_LOCK = threading.Lock()


def _cache_key(conn: Connection) -> str:
    return conn.engine.url.render_as_string(hide_password=True)


def _read_all(conn: Connection) -> pl.DataFrame:
    table = OTHER["associations"].table
    cols = ", ".join(quote(conn, c) for c in ASSOCIATION_SCHEMA)
    sql = f"SELECT {cols} FROM {quote(conn, table.name)}"
    return fetch_frame(conn, sql, (), ASSOCIATION_SCHEMA, codes=OTHER["associations"].codes, batch=200_000)


def _known(conn: Connection) -> _Known:
    """What this process knows the database holds, checked against it in this transaction: the
    cached ids stay valid while rows are only ever added (they are: months are rewritten in
    ``holding`` only). A table that no longer holds the cached extremes, or holds fewer rows
    than the cache, is another table (a new database at the same address): read again."""
    table = OTHER["associations"].table
    key = _cache_key(conn)
    with _LOCK:
        known = _KNOWN.get(key)
    if known is not None:
        count = conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()
        ends = known.ends
        present = (
            conn.execute(sa.select(sa.func.count()).select_from(table).where(table.c.id.in_(ends))).scalar_one()
            if ends
            else 0
        )
        if count >= known.frame.height and present == len(set(ends)):
            return known
    return _Known(_with_join_key(_read_all(conn)))


def _with_join_key(df: pl.DataFrame) -> pl.DataFrame:
    """``df`` with ``_k``: Polars' hash of the five values, a 64-bit join key valid in this
    process only (never stored). Joining on it instead of the five strings takes ~1/3 of the
    memory and time at 100,000 partners; its collisions are ruled out by comparing the values."""
    return df.with_columns(_k=pl.struct(list(ASSOCIATION_KEY)).hash())


def _remember(key: str, known: _Known, added: pl.DataFrame) -> None:
    added = _with_join_key(added)
    frame = pl.concat([known.frame, added]).unique("id", keep="first") if added.height else known.frame
    with _LOCK:
        _KNOWN[key] = _Known(frame)


@dataclass
class Split:
    """A holdings frame as stored: the ``holding`` rows, the associations it added, and what to
    remember once the transaction commits (``commit``)."""

    holdings: pl.DataFrame  # HOLDING_TABLE_SCHEMA
    added: pl.DataFrame  # ASSOCIATION_SCHEMA: inserted by this write
    _key: str
    _known: _Known

    def commit(self) -> None:
        _remember(self._key, self._known, self.added)


def split_holdings(conn: Connection, holdings: pl.DataFrame) -> Split:
    """``holding`` rows for a checked holdings frame (``prepare_frame``), inserting into
    ``association`` the associations it names that the table does not hold yet. Raises
    ValueError when a month holds a (partner, tenant, option, workload) twice (under two
    association dates), or when two different associations hash to the same id."""
    natural = ["month", "partner_id", "tenant_id", "option", "workload"]
    dup = holdings.filter(pl.struct(natural).is_duplicated())
    if dup.height:
        raise ValueError(f"holdings: duplicate key {dup.select(natural).row(0)}")
    known = _known(conn)
    key = list(ASSOCIATION_KEY)
    held = _with_join_key(holdings).with_row_index("_r")
    cached = known.frame.select("_k", "id", *[pl.col(c).alias(f"{c}_known") for c in key])
    same = pl.all_horizontal(pl.col(c) == pl.col(f"{c}_known") for c in key)
    found = held.join(cached, on="_k", how="inner").filter(same)
    unknown = held.filter(~pl.col("_r").is_in(found["_r"].implode()))
    new = unknown.select(key).unique()
    new = new.with_columns(association_ids(new)).select(ASSOCIATION_SCHEMA.keys()).sort("id")
    if new["id"].is_duplicated().any():
        raise ValueError("associations: two associations have the same id (hash collision)")
    if new.height:
        clash = new.join(known.frame.select("id"), on="id", how="semi")
        if clash.height:
            raise ValueError(f"associations: id {clash['id'][0]} already names another association (hash collision)")
        _insert_new(conn, new)
    columns = [pl.col("month"), pl.col("id").alias("association_id"), "paid_seats", "active_users"]
    rows = (
        pl.concat([found.select(columns), unknown.join(new, on=key, how="inner").select(columns)])
        .cast(HOLDING_TABLE_SCHEMA)
        .sort("month", "association_id")
    )
    if rows.height != holdings.height:  # every holding has exactly one association
        raise AssertionError(f"holdings: {holdings.height} rows but {rows.height} mapped to associations")
    return Split(rows, new, _cache_key(conn), known)


def holding_rows(holdings: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """``(holding rows, associations)`` of a checked holdings frame (``prepare_frame``), every id
    computed here, without the database (``staging``: a shard does not read the association
    table, which holds every partner's). The holding rows are in key order, the associations
    distinct and in id order. Raises ValueError as ``split_holdings`` does, for a (partner,
    tenant, option, workload) held twice in a month or two associations with one id."""
    natural = ["month", "partner_id", "tenant_id", "option", "workload"]
    dup = holdings.filter(pl.struct(natural).is_duplicated())
    if dup.height:
        raise ValueError(f"holdings: duplicate key {dup.select(natural).row(0)}")
    key = list(ASSOCIATION_KEY)
    associations = holdings.select(key).unique()
    associations = associations.with_columns(association_ids(associations)).select(ASSOCIATION_SCHEMA.keys()).sort("id")
    if associations["id"].is_duplicated().any():
        raise ValueError("associations: two associations have the same id (hash collision)")
    rows = (
        holdings.join(associations, on=key, how="inner")
        .select("month", pl.col("id").alias("association_id"), "paid_seats", "active_users")
        .cast(HOLDING_TABLE_SCHEMA)
        .sort("month", "association_id")
    )
    return rows, associations


def _insert_new(conn: Connection, new: pl.DataFrame) -> None:
    """Insert the associations not known to this process; one that another writer has inserted
    meanwhile is left alone, after checking that it is the same association."""
    table = OTHER["associations"].table
    name = quote(conn, table.name)
    cols = ", ".join(quote(conn, c) for c in ASSOCIATION_SCHEMA)
    if conn.dialect.name == "sqlite":
        cursor = conn.connection.driver_connection.cursor()
        try:
            before = conn.connection.driver_connection.total_changes
            rows = sqlite_values(OTHER["associations"], new)
            for chunk in rows.iter_slices(50_000):
                cursor.executemany(
                    f"INSERT OR IGNORE INTO {name} ({cols}) VALUES (?, ?, ?, ?, ?, ?)", chunk.iter_rows()
                )
            inserted = conn.connection.driver_connection.total_changes - before
        finally:
            cursor.close()
    elif conn.dialect.name == "postgresql":
        temp = quote(conn, "association_new")
        conn.exec_driver_sql(f"CREATE TEMP TABLE {temp} (LIKE {name}) ON COMMIT DROP")
        copy_frame(conn, to_codes(OTHER["associations"].codes, new), target=temp)
        # in id order, so that two writers adding the same associations wait for each other in
        # one order instead of deadlocking
        inserted = conn.exec_driver_sql(
            f"INSERT INTO {name} ({cols}) SELECT {cols} FROM {temp} ORDER BY id ON CONFLICT (id) DO NOTHING"
        ).rowcount
        conn.exec_driver_sql(f"DROP TABLE {temp}")
    else:  # portable fallback
        existing = set(conn.execute(sa.select(table.c.id).where(table.c.id.in_(new["id"].to_list()))).scalars())
        fresh = new.filter(~pl.col("id").is_in(sorted(existing)))
        if fresh.height:
            conn.execute(sa.insert(table), fresh.to_dicts())
        inserted = fresh.height
    if inserted != new.height:
        _check_same(conn, new)


def _check_same(conn: Connection, new: pl.DataFrame) -> None:
    """Some ids were there already (another writer's): they must name the same associations."""
    table = OTHER["associations"].table
    stored = []
    ids = new["id"].to_list()
    for i in range(0, len(ids), 10_000):
        stored += conn.execute(sa.select(*table.columns).where(table.c.id.in_(ids[i : i + 10_000]))).all()
    there = pl.DataFrame([tuple(r) for r in stored], schema=ASSOCIATION_SCHEMA, orient="row")
    differ = new.join(there, on="id", how="inner", suffix="_db").filter(
        pl.any_horizontal(pl.col(c) != pl.col(f"{c}_db") for c in ASSOCIATION_KEY)
    )
    if differ.height:
        raise ValueError(f"associations: id {differ['id'][0]} already names another association (hash collision)")


def holdings_sql(conn: Connection) -> tuple[str, dict[str, str]]:
    """``SELECT <the holdings frame's columns> FROM holding JOIN association`` (no WHERE), and
    each frame column's qualified name, for filters."""
    q = lambda name: quote(conn, name)  # noqa: E731
    h, a = q("holding"), q("association")
    exprs = {
        "month": f"{h}.{q('month')}",
        **{c: f"{a}.{q(c)}" for c in ("partner_id", "tenant_id", "option", "workload", "associated_on")},
        "paid_seats": f"{h}.{q('paid_seats')}",
        "active_users": f"{h}.{q('active_users')}",
    }
    sql = f"SELECT {', '.join(exprs.values())} FROM {h} JOIN {a} ON {a}.{q('id')} = {h}.{q('association_id')}"
    return sql, exprs
