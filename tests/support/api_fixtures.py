"""pytest fixtures of the API tests (registered by ``tests/conftest.py``): the example folder
scored by the real scoring, written to SQLite and PostgreSQL,
each served by a real uvicorn server, once per test session (per xdist worker).

Uses the ``pg_server`` fixture of ``tests/conftest.py`` for throwaway PostgreSQL databases.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from storage.engines import dispose_engines
from tests.support.api_server import Api, serve_example
from tests.support.paths import EXAMPLE_2026, EXAMPLE_DATA


def _skip_without_example() -> None:
    if not EXAMPLE_DATA.exists():
        pytest.skip(f"{EXAMPLE_DATA} is not beside the project")


@pytest.fixture(scope="session")
def api_sqlite(tmp_path_factory) -> Iterator[Api]:
    """The example results in a SQLite file, served over HTTP."""
    url = f"sqlite:///{tmp_path_factory.mktemp('api') / 'api.sqlite'}"
    _skip_without_example()
    yield from serve_example(url)
    dispose_engines(url)


@pytest.fixture(scope="session")
def api_postgresql(pg_server) -> Iterator[Api]:
    """The example results in a throwaway PostgreSQL database, served over HTTP."""
    if pg_server.error:
        pytest.skip(pg_server.error)
    _skip_without_example()
    url = pg_server.create("pcs_test_api")
    try:
        yield from serve_example(url)
    finally:
        pg_server.drop(url)


@pytest.fixture(scope="session")
def api_2026(tmp_path_factory) -> Iterator[Api]:
    """The 2026 example's results (2026-08..2027-07, across the revision) in SQLite, served."""
    if not (EXAMPLE_2026 / "data").exists():
        pytest.skip(f"{EXAMPLE_2026} is not beside the project")
    url = f"sqlite:///{tmp_path_factory.mktemp('api2026') / 'api.sqlite'}"
    yield from serve_example(url, across_2026=True)
    dispose_engines(url)


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def api(request) -> Api:
    """Both backends (the smoke set)."""
    return request.getfixturevalue(f"api_{request.param}")
