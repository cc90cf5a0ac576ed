"""The database of one request: one pooled connection, one read snapshot (PostgreSQL: opened
after the result tables' locks, in the writer's order), queries one at a time, in worker threads
of the per-process executor when the driver does network round trips. Why: docs/architecture.md,
"One snapshot per request"."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from concurrent.futures import Executor
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine

from storage.results import SWAP_LOCK_ORDER

T = TypeVar("T")

# PostgreSQL: ACCESS SHARE on the parents the pipeline swaps partitions of, taken before the first
# read (which takes the snapshot) and in the writer's order, so neither waits on the other until
# a lock timeout (docs/architecture.md, "One snapshot per request").
PG_LOCKED_TABLES = SWAP_LOCK_ORDER  # the writer's order (storage.results): keep them one
PG_LOCK = f"LOCK TABLE ONLY {', '.join(t.name for t in PG_LOCKED_TABLES)} IN ACCESS SHARE MODE"
PG_BEGIN = f"BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; {PG_LOCK}"


def pool_capacity(engine: Engine) -> int:
    """Connections the engine's pool can hand out at once (size + overflow)."""
    pool = engine.pool
    size = pool.size() if hasattr(pool, "size") else 5
    overflow = getattr(pool, "_max_overflow", 0)
    return max(1, size + max(overflow, 0))


def connection_slots(engine: Engine) -> int:
    """Requests that may hold a connection at once: the pool's persistent size when it has one
    (a ``QueuePool``), else its capacity less two."""
    pool = engine.pool
    if hasattr(pool, "size") and hasattr(pool, "_max_overflow"):
        return max(1, pool.size())
    return max(1, pool_capacity(engine) - 2)


class RequestFinished(RuntimeError):
    """``RequestDB.run`` after the request's response was built."""


class RequestDB:
    """The database of one request: one connection, one snapshot, queries one at a time.

    ``run(fn, ...)`` runs ``fn(connection, ...)`` inside the request's read transaction (opened by
    the first ``run``)."""

    def __init__(
        self, engine: Engine, gate: asyncio.Semaphore, *, threads: bool = True, executor: Executor | None = None
    ) -> None:
        self._engine = engine
        self._gate = gate
        self._threads = threads
        self._executor = executor  # None: the event loop's default executor
        self._lock = asyncio.Lock()
        self._conn: Connection | None = None
        self._pg = engine.dialect.name == "postgresql"
        self._in_tx = False
        self._holds_gate = False
        self._inflight: asyncio.Future | None = None  # the query running in a thread
        self._closed = False

    def _connect(self) -> Connection:
        conn = self._engine.connect()
        if self._pg:
            # the driver in autocommit mode sends no BEGIN of its own: ours is PG_BEGIN, the
            # transaction and its locks in one round trip (ended by _release's ROLLBACK)
            try:
                conn = conn.execution_options(isolation_level="AUTOCOMMIT")
            except BaseException:
                conn.close()
                raise
        return conn

    def _call(self, fn: Callable[..., T], args: tuple) -> T:
        # the first query checks the connection out and opens the transaction, in the same
        # thread hop
        if self._conn is None:
            self._conn = self._connect()
        if not self._in_tx:
            if self._pg:
                self._conn.exec_driver_sql(PG_BEGIN)
            else:
                self._conn.begin()
            self._in_tx = True
        return fn(self._conn, *args)

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """``fn(connection, *args)`` in this request's read transaction (in a worker thread or not)."""
        async with self._lock:
            self._check_open()
            if not self._holds_gate:
                await self._gate.acquire()
                self._holds_gate = True
                if self._closed:  # closed while waiting for the gate
                    self._release()
                    self._check_open()
            if not self._threads:
                return self._call(fn, args)
            loop = asyncio.get_running_loop()
            self._inflight = loop.run_in_executor(self._executor, functools.partial(self._call, fn, args))
            # shielded: if the request is cancelled, the thread still owns the connection until
            # its query ends, and close() waits for that
            return await asyncio.shield(self._inflight)

    def _check_open(self) -> None:
        if self._closed:
            raise RequestFinished("the request's database was closed: its response is already built")

    def close(self) -> None:
        """Give the connection back (rolling the read transaction back) once the response is
        built; not in a thread: a rollback and a pool check-in are quick. A query still running
        in a thread (cancelled request) gets to finish first. Later ``run`` calls raise
        ``RequestFinished``: a resolver still running after its response was built (graphql-core
        does not cancel the siblings of a field that failed) must not take a connection that no
        one would give back."""
        self._closed = True
        inflight, self._inflight = self._inflight, None
        if inflight is not None and not inflight.done():
            inflight.add_done_callback(lambda _: self._release())
        else:
            self._release()

    def _release(self) -> None:
        conn, self._conn = self._conn, None
        in_tx, self._in_tx = self._in_tx, False
        try:
            if conn is not None:
                try:
                    if self._pg and in_tx and not conn.invalidated:
                        conn.exec_driver_sql("ROLLBACK")  # ends PG_BEGIN's transaction
                finally:
                    conn.close()
        finally:
            if self._holds_gate:
                self._holds_gate = False
                self._gate.release()
