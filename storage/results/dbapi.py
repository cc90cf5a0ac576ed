"""What the write and read paths share when they talk to the driver directly: quoting
identifiers, and turning the driver's errors into SQLAlchemy's."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy import Connection


def quote(conn: Connection, name: str) -> str:
    return conn.dialect.identifier_preparer.quote(name)


def wrap_dbapi_error(conn: Connection, statement: str, exc: Exception) -> Exception:
    """The driver's error as SQLAlchemy's (IntegrityError, ...), the same on both backends."""
    dbapi = conn.dialect.loaded_dbapi
    if isinstance(exc, dbapi.Error):
        return sa.exc.DBAPIError.instance(statement, None, exc, dbapi.Error)
    return exc
