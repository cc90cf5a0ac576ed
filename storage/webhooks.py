"""Webhook subscriptions, the event outbox and deliveries (tables of ``storage.models``).

``record_events`` puts a month's events (``scoring.events``) into the outbox, ignoring ids it
holds already, and gives each new event one delivery per subscription active at that moment
that wants it. ``claim_due`` / ``finish_delivery`` are what a deliverer uses
(``orchestration.delivery``): a claimed delivery's ``next_attempt_at`` moves ahead by a lease,
so two deliverers never send it at once. Why: docs/architecture.md, "Webhooks"."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

import polars as pl
import sqlalchemy as sa
from sqlalchemy import Connection, Engine

from scoring.events import ADMIN_ONLY, EVENT_TYPES
from storage import models as M

SUBSCRIPTIONS = M.WebhookSubscription.__table__
EVENTS = M.WebhookEvent.__table__
DELIVERIES = M.WebhookDelivery.__table__
PARTNERS = M.Partner.__table__

PENDING, DELIVERED, FAILED = "pending", "delivered", "failed"
STATUSES = (PENDING, DELIVERED, FAILED)
MAX_ATTEMPTS = 8
"""A delivery is failed after this many attempts (30 s, 1, 2, 4, 8, 16, 32 min apart: ~1 h)."""
FIRST_RETRY = dt.timedelta(seconds=30)
MAX_RETRY = dt.timedelta(hours=1)
LEASE = dt.timedelta(seconds=60)
"""How long a claimed delivery is held by its deliverer (far above the 5 s request timeout)."""
CHUNK = 5_000


class UnknownPartnerError(ValueError):
    pass


@dataclass(frozen=True)
class Subscription:
    id: int
    url: str
    secret: str
    partner_id: str | None
    event_types: tuple[str, ...] | None  # None: every type
    created_at: dt.datetime
    active: bool

    def wants(self, event_type: str, partner_id: str | None) -> bool:
        """Whether this subscription receives an event of ``event_type`` about ``partner_id``."""
        if self.event_types is not None and event_type not in self.event_types:
            return False
        if self.partner_id is None:
            return True
        return event_type not in ADMIN_ONLY and partner_id == self.partner_id


@dataclass(frozen=True)
class Due:
    """A claimed delivery with what its request needs."""

    id: int
    attempts: int  # before this one
    url: str
    secret: str
    event_id: str
    event_type: str
    month: dt.date
    partner_id: str | None
    created_at: dt.datetime
    data: str


@dataclass(frozen=True)
class DeliveryInfo:
    id: int
    event_id: str
    event_type: str
    month: dt.date
    partner_id: str | None
    subscription_id: int
    url: str
    status: str
    attempts: int
    next_attempt_at: dt.datetime | None
    last_status: int | None
    last_error: str | None
    delivered_at: dt.datetime | None


# ---- subscriptions ---------------------------------------------------------------------------


def check_url(url: str) -> str:
    """``url`` if it is an absolute http(s) URL with a host, else ValueError."""
    url = url.strip()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"bad URL {url!r}: give an absolute http:// or https:// URL with a host")
    return url


def check_event_types(types: Iterable[str] | None) -> tuple[str, ...] | None:
    """The event types, checked and deduplicated (None or empty: every type)."""
    if types is None:
        return None
    names = tuple(dict.fromkeys(t.strip() for t in types if t.strip()))
    unknown = [t for t in names if t not in EVENT_TYPES]
    if unknown:
        raise ValueError(f"unknown event type(s) {', '.join(unknown)}; known: {', '.join(EVENT_TYPES)}")
    return names or None


def add_subscription(
    engine: Engine,
    *,
    url: str,
    secret: str,
    partner_id: str | None = None,
    event_types: Iterable[str] | None = None,
    allow_unknown: bool = False,
    now: dt.datetime | None = None,
) -> int:
    """A new active subscription; returns its id. ``partner_id`` None: an admin subscription.
    ValueError on a bad URL, an empty secret, an unknown event type or (unless ``allow_unknown``)
    a partner not in the partner table; a partner subscription cannot ask for an admin-only type."""
    url = check_url(url)
    if not secret:
        raise ValueError("the secret must not be empty")
    types = check_event_types(event_types)
    if partner_id is not None:
        partner_id = partner_id.strip()
        if not partner_id:
            raise ValueError("partner id must not be empty")
        admin_only = [t for t in types or () if t in ADMIN_ONLY]
        if admin_only:
            raise ValueError(f"{', '.join(admin_only)} go(es) to admin subscriptions only (no --partner)")
    with engine.begin() as conn:
        if partner_id is not None and not allow_unknown:
            known = conn.execute(sa.select(PARTNERS.c.partner_id).where(PARTNERS.c.partner_id == partner_id)).first()
            if known is None:
                raise UnknownPartnerError(f"unknown partner {partner_id!r} (not in the partner table)")
        return conn.execute(
            sa.insert(SUBSCRIPTIONS)
            .values(
                url=url,
                secret=secret,
                partner_id=partner_id,
                event_types=None if types is None else ",".join(types),
                created_at=now or dt.datetime.now(dt.UTC),
                active=True,
            )
            .returning(SUBSCRIPTIONS.c.id)
        ).scalar_one()


def _subscription(row) -> Subscription:
    types = None if row.event_types is None else tuple(row.event_types.split(","))
    return Subscription(row.id, row.url, row.secret, row.partner_id, types, row.created_at, row.active)


def list_subscriptions(engine: Engine | Connection, *, active_only: bool = False) -> list[Subscription]:
    q = sa.select(SUBSCRIPTIONS).order_by(SUBSCRIPTIONS.c.id)
    if active_only:
        q = q.where(SUBSCRIPTIONS.c.active)
    if isinstance(engine, Connection):
        return [_subscription(r) for r in engine.execute(q)]
    with engine.connect() as conn:
        return [_subscription(r) for r in conn.execute(q)]


def remove_subscription(engine: Engine, subscription_id: int) -> bool:
    """Deactivate a subscription (its pending deliveries are not attempted any more); False when
    there is no active subscription with that id."""
    with engine.begin() as conn:
        done = conn.execute(
            sa.update(SUBSCRIPTIONS)
            .where(SUBSCRIPTIONS.c.id == subscription_id, SUBSCRIPTIONS.c.active)
            .values(active=False)
        )
        return done.rowcount == 1


# ---- the outbox ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Recorded:
    events: int  # new events put in the outbox
    deliveries: int  # deliveries created for them
    by_type: dict[str, int]  # new events per type


def _existing_ids(conn: Connection, ids: list[str]) -> set[str]:
    found: set[str] = set()
    for i in range(0, len(ids), CHUNK):
        chunk = ids[i : i + CHUNK]
        found.update(conn.execute(sa.select(EVENTS.c.id).where(EVENTS.c.id.in_(chunk))).scalars())
    return found


def _insert_ignoring(conn: Connection, table: sa.Table, rows: list[dict], keys: list[str]) -> None:
    """Insert ``rows``, skipping those whose ``keys`` exist (a concurrent writer's)."""
    if not rows:
        return
    dialect = conn.dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    elif dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert
    else:  # pragma: no cover - the project runs on these two
        raise NotImplementedError(dialect)
    stmt = insert(table).on_conflict_do_nothing(index_elements=keys)
    for i in range(0, len(rows), CHUNK):
        conn.execute(stmt, rows[i : i + CHUNK])


def record_events(engine: Engine, *, events: pl.DataFrame, now: dt.datetime | None = None) -> Recorded:
    """Put ``events`` (``scoring.events.EVENTS_SCHEMA``) into the outbox, in one transaction.
    Events whose id is there already are ignored (nothing new for a month computed again); each
    new event gets a pending delivery, due now, for every subscription active now that wants it."""
    now = now or dt.datetime.now(dt.UTC)
    with engine.begin() as conn:
        ids = events["id"].to_list()
        existing = _existing_ids(conn, ids)
        new = events.filter(~pl.col("id").is_in(sorted(existing))) if existing else events
        new = new.unique(subset="id", keep="first", maintain_order=True)
        rows = [
            {**r, "created_at": now}
            for r in new.select("id", "type", "month", "partner_id", "subject", "data").iter_rows(named=True)
        ]
        _insert_ignoring(conn, EVENTS, rows, ["id"])
        subscriptions = list_subscriptions(conn, active_only=True)
        deliveries = [
            {
                "event_id": r["id"],
                "subscription_id": s.id,
                "status": PENDING,
                "attempts": 0,
                "next_attempt_at": now,
            }
            for r in rows
            for s in subscriptions
            if s.wants(r["type"], r["partner_id"])
        ]
        _insert_ignoring(conn, DELIVERIES, deliveries, ["event_id", "subscription_id"])
    by_type = dict(new.group_by("type").len().sort("type").rows()) if rows else {}
    return Recorded(len(rows), len(deliveries), by_type)


def read_events(engine: Engine, *, months: Iterable[dt.date] | None = None) -> pl.DataFrame:
    """The outbox (or the events of ``months``), in month, type, partner, subject order."""
    q = sa.select(EVENTS.c.id, EVENTS.c.type, EVENTS.c.month, EVENTS.c.partner_id, EVENTS.c.subject, EVENTS.c.data)
    if months is not None:
        q = q.where(EVENTS.c.month.in_(sorted(set(months))))
    with engine.connect() as conn:
        rows = conn.execute(q).all()
    schema = {"id": pl.String, "type": pl.String, "month": pl.Date, "partner_id": pl.String, "subject": pl.String}
    frame = pl.DataFrame([tuple(r) for r in rows], schema={**schema, "data": pl.String}, orient="row")
    return frame.sort("month", "type", "partner_id", "subject", nulls_last=False)


# ---- deliveries ------------------------------------------------------------------------------


def backoff(attempts: int) -> dt.timedelta:
    """The wait after the ``attempts``-th failed attempt: 30 s, doubling, at most an hour."""
    return min(FIRST_RETRY * (2 ** max(attempts - 1, 0)), MAX_RETRY)


def claim_due(engine: Engine, *, now: dt.datetime, limit: int = 500) -> list[Due]:
    """Pending deliveries due at ``now`` of active subscriptions, oldest first, each claimed for
    this caller (``next_attempt_at`` moved to ``now + LEASE``; a delivery another deliverer
    claimed first is left out)."""
    d, s, e = DELIVERIES, SUBSCRIPTIONS, EVENTS
    q = (
        sa.select(
            d.c.id,
            d.c.attempts,
            d.c.next_attempt_at,
            s.c.url,
            s.c.secret,
            e.c.id,
            e.c.type,
            e.c.month,
            e.c.partner_id,
            e.c.created_at,
            e.c.data,
        )
        .select_from(d.join(s, d.c.subscription_id == s.c.id).join(e, d.c.event_id == e.c.id))
        .where(d.c.status == PENDING, d.c.next_attempt_at <= now, s.c.active)
        .order_by(d.c.next_attempt_at, d.c.id)
        .limit(limit)
    )
    claimed: list[Due] = []
    with engine.begin() as conn:
        rows = conn.execute(q).all()
        for r in rows:
            took = conn.execute(
                sa.update(d)
                .where(d.c.id == r[0], d.c.status == PENDING, d.c.next_attempt_at == r[2])
                .values(next_attempt_at=now + LEASE)
            )
            if took.rowcount == 1:
                claimed.append(Due(r[0], r[1], r[3], r[4], r[5], r[6], r[7], r[8], r[9], r[10]))
    return claimed


def finish_delivery(
    engine: Engine,
    delivery_id: int,
    *,
    ok: bool,
    now: dt.datetime,
    status_code: int | None = None,
    error: str | None = None,
) -> str:
    """Record an attempt: delivered, or pending again after ``backoff``, or failed after
    ``MAX_ATTEMPTS``. Returns the new status."""
    with engine.begin() as conn:
        attempts = conn.execute(sa.select(DELIVERIES.c.attempts).where(DELIVERIES.c.id == delivery_id)).scalar_one() + 1
        values: dict = {"attempts": attempts, "last_attempt_at": now, "last_status": status_code, "last_error": error}
        if ok:
            status = DELIVERED
            values |= {"status": status, "delivered_at": now, "next_attempt_at": None, "last_error": None}
        elif attempts >= MAX_ATTEMPTS:
            status = FAILED
            values |= {"status": status, "next_attempt_at": None}
        else:
            status = PENDING
            values |= {"status": status, "next_attempt_at": now + backoff(attempts)}
        conn.execute(sa.update(DELIVERIES).where(DELIVERIES.c.id == delivery_id).values(**values))
    return status


def list_deliveries(engine: Engine, *, status: str | None = None, limit: int | None = None) -> list[DeliveryInfo]:
    """Deliveries, newest event first (``status``: only those)."""
    d, s, e = DELIVERIES, SUBSCRIPTIONS, EVENTS
    q = (
        sa.select(
            d.c.id,
            e.c.id,
            e.c.type,
            e.c.month,
            e.c.partner_id,
            s.c.id,
            s.c.url,
            d.c.status,
            d.c.attempts,
            d.c.next_attempt_at,
            d.c.last_status,
            d.c.last_error,
            d.c.delivered_at,
        )
        .select_from(d.join(s, d.c.subscription_id == s.c.id).join(e, d.c.event_id == e.c.id))
        .order_by(e.c.month.desc(), d.c.id)
    )
    if status is not None:
        q = q.where(d.c.status == status)
    if limit is not None:
        q = q.limit(limit)
    with engine.connect() as conn:
        return [DeliveryInfo(*r) for r in conn.execute(q)]


def event_body(due: Due) -> dict:
    """The JSON body of a delivery: ``{id, type, createdAt, month, partnerId, data}``."""
    return {
        "id": due.event_id,
        "type": due.event_type,
        "createdAt": due.created_at.astimezone(dt.UTC).isoformat().replace("+00:00", "Z"),
        "month": f"{due.month:%Y-%m}",
        "partnerId": due.partner_id,
        "data": json.loads(due.data),
    }
