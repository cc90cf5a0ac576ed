"""The response cache: encoded answers keyed by (viewer, request body), valid at one data version.

The data version comes from ``SqliteChangeCounter`` (SQLite) or ``db.versions.PgVersionReader``
(PostgreSQL); why this is safe: docs/architecture.md, "Response cache".
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from collections.abc import Hashable
from pathlib import Path
from typing import Any

from cachetools import Cache, LRUCache
from sqlalchemy import Engine

# bytes one cache entry costs besides its body and key (the tuple, the dict slot, ...)
ENTRY_OVERHEAD = 200


def _entry_size(entry: tuple[Any, bytes, int]) -> int:
    return entry[2]


class ResponseCache:
    """LRU of encoded answers, bounded by bytes: ``key -> (version, body, size)``."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max(0, int(max_bytes))
        self._entries: LRUCache[Hashable, tuple[Any, bytes, int]] = LRUCache(self.max_bytes, getsizeof=_entry_size)
        self.hits = 0
        self.misses = 0

    @property
    def enabled(self) -> bool:
        return self.max_bytes > 0

    @property
    def bytes(self) -> int:
        return int(self._entries.currsize)

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: Hashable, version: Any) -> bytes | None:
        """The answer stored for ``key`` at ``version``; an entry of another version is a miss
        and keeps its place (it may still be current for a request that read a newer version)."""
        entry = Cache.__getitem__(self._entries, key) if key in self._entries else None  # no reordering
        if entry is None or entry[0] != version:
            self.misses += 1
            return None
        self.hits += 1
        return self._entries[key][1]  # marks it most recently used

    def put(self, key: Hashable, version: Any, body: bytes, size_of_key: int) -> None:
        size = len(body) + size_of_key + ENTRY_OVERHEAD
        if size > self.max_bytes // 8:  # one answer may take at most 1/8 of the cache
            return
        self._entries.pop(key, None)
        self._entries[key] = (version, body, size)  # evicts the least recently used first

    def clear(self) -> None:
        self._entries.clear()


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
