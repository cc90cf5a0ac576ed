"""Where the results database is and how to connect to it: ``database_url()``, one engine per URL
and process (``get_engine``, ``get_read_engine``), SQLite connections set up for one writer and
many readers (WAL, ``BEGIN IMMEDIATE``; ``READ_ONLY`` for a deferred ``BEGIN``). Why:
docs/architecture.md, "Storage".
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url

from pcs.settings import DEFAULT_DATABASE_URL, DEFAULT_SQLITE_PATH, get_settings

#: execution option that makes a SQLite transaction start with a deferred ``BEGIN``
BEGIN_OPTION = "pcs_sqlite_begin"
READ_ONLY = {BEGIN_OPTION: "DEFERRED"}

SQLITE_PRAGMAS = (
    "PRAGMA page_size=16384",  # new files only (ignored once the file exists): faster bulk writes
    "PRAGMA busy_timeout=30000",  # before WAL, so that switching to WAL waits on a busy file
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=NORMAL",
    "PRAGMA foreign_keys=ON",
    "PRAGMA cache_size=-65536",  # up to 64 MiB of page cache: bulk inserts of ~1M rows
)

_engines: dict[tuple[str, int], Engine] = {}
_lock = threading.Lock()


def database_url() -> str:
    """The results database URL of the settings (``PCS_DATABASE_URL``, else the project's SQLite
    file, whose folder is created so that any SQLite client can open it)."""
    url = get_settings().database_url
    if url == DEFAULT_DATABASE_URL:
        DEFAULT_SQLITE_PATH.parent.mkdir(parents=True, exist_ok=True)
    return url


def _sqlite_file(url: URL) -> Path | None:
    """The database file of a SQLite URL, or None for in-memory / URI databases."""
    db = url.database
    if not db or db == ":memory:" or db.startswith("file:") or url.query.get("uri"):
        return None
    return Path(db)


def _on_sqlite_connect(dbapi_connection, connection_record) -> None:
    # sqlite3 must not issue BEGIN/COMMIT on its own: SQLAlchemy's "begin" event does it.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        for pragma in SQLITE_PRAGMAS:
            cursor.execute(pragma)
    finally:
        cursor.close()


def _on_sqlite_begin(conn) -> None:
    mode = conn.get_execution_options().get(BEGIN_OPTION, "IMMEDIATE")
    if mode not in ("IMMEDIATE", "DEFERRED", "EXCLUSIVE"):
        raise ValueError(f"{BEGIN_OPTION} must be IMMEDIATE, DEFERRED or EXCLUSIVE, not {mode!r}")
    conn.exec_driver_sql(f"BEGIN {mode}")


def _make_engine(url: URL) -> Engine:
    backend = url.get_backend_name()
    if backend == "sqlite":
        path = _sqlite_file(url)
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url)
        event.listen(engine, "connect", _on_sqlite_connect)
        event.listen(engine, "begin", _on_sqlite_begin)
        return engine
    if backend == "postgresql":
        return create_engine(url, pool_pre_ping=True)
    return create_engine(url, pool_pre_ping=True)


def get_engine(url: str | URL | None = None) -> Engine:
    """The engine for ``url`` (default ``database_url()``), one per URL and process."""
    url_obj = make_url(url if url is not None else database_url())
    key = (url_obj.render_as_string(hide_password=False), os.getpid())
    engine = _engines.get(key)
    if engine is not None:
        return engine
    with _lock:
        engine = _engines.get(key)
        if engine is None:
            _forget_inherited_engines()
            engine = _engines[key] = _make_engine(url_obj)
    return engine


def get_read_engine(url: str | URL | None = None) -> Engine:
    """``get_engine(url)`` for read-only work: on SQLite its transactions begin DEFERRED."""
    return get_engine(url).execution_options(**READ_ONLY)


def _forget_inherited_engines() -> None:
    """Drop engines made by a parent process, without closing the parent's connections."""
    pid = os.getpid()
    for key in [k for k in _engines if k[1] != pid]:
        _engines.pop(key).dispose(close=False)


def dispose_engines(url: str | URL | None = None) -> None:
    """Close and forget this process's engines (all, or the one of ``url``): tests, shutdown."""
    pid = os.getpid()
    only = None if url is None else make_url(url).render_as_string(hide_password=False)
    with _lock:
        for key in [k for k in _engines if k[1] == pid and only in (None, k[0])]:
            _engines.pop(key).dispose()
