"""The SQL the API runs (SQLAlchemy Core, read-only); each function takes the request's
connection (``RequestDB.run(fn, ...)``)."""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection, Row

from scoring.calendar import add_months, month_range, month_start
from storage import models as M

PARTNER = M.Partner.__table__
DESIGNATION = M.Designation.__table__
PATH = M.PathScore.__table__
METRIC = M.MetricPoint.__table__
CUSTOMER = M.CustomerDetail.__table__
HOLDING = M.Holding.__table__
ASSOCIATION = M.Association.__table__
ELIGIBLE = M.EligibleTenant.__table__
SCORED = M.ScoredMonth.__table__


# ---- key helpers -----------------------------------------------------------------------------

PartnerMonth = tuple[str, dt.date]  # (partner_id, month)


@functools.cache
def _by_partner_month(table: sa.Table, shape: str) -> sa.Select:
    """``SELECT * FROM table`` for a set of (partner, month), built once per shape: a statement
    built per call costs more than SQLite takes to run it (~150 us of SQLAlchemy construction
    and cache-key work per statement). ``one``: one partner, one month; ``month``: one month,
    partners ``:ids``; ``partner``: one partner, months ``:months``. In primary-key order
    (SQLite: the search's own order, no sort)."""
    q = sa.select(table).order_by(*table.primary_key.columns)
    if shape == "one":
        return q.where(table.c.month == sa.bindparam("m"), table.c.partner_id == sa.bindparam("p"))
    if shape == "month":
        return q.where(table.c.month == sa.bindparam("m"), table.c.partner_id.in_(sa.bindparam("ids", expanding=True)))
    assert shape == "partner"
    return q.where(table.c.partner_id == sa.bindparam("p"), table.c.month.in_(sa.bindparam("months", expanding=True)))


def _select_partner_months(conn: Connection, table: sa.Table, keys: Sequence[PartnerMonth]) -> list[Row]:
    """The rows of a set of (partner, month), in primary-key order, always through the primary
    key's prefix (month, partner_id): a row-value ``(month, partner_id) IN (...)`` would make
    SQLite scan the whole table. Several months and partners: one ``month = m AND partner_id IN
    (...)`` per month, OR-ed (SQLite: one primary-key search per term)."""
    months = sorted({m for _, m in keys})
    ids = sorted({p for p, _ in keys})
    if len(months) == 1 and len(ids) == 1:
        return conn.execute(_by_partner_month(table, "one"), {"m": months[0], "p": ids[0]}).all()
    if len(months) == 1:
        return conn.execute(_by_partner_month(table, "month"), {"m": months[0], "ids": ids}).all()
    if len(ids) == 1:
        return conn.execute(_by_partner_month(table, "partner"), {"p": ids[0], "months": months}).all()
    by_month: dict[dt.date, set[str]] = {}
    for p, m in keys:
        by_month.setdefault(m, set()).add(p)
    terms = [sa.and_(table.c.month == m, table.c.partner_id.in_(sorted(by_month[m]))) for m in months]
    return conn.execute(sa.select(table).where(sa.or_(*terms)).order_by(*table.primary_key.columns)).all()


def _month_range(table: sa.Table, lo: dt.date | None, hi: dt.date | None) -> list[sa.ColumnElement[bool]]:
    out = []
    if lo is not None:
        out.append(table.c.month >= lo)
    if hi is not None:
        out.append(table.c.month <= hi)
    return out


@functools.cache
def _month_bounds_stmt(table: sa.Table) -> sa.Select:
    """The table's first and last month: two primary-key seeks (a single ``SELECT min(), max()``
    would make SQLite scan the table)."""
    return sa.select(
        sa.select(sa.func.min(table.c.month)).scalar_subquery(), sa.select(sa.func.max(table.c.month)).scalar_subquery()
    )


