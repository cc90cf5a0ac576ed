"""Test and benchmark helpers: a real uvicorn server in a thread, the example data scored by the
real scoring and written by the real storage layer, and a small httpx GraphQL client.

The pytest fixtures built on them are in ``graphql_api.pytest_plugin``.
"""

from __future__ import annotations

import datetime as dt
import functools
import secrets
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Self

import httpx
import uvicorn

from graphql_api.app import create_app
from graphql_api.config import ApiSettings
from graphql_api.tokens import create_token
from orchestration.scoring.engine import month_range
from orchestration.scoring.service import ScoredRange, score_months
from storage import migrate
from storage.results import write_results
from storage.settings import get_engine

PROJECT_ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = PROJECT_ROOT.parent / "shared" / "examples" / "small"
EXAMPLE_DATA = EXAMPLE / "data"
EXAMPLE_MONTHS = month_range(dt.date(2024, 1, 1), dt.date(2024, 12, 1))
MATERIALIZED_AT = dt.datetime(2025, 1, 20, 6, 0, tzinfo=dt.UTC)


# ---- data ------------------------------------------------------------------------------------


@functools.cache
def example_results() -> ScoredRange:
    """The example folder's 2024 scored by the real scoring (once per process)."""
    return score_months(EXAMPLE_MONTHS, directory=EXAMPLE_DATA)


def write_scored(url: str, scored: ScoredRange, *, run_id: str | None = "test-run") -> None:
    """Migrate ``url`` and write ``scored`` with the storage layer."""
    migrate.upgrade(url)
    write_results(
        get_engine(url),
        months=scored.months,
        frames=scored.result.frames(),
        partners=scored.partners,
        scored=[{"month": m, "materialized_at": MATERIALIZED_AT, "run_id": run_id} for m in scored.months],
    )


# ---- server ------------------------------------------------------------------------------------


class ServerThread:
    """uvicorn serving ``app`` on a free loopback port, in a daemon thread."""

    def __init__(self, app: Any, *, log_level: str = "warning") -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.app = app
        config = uvicorn.Config(app, log_level=log_level, access_log=False, lifespan="off")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/graphql"

    def __enter__(self) -> Self:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the API server did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=15)
        self.sock.close()


# ---- client ------------------------------------------------------------------------------------


class GraphQLClient:
    """POSTs GraphQL documents with a bearer token; ``data()`` asserts a clean answer."""

    def __init__(self, url: str, token: str | None = None, *, timeout: float = 60) -> None:
        self.url = url
        self.token = token
        self.http = httpx.Client(timeout=timeout)

    def close(self) -> None:
        self.http.close()

    def post(self, query: str, variables: dict | None = None, *, token: str | None | bool = True) -> httpx.Response:
        token = self.token if token is True else token
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        body: dict[str, Any] = {"query": query}
        if variables is not None:
            body["variables"] = variables
        return self.http.post(self.url, json=body, headers=headers)

    def execute(self, query: str, variables: dict | None = None, **kw: Any) -> dict:
        r = self.post(query, variables, **kw)
        assert r.status_code == 200, (r.status_code, r.text[:500])
        return r.json()

    def data(self, query: str, variables: dict | None = None, **kw: Any) -> dict:
        body = self.execute(query, variables, **kw)
        assert not body.get("errors"), body["errors"]
        return body["data"]


# ---- a served database -----------------------------------------------------------------------


class Api:
    """A served database: its URL, the server, the admin token and two partner tokens."""

    def __init__(self, db_url: str, server: ServerThread, admin: str, tokens: dict[str, str]) -> None:
        self.db_url = db_url
        self.server = server
        self.url = server.url
        self.admin = admin
        self.tokens = tokens  # partner id -> token
        self.client = GraphQLClient(server.url, admin)

    def as_partner(self, partner_id: str) -> GraphQLClient:
        return GraphQLClient(self.url, self.tokens[partner_id])


API_PARTNERS = ("P000001", "P000002")


def serve_example(db_url: str) -> Iterator[Api]:
    """Write the example results into ``db_url``, make tokens, serve it (a generator: yields
    once, stops the server when resumed)."""
    write_scored(db_url, example_results())
    admin = "admin-" + secrets.token_urlsafe(16)
    engine = get_engine(db_url)
    tokens = {p: create_token(engine, p, label="tests")[1] for p in API_PARTNERS}
    settings = ApiSettings(database_url=db_url, admin_token=admin, data_dir=EXAMPLE_DATA)
    with ServerThread(create_app(settings)) as server:
        api = Api(db_url, server, admin, tokens)
        try:
            yield api
        finally:
            api.client.close()
