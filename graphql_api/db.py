"""Database access for one request, and the SQL the API runs (SQLAlchemy Core, read-only).

A request uses at most one pooled connection, checked out on its first query and held until
the response is built, inside one read transaction: every query of a request sees the same
snapshot (SQLite: a deferred ``BEGIN`` in WAL mode; PostgreSQL: ``REPEATABLE READ``, read
only). The driver calls are blocking: on PostgreSQL they run in worker threads, one at a time
per request, so a round trip never blocks the event loop; SQLite's local queries run in the
event loop itself (handing them to a thread costs more than they take). A per-process
semaphore keeps the requests holding a connection below the pool's size, so a request waiting
for a connection waits in the event loop, never in a thread or in the pool.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy import Connection, Engine, Row

from storage import models as M

T = TypeVar("T")

PARTNER = M.Partner.__table__
DESIGNATION = M.Designation.__table__
PATH = M.PathScore.__table__
METRIC = M.MetricPoint.__table__
CUSTOMER = M.CustomerDetail.__table__
HOLDING = M.Holding.__table__
ELIGIBLE = M.EligibleTenant.__table__
SCORED = M.ScoredMonth.__table__


def pool_capacity(engine: Engine) -> int:
    """Connections the engine's pool can hand out at once (size + overflow)."""
    pool = engine.pool
    size = pool.size() if hasattr(pool, "size") else 5
    overflow = getattr(pool, "_max_overflow", 0)
    return max(1, size + max(overflow, 0))


class RequestDB:
    """The database of one request: one connection, one snapshot, queries one at a time."""

    def __init__(self, engine: Engine, gate: asyncio.Semaphore, *, threads: bool = True) -> None:
        self._engine = engine
        self._gate = gate
        self._threads = threads
        self._lock = asyncio.Lock()
        self._conn: Connection | None = None
        self._holds_gate = False
        self._inflight: asyncio.Future | None = None  # the query running in a thread

    def _open(self) -> Connection:
        conn = self._engine.connect()
        try:
            if conn.dialect.name == "postgresql":
                conn = conn.execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True)
            conn.begin()
        except BaseException:
            conn.close()
            raise
        return conn

    def _call(self, fn: Callable[..., T], args: tuple) -> T:
        if self._conn is None:  # the first query opens the connection, in the same thread hop
            self._conn = self._open()
        return fn(self._conn, *args)

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """``fn(connection, *args)`` on this request's connection (in a worker thread or not)."""
        async with self._lock:
            if not self._holds_gate:
                await self._gate.acquire()
                self._holds_gate = True
            if not self._threads:
                return self._call(fn, args)
            loop = asyncio.get_running_loop()
            self._inflight = loop.run_in_executor(None, functools.partial(self._call, fn, args))
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
        try:
            if conn is not None:
                conn.close()
        finally:
            if self._holds_gate:
                self._holds_gate = False
                self._gate.release()


# ---- key helpers -----------------------------------------------------------------------------

PartnerMonth = tuple[str, dt.date]  # (partner_id, month)


def _partner_months(table: sa.Table, keys: Sequence[PartnerMonth]) -> sa.ColumnElement[bool]:
    """WHERE for a set of (partner, month): the primary key's prefix when it can be used."""
    months = sorted({m for _, m in keys})
    ids = sorted({p for p, _ in keys})
    if len(months) == 1:
        return sa.and_(table.c.month == months[0], table.c.partner_id.in_(ids))
    if len(ids) == 1:
        return sa.and_(table.c.partner_id == ids[0], table.c.month.in_(months))
    pairs = sorted({(m, p) for p, m in keys})
    return sa.tuple_(table.c.month, table.c.partner_id).in_(pairs)


def _month_range(table: sa.Table, lo: dt.date | None, hi: dt.date | None) -> list[sa.ColumnElement[bool]]:
    out = []
    if lo is not None:
        out.append(table.c.month >= lo)
    if hi is not None:
        out.append(table.c.month <= hi)
    return out


# ---- partners --------------------------------------------------------------------------------


def partners_by_id(conn: Connection, ids: Sequence[str]) -> list[Row]:
    return conn.execute(sa.select(PARTNER).where(PARTNER.c.partner_id.in_(sorted(set(ids))))).all()


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
    return conn.execute(sa.select(DESIGNATION).where(_partner_months(DESIGNATION, keys))).all()


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


def _designation_filter(
    month: dt.date, attained: bool | None, track: str | None, only: str | None
) -> list[sa.ColumnElement[bool]]:
    where = [DESIGNATION.c.month == month]
    if attained is not None:
        where.append(DESIGNATION.c.attained == attained)
    if track is not None:
        where.append(DESIGNATION.c.best_track == track)
    if only is not None:
        where.append(DESIGNATION.c.partner_id == only)
    return where


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
    where = _designation_filter(month, attained, track, only)
    if after is not None:
        score, pid = after
        where.append(
            sa.or_(DESIGNATION.c.score < score, sa.and_(DESIGNATION.c.score == score, DESIGNATION.c.partner_id > pid))
        )
    q = (
        sa.select(DESIGNATION)
        .where(*where)
        .order_by(DESIGNATION.c.score.desc(), DESIGNATION.c.partner_id.asc())
        .limit(limit)
    )
    return conn.execute(q).all()


def designation_count(
    conn: Connection, *, month: dt.date, attained: bool | None, track: str | None, only: str | None
) -> int:
    q = sa.select(sa.func.count()).select_from(DESIGNATION).where(*_designation_filter(month, attained, track, only))
    return conn.execute(q).scalar_one()


# ---- paths and metrics ------------------------------------------------------------------------


def paths_by_key(conn: Connection, keys: Sequence[PartnerMonth]) -> list[Row]:
    return conn.execute(sa.select(PATH).where(_partner_months(PATH, keys))).all()


def metrics_by_key(conn: Connection, keys: Sequence[PartnerMonth]) -> list[Row]:
    return conn.execute(sa.select(METRIC).where(_partner_months(METRIC, keys))).all()


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
