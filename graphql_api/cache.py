"""The response cache and the data version it is keyed on.

A GraphQL answer depends on the request body, on who asks, and on the database. The cache keys
an encoded answer by ``(viewer, request body)`` and stores it with the *data version* it was
computed at; a lookup hits only when the version is still the current one, so a rewrite of the
results makes every older answer unreachable (the next request for it recomputes and replaces
it). Nothing is ever served from a state older than the database's at the request's start.

The data version:

- **SQLite** (``SqliteChangeCounter``): a process-wide generation number, bumped whenever
  ``PRAGMA data_version`` on a dedicated probe connection changes, i.e. whenever any other
  connection (the pipeline's ``write_results``, ``pcs token revoke``, ...) committed since the
  previous probe. It is read *before* the request's snapshot is opened, so an answer stored
  under generation G was computed from a snapshot at least as new as the database at G's
  probe: a request that finds it started while that state (or a newer one) was current. Costs
  one local ``PRAGMA`` per request (a few microseconds) and covers every table.
- **PostgreSQL** (``db.snapshot_state``): the ``(month, xmin)`` of every ``scored_month`` row.
  ``write_results`` deletes and re-inserts the ``scored_month`` row of every month it writes in
  the same transaction as the results and the partner upsert, so every rewrite gives those rows
  a new transaction id. It is first read (with the token lookup) by a statement of its own, on
  a connection each worker keeps for that (``db.PgVersionReader``), before the request does
  anything else: a hit ends there, with an answer computed from a snapshot of that same
  version, i.e. of the data current at that read. (A hit thus costs one indexed statement: no
  connection checkout, transaction or lock.)
  On a miss, the request opens its snapshot, reads the version again inside it and stores the
  answer under that one. (Not seen: a write that changes tables without touching any scored
  month, e.g. hand edits in SQL, or a ``write_results`` of months that had and still have no
  scores but renames partners. Such writes are picked up by the next scored write.)
- Any other database: no cache.

Tokens are not cached: a partner token is looked up on every request (one indexed query; on
PostgreSQL in the same statement as the version), so a revoked token is refused by the first
request that starts after the revocation committed.

Responses that depend on more than the database (the skilling report, the simulator and the
warnings read the data folder) mark their request uncacheable (``Context.cacheable``), and only
complete answers without errors are stored.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from collections import OrderedDict
from collections.abc import Hashable
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

# bytes one cache entry costs besides its body and key (the tuple, the dict slot, ...)
ENTRY_OVERHEAD = 200


class ResponseCache:
    """LRU of encoded answers, bounded by bytes: ``key -> (version, body)``."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max(0, int(max_bytes))
        self._entries: OrderedDict[Hashable, tuple[Any, bytes, int]] = OrderedDict()
        self.bytes = 0
        self.hits = 0
        self.misses = 0

    @property
    def enabled(self) -> bool:
        return self.max_bytes > 0

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: Hashable, version: Any) -> bytes | None:
        entry = self._entries.get(key)
        if entry is None or entry[0] != version:
            self.misses += 1
            return None
        self._entries.move_to_end(key)
        self.hits += 1
        return entry[1]

    def put(self, key: Hashable, version: Any, body: bytes, size_of_key: int) -> None:
        size = len(body) + size_of_key + ENTRY_OVERHEAD
        if size > self.max_bytes // 8:  # one answer may take at most 1/8 of the cache
            return
        old = self._entries.pop(key, None)
        if old is not None:
            self.bytes -= old[2]
        self._entries[key] = (version, body, size)
        self.bytes += size
        while self.bytes > self.max_bytes:
            _, (_, _, freed) = self._entries.popitem(last=False)
            self.bytes -= freed

    def clear(self) -> None:
        self._entries.clear()
        self.bytes = 0


class SqliteChangeCounter:
    """A generation number that changes whenever another connection has committed to the
    SQLite file since the previous ``current()`` (``PRAGMA data_version`` on a probe connection
    of its own, which never writes and holds no transaction between calls)."""

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None
        self._seen: int | None = None
        self.generation = 0

    def _connect(self) -> sqlite3.Connection:
        uri = Path(self.path).resolve().as_uri() + "?mode=rw"  # never creates a missing file
        conn = sqlite3.connect(uri, uri=True, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA busy_timeout=5000")
        return conn

    def current(self) -> int | None:
        """The current generation, or None when the file cannot be probed (no caching then)."""
        with self._lock:
            try:
                if self._conn is None:
                    self._conn = self._connect()
                    self._seen = None
                (version,) = self._conn.execute("PRAGMA data_version").fetchone()
            except sqlite3.Error:
                self.close_locked()
                self.generation += 1
                return None
            if version != self._seen:
                self._seen = version
                self.generation += 1
            return self.generation

    def close_locked(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(sqlite3.Error):
                conn.close()

    def close(self) -> None:
        with self._lock:
            self.close_locked()


def sqlite_file(engine: Engine) -> str | None:
    """The file of a SQLite engine (None: not SQLite, in memory, or a URI database)."""
    url = engine.url
    if url.get_backend_name() != "sqlite":
        return None
    db = url.database
    if not db or db == ":memory:" or db.startswith("file:") or url.query.get("uri"):
        return None
    return db
