"""Database access for one request, and the SQL the API runs (SQLAlchemy Core, read-only).

A request uses at most one pooled connection, checked out on its first query and held until
the response is built, inside one read transaction: every query of a request sees the same
snapshot (SQLite: a deferred ``BEGIN`` in WAL mode; PostgreSQL: ``PG_BEGIN``, i.e.
``REPEATABLE READ``, read only, after ``PG_LOCK``: see there why). The driver calls are
blocking: on PostgreSQL they run in worker threads, one at a time per request, so a round trip
never blocks the event loop; SQLite's local queries run in the
event loop itself (handing them to a thread costs more than they take). A per-process
semaphore keeps the requests holding a connection below the pool's size, so a request waiting
for a connection waits in the event loop, never in a thread or in the pool; and the threads are
those of an executor with one thread per such request (``Services.executor``), so a request
holding a connection always gets a thread for its next query. (With the event loop's default
executor, 6 threads on 2 cores, requests blocked in their first statement, e.g. behind a
writer's lock request, could take every thread while the request the writer waits for needs
one to finish: nothing moves until the writer's lock timeout.)
"""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import logging
import threading
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy import Connection, Engine, Row

from storage import models as M
from storage.results import SWAP_LOCK_ORDER

T = TypeVar("T")
log = logging.getLogger("graphql_api")

PARTNER = M.Partner.__table__
DESIGNATION = M.Designation.__table__
PATH = M.PathScore.__table__
METRIC = M.MetricPoint.__table__
CUSTOMER = M.CustomerDetail.__table__
HOLDING = M.Holding.__table__
ELIGIBLE = M.EligibleTenant.__table__
SCORED = M.ScoredMonth.__table__
TOKEN = M.ApiToken.__table__


# PostgreSQL: the tables a request may read that a writer may replace wholesale. A REPEATABLE
# READ snapshot is taken by the transaction's first statement that reads data, *before* that
# statement waits for its table locks; and ``storage.results`` on a partitioned database
# replaces a month by swapping partitions (drop the old, attach a new one loaded with ``COPY
# FREEZE``, whose rows every snapshot sees), which is not MVCC-safe: a request whose snapshot
# predates the swap but which first touches a table after it would read the new month there
# and the old one elsewhere. So a request first takes ACCESS SHARE on these parents (``LOCK
# TABLE`` takes no snapshot): a swap then waits for the request to end, and a request that
# arrives during a swap waits for its commit and then reads the new month everywhere. ONLY: the
# parents alone (the writer locks the parents). The order must be the writer's
# (``storage.results._swap_partitions``: scored months, partners, then the result tables), or
# a request holding some tables and a writer holding others wait for each other until the
# writer's lock timeout.
PG_LOCKED_TABLES = SWAP_LOCK_ORDER  # the writer's order (storage.results): keep them one
PG_LOCK = f"LOCK TABLE ONLY {', '.join(t.name for t in PG_LOCKED_TABLES)} IN ACCESS SHARE MODE"
PG_BEGIN = f"BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; {PG_LOCK}"


def pool_capacity(engine: Engine) -> int:
    """Connections the engine's pool can hand out at once (size + overflow)."""
    pool = engine.pool
    size = pool.size() if hasattr(pool, "size") else 5
    overflow = getattr(pool, "_max_overflow", 0)
    return max(1, size + max(overflow, 0))


def connection_slots(engine: Engine) -> int:
    """Requests that may hold a connection at once: the pool's persistent size when it has one
    (a ``QueuePool``), else its capacity less two."""
    pool = engine.pool
    if hasattr(pool, "size") and hasattr(pool, "_max_overflow"):
        return max(1, pool.size())
    return max(1, pool_capacity(engine) - 2)


