"""The results tables, as SQLModel classes: each result table stores one result frame of
``scoring.frames`` as it is (same columns, same order, its natural key as the primary key), but
for the holdings, stored as ``holding`` rows per month on ``association`` rows stored once; as an
``XBase`` (fields) / ``X`` (table) ladder. Track, option and metric names are stored as small
integer codes (``Code``), SQLite's dates as day numbers (``DayNumber``); SQLAlchemy reads and
binds names and dates. The DDL is owned by Alembic (``storage/migrations``); never call
``metadata.create_all`` outside tests. Table layouts: docs/architecture.md, "Storage".
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

# naming convention, so that constraint names are stable across backends and migrations
SQLModel.metadata.naming_convention = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(sa.TypeDecorator):
    """A timezone-aware timestamp, stored in UTC, returned aware (UTC) on every backend.

    PostgreSQL keeps ``timestamp with time zone``; SQLite has no time zones, so values are
    converted to UTC before they are stored and given ``tzinfo=UTC`` when read.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: give a timezone-aware value")
        return value.astimezone(dt.UTC)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


class DayNumber(sa.TypeDecorator):
    """A date. PostgreSQL: ``date`` (4 bytes). SQLite: an INTEGER, the days since 1970-01-01
    (2 bytes in a record until 2059) instead of SQLAlchemy's ISO text (10 bytes): it is in every
    row and key of the result tables (migration 0005)."""

    impl = sa.Date()
    cache_ok = True

    def load_dialect_impl(self, dialect):
        return dialect.type_descriptor(sa.Integer() if dialect.name == "sqlite" else sa.Date())

    def process_bind_param(self, value, dialect):
        if value is None or dialect.name != "sqlite":
            return value
        if isinstance(value, dt.datetime) or not isinstance(value, dt.date):
            raise ValueError(f"{value!r}: give a date")
        return value.toordinal() - EPOCH_ORDINAL

    def process_result_value(self, value, dialect):
        if value is None or dialect.name != "sqlite":
            return value
        return dt.date.fromordinal(value + EPOCH_ORDINAL)


EPOCH_ORDINAL = dt.date(1970, 1, 1).toordinal()
"""SQLite stores ``DayNumber`` dates as ``date.toordinal() - EPOCH_ORDINAL``."""


class Code(sa.TypeDecorator):
    """A name from a fixed vocabulary, stored as its index in it: a SMALLINT on both backends
    instead of the name's text, in every row and key of the result tables (migration 0006).
    SQLAlchemy queries bind and read names; a name outside the vocabulary is a ValueError.

    The vocabulary is in byte order of its names, so that the codes sort as the names do: ORDER
    BY a code column, and comparisons of codes (the API's keyset cursors), give the order and
    the pages the text gave. Frozen: stored codes depend on it (a new name is a migration)."""

    impl = sa.SmallInteger()
    cache_ok = True

    def __init__(self, vocabulary: tuple[str, ...]) -> None:
        super().__init__()
        if list(vocabulary) != sorted(set(vocabulary), key=lambda v: v.encode()):
            raise ValueError(f"vocabulary {vocabulary!r}: give distinct names in byte order")
        self.vocabulary = tuple(vocabulary)
        self._codes = {name: i for i, name in enumerate(self.vocabulary)}

    @property
    def python_type(self) -> type:
        return str

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        code = self._codes.get(value)
        if code is None:
            raise ValueError(f"{value!r} is not one of {', '.join(self.vocabulary)}")
        return code

    def process_result_value(self, value, dialect):
        return None if value is None else self.vocabulary[value]


# The vocabularies of the coded columns: the names scoring writes (scoring.rulebook track names
# and options of every rulebook version, scoring.rulebook.OPTION_ALL, scoring.metrics.METRICS),
# in byte order. A test checks that they hold every name the rulebooks and metrics produce.
TRACKS = ("ENTERPRISE", "SMB")
OPTIONS = ("ALL", "CPOR", "CSP", "DPOR")
METRICS = ("ADVANCED_CERTIFICATIONS", "DEPLOYMENTS", "INTERMEDIATE_CERTIFICATIONS", "NET_CUSTOMER_ADDS", "USAGE_GROWTH")


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


# SQLite: the result tables are WITHOUT ROWID tables, stored in primary-key order (one B-tree
# instead of a rowid table plus a key index: faster bulk inserts, month deletes and key lookups).
# PostgreSQL: they are LIST-partitioned by month (migration 0002), one partition per month in the
# schema PARTITION_SCHEMA, which storage.results swaps in whole when it writes a month.
PARTITION_SCHEMA = "pcs_partitions"
CLUSTERED = {"sqlite_with_rowid": False, "postgresql_partition_by": "LIST (month)"}

