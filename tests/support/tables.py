"""Whole-database fingerprints for tests that compare a results database before and after a run.

Read with plain SQLAlchemy Core (``SELECT *`` of every table of ``storage.models.metadata``), not
with ``storage.results``: the fingerprint does not depend on the code under test. Each table
gives its row count and a sha256 over its rows, each row rendered as text and the rows sorted, so
the order the database returns them in does not matter.

``VOLATILE`` are the columns a correct rerun changes (which run wrote a month, and when);
``fingerprint(..., volatile=False)`` leaves them out, for idempotence and for comparing two
paths that score the same months.
"""

from __future__ import annotations

import datetime as dt
import decimal
import hashlib
from dataclasses import dataclass

import sqlalchemy as sa

from storage.engines import READ_ONLY
from storage.models import metadata

VOLATILE = {"scored_month": ("run_id", "materialized_at")}


@dataclass(frozen=True)
class Table:
    rows: int
    sha256: str


def _text(value: object) -> str:
    if value is None:
        return "\\N"
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, dt.datetime):  # SQLite gives naive UTC datetimes, PostgreSQL aware ones
        if value.tzinfo is not None:
            value = value.astimezone(dt.UTC).replace(tzinfo=None)
        return value.isoformat()
    if isinstance(value, (dt.date, bool, int, str, decimal.Decimal)):
        return str(value)
    raise TypeError(f"unexpected {type(value).__name__} in a table: {value!r}")


def table_rows(
    engine: sa.Engine,
    table: sa.Table,
    *,
    volatile: bool = True,
    months: list[dt.date] | None = None,
) -> list[tuple[str, ...]]:
    """Every row of ``table`` (of ``months`` only, when given and it has a month column; the
    associations those months' holdings name, for ``association``) as a tuple of texts, sorted."""
    columns = [c for c in table.columns if volatile or c.name not in VOLATILE.get(table.name, ())]
    q = sa.select(*columns)
    if months is not None and "month" in table.c:
        q = q.where(table.c.month.in_(months))
    if months is not None and table.name == "association":
        holding = metadata.tables["holding"]
        q = q.where(table.c.id.in_(sa.select(holding.c.association_id).where(holding.c.month.in_(months))))
    with engine.connect().execution_options(**READ_ONLY) as conn:
        rows = conn.execute(q).all()
    return sorted(tuple(_text(v) for v in row) for row in rows)


def fingerprint(engine: sa.Engine, *, volatile: bool = True, months: list[dt.date] | None = None) -> dict[str, Table]:
    """Row count and sha256 of every table of the results database (``metadata``); with
    ``months``, only those months' rows of the tables that have a month column, and the
    associations of those months' holdings."""
    out = {}
    for table in metadata.sorted_tables:
        rows = table_rows(engine, table, volatile=volatile, months=months)
        digest = hashlib.sha256()
        for row in rows:
            digest.update("\x1f".join(row).encode())
            digest.update(b"\x1e")
        out[table.name] = Table(len(rows), digest.hexdigest())
    return out


def duplicate_keys(engine: sa.Engine) -> dict[str, int]:
    """Per table, how many rows repeat another row's primary key (the natural key): counted with
    ``SELECT DISTINCT`` over the key columns, so it does not trust the constraint."""
    out = {}
    with engine.connect().execution_options(**READ_ONLY) as conn:
        for table in metadata.sorted_tables:
            key = list(table.primary_key.columns)
            total = conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()
            distinct = conn.execute(
                sa.select(sa.func.count()).select_from(sa.select(*key).distinct().subquery())
            ).scalar_one()
            out[table.name] = total - distinct
    return out


def month_rows(engine: sa.Engine) -> dict[str, dict[dt.date, int]]:
    """Rows per month of every table that has a ``month`` column."""
    out = {}
    with engine.connect().execution_options(**READ_ONLY) as conn:
        for table in metadata.sorted_tables:
            if "month" not in table.c:
                continue
            q = sa.select(table.c.month, sa.func.count()).group_by(table.c.month)
            out[table.name] = {_month(m): n for m, n in conn.execute(q).all()}
    return out


def _month(value: object) -> dt.date:
    return dt.date.fromisoformat(value) if isinstance(value, str) else value