class RequestDB:
    """The database of one request: one connection, one snapshot, queries one at a time.

    ``run(fn, ...)`` runs ``fn(connection, ...)`` inside the request's read transaction (opened by
    the first ``run``)."""

    def __init__(
        self, engine: Engine, gate: asyncio.Semaphore, *, threads: bool = True, executor: Executor | None = None
    ) -> None:
        self._engine = engine
        self._gate = gate
        self._threads = threads
        self._executor = executor  # None: the event loop's default executor
        self._lock = asyncio.Lock()
        self._conn: Connection | None = None
        self._pg = engine.dialect.name == "postgresql"
        self._in_tx = False
        self._holds_gate = False
        self._inflight: asyncio.Future | None = None  # the query running in a thread

    def _connect(self) -> Connection:
        conn = self._engine.connect()
        if self._pg:
            # the driver in autocommit mode sends no BEGIN of its own: ours is PG_BEGIN, the
            # transaction and its locks in one round trip (ended by _release's ROLLBACK)
            try:
                conn = conn.execution_options(isolation_level="AUTOCOMMIT")
            except BaseException:
                conn.close()
                raise
        return conn

    def _call(self, fn: Callable[..., T], args: tuple) -> T:
        # the first query checks the connection out and opens the transaction, in the same
        # thread hop
        if self._conn is None:
            self._conn = self._connect()
        if not self._in_tx:
            if self._pg:
                self._conn.exec_driver_sql(PG_BEGIN)
            else:
                self._conn.begin()
            self._in_tx = True
        return fn(self._conn, *args)

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """``fn(connection, *args)`` in this request's read transaction (in a worker thread or not)."""
        async with self._lock:
            if not self._holds_gate:
                await self._gate.acquire()
                self._holds_gate = True
            if not self._threads:
                return self._call(fn, args)
            loop = asyncio.get_running_loop()
            self._inflight = loop.run_in_executor(self._executor, functools.partial(self._call, fn, args))
            # shielded: if the request is cancelled, the thread still owns the connection until
            # its query ends, and close() waits for that
            return await asyncio.shield(self._inflight)

    def close(self) -> None:
        """Give the connection back (rolling the read transaction back) once the response is
        built; not in a thread: a rollback and a pool check-in are quick. A query still running
        in a thread (cancelled request) gets to finish first."""
        inflight, self._inflight = self._inflight, None
        if inflight is not None and not inflight.done():
            inflight.add_done_callback(lambda _: self._release())
        else:
            self._release()

    def _release(self) -> None:
        conn, self._conn = self._conn, None
        in_tx, self._in_tx = self._in_tx, False
        try:
            if conn is not None:
                try:
                    if self._pg and in_tx and not conn.invalidated:
                        conn.exec_driver_sql("ROLLBACK")  # ends PG_BEGIN's transaction
                finally:
                    conn.close()
        finally:
            if self._holds_gate:
                self._holds_gate = False
                self._gate.release()


# ---- key helpers -----------------------------------------------------------------------------

PartnerMonth = tuple[str, dt.date]  # (partner_id, month)


@functools.cache
def _by_partner_month(table: sa.Table, shape: str) -> sa.Select:
    """``SELECT * FROM table`` for a set of (partner, month), built once per shape: a statement
    built per call costs more than SQLite takes to run it (~150 us of SQLAlchemy construction
    and cache-key work per statement). ``one``: one partner, one month; ``month``: one month,
    partners ``:ids``; ``partner``: one partner, months ``:months``."""
    q = sa.select(table)
    if shape == "one":
        return q.where(table.c.month == sa.bindparam("m"), table.c.partner_id == sa.bindparam("p"))
    if shape == "month":
        return q.where(table.c.month == sa.bindparam("m"), table.c.partner_id.in_(sa.bindparam("ids", expanding=True)))
    assert shape == "partner"
    return q.where(table.c.partner_id == sa.bindparam("p"), table.c.month.in_(sa.bindparam("months", expanding=True)))


def _select_partner_months(conn: Connection, table: sa.Table, keys: Sequence[PartnerMonth]) -> list[Row]:
    """The rows of a set of (partner, month): the primary key's prefix when it can be used."""
    months = sorted({m for _, m in keys})
    ids = sorted({p for p, _ in keys})
    if len(months) == 1 and len(ids) == 1:
        return conn.execute(_by_partner_month(table, "one"), {"m": months[0], "p": ids[0]}).all()
    if len(months) == 1:
        return conn.execute(_by_partner_month(table, "month"), {"m": months[0], "ids": ids}).all()
    if len(ids) == 1:
        return conn.execute(_by_partner_month(table, "partner"), {"p": ids[0], "months": months}).all()
    pairs = sorted({(m, p) for p, m in keys})
    return conn.execute(sa.select(table).where(sa.tuple_(table.c.month, table.c.partner_id).in_(pairs))).all()


def _month_range(table: sa.Table, lo: dt.date | None, hi: dt.date | None) -> list[sa.ColumnElement[bool]]:
    out = []
    if lo is not None:
        out.append(table.c.month >= lo)
    if hi is not None:
        out.append(table.c.month <= hi)
    return out


# ---- partners --------------------------------------------------------------------------------


_PARTNER_ONE = sa.select(PARTNER).where(PARTNER.c.partner_id == sa.bindparam("p"))
_PARTNER_MANY = sa.select(PARTNER).where(PARTNER.c.partner_id.in_(sa.bindparam("ids", expanding=True)))


