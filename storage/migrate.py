"""Apply the Alembic migrations programmatically (``alembic upgrade head`` without an ini file).

The Alembic ``Config`` is built in code with ``script_location`` pointing at this package's
``migrations`` folder, so it works from any working directory and from an installed wheel.
For the ``alembic`` command line (new revisions), use ``alembic -c storage/alembic.ini ...``.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine
from sqlalchemy.engine import URL

from storage.engines import READ_ONLY, get_engine

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def alembic_config(url: str | URL | None = None) -> Config:
    """An Alembic config for this project's migrations (and ``url``, when given)."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    if url is not None:
        if isinstance(url, URL):
            url = url.render_as_string(hide_password=False)
        cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def _engine(url: str | URL | Engine | None) -> Engine:
    return url if isinstance(url, Engine) else get_engine(url)


def upgrade(url: str | URL | Engine | None = None, revision: str = "head") -> None:
    """``alembic upgrade head`` on ``url`` (default: ``PCS_DATABASE_URL`` / the SQLite file).

    The whole upgrade is one transaction; running it again (or concurrently) is a no-op.
    """
    engine = _engine(url)
    cfg = alembic_config(engine.url)
    with engine.connect() as connection:
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, revision)
        connection.commit()


def downgrade(url: str | URL | Engine | None = None, revision: str = "base") -> None:
    """``alembic downgrade`` (tests and development only)."""
    engine = _engine(url)
    cfg = alembic_config(engine.url)
    with engine.connect() as connection:
        cfg.attributes["connection"] = connection
        command.downgrade(cfg, revision)
        connection.commit()


def current(url: str | URL | Engine | None = None) -> str | None:
    """The database's current revision (None: not migrated)."""
    engine = _engine(url)
    with engine.connect().execution_options(**READ_ONLY) as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head() -> str | None:
    """The newest revision in ``storage/migrations``."""
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def is_current(url: str | URL | Engine | None = None) -> bool:
    """Whether the database is migrated to head."""
    return current(url) == head()