# column types --------------------------------------------------------------------------------
STR = sa.String()
INT = sa.BigInteger()
FLOAT = sa.Double()
BOOL = sa.Boolean()
DATE = sa.Date()
DAY = DayNumber()  # the result tables' dates
TRACK, OPTION, METRIC = Code(TRACKS), Code(OPTIONS), Code(METRICS)  # the result tables' names
# SQLite: INTEGER, so that the association table's key is its rowid (one B-tree, 8-byte keys)
ASSOCIATION_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def key(sa_type=STR):
    return Field(primary_key=True, sa_type=sa_type)


def col(sa_type, *, nullable: bool = False, **kw):
    return Field(default=None if nullable else ..., sa_type=sa_type, nullable=nullable, **kw)


# ---- partners --------------------------------------------------------------------------------


class PartnerBase(SQLModel):
    partner_id: str = key()
    partner_name: str | None = col(STR, nullable=True)
    in_registry: bool = col(BOOL)  # listed in partners.csv (else: seen only in other inputs)


class Partner(PartnerBase, table=True):
    __tablename__ = "partner"


# ---- results (frames.py *_SCHEMA, same columns in the same order) ----------------------------


class EligibleTenantBase(SQLModel):
    month: dt.date = key(DAY)
    tenant_id: str = key()
    track: str = key(TRACK)
    max_paid_seats: int = col(INT)


class EligibleTenant(EligibleTenantBase, table=True):
    __tablename__ = "eligible_tenant"
    __table_args__ = (CLUSTERED,)


class AssociationBase(SQLModel):
    """One association as the holdings state it (partner, tenant, option, workload, date), stored
    once for every month that holds it. ``id``: a stable 64-bit hash of those five values
    (``storage.results.associations``), so any writer computes it without asking the database."""

    id: int = Field(primary_key=True, sa_type=ASSOCIATION_ID, sa_column_kwargs={"autoincrement": False})
    partner_id: str = col(STR)
    tenant_id: str = col(STR)
    option: str = col(OPTION)
    workload: str = col(STR)
    associated_on: dt.date = col(DAY)


class Association(AssociationBase, table=True):
    __tablename__ = "association"
    __table_args__ = (sa.Index(None, "partner_id", "tenant_id", "option"),)  # a customer's workloads


class HoldingBase(SQLModel):
    """A month's holding: an association in force that month with the workload's usage. The
    ``holdings`` frame (frames.py) is this joined with ``association``."""

    month: dt.date = key(DAY)
    association_id: int = key(ASSOCIATION_ID)
    paid_seats: int = col(INT)
    active_users: int = col(INT)


class Holding(HoldingBase, table=True):
    __tablename__ = "holding"
    __table_args__ = (CLUSTERED,)


class MetricPointBase(SQLModel):
    month: dt.date = key(DAY)
    partner_id: str = key()
    track: str = key(TRACK)
    metric: str = key(METRIC)
    option: str = key(OPTION)
    value: int = col(INT)
    current: int = col(INT)
    year_ago: int = col(INT)
    adjustment: int = col(INT)
    points: float = col(FLOAT)
    max_points: float = col(FLOAT)
    is_winner: bool = col(BOOL)


class MetricPoint(MetricPointBase, table=True):
    __tablename__ = "metric_point"
    __table_args__ = (CLUSTERED,)


class PathScoreBase(SQLModel):
    month: dt.date = key(DAY)
    partner_id: str = key()
    track: str = key(TRACK)
    total: float = col(FLOAT)
    qualifies: bool = col(BOOL)
    metrics_at_minimum: int = col(INT)


class PathScore(PathScoreBase, table=True):
    __tablename__ = "path_score"
    __table_args__ = (CLUSTERED,)


class DesignationBase(SQLModel):
    month: dt.date = key(DAY)
    partner_id: str = key()
    attained: bool = col(BOOL)
    best_track: str = col(TRACK)
    score: float = col(FLOAT)
    rulebook_id: str = col(STR)


class Designation(DesignationBase, table=True):
    __tablename__ = "designation"
    __table_args__ = (
        sa.Index(None, "partner_id", "month"),  # a partner's history
        sa.Index(None, "month", "attained", "score", "partner_id"),  # a month's ranking, keyset paging
        CLUSTERED,
    )