def partners_by_id(conn: Connection, ids: Sequence[str]) -> list[Row]:
    ids = sorted(set(ids))
    if len(ids) == 1:
        return conn.execute(_PARTNER_ONE, {"p": ids[0]}).all()
    return conn.execute(_PARTNER_MANY, {"ids": ids}).all()


def partner_page(conn: Connection, *, only: str | None, after: str | None, limit: int) -> list[Row]:
    q = sa.select(PARTNER)
    if only is not None:
        q = q.where(PARTNER.c.partner_id == only)
    if after is not None:
        q = q.where(PARTNER.c.partner_id > after)
    return conn.execute(q.order_by(PARTNER.c.partner_id).limit(limit)).all()


def partner_count(conn: Connection, *, only: str | None) -> int:
    q = sa.select(sa.func.count()).select_from(PARTNER)
    if only is not None:
        q = q.where(PARTNER.c.partner_id == only)
    return conn.execute(q).scalar_one()


# ---- designations (scorecard heads) ---------------------------------------------------------


def designations_by_key(conn: Connection, keys: Sequence[PartnerMonth]) -> list[Row]:
    return _select_partner_months(conn, DESIGNATION, keys)


def latest_designations(conn: Connection, ids: Sequence[str]) -> list[Row]:
    """Each partner's designation of its latest scored month."""
    latest = (
        sa.select(DESIGNATION.c.partner_id, sa.func.max(DESIGNATION.c.month).label("month"))
        .where(DESIGNATION.c.partner_id.in_(sorted(set(ids))))
        .group_by(DESIGNATION.c.partner_id)
        .subquery()
    )
    q = sa.select(DESIGNATION).join(
        latest, sa.and_(DESIGNATION.c.partner_id == latest.c.partner_id, DESIGNATION.c.month == latest.c.month)
    )
    return conn.execute(q).all()


def designations_in_ranges(conn: Connection, ids: Sequence[str], lo: dt.date | None, hi: dt.date | None) -> list[Row]:
    q = sa.select(DESIGNATION).where(DESIGNATION.c.partner_id.in_(sorted(set(ids))), *_month_range(DESIGNATION, lo, hi))
    return conn.execute(q.order_by(DESIGNATION.c.partner_id, DESIGNATION.c.month)).all()


def _designation_filter(attained: bool, track: bool, only: bool) -> list[sa.ColumnElement[bool]]:
    """The WHERE of a month's designations; which optional filters apply is the shape (values
    are bound: ``:month``, ``:attained``, ``:track``, ``:only``)."""
    where = [DESIGNATION.c.month == sa.bindparam("month")]
    if attained:
        where.append(DESIGNATION.c.attained == sa.bindparam("attained"))
    if track:
        where.append(DESIGNATION.c.best_track == sa.bindparam("track"))
    if only:
        where.append(DESIGNATION.c.partner_id == sa.bindparam("only"))
    return where


@functools.cache
def _designation_page_stmt(attained: bool, track: bool, only: bool, after: bool) -> sa.Select:
    where = _designation_filter(attained, track, only)
    if after:
        score, pid = sa.bindparam("after_score"), sa.bindparam("after_pid")
        where.append(
            sa.or_(DESIGNATION.c.score < score, sa.and_(DESIGNATION.c.score == score, DESIGNATION.c.partner_id > pid))
        )
    return (
        sa.select(DESIGNATION)
        .where(*where)
        .order_by(DESIGNATION.c.score.desc(), DESIGNATION.c.partner_id.asc())
        .limit(sa.bindparam("limit"))
    )


@functools.cache
def _designation_count_stmt(attained: bool, track: bool, only: bool) -> sa.Select:
    return sa.select(sa.func.count()).select_from(DESIGNATION).where(*_designation_filter(attained, track, only))


def _designation_params(month: dt.date, attained: bool | None, track: str | None, only: str | None) -> dict:
    params: dict[str, Any] = {"month": month}
    for name, value in (("attained", attained), ("track", track), ("only", only)):
        if value is not None:
            params[name] = value
    return params


def designation_page(
    conn: Connection,
    *,
    month: dt.date,
    attained: bool | None,
    track: str | None,
    only: str | None,
    after: tuple[float, str] | None,
    limit: int,
) -> list[Row]:
    """A month's designations by score (highest first), then partner id; keyset pagination."""
    params = _designation_params(month, attained, track, only)
    params["limit"] = limit
    if after is not None:
        params["after_score"], params["after_pid"] = after
    stmt = _designation_page_stmt(attained is not None, track is not None, only is not None, after is not None)
    return conn.execute(stmt, params).all()


