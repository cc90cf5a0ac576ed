"""SQLite: the result tables' dates as day numbers (``storage.models.DayNumber``).

SQLAlchemy stores a date on SQLite as ISO text, 10 bytes; the month is in every row and every key
of the result tables. As the days since 1970-01-01 it is an INTEGER of 2 bytes (until 2059). The
tables ``eligible_tenant``, ``holding``, ``metric_point``, ``path_score``, ``designation``,
``customer_detail``, ``association`` and ``scored_month`` are made again with INTEGER date
columns and their rows converted (SQLite cannot change a column's type in place); their indexes
are made again after. The downgrade converts back to ISO text.

PostgreSQL: nothing changes (``date`` is 4 bytes).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-07

"""

from __future__ import annotations

import re
from collections.abc import Sequence

from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# table -> its date columns
TABLES = {
    "eligible_tenant": ("month",),
    "holding": ("month",),
    "metric_point": ("month",),
    "path_score": ("month",),
    "designation": ("month",),
    "customer_detail": ("month", "associated_on"),
    "association": ("associated_on",),
    "scored_month": ("month",),
}
TO_DAYS = "CAST(julianday({c}) - 2440587.5 AS INTEGER)"  # julianday('1970-01-01') = 2440587.5
TO_TEXT = "date({c} * 86400, 'unixepoch')"


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _convert(table: str, columns: tuple[str, ...], old_type: str, new_type: str, expr: str) -> None:
    conn = op.get_bind()
    ddl = conn.exec_driver_sql("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)).scalar()
    indexes = (
        conn.exec_driver_sql(
            "SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? AND sql IS NOT NULL", (table,)
        )
        .scalars()
        .all()
    )
    names = [r[1] for r in conn.exec_driver_sql(f"PRAGMA table_info({_q(table)})").all()]
    for column in columns:
        ddl, n = re.subn(rf'(\n\s*"?{column}"?\s+){old_type}\b', rf"\g<1>{new_type}", ddl)
        if n != 1:
            raise RuntimeError(f"{table}.{column}: expected one {old_type} column in {ddl!r}")
    old = f"{table}_0005_old"
    op.execute(f"ALTER TABLE {_q(table)} RENAME TO {_q(old)}")
    op.execute(ddl)
    select = ", ".join(expr.format(c=_q(c)) if c in columns else _q(c) for c in names)
    op.execute(f"INSERT INTO {_q(table)} ({', '.join(_q(c) for c in names)}) SELECT {select} FROM {_q(old)}")
    op.execute(f"DROP TABLE {_q(old)}")  # and its indexes, whose names the new ones take
    for sql in indexes:
        op.execute(sql)


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    for table, columns in TABLES.items():
        _convert(table, columns, "DATE", "INTEGER", TO_DAYS)


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    for table, columns in TABLES.items():
        _convert(table, columns, "INTEGER", "DATE", TO_TEXT)
