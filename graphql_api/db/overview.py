"""The SQL of the program overview and the partner search (read-only, the request's connection)."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy import Connection, Row

from storage import models as M

PARTNER = M.Partner.__table__
DESIGNATION = M.Designation.__table__
PATH = M.PathScore.__table__

BUCKET_POINTS = 10  # the score distribution's bucket width (points); 100+ is one bucket

_ATTAINED = (
    sa.select(
        DESIGNATION.c.month,
        sa.func.count().label("scored"),
        sa.func.sum(sa.case((DESIGNATION.c.attained, 1), else_=0)).label("attained"),
    )
    .group_by(DESIGNATION.c.month)
    .order_by(DESIGNATION.c.month)
)

_QUALIFYING = (
    sa.select(PATH.c.month, PATH.c.track, sa.func.count().label("qualifying"))
    .where(PATH.c.qualifies)
    .group_by(PATH.c.month, PATH.c.track)
)


def attained_by_month(conn: Connection) -> tuple[list[Row], list[Row]]:
    """Per month: partners scored and attained; per month and track: partners whose path qualifies."""
    return conn.execute(_ATTAINED).all(), conn.execute(_QUALIFYING).all()


def _bucket() -> sa.ColumnElement[int]:
    lo = sa.cast(sa.func.floor(DESIGNATION.c.score / BUCKET_POINTS), sa.Integer) * BUCKET_POINTS
    return sa.case((DESIGNATION.c.score >= 100, 100), (DESIGNATION.c.score < 0, 0), else_=lo)


def score_distribution(conn: Connection, month: dt.date) -> list[Row]:
    """``(lo, partners)`` per bucket of ``BUCKET_POINTS`` of the month's scores (only non-empty buckets)."""
    bucket = _bucket().label("lo")
    q = (
        sa.select(bucket, sa.func.count().label("partners"))
        .where(DESIGNATION.c.month == month)
        .group_by(bucket)
        .order_by(bucket)
    )
    return conn.execute(q).all()


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def search_partners(conn: Connection, text: str, *, only: str | None, limit: int) -> list[Row]:
    """Partners whose id starts with ``text`` or whose name contains it (case-insensitive), by id."""
    pattern = _escape_like(text.lower())
    q = sa.select(PARTNER).where(
        sa.or_(
            sa.func.lower(PARTNER.c.partner_id).like(pattern + "%", escape="\\"),
            sa.func.lower(PARTNER.c.partner_name).like("%" + pattern + "%", escape="\\"),
        )
    )
    if only is not None:
        q = q.where(PARTNER.c.partner_id == only)
    return conn.execute(q.order_by(PARTNER.c.partner_id).limit(limit)).all()