def designation_count(
    conn: Connection, *, month: dt.date, attained: bool | None, track: str | None, only: str | None
) -> int:
    stmt = _designation_count_stmt(attained is not None, track is not None, only is not None)
    return conn.execute(stmt, _designation_params(month, attained, track, only)).scalar_one()


# ---- paths and metrics ------------------------------------------------------------------------


def paths_by_key(conn: Connection, keys: Sequence[PartnerMonth]) -> list[Row]:
    return _select_partner_months(conn, PATH, keys)


def metrics_by_key(conn: Connection, keys: Sequence[PartnerMonth]) -> list[Row]:
    return _select_partner_months(conn, METRIC, keys)


def paths_in_ranges(conn: Connection, ids: Sequence[str], lo: dt.date | None, hi: dt.date | None) -> list[Row]:
    q = sa.select(PATH).where(PATH.c.partner_id.in_(sorted(set(ids))), *_month_range(PATH, lo, hi))
    return conn.execute(q).all()


def winners_in_ranges(conn: Connection, ids: Sequence[str], lo: dt.date | None, hi: dt.date | None) -> list[Row]:
    """The winning option's metric point per (partner, month, track, metric)."""
    q = sa.select(
        METRIC.c.partner_id, METRIC.c.month, METRIC.c.track, METRIC.c.metric, METRIC.c.value, METRIC.c.points
    ).where(METRIC.c.partner_id.in_(sorted(set(ids))), METRIC.c.is_winner.is_(True), *_month_range(METRIC, lo, hi))
    return conn.execute(q).all()


# ---- customers --------------------------------------------------------------------------------


@dataclass(frozen=True)
class CustomerFilter:
    month: dt.date
    track: str | None = None
    option: str | None = None
    counted: bool | None = None
    eligible: bool | None = None

    def where(self, partner_ids: Sequence[str]) -> list[sa.ColumnElement[bool]]:
        ids = sorted(set(partner_ids))
        where = [
            CUSTOMER.c.month == self.month,
            CUSTOMER.c.partner_id == ids[0] if len(ids) == 1 else CUSTOMER.c.partner_id.in_(ids),
        ]
        for col in ("track", "option", "counted", "eligible"):
            value = getattr(self, col)
            if value is not None:
                where.append(CUSTOMER.c[col] == value)
        return where


_CUSTOMER_ORDER = (CUSTOMER.c.tenant_id, CUSTOMER.c.track, CUSTOMER.c.option)


def customer_pages(
    conn: Connection,
    partner_ids: Sequence[str],
    flt: CustomerFilter,
    after: tuple[str, str, str] | None,
    limit: int,
) -> list[Row]:
    """Up to ``limit`` customer rows per partner, by (tenant, track, option), after the cursor,
    with the tenant's largest paid seats in the track's band (null: not eligible for the track).
    One partner: a plain LIMIT; several: ROW_NUMBER() per partner, in one statement."""
    where = flt.where(partner_ids)
    if after is not None:
        where.append(sa.tuple_(*_CUSTOMER_ORDER) > sa.tuple_(*after))
    join = CUSTOMER.outerjoin(
        ELIGIBLE,
        sa.and_(
            ELIGIBLE.c.month == CUSTOMER.c.month,
            ELIGIBLE.c.tenant_id == CUSTOMER.c.tenant_id,
            ELIGIBLE.c.track == CUSTOMER.c.track,
        ),
    )
    if len(set(partner_ids)) == 1:
        q = sa.select(CUSTOMER, ELIGIBLE.c.max_paid_seats).select_from(join).where(*where)
        return conn.execute(q.order_by(*_CUSTOMER_ORDER).limit(limit)).all()
    rank = sa.func.row_number().over(partition_by=CUSTOMER.c.partner_id, order_by=_CUSTOMER_ORDER).label("rank")
    ranked = sa.select(CUSTOMER, ELIGIBLE.c.max_paid_seats, rank).select_from(join).where(*where).subquery()
    q = (
        sa.select(*(ranked.c[c.name] for c in CUSTOMER.columns), ranked.c.max_paid_seats)
        .where(ranked.c.rank <= limit)
        .order_by(ranked.c.partner_id, ranked.c.tenant_id, ranked.c.track, ranked.c.option)
    )
    return conn.execute(q).all()


