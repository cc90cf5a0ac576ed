"""Dagster resources: the results database and the input data folder, each resolved when used
(``pcs.settings``), unless the run config sets it (``resource_config``)."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import dagster as dg
from sqlalchemy import Engine
from sqlalchemy.engine import make_url

from pcs.settings import get_settings
from storage import engines, migrate

_migrated: set[tuple[str, int]] = set()
_migrate_lock = threading.Lock()


class ResultsDatabase(dg.ConfigurableResource):
    """The SQLAlchemy results database (SQLite or PostgreSQL).

    ``url``: default ``PCS_DATABASE_URL``, else the project's SQLite file
    (``storage.engines.database_url()``). The first ``engine()`` call of a process applies the
    Alembic migrations (``storage.migrate.upgrade``: idempotent, one transaction) unless
    ``migrate`` is false. Engines come from ``storage.engines.get_engine``: one per URL and
    process, created lazily (never at import, never shared with a forked worker).
    """

    url: str | None = None
    migrate: bool = True

    def resolved_url(self) -> str:
        return self.url or engines.database_url()

    def engine(self) -> Engine:
        url = self.resolved_url()
        engine = engines.get_engine(url)
        if self.migrate:
            key = (engine.url.render_as_string(hide_password=False), os.getpid())
            with _migrate_lock:
                if key not in _migrated:
                    migrate.upgrade(engine)
                    _migrated.add(key)
        return engine

    def display_url(self) -> str:
        """The URL with its password hidden (for logs and metadata)."""
        return make_url(self.resolved_url()).render_as_string(hide_password=True)


class DataFolder(dg.ConfigurableResource):
    """The input data folder of ``input-data.md``: ``path``, default ``PCS_DATA_DIR`` (else the
    demo folder; ``pcs.settings``)."""

    path: str | None = None

    def resolved(self) -> Path:
        return Path(self.path) if self.path else get_settings().data_dir


def resource_config(*, data: str | None = None, database: str | None = None) -> dict:
    """The run config of the two resources: the data folder and the results database URL (None:
    the settings of the process that runs the step). Every job of the code location takes it."""
    config = {}
    if data is not None:
        config["data_folder"] = {"config": {"path": data}}
    if database is not None:
        config["results_db"] = {"config": {"url": database}}
    return config