class CustomerDetailBase(SQLModel):
    month: dt.date = key(DAY)
    partner_id: str = key()
    tenant_id: str = key()
    track: str = key(TRACK)
    option: str = key(OPTION)
    eligible: bool = col(BOOL)
    workloads: int = col(INT)
    # null when no workload is held in M (the row exists for the year-ago side only)
    associated_on: dt.date | None = col(DAY, nullable=True)
    paid_seats: int = col(INT)
    active_users: int = col(INT)
    counted: bool = col(BOOL)
    counted_year_ago: bool = col(BOOL)
    deployed: bool = col(BOOL)
    deployed_year_ago: bool = col(BOOL)
    excluded: bool = col(BOOL)
    baseline_users: int = col(INT)


class CustomerDetail(CustomerDetailBase, table=True):
    __tablename__ = "customer_detail"
    __table_args__ = (CLUSTERED,)


# ---- bookkeeping -----------------------------------------------------------------------------


class ScoredMonthBase(SQLModel):
    """One row per month that has scores: what produced them and when (data freshness)."""

    month: dt.date = key(DAY)
    rulebook_id: str = col(STR)
    partners_scored: int = col(INT)
    partners_attained: int = col(INT)
    materialized_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    run_id: str | None = col(STR, nullable=True)  # the Dagster run, when there is one


class ScoredMonth(ScoredMonthBase, table=True):
    __tablename__ = "scored_month"


class ApiTokenBase(SQLModel):
    """A partner's API token. Only the SHA-256 (hex) of the token is stored."""

    token_hash: str = Field(sa_type=sa.String(64), unique=True)
    partner_id: str = Field(sa_type=STR, index=True)
    label: str | None = col(STR, nullable=True)
    created_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    revoked_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime, nullable=True)


class ApiToken(ApiTokenBase, table=True):
    __tablename__ = "api_token"
    id: int | None = Field(default=None, primary_key=True, sa_type=sa.Integer)


# ---- webhooks (storage/webhooks.py; docs/architecture.md, "Webhooks") ------------------------


class WebhookSubscriptionBase(SQLModel):
    """Where a month's alert events are POSTed. ``partner_id`` null: an admin subscription (every
    partner's events and ``month.scored``); ``event_types`` null: every type, else a comma-separated
    list. The secret signs each body (HMAC-SHA256), so it is stored as given. Removing a
    subscription deactivates it: its deliveries stay on record and are not attempted again."""

    url: str = col(STR)
    secret: str = col(STR)
    partner_id: str | None = col(STR, nullable=True)
    event_types: str | None = col(STR, nullable=True)
    created_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    active: bool = col(BOOL)


class WebhookSubscription(WebhookSubscriptionBase, table=True):
    __tablename__ = "webhook_subscription"
    id: int | None = Field(default=None, primary_key=True, sa_type=sa.Integer)


class WebhookEventBase(SQLModel):
    """The outbox: one row per event, its id the SHA-256 of what it says (scoring.events), so
    computing a month again inserts nothing new. ``data``: a JSON object (text)."""

    id: str = Field(primary_key=True, sa_type=sa.String(64))
    type: str = col(STR)
    month: dt.date = col(DATE, index=True)
    partner_id: str | None = col(STR, nullable=True)
    subject: str = col(STR)
    created_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    data: str = col(sa.Text())


class WebhookEvent(WebhookEventBase, table=True):
    __tablename__ = "webhook_event"


class WebhookDeliveryBase(SQLModel):
    """One event for one subscription: ``pending`` (due at ``next_attempt_at``), ``delivered`` or
    ``failed`` (after the last attempt); the last attempt's HTTP status or error."""

    event_id: str = Field(sa_type=sa.String(64), foreign_key="webhook_event.id")
    subscription_id: int = Field(sa_type=sa.Integer, foreign_key="webhook_subscription.id")
    status: str = col(STR)
    attempts: int = col(sa.Integer)
    next_attempt_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime, nullable=True)
    last_attempt_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime, nullable=True)
    last_status: int | None = col(sa.Integer, nullable=True)
    last_error: str | None = col(STR, nullable=True)
    delivered_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime, nullable=True)


class WebhookDelivery(WebhookDeliveryBase, table=True):
    __tablename__ = "webhook_delivery"
    __table_args__ = (
        sa.UniqueConstraint("event_id", "subscription_id"),  # an event reaches a subscription once
        sa.Index(None, "status", "next_attempt_at"),  # the due deliveries
    )
    id: int | None = Field(default=None, primary_key=True, sa_type=sa.Integer)


RESULT_TABLES: dict[str, type[SQLModel]] = {  # the holdings frame: ``holding`` with ``association``
    "eligible_tenants": EligibleTenant,
    "holdings": Holding,
    "metric_points": MetricPoint,
    "path_scores": PathScore,
    "designations": Designation,
    "customer_details": CustomerDetail,
}
"""frames.py result frame name -> table model."""

metadata = SQLModel.metadata
