"""Test and benchmark helpers: a real uvicorn server in a thread, the example data scored by the
real scoring and written by the real storage layer, and a small httpx GraphQL client.

The pytest fixtures built on them are in ``tests.support.api_fixtures``.
"""

from __future__ import annotations

import datetime as dt
import functools
import multiprocessing
import secrets
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Self

import httpx
import polars as pl
import uvicorn

from graphql_api.app import create_app
from graphql_api.config import ApiSettings
from scoring.calendar import month_range
from scoring.service import ScoredRange, score_months
from storage import migrate
from storage.engines import get_engine
from storage.results import write_results
from storage.tokens import create_token
from tests.support.paths import EXAMPLE_2026, EXAMPLE_DATA

EXAMPLE_MONTHS = month_range(dt.date(2024, 1, 1), dt.date(2024, 12, 1))
EXAMPLE_2026_MONTHS = month_range(dt.date(2026, 8, 1), dt.date(2027, 7, 1))  # 2026-08 under the 2023 rules
MATERIALIZED_AT = dt.datetime(2025, 1, 20, 6, 0, tzinfo=dt.UTC)


# ---- data ------------------------------------------------------------------------------------


@functools.cache
def example_results() -> ScoredRange:
    """The example folder's 2024 scored by the real scoring (once per process)."""
    return score_months(EXAMPLE_MONTHS, directory=EXAMPLE_DATA)


@functools.cache
def example_2026_results() -> ScoredRange:
    """The 2026 example folder's 2026-08..2027-07 scored by the real scoring (once per process)."""
    return score_months(EXAMPLE_2026_MONTHS, directory=EXAMPLE_2026 / "data")


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


# ---- a month rewritten again and again (read-consistency tests) ---------------------------------

# the "B" version of a month: every result table and the partner names differ from "A" (the real
# scoring) by a known amount, so an answer that mixes rows of both versions equals neither
B_OFFSETS = {
    "designations": {"score": 1000.0},
    "path_scores": {"total": 2000.0},
    "metric_points": {"points": 3000.0, "value": 4000},
    "customer_details": {"paid_seats": 5000},
    "holdings": {"paid_seats": 6000},
    "eligible_tenants": {"max_paid_seats": 7000},
}
B_NAME_SUFFIX = " (B)"


def month_versions(scored: ScoredRange, month: dt.date) -> dict[str, tuple[dict[str, pl.DataFrame], pl.DataFrame]]:
    """``{"A": (frames, partners), "B": (frames, partners)}`` for one month: A is the scoring's,
    B is A with ``B_OFFSETS`` added and ``B_NAME_SUFFIX`` appended to every partner name."""
    a = {name: df.filter(pl.col("month") == month) for name, df in scored.result.frames().items()}
    b = {
        name: df.with_columns(*(pl.col(c) + v for c, v in B_OFFSETS.get(name, {}).items())) if name in B_OFFSETS else df
        for name, df in a.items()
    }
    partners_b = scored.partners.with_columns(pl.col("partner_name") + B_NAME_SUFFIX)
    return {"A": (a, scored.partners), "B": (b, partners_b)}


def save_versions(versions: dict, folder: Path) -> None:
    """Write ``month_versions(...)`` as parquet files for ``rewrite_loop`` (another process)."""
    for tag, (frames, partners) in versions.items():
        d = folder / tag
        d.mkdir(parents=True, exist_ok=True)
        for name, df in frames.items():
            df.write_parquet(d / f"{name}.parquet")
        partners.write_parquet(d / "partners.parquet")


def load_version(folder: Path) -> tuple[dict[str, pl.DataFrame], pl.DataFrame]:
    frames = {p.stem: pl.read_parquet(p) for p in folder.glob("*.parquet") if p.stem != "partners"}
    return frames, pl.read_parquet(folder / "partners.parquet")


def write_version(url: str, month: dt.date, version: tuple[dict[str, pl.DataFrame], pl.DataFrame]) -> None:
    """Rewrite ``month`` with one version; the freshness row is the same for every version (the
    same ``materialized_at`` and ``run_id``), so only the data itself tells them apart."""
    frames, partners = version
    write_results(
        get_engine(url),
        months=[month],
        frames=frames,
        partners=partners,
        scored=[{"month": month, "materialized_at": MATERIALIZED_AT, "run_id": "test-run"}],
    )


def rewrite_loop(url: str, folder: str, month: dt.date, stop, rewrites, errors) -> None:
    """Process target: rewrite ``month`` with A, B, A, B, ... (from ``save_versions`` files
    under ``folder``) until ``stop`` is set; counts into ``rewrites`` (a shared int), puts a
    failure's text on ``errors`` (a queue) and stops."""
    versions = [load_version(Path(folder) / "A"), load_version(Path(folder) / "B")]
    i = 0
    try:
        while not stop.is_set():
            write_version(url, month, versions[i % 2])
            i += 1
            with rewrites.get_lock():
                rewrites.value = i
    except BaseException as exc:
        errors.put(f"{exc.__class__.__name__}: {exc}")


class Rewriter:
    """``rewrite_loop`` in a spawned process (a writer of its own, as the pipeline is)."""

    def __init__(self, url: str, folder: Path, month: dt.date) -> None:
        ctx = multiprocessing.get_context("spawn")
        self.stop = ctx.Event()
        self.rewrites = ctx.Value("q", 0)
        self.errors = ctx.Queue()
        self.proc = ctx.Process(
            target=rewrite_loop, args=(url, str(folder), month, self.stop, self.rewrites, self.errors), daemon=True
        )

    def __enter__(self) -> Self:
        self.proc.start()
        return self

    def wait_for(self, n: int, timeout: float = 120) -> None:
        """Block until ``n`` rewrites are done (the process takes a few seconds to start)."""
        deadline = time.monotonic() + timeout
        while self.rewrites.value < n:
            if not self.proc.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"the rewriter did not get going: {self.failures()}")
            time.sleep(0.05)

    def failures(self) -> list[str]:
        out = []
        while not self.errors.empty():
            out.append(self.errors.get_nowait())
        return out

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.proc.join(timeout=60)
        if self.proc.is_alive():
            self.proc.kill()
            self.proc.join()


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


def serve_example(db_url: str, *, across_2026: bool = False) -> Iterator[Api]:
    """Write the example results (the 2026 example's with ``across_2026``) into ``db_url``, make
    tokens, serve it (a generator: yields once, stops the server when resumed)."""
    write_scored(db_url, example_2026_results() if across_2026 else example_results())
    admin = "admin-" + secrets.token_urlsafe(16)
    engine = get_engine(db_url)
    tokens = {p: create_token(engine, p, label="tests")[1] for p in API_PARTNERS}
    data_dir = EXAMPLE_2026 / "data" if across_2026 else EXAMPLE_DATA
    settings = ApiSettings(database_url=db_url, admin_token=admin, data_dir=data_dir)
    with ServerThread(create_app(settings)) as server:
        api = Api(db_url, server, admin, tokens)
        try:
            yield api
        finally:
            api.client.close()
