"""Holdings on associations; no second index on metric points and path scores.

- ``association``: each association (partner, tenant, option, workload, association date) once,
  its id a stable hash of those values (``storage.results.associations.association_ids``).
- ``holding`` becomes (month, association_id, paid_seats, active_users): the month's rows no
  longer repeat the association's five values. On PostgreSQL it stays LIST-partitioned by month.
- ``ix_metric_point_partner_id_month`` and ``ix_path_score_partner_id_month`` go: a partner's
  history is read through the primary key, month by month (``month IN (...)``).

The upgrade moves the existing holdings, month by month; the downgrade moves them back.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-07

"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import polars as pl
import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "pcs_partitions"
KEY = ("partner_id", "tenant_id", "option", "workload", "associated_on")
DROPPED_INDEXES = {
    "ix_metric_point_partner_id_month": ("metric_point", ("partner_id", "month")),
    "ix_path_score_partner_id_month": ("path_score", ("partner_id", "month")),
}
ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _cols(cols: Sequence[str]) -> str:
    return ", ".join(_q(c) for c in cols)


def _pg() -> bool:
    return op.get_bind().dialect.name == "postgresql"


def _months(table: str) -> list[dt.date]:
    rows = op.get_bind().exec_driver_sql(f"SELECT DISTINCT month FROM {_q(table)} ORDER BY 1").all()
    return [r[0] if isinstance(r[0], dt.date) else dt.date.fromisoformat(r[0]) for r in rows]


def _lit(month: dt.date) -> str:
    return f"DATE '{month.isoformat()}'" if _pg() else f"'{month.isoformat()}'"


def _holding_table(name: str, layout: str) -> None:
    """``holding`` as this revision (``new``) or 0003 (``old``) has it. SQLite: with its primary
    key (a WITHOUT ROWID table cannot get one later); PostgreSQL: partitioned, the key added after
    the partitions are loaded."""
    if layout == "new":
        columns = [sa.Column("association_id", ID, nullable=False)]
        key: tuple[str, ...] = ("month", "association_id")
    else:
        columns = [
            *(sa.Column(c, sa.String(), nullable=False) for c in KEY[:4]),
            sa.Column("associated_on", sa.Date(), nullable=False),
        ]
        key = ("month", *KEY[:4])
    op.create_table(
        name,
        sa.Column("month", sa.Date(), nullable=False),
        *columns,
        sa.Column("paid_seats", sa.BigInteger(), nullable=False),
        sa.Column("active_users", sa.BigInteger(), nullable=False),
        *([] if _pg() else [sa.PrimaryKeyConstraint(*key, name="pk_holding")]),
        sqlite_with_rowid=False,
        postgresql_partition_by="LIST (month)",
    )


def _rebuild_holding(layout: str, select: str, key: tuple[str, ...]) -> None:
    """Replace ``holding`` by the ``layout`` table, filled from ``select`` (a SELECT over the
    old table as ``o``), month by month into partitions on PostgreSQL."""
    old, new = "holding_0004_old", "holding_0004_new"
    months = _months("holding")
    order = ", ".join(str(i + 1) for i in range(len(key)))  # the key: the select's first columns
    op.execute(f"ALTER TABLE {_q('holding')} RENAME TO {_q(old)}")
    if not _pg():
        _holding_table("holding", layout)
        op.execute(f"INSERT INTO {_q('holding')} {select} ORDER BY {order}")
        op.execute(f"DROP TABLE {_q(old)}")
        return
    op.execute(f"ALTER TABLE {_q(old)} RENAME CONSTRAINT {_q('pk_holding')} TO {_q('pk_' + old)}")
    _holding_table(new, layout)
    parts = {m: f"holding_{m:%Y_%m}_0004" for m in months}
    for month, part in parts.items():
        # loaded before it is attached; the CHECK spares the attach its scan
        op.execute(f"CREATE TABLE {_q(SCHEMA)}.{_q(part)} (LIKE {_q(new)}, CHECK (month = {_lit(month)}))")
        op.execute(f"INSERT INTO {_q(SCHEMA)}.{_q(part)} {select} WHERE o.month = {_lit(month)} ORDER BY {order}")
        op.execute(
            f"ALTER TABLE {_q(new)} ATTACH PARTITION {_q(SCHEMA)}.{_q(part)} FOR VALUES IN ('{month.isoformat()}')"
        )
    op.execute(f"DROP TABLE {_q(old)}")  # and its partitions
    op.execute(f"ALTER TABLE {_q(new)} RENAME TO {_q('holding')}")
    op.execute(f"ALTER TABLE {_q('holding')} ADD CONSTRAINT {_q('pk_holding')} PRIMARY KEY ({_cols(key)})")
    for month, part in parts.items():
        op.execute(f"ALTER TABLE {_q(SCHEMA)}.{_q(part)} RENAME TO {_q(f'holding_{month:%Y_%m}')}")


def _fill_associations() -> None:
    """Every association the holdings name, under its id (the runtime's hash, which is frozen)."""
    from storage.results.associations import association_ids

    conn = op.get_bind()
    rows = conn.exec_driver_sql(f"SELECT DISTINCT {_cols(KEY)} FROM {_q('holding')}").all()
    dates = pl.Date if _pg() else pl.String
    schema = {**dict.fromkeys(KEY[:4], pl.String), "associated_on": dates}
    keys = pl.DataFrame([tuple(r) for r in rows], schema=schema, orient="row")
    if not _pg():
        keys = keys.with_columns(pl.col("associated_on").str.to_date("%Y-%m-%d"))
    frame = keys.with_columns(association_ids(keys)).select("id", *KEY).sort("id")
    if frame["id"].is_duplicated().any():
        raise RuntimeError("two associations hash to the same id: cannot migrate")
    table = sa.table("association", *(sa.column(c) for c in frame.columns))
    for chunk in frame.iter_slices(50_000):
        conn.execute(sa.insert(table), chunk.to_dicts())


def upgrade() -> None:
    op.create_table(
        "association",
        sa.Column("id", ID, autoincrement=False, nullable=False),
        *(sa.Column(c, sa.String(), nullable=False) for c in KEY[:4]),
        sa.Column("associated_on", sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_association"),
    )
    op.create_index("ix_association_partner_id_tenant_id_option", "association", ["partner_id", "tenant_id", "option"])
    _fill_associations()
    join = " AND ".join(f"a.{_q(c)} = o.{_q(c)}" for c in KEY)
    _rebuild_holding(
        "new",
        f"SELECT o.month, a.id, o.paid_seats, o.active_users FROM {_q('holding_0004_old')} o "
        f"JOIN {_q('association')} a ON {join}",
        ("month", "association_id"),
    )
    for name in DROPPED_INDEXES:
        op.execute(f"DROP INDEX {_q(name)}")


def downgrade() -> None:
    _rebuild_holding(
        "old",
        f"SELECT o.month, {', '.join(f'a.{_q(c)}' for c in KEY)}, o.paid_seats, o.active_users "
        f"FROM {_q('holding_0004_old')} o JOIN {_q('association')} a ON a.id = o.association_id",
        ("month", *KEY[:4]),
    )
    op.drop_index("ix_association_partner_id_tenant_id_option", table_name="association")
    op.drop_table("association")
    for name, (table, cols) in DROPPED_INDEXES.items():
        op.execute(f"CREATE INDEX {_q(name)} ON {_q(table)} ({_cols(cols)})")
