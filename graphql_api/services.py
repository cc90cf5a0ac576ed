"""Process-wide state of the API: settings, engine, rulebooks, the certifications file, the
driver threads and the gate of requests holding a connection."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import polars as pl
from sqlalchemy import Engine

from graphql_api.config import ApiSettings
from graphql_api.db.request import connection_slots
from graphql_api.db.versions import PgVersionReader
from scoring import ingest
from scoring.frames import CERTIFICATIONS_SCHEMA
from scoring.rulebook import Rulebook, RulebookError, Rulebooks, load_rulebooks
from storage.engines import get_read_engine

log = logging.getLogger("graphql_api")


class CertificationsFile:
    """The data folder's certifications (persons are not stored in the database), read with
    the pipeline's own validated reader and cached until the file changes."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = Path(data_dir)
        self._lock = threading.Lock()
        self._stamp: tuple | None = None
        self._frame: pl.DataFrame | None = None
        self._by_partner: dict[str, pl.DataFrame] = {}

    def _stamp_now(self) -> tuple:
        stamps = []
        for p in sorted(self.data_dir.glob("certifications.*")):
            try:
                st = p.stat()
            except OSError:
                continue
            stamps.append((p.name, st.st_mtime_ns, st.st_size))
        return tuple(stamps)

    def for_partner(self, partner_id: str) -> pl.DataFrame:
        """That partner's rows (CERTIFICATIONS_SCHEMA); raises the reader's InputError."""
        with self._lock:
            stamp = self._stamp_now()
            if self._frame is None or stamp != self._stamp:
                frame = ingest.read_certifications(self.data_dir)
                self._frame, self._stamp = frame, stamp
                self._by_partner = {
                    key[0]: part for key, part in frame.partition_by("partner_id", as_dict=True).items()
                }
            return self._by_partner.get(partner_id, pl.DataFrame(schema=CERTIFICATIONS_SCHEMA))


class Services:
    def __init__(self, settings: ApiSettings) -> None:
        self.settings = settings
        self.engine: Engine = get_read_engine(settings.database_url)
        self.rulebooks: Rulebooks = load_rulebooks()
        self._rulebooks_by_id = {r.id: r for r in self.rulebooks.versions}
        self.certifications = CertificationsFile(settings.data_dir)
        # requests holding a connection at once: the pool's persistent size, not its overflow
        # (docs/architecture.md, "Worker threads, the gate and the per-worker pool")
        self.connection_slots = connection_slots(self.engine)
        pg = self.engine.dialect.name == "postgresql"
        if pg and settings.cache_mb > 0:  # the version reader keeps one of the pool's connections
            self.connection_slots = max(1, self.connection_slots - 1)
        self._gate: asyncio.Semaphore | None = None
        threads = settings.db_threads
        self.db_threads = self.engine.dialect.name != "sqlite" if threads is None else threads
        # the driver calls' threads: one per request that may hold a connection (no deadlock, same section)
        self.executor = ThreadPoolExecutor(max_workers=self.connection_slots + 1, thread_name_prefix="pcs-db")
        # PostgreSQL with the response cache: the data version's own connection
        self.versions = PgVersionReader(self.engine, self.executor) if pg and settings.cache_mb > 0 else None

    @property
    def gate(self) -> asyncio.Semaphore:
        if self._gate is None:  # made in the server's event loop, on the first request
            self._gate = asyncio.Semaphore(self.connection_slots)
        return self._gate

    def rulebook(self, rulebook_id: str | None, month: dt.date) -> Rulebook:
        """The rulebook a scorecard was scored with (by id), else the one in force for month."""
        book = self._rulebooks_by_id.get(rulebook_id) if rulebook_id else None
        return book or self.rulebooks.for_month(month)

    def track_options(self, rulebook_id: str | None, month: dt.date) -> dict[str, dict[str, int]]:
        """track -> option -> position, in the rulebook's order."""
        try:
            book = self.rulebook(rulebook_id, month)
        except RulebookError:  # no rulebook for that month: enum order
            return {}
        return {t.name: {o: i for i, o in enumerate(t.options)} for t in book.tracks}
