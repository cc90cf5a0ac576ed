"""The result tables' track, option and metric names as small integer codes (``models.Code``).

Every row and key of ``metric_point``, ``customer_detail``, ``eligible_tenant`` and
``path_score`` repeats a track name, and most an option or a metric name ("ENTERPRISE",
"INTERMEDIATE_CERTIFICATIONS": up to 28 bytes); ``designation.best_track`` is a track and
``association.option`` an option. Each becomes the name's index in its vocabulary, a SMALLINT
(SQLite: 0 and 1 take no bytes in a record, the others 1; PostgreSQL: 2 bytes). The
vocabularies are in byte order, so the codes sort as the names did.

SQLite cannot change a column's type in place: the tables are made again with SMALLINT columns
and their rows converted, as 0005 did; their indexes are made again after. PostgreSQL:
``ALTER COLUMN ... TYPE smallint USING`` (on the partitioned parents it rewrites every
partition). A name outside the vocabularies stops the upgrade before anything is changed. The
downgrade turns the codes back into names (VARCHAR).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-08

"""

from __future__ import annotations

import re
from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# the vocabularies as this revision stores them (storage.models has today's): code = index
TRACKS = ("ENTERPRISE", "SMB")
OPTIONS = ("ALL", "CPOR", "CSP", "DPOR")
METRICS = ("ADVANCED_CERTIFICATIONS", "DEPLOYMENTS", "INTERMEDIATE_CERTIFICATIONS", "NET_CUSTOMER_ADDS", "USAGE_GROWTH")

# table -> its coded columns and their vocabularies
TABLES: dict[str, dict[str, tuple[str, ...]]] = {
    "eligible_tenant": {"track": TRACKS},
    "metric_point": {"track": TRACKS, "metric": METRICS, "option": OPTIONS},
    "path_score": {"track": TRACKS},
    "designation": {"best_track": TRACKS},
    "customer_detail": {"track": TRACKS, "option": OPTIONS},
    "association": {"option": OPTIONS},
}


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _text(name: str) -> str:
    return "'" + name.replace("'", "''") + "'"


def _to_codes(column: str, names: tuple[str, ...]) -> str:
    cases = " ".join(f"WHEN {_text(n)} THEN {i}" for i, n in enumerate(names))
    return f"CASE {_q(column)} {cases} END"


def _to_names(column: str, names: tuple[str, ...]) -> str:
    cases = " ".join(f"WHEN {i} THEN {_text(n)}" for i, n in enumerate(names))
    return f"CASE {_q(column)} {cases} END"


def _check_names(table: str, columns: dict[str, tuple[str, ...]]) -> None:
    """Every stored name is in its vocabulary (else the codes would be null)."""
    conn = op.get_bind()
    for column, names in columns.items():
        known = ", ".join(_text(n) for n in names)
        unknown = (
            conn.exec_driver_sql(
                f"SELECT DISTINCT {_q(column)} FROM {_q(table)} WHERE {_q(column)} NOT IN ({known}) LIMIT 5"
            )
            .scalars()
            .all()
        )
        if unknown:
            raise RuntimeError(
                f"{table}.{column} holds {sorted(unknown)}, not in the vocabulary {names}: "
                "add them to the vocabularies (storage.models and a migration) first"
            )


def _rebuild_sqlite(table: str, exprs: dict[str, str], old_type: str, new_type: str) -> None:
    """``table`` made again with ``exprs``' columns of ``new_type``, its rows converted by them."""
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
    for column in exprs:
        ddl, n = re.subn(rf'(\n\s*"?{column}"?\s+){old_type}\b', rf"\g<1>{new_type}", ddl)
        if n != 1:
            raise RuntimeError(f"{table}.{column}: expected one {old_type} column in {ddl!r}")
    old = f"{table}_0006_old"
    op.execute(f"ALTER TABLE {_q(table)} RENAME TO {_q(old)}")
    op.execute(ddl)
    select = ", ".join(exprs.get(c, _q(c)) for c in names)
    op.execute(f"INSERT INTO {_q(table)} ({', '.join(_q(c) for c in names)}) SELECT {select} FROM {_q(old)}")
    op.execute(f"DROP TABLE {_q(old)}")  # and its indexes, whose names the new ones take
    for sql in indexes:
        op.execute(sql)


def _alter_postgresql(table: str, exprs: dict[str, str], new_type: str) -> None:
    alters = ", ".join(f"ALTER COLUMN {_q(c)} TYPE {new_type} USING ({e})" for c, e in exprs.items())
    op.execute(f"ALTER TABLE {_q(table)} {alters}")


def upgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    for table, columns in TABLES.items():
        _check_names(table, columns)
    for table, columns in TABLES.items():
        exprs = {c: _to_codes(c, names) for c, names in columns.items()}
        if sqlite:
            _rebuild_sqlite(table, exprs, "VARCHAR", "SMALLINT")
        else:
            _alter_postgresql(table, exprs, "SMALLINT")


def downgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    for table, columns in TABLES.items():
        exprs = {c: _to_names(c, names) for c, names in columns.items()}
        if sqlite:
            _rebuild_sqlite(table, exprs, "SMALLINT", "VARCHAR")
        else:
            _alter_postgresql(table, exprs, "VARCHAR")
