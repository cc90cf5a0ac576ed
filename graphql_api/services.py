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
from scoring.frames import InputError
from scoring.ingest.slices import SNAPSHOTS
from scoring.rulebook import Rulebook, RulebookError, Rulebooks, load_rulebooks
from storage.engines import get_read_engine

log = logging.getLogger("graphql_api")


class CertificationsFile:
    """The data folder's certifications (persons are not stored in the database), read with
    the pipeline's own validated reader and cached, split by partner, until the file changes
    (in the snapshot cache the what-if, projection and attribution read through)."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = Path(data_dir)

    def for_partner(self, partner_id: str) -> pl.DataFrame:
        """That partner's rows (CERTIFICATIONS_SCHEMA); raises the reader's InputError."""
        return SNAPSHOTS.certifications(self.data_dir, partner_id)


def warm_snapshots(data_dir: Path, rulebooks: Rulebooks) -> threading.Thread | None:
    """Read the data folder's latest months into the snapshot cache in a daemon thread (None:
    no data folder). A folder that cannot be read is logged; requests then report it."""
    if not Path(data_dir).is_dir():
        return None

    def run() -> None:
        try:
            months = SNAPSHOTS.warm(data_dir, rulebooks=rulebooks)
        except (InputError, OSError) as exc:
            log.warning("snapshot warm-up stopped: %s", exc)
            return
        if months:
            log.info("snapshot cache warm: %s..%s", f"{months[0]:%Y-%m}", f"{months[-1]:%Y-%m}")

    thread = threading.Thread(target=run, name="pcs-warm", daemon=True)
    thread.start()
    return thread


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
        self.warming = warm_snapshots(settings.data_dir, self.rulebooks) if settings.warm_snapshots else None

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