def _months_in(conn: Connection, table: sa.Table, lo: dt.date | None, hi: dt.date | None) -> list[dt.date]:
    """The months (first days) of ``table`` that ``lo <= month <= hi`` can match (None: open),
    as an explicit list for ``month IN (...)``: the calendar months between the bounds, clipped
    to the table's first and last month (so an open or far bound costs no more than the months
    stored). A range on ``month`` would not let the primary key's second column, partner_id,
    narrow the search."""
    first, last = conn.execute(_month_bounds_stmt(table)).one()
    if first is None:
        return []
    if lo is not None and lo.day != 1:
        lo = add_months(lo, 1)  # the month of a mid-month lo starts before it
    start = first if lo is None else max(first, month_start(lo))
    end = last if hi is None else min(last, month_start(hi))
    return month_range(start, end)


@functools.cache
def _by_partners_months(table: sa.Table, single: bool, winners: bool) -> sa.Select:
    """Partners ``:p`` (one) or ``:ids`` (several), months ``:months``, in (partner, month) order
    and then the rest of the primary key; ``winners``: the winning option's metric points only."""
    if winners:
        cols = [table.c[c] for c in ("partner_id", "month", "track", "metric", "value", "points")]
        q = sa.select(*cols).where(table.c.is_winner.is_(True))
    else:
        q = sa.select(table)
    if single:
        pid = table.c.partner_id == sa.bindparam("p")
    else:
        pid = table.c.partner_id.in_(sa.bindparam("ids", expanding=True))
    rest = [c for c in table.primary_key.columns if c.name not in ("partner_id", "month")]
    return q.where(table.c.month.in_(sa.bindparam("months", expanding=True)), pid).order_by(
        table.c.partner_id, table.c.month, *rest
    )


def _select_partners_in_range(
    conn: Connection, table: sa.Table, ids: Sequence[str], lo: dt.date | None, hi: dt.date | None, *, winners: bool
) -> list[Row]:
    months = _months_in(conn, table, lo, hi)
    ids = sorted(set(ids))
    if not months or not ids:
        return []
    stmt = _by_partners_months(table, len(ids) == 1, winners)
    params = {"p": ids[0]} if len(ids) == 1 else {"ids": ids}
    return conn.execute(stmt, {**params, "months": months}).all()


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
    """The ``path_score`` rows of partners ``ids`` in lo..hi (None: open), by partner, month, track."""
    return _select_partners_in_range(conn, PATH, ids, lo, hi, winners=False)


def winners_in_ranges(conn: Connection, ids: Sequence[str], lo: dt.date | None, hi: dt.date | None) -> list[Row]:
    """The winning option's metric point per (partner, month, track, metric), in that order."""
    return _select_partners_in_range(conn, METRIC, ids, lo, hi, winners=True)


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
        # a plain tuple, so that each value is bound with its column's type (track and option
        # are stored as codes, models.Code): a tuple_() of the values would bind them as text
        where.append(sa.tuple_(*_CUSTOMER_ORDER) > tuple(after))
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
    """The holdings of (month, partner, tenant, option) keys: the customers' associations
    (``association`` by partner and tenant), then their rows in the months (primary key)."""
    a, h = ASSOCIATION, HOLDING
    groups = sorted({(m, p) for m, p, _, _ in keys})
    tenants = sorted({t for _, _, t, _ in keys})
    if len(groups) == 1:
        ((m, p),) = groups
        where = sa.and_(h.c.month == m, a.c.partner_id == p, a.c.tenant_id.in_(tenants))
    else:
        triples = sorted({(m, p, t) for m, p, t, _ in keys})
        where = sa.tuple_(h.c.month, a.c.partner_id, a.c.tenant_id).in_(triples)
    q = sa.select(
        h.c.month, a.c.partner_id, a.c.tenant_id, a.c.option, a.c.workload, a.c.associated_on,
        h.c.paid_seats, h.c.active_users,
    ).select_from(a.join(h, h.c.association_id == a.c.id))  # fmt: skip
    return conn.execute(q.where(where).order_by(a.c.workload)).all()


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


def customers_and_metrics(conn: Connection, partner_id: str, month: dt.date) -> tuple[list[Row], list[Row]]:
    """Every ``customer_detail`` and ``metric_point`` row of one partner's month."""
    key = [(partner_id, month)]
    return _select_partner_months(conn, CUSTOMER, key), _select_partner_months(conn, METRIC, key)