def customer_counts(conn: Connection, partner_ids: Sequence[str], flt: CustomerFilter) -> list[Row]:
    q = sa.select(CUSTOMER.c.partner_id, sa.func.count()).where(*flt.where(partner_ids)).group_by(CUSTOMER.c.partner_id)
    return conn.execute(q).all()


HoldingKey = tuple[dt.date, str, str, str]  # (month, partner_id, tenant_id, option)


def holdings_by_key(conn: Connection, keys: Sequence[HoldingKey]) -> list[Row]:
    groups = sorted({(m, p) for m, p, _, _ in keys})
    tenants = sorted({t for _, _, t, _ in keys})
    if len(groups) == 1:
        ((m, p),) = groups
        where = sa.and_(HOLDING.c.month == m, HOLDING.c.partner_id == p, HOLDING.c.tenant_id.in_(tenants))
    else:
        triples = sorted({(m, p, t) for m, p, t, _ in keys})
        where = sa.tuple_(HOLDING.c.month, HOLDING.c.partner_id, HOLDING.c.tenant_id).in_(triples)
    return conn.execute(sa.select(HOLDING).where(where).order_by(HOLDING.c.workload)).all()


# ---- months -----------------------------------------------------------------------------------


def scored_months(conn: Connection) -> list[Row]:
    return conn.execute(sa.select(SCORED).order_by(SCORED.c.month)).all()


def latest_months(conn: Connection, ids: Iterable[str]) -> list[Row]:
    q = (
        sa.select(DESIGNATION.c.partner_id, sa.func.max(DESIGNATION.c.month))
        .where(DESIGNATION.c.partner_id.in_(sorted(set(ids))))
        .group_by(DESIGNATION.c.partner_id)
    )
    return conn.execute(q).all()


# ---- data version (the response cache's key, see graphql_api.cache) ---------------------------

_PG_STATE = (
    "SELECT (SELECT string_agg(s.month::text || ' ' || s.xmin::text, ',' ORDER BY s.month)"
    f" FROM {SCORED.name} s) AS version, t.id, t.partner_id FROM (SELECT 1) AS one"
    f" LEFT JOIN {TOKEN.name} t ON t.token_hash = %(h)s AND t.revoked_at IS NULL"
)


def snapshot_state(conn: Connection, token_hash: str | None) -> tuple[str, tuple[int, str] | None]:
    """PostgreSQL: the data version (every scored month with the id of the transaction that
    wrote it) and, when a token hash is given, ``(id, partner_id)`` of that valid token (None:
    unknown or revoked). One statement (prepared by the driver after a few uses)."""
    version, token_id, partner_id = conn.exec_driver_sql(_PG_STATE, {"h": token_hash}).one()
    return version or "", None if token_id is None else (token_id, partner_id)


class PgVersionReader:
    """PostgreSQL: one connection per worker process, kept out of the pool for good, that reads
    the data version and a token (``snapshot_state``) in autocommit, one statement at a time:
    the response cache's look before a request does anything else. A hit then ends without a
    connection checkout (with its ``pool_pre_ping`` round trip and autocommit toggles), a
    transaction or a lock (measured: 3,300 -> 6,000 cached scorecards/s at 32 clients). A
    connection the server dropped is replaced once."""

    def __init__(self, engine: Engine, executor: Executor | None) -> None:
        self._engine = engine
        self._executor = executor
        self._conn: Connection | None = None
        self._thread_lock = threading.Lock()
        self._lock: asyncio.Lock | None = None  # made in the server's event loop, on first use

    def _read(self, token_hash: str | None) -> tuple[str, tuple[int, str] | None]:
        with self._thread_lock:
            for attempt in (1, 2):
                if self._conn is None:
                    self._conn = self._engine.connect().execution_options(isolation_level="AUTOCOMMIT")
                try:
                    return snapshot_state(self._conn, token_hash)
                except sa.exc.DBAPIError as exc:
                    conn, self._conn = self._conn, None
                    conn.close()
                    if attempt == 2 or not exc.connection_invalidated:
                        raise
                    log.warning("the version connection was dropped by the server; reconnecting")
        raise AssertionError("unreachable")

    async def read(self, token_hash: str | None) -> tuple[str, tuple[int, str] | None]:
        """(data version, the token's (id, partner_id) or None), as of now."""
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:  # waits in the event loop, not in a thread
            return await asyncio.get_running_loop().run_in_executor(self._executor, self._read, token_hash)

    def close(self) -> None:
        with self._thread_lock:
            conn, self._conn = self._conn, None
            if conn is not None:
                conn.close()
