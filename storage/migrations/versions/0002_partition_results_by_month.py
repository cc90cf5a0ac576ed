"""PostgreSQL: the six result tables become LIST-partitioned by month.

One partition per month, in the schema ``pcs_partitions``, named ``<table>_<YYYY>_<MM>``. Writing
a month then loads a new table and swaps it in for the month's partition (``storage.results``)
instead of deleting the month's rows and inserting them again into the same indexes, which on
PostgreSQL leaves the deleted rows' index entries and heap tuples in the way of the new ones
(the unique checks visit them; the indexes and the heap double) until a vacuum after commit.

SQLite: nothing changes (its month deletes and inserts are fast; it has no partitioning).

The upgrade keeps the tables' names, columns, primary keys and indexes (``pk_<table>``, the
``ix_...`` of 0001) and moves the existing rows, month by month, into their partitions: one pass
over the data, in the migration's transaction. The downgrade moves them back into plain tables.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27

"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "pcs_partitions"

# table -> (primary key columns, {index name: columns}), as 0001 made them
TABLES: dict[str, tuple[tuple[str, ...], dict[str, tuple[str, ...]]]] = {
    "eligible_tenant": (("month", "tenant_id", "track"), {}),
    "holding": (("month", "partner_id", "tenant_id", "option", "workload"), {}),
    "metric_point": (
        ("month", "partner_id", "track", "metric", "option"),
        {"ix_metric_point_partner_id_month": ("partner_id", "month")},
    ),
    "path_score": (
        ("month", "partner_id", "track"),
        {"ix_path_score_partner_id_month": ("partner_id", "month")},
    ),
    "designation": (
        ("month", "partner_id"),
        {
            "ix_designation_partner_id_month": ("partner_id", "month"),
            "ix_designation_month_attained_score_partner_id": ("month", "attained", "score", "partner_id"),
        },
    ),
    "customer_detail": (("month", "partner_id", "tenant_id", "track", "option"), {}),
}


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _cols(cols: Sequence[str]) -> str:
    return ", ".join(_q(c) for c in cols)


def _months(table: str) -> list:
    rows = op.get_bind().exec_driver_sql(f"SELECT DISTINCT month FROM {_q(table)} ORDER BY 1")
    return [r[0] for r in rows]


def _set_aside(table: str, indexes: dict[str, tuple[str, ...]]) -> str:
    """Rename ``table`` out of the way (and free its constraint and index names)."""
    old = f"{table}_0002_old"
    for name in indexes:
        op.execute(f"DROP INDEX {_q(name)}")
    op.execute(f"ALTER TABLE {_q(table)} RENAME TO {_q(old)}")
    op.execute(f"ALTER TABLE {_q(old)} RENAME CONSTRAINT {_q('pk_' + table)} TO {_q('pk_' + old)}")
    return old


def _add_keys(table: str, key: tuple[str, ...], indexes: dict[str, tuple[str, ...]]) -> None:
    op.execute(f"ALTER TABLE {_q(table)} ADD CONSTRAINT {_q('pk_' + table)} PRIMARY KEY ({_cols(key)})")
    for name, cols in indexes.items():
        op.execute(f"CREATE INDEX {_q(name)} ON {_q(table)} ({_cols(cols)})")


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(f"CREATE SCHEMA IF NOT EXISTS {_q(SCHEMA)}")
    for table, (key, indexes) in TABLES.items():
        months = _months(table)
        old = _set_aside(table, indexes)
        op.execute(f"CREATE TABLE {_q(table)} (LIKE {_q(old)}) PARTITION BY LIST (month)")
        _add_keys(table, key, indexes)
        for month in months:
            part = f"{_q(SCHEMA)}.{_q(f'{table}_{month:%Y_%m}')}"
            # loaded before it is attached: the attach builds its indexes in one pass each,
            # and the CHECK spares it the scan that proves every row belongs to the month
            op.execute(f"CREATE TABLE {part} (LIKE {_q(old)}, CHECK (month = DATE '{month.isoformat()}'))")
            op.execute(
                f"INSERT INTO {part} SELECT * FROM {_q(old)} "
                f"WHERE month = DATE '{month.isoformat()}' ORDER BY {_cols(key)}"
            )
            op.execute(f"ALTER TABLE {_q(table)} ATTACH PARTITION {part} FOR VALUES IN ('{month.isoformat()}')")
        op.execute(f"DROP TABLE {_q(old)}")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, (key, indexes) in TABLES.items():
        old = _set_aside(table, indexes)
        op.execute(f"CREATE TABLE {_q(table)} (LIKE {_q(old)})")
        op.execute(f"INSERT INTO {_q(table)} SELECT * FROM {_q(old)} ORDER BY {_cols(key)}")
        _add_keys(table, key, indexes)
        op.execute(f"DROP TABLE {_q(old)}")  # and its partitions
    op.execute(f"DROP SCHEMA IF EXISTS {_q(SCHEMA)} CASCADE")
