"""PostgreSQL's data version (the response cache's key) and the per-worker connection that
reads it together with a token, before the request does anything else."""

from __future__ import annotations

import asyncio
import logging
import threading
from concurrent.futures import Executor

import sqlalchemy as sa
from sqlalchemy import Connection, Engine

from storage import models as M

log = logging.getLogger("graphql_api")

SCORED = M.ScoredMonth.__table__
TOKEN = M.ApiToken.__table__

_PG_STATE = (
    "SELECT (SELECT string_agg(s.month::text || ' ' || s.xmin::text, ',' ORDER BY s.month)"
    f" FROM {SCORED.name} s) AS version, t.id, t.partner_id FROM (SELECT 1) AS one"
    f" LEFT JOIN {TOKEN.name} t ON t.token_hash = %(h)s AND t.revoked_at IS NULL"
)


def snapshot_state(conn: Connection, token_hash: str | None) -> tuple[str, tuple[int, str] | None]:
    """PostgreSQL: the data version (every scored month with the id of the transaction that
    wrote it) and, when a token hash is given, ``(id, partner_id)`` of that valid token (None:
    unknown or revoked). One statement (prepared by the driver after a few uses)."""
    version, token_id, partner_id = conn.exec_driver_sql(_PG_STATE, {"h": token_hash}).one()
    return version or "", None if token_id is None else (token_id, partner_id)


class PgVersionReader:
    """PostgreSQL: one connection per worker process, kept out of the pool, that reads the data
    version and a token (``snapshot_state``) in autocommit before a request does anything else,
    so a cache hit needs no checkout, transaction or lock. A dropped connection is replaced once."""

    def __init__(self, engine: Engine, executor: Executor | None) -> None:
        self._engine = engine
        self._executor = executor
        self._conn: Connection | None = None
        self._thread_lock = threading.Lock()
        self._lock: asyncio.Lock | None = None  # made in the server's event loop, on first use

    def _read(self, token_hash: str | None) -> tuple[str, tuple[int, str] | None]:
        with self._thread_lock:
            for attempt in (1, 2):
                if self._conn is None:
                    self._conn = self._engine.connect().execution_options(isolation_level="AUTOCOMMIT")
                try:
                    return snapshot_state(self._conn, token_hash)
                except sa.exc.DBAPIError as exc:
                    conn, self._conn = self._conn, None
                    conn.close()
                    if attempt == 2 or not exc.connection_invalidated:
                        raise
                    log.warning("the version connection was dropped by the server; reconnecting")
        raise AssertionError("unreachable")

    async def read(self, token_hash: str | None) -> tuple[str, tuple[int, str] | None]:
        """(data version, the token's (id, partner_id) or None), as of now."""
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:  # waits in the event loop, not in a thread
            return await asyncio.get_running_loop().run_in_executor(self._executor, self._read, token_hash)

    def close(self) -> None:
        with self._thread_lock:
            conn, self._conn = self._conn, None
            if conn is not None:
                conn.close()
