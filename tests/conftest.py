"""Shared database fixtures: every test that takes ``db_url`` / ``engine`` runs twice, against a
real SQLite file and a real PostgreSQL database.

PostgreSQL: ``PCS_TEST_PG_URL`` (default ``postgresql+psycopg://postgres@127.0.0.1:5432/test``)
is only used to create and drop databases: each test session (each xdist worker) makes its own
``pcs_test_<random>`` database, migrated once and emptied before every test, and drops it at the
end. When the server cannot be reached the PostgreSQL variants are skipped (``-ra`` says why).

Fixtures:
  ``db_backend``    "sqlite" | "postgresql" (parametrized)
  ``db_url``        a migrated, empty results database of that backend
  ``engine``        ``storage.engines.get_engine(db_url)``
  ``empty_db_url``  a brand-new database with no tables at all (for migration tests)
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from storage import migrate
from storage.engines import dispose_engines, get_engine
from storage.models import metadata

pytest_plugins = ("tests.support.api_fixtures",)

PG_ADMIN_URL = os.environ.get("PCS_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
BACKENDS = ("sqlite", "postgresql")


class _PgServer:
    """Creates and drops throwaway databases on the test server (autocommit connection)."""

    def __init__(self, admin_url: str):
        self.admin_url = make_url(admin_url)
        self._admin: sa.Engine | None = None
        self.error: str | None = None
        try:
            self._admin = sa.create_engine(self.admin_url, isolation_level="AUTOCOMMIT")
            with self._admin.connect() as c:
                c.exec_driver_sql("SELECT 1")
        except Exception as exc:  # no server: PostgreSQL tests are skipped
            self.error = f"PostgreSQL not reachable at {admin_url}: {exc.__class__.__name__}: {exc}"
            self._admin = None

    def create(self, prefix: str = "pcs_test") -> str:
        name = f"{prefix}_{uuid.uuid4().hex[:12]}"
        with self._admin.connect() as c:
            c.exec_driver_sql(f'CREATE DATABASE "{name}"')
        return self.admin_url.set(database=name).render_as_string(hide_password=False)

    def drop(self, url: str) -> None:
        dispose_engines(url)
        name = make_url(url).database
        with self._admin.connect() as c:
            c.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def close(self) -> None:
        if self._admin is not None:
            self._admin.dispose()


@pytest.fixture(scope="session")
def pg_server() -> Iterator[_PgServer]:
    server = _PgServer(PG_ADMIN_URL)
    yield server
    server.close()


@pytest.fixture(scope="session")
def pg_session_db(pg_server) -> Iterator[str | None]:
    """This session's migrated PostgreSQL database (None when there is no server)."""
    if pg_server.error:
        yield None
        return
    url = pg_server.create()
    try:
        migrate.upgrade(url)
        yield url
    finally:
        pg_server.drop(url)


@pytest.fixture(params=BACKENDS)
def db_backend(request) -> str:
    return request.param


def _truncate_all(url: str) -> None:
    """Empty every table; on PostgreSQL also drop the months' partitions, so each test starts
    with none (a truncate empties them but keeps them)."""
    names = ", ".join(f'"{t.name}"' for t in metadata.sorted_tables)
    with get_engine(url).begin() as c:
        c.exec_driver_sql(f"TRUNCATE {names} RESTART IDENTITY")
        if c.dialect.name == "postgresql":
            parts = (
                c.exec_driver_sql("SELECT tablename FROM pg_tables WHERE schemaname = 'pcs_partitions'").scalars().all()
            )
            for name in parts:
                c.exec_driver_sql(f'DROP TABLE pcs_partitions."{name}"')


@pytest.fixture
def db_url(db_backend, tmp_path, pg_server, pg_session_db) -> Iterator[str]:
    """A migrated results database with no rows, of ``db_backend``."""
    if db_backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'pcs.sqlite'}"
        migrate.upgrade(url)
        yield url
        dispose_engines(url)
        return
    if pg_session_db is None:
        pytest.skip(pg_server.error)
    _truncate_all(pg_session_db)
    yield pg_session_db


@pytest.fixture
def engine(db_url) -> sa.Engine:
    return get_engine(db_url)


@pytest.fixture
def empty_db_url(db_backend, tmp_path, pg_server) -> Iterator[str]:
    """A new database without any table (not migrated)."""
    if db_backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'empty.sqlite'}"
        yield url
        dispose_engines(url)
        return
    if pg_server.error:
        pytest.skip(pg_server.error)
    url = pg_server.create("pcs_test_empty")
    try:
        yield url
    finally:
        pg_server.drop(url)
