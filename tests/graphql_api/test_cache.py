"""The response cache (``graphql_api.cache``) over HTTP, on SQLite and PostgreSQL: a rewrite of
the results invalidates it, a viewer never gets another viewer's answer, a revoked token is
refused even when its answer is cached, and answers that read the data folder or carry errors
are never stored. Each test gets a database and a real uvicorn server of its own (it rewrites
data); the ``x-pcs-cache`` header tells hits from misses. Also: PostgreSQL connections dropped
by the server are replaced, and the other latency shortcut (``perf.LeafExecutionContext``)
answers exactly as graphql-core's own execution.
"""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import polars as pl
import pytest
import sqlalchemy as sa

from graphql_api.app import create_app
from graphql_api.cache import ResponseCache
from graphql_api.config import ApiSettings
from storage.engines import dispose_engines, get_engine
from storage.tokens import create_token, revoke_token
from tests.support.api_server import (
    B_OFFSETS,
    ServerThread,
    example_results,
    month_versions,
    write_scored,
    write_version,
)
from tests.support.paths import EXAMPLE_DATA

MONTH = dt.date(2024, 6, 1)
SCORECARD_Q = (
    '{ partner(id: "P000001") { name scorecard(month: "2024-06") { score attained'
    " paths { track total metrics { metric points value } } } } }"
)
# the same document answers differently per viewer (a partner sees only itself)
PER_VIEWER_Q = (
    "{ viewer { admin partnerId } partners { totalCount nodes { id name } }"
    ' designations(month: "2024-06") { totalCount nodes { partnerId score } }'
    ' a: partner(id: "P000001") { scorecard { score } } b: partner(id: "P000002") { scorecard { score } } }'
)


@dataclass
class CachedApi:
    url: str
    db_url: str
    admin: str
    tokens: dict[str, tuple[int, str]]  # partner id -> (token id, token)
    server: ServerThread
    http: httpx.Client

    def post(self, query: str, token: str | None = None) -> httpx.Response:
        return self.http.post(
            self.url, json={"query": query}, headers={"Authorization": f"Bearer {token or self.admin}"}
        )

    def answer(self, query: str, token: str | None = None) -> tuple[dict, str]:
        """(body, x-pcs-cache) of a clean 200 answer."""
        r = self.post(query, token)
        assert r.status_code == 200, (r.status_code, r.text[:300])
        body = r.json()
        assert not body.get("errors"), body["errors"]
        return body, r.headers["x-pcs-cache"]

    @property
    def cache(self) -> ResponseCache:
        return self.server.app.state.graphql.cache


def _serve(db_url: str, data_dir: Path = EXAMPLE_DATA) -> Iterator[CachedApi]:
    write_scored(db_url, example_results())
    engine = get_engine(db_url)
    tokens = {p: create_token(engine, p, label="cache tests") for p in ("P000001", "P000002")}
    admin = "admin-cache-tests"
    settings = ApiSettings(database_url=db_url, admin_token=admin, data_dir=data_dir, cache_mb=16)
    with ServerThread(create_app(settings)) as server, httpx.Client(timeout=60) as http:
        yield CachedApi(server.url, db_url, admin, tokens, server, http)


@pytest.fixture(params=["sqlite", "postgresql"])
def cached_api(request, tmp_path, pg_server) -> Iterator[CachedApi]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'cache.sqlite'}"
        try:
            yield from _serve(url)
        finally:
            dispose_engines(url)
        return
    if pg_server.error:
        pytest.skip(pg_server.error)
    url = pg_server.create("pcs_test_cache")
    try:
        yield from _serve(url)
    finally:
        pg_server.drop(url)


def test_repeated_query_is_a_hit_with_the_same_answer(cached_api):
    first, how = cached_api.answer(SCORECARD_Q)
    assert how == "miss"
    again, how = cached_api.answer(SCORECARD_Q)
    assert how == "hit" and again == first
    assert cached_api.cache.hits >= 1


def test_a_rewrite_invalidates_the_cache(cached_api):
    versions = month_versions(example_results(), MONTH)
    a, how = cached_api.answer(SCORECARD_Q)
    assert how == "miss"
    assert cached_api.answer(SCORECARD_Q) == (a, "hit")
    # same materialized_at and run_id as before: only the data itself changed
    write_version(cached_api.db_url, MONTH, versions["B"])
    b, how = cached_api.answer(SCORECARD_Q)
    assert how == "miss"
    card_a, card_b = a["data"]["partner"]["scorecard"], b["data"]["partner"]["scorecard"]
    assert card_b["score"] == card_a["score"] + B_OFFSETS["designations"]["score"]
    assert b["data"]["partner"]["name"] == a["data"]["partner"]["name"] + " (B)"
    assert cached_api.answer(SCORECARD_Q) == (b, "hit")
    write_version(cached_api.db_url, MONTH, versions["A"])
    assert cached_api.answer(SCORECARD_Q) == (a, "miss")
    # a write to another month invalidates too (the version covers the whole database)
    write_version(cached_api.db_url, dt.date(2024, 3, 1), month_versions(example_results(), dt.date(2024, 3, 1))["A"])
    assert cached_api.answer(SCORECARD_Q) == (a, "miss")


def test_a_viewer_never_gets_another_viewers_answer(cached_api):
    (_, t1), (_, t2) = cached_api.tokens["P000001"], cached_api.tokens["P000002"]
    p1, how1 = cached_api.answer(PER_VIEWER_Q, t1)
    p1_again, how1_again = cached_api.answer(PER_VIEWER_Q, t1)  # now cached for P000001
    p2, how2 = cached_api.answer(PER_VIEWER_Q, t2)
    admin, how_admin = cached_api.answer(PER_VIEWER_Q)
    assert (how1, how1_again, how2, how_admin) == ("miss", "hit", "miss", "miss")
    assert p1_again == p1
    assert p1["data"]["viewer"] == {"admin": False, "partnerId": "P000001"}
    assert p1["data"]["partners"]["nodes"] == [{"id": "P000001", "name": "Partner 1"}]
    assert [n["partnerId"] for n in p1["data"]["designations"]["nodes"]] == ["P000001"]
    assert p1["data"]["a"] is not None and p1["data"]["b"] is None
    assert p2["data"]["viewer"] == {"admin": False, "partnerId": "P000002"}
    assert p2["data"]["partners"]["nodes"] == [{"id": "P000002", "name": "Partner 2"}]
    assert p2["data"]["a"] is None and p2["data"]["b"] is not None
    assert admin["data"]["viewer"] == {"admin": True, "partnerId": None}
    assert admin["data"]["partners"]["totalCount"] == 30
    # each answer is served again to its own viewer only
    assert cached_api.answer(PER_VIEWER_Q, t2) == (p2, "hit")
    assert cached_api.answer(PER_VIEWER_Q) == (admin, "hit")
    assert cached_api.answer(PER_VIEWER_Q, t1) == (p1, "hit")
    # a second token of the same partner reads the same data: it may share that partner's answers
    _, other_t1 = create_token(get_engine(cached_api.db_url), "P000001", label="second")
    assert cached_api.answer(PER_VIEWER_Q, other_t1)[0] == p1


def test_a_revoked_token_is_refused_even_with_its_answer_cached(cached_api):
    token_id, token = cached_api.tokens["P000001"]
    q = '{ partner(id: "P000001") { scorecard { score } } }'
    body, _ = cached_api.answer(q, token)
    assert cached_api.answer(q, token) == (body, "hit")
    assert revoke_token(get_engine(cached_api.db_url), token_id)
    r = cached_api.post(q, token)
    assert r.status_code == 401 and "data" not in r.json()
    assert r.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    # the other partner's token still works; unknown tokens are refused
    _, t2 = cached_api.tokens["P000002"]
    assert cached_api.post(q.replace("P000001", "P000002"), t2).status_code == 200
    assert cached_api.post(q, "pcs_not-a-token").status_code == 401


def test_answers_with_errors_are_not_stored(cached_api):
    q = '{ months designations(month: "2024-06", first: 1000) { totalCount } }'
    for _ in range(2):
        r = cached_api.post(q)
        assert r.status_code == 200 and r.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
        assert r.headers["x-pcs-cache"] == "bypass"
    r = cached_api.post("{ months nonsense }")
    assert r.headers["x-pcs-cache"] == "bypass" and r.json()["errors"]


def test_answers_reading_the_data_folder_are_not_stored(tmp_path):
    """The skilling report reads the certifications file, which the data version does not
    cover: a changed file shows at once."""
    data = tmp_path / "data"
    shutil.copytree(EXAMPLE_DATA, data)
    url = f"sqlite:///{tmp_path / 'skilling.sqlite'}"
    q = '{ partner(id: "P000000") { skilling(month: "2024-09") { intermediatePersons advancedPersons persons { personId } } } }'
    try:
        for api in _serve(url, data_dir=data):
            before, how = api.answer(q)
            assert how == "bypass" and before["data"]["partner"]["skilling"]["persons"]
            assert api.answer(q)[1] == "bypass"
            certs = data / "certifications.csv"
            frame = pl.read_csv(certs, infer_schema=False)
            frame.filter(pl.col("partner_id") != "P000000").write_csv(certs)
            after, how = api.answer(q)
            assert how == "bypass"
            assert after["data"]["partner"]["skilling"] == {
                "intermediatePersons": 0,
                "advancedPersons": 0,
                "persons": [],
            }
            # the same request with a database-only field mixed in is not stored either
            mixed = q.replace("skilling", "scorecard { score } skilling", 1)
            assert api.answer(mixed)[1] == "bypass"
    finally:
        dispose_engines(url)


def test_cache_off_computes_every_answer(tmp_path):
    url = f"sqlite:///{tmp_path / 'nocache.sqlite'}"
    write_scored(url, example_results())
    settings = ApiSettings(database_url=url, admin_token="admin", data_dir=EXAMPLE_DATA, cache_mb=0)
    try:
        with ServerThread(create_app(settings)) as server, httpx.Client(timeout=60) as http:
            for _ in range(3):
                r = http.post(server.url, json={"query": SCORECARD_Q}, headers={"Authorization": "Bearer admin"})
                assert r.status_code == 200 and r.headers["x-pcs-cache"] == "bypass"
            assert len(server.app.state.graphql.cache) == 0
    finally:
        dispose_engines(url)


def test_the_cache_stays_within_its_bytes():
    cache = ResponseCache(100_000)
    for i in range(1000):
        cache.put(("admin", str(i).encode()), 1, b"x" * 1000, 10)
        assert cache.bytes <= 100_000
    assert 50 <= len(cache) < 100
    assert cache.get(("admin", b"999"), 1) == b"x" * 1000  # the newest stay
    assert cache.get(("admin", b"0"), 1) is None  # the oldest went first
    assert cache.get(("admin", b"999"), 2) is None  # another version: a miss
    cache.put(("admin", b"big"), 1, b"x" * 50_000, 10)  # more than 1/8 of the cache: not stored
    assert cache.get(("admin", b"big"), 1) is None


def test_postgresql_connections_dropped_by_the_server_are_replaced(pg_server, caplog):
    """The version reader keeps one connection per worker out of the pool: when the server drops
    it (restart, idle timeout), the next request reconnects instead of failing."""
    if pg_server.error:
        pytest.skip(pg_server.error)
    url = pg_server.create("pcs_test_cache_drop")
    try:
        for api in _serve(url):
            first, how = api.answer(SCORECARD_Q)
            assert how == "miss"
            killer = sa.create_engine(url, poolclass=sa.pool.NullPool)
            with killer.connect() as c:
                killed = c.exec_driver_sql(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                    " WHERE datname = current_database() AND pid <> pg_backend_pid()"
                ).scalar()
            killer.dispose()
            assert killed >= 1
            assert api.answer(SCORECARD_Q) == (first, "hit")
            assert any("dropped by the server" in r.getMessage() for r in caplog.records)
            other = SCORECARD_Q.replace("2024-06", "2024-07")
            assert api.answer(other)[1] == "miss"  # a request's own (pooled) connection too
    finally:
        pg_server.drop(url)


# ---- the other shortcut of issue 7: plain leaf fields without graphql-core's per-field work -----

LEAF_QUERIES = [
    '{ designations(month: "2024-05", first: 30) { totalCount edges { cursor node { partnerId month attained'
    " bestTrack score rulebookId paths { track total qualifies metricsAtMinimum metrics { metric points maxPoints"
    " value option current yearAgo adjustment options { option value points current yearAgo adjustment isWinner }"
    " } } partner { id name inRegistry } } } pageInfo { hasNextPage endCursor } } }",
    '{ partner(id: "P000003") { id name trend { months attained bestTrack score { values monthOverMonth yearOverYear }'
    " paths { track qualifies metrics { metric points { values } } } }"
    ' customers(month: "2024-09", first: 20) { totalCount nodes { tenantId track option eligible seatBand'
    " maxPaidSeats associatedOn activeRatio counted workloads { workload associatedOn paidSeats } } } } }",
    "{ months scoredMonths { month rulebookId lastMaterializedAt partnersScored partnersAttained runId }"
    ' lastMaterializedAt viewer { admin partnerId } a: partner(id: "NOPE") { id } }',
    '{ __typename partner(id: "P000001") { __typename scorecard { __typename score s2: score } } }',
    '{ designations(month: "2024-05", first: 500) { totalCount } }',  # an error
    '{ partner(id: "P000001") { history(from: "2024-06", to: "2024-01") { month } } }',  # an error
]


@pytest.mark.parametrize("query", LEAF_QUERIES)
def test_leaf_execution_answers_as_graphql_core_does(tmp_path, query):
    """``schema.LeafExecutionContext`` completes plain scalar and enum fields itself: every
    answer, errors included, is the one graphql-core's own execution gives."""
    import asyncio

    from graphql_api.app import PcsGraphQL
    from graphql_api.auth import ADMIN
    from graphql_api.schema import LeafExecutionContext, build_schema

    url = f"sqlite:///{tmp_path / 'leaf.sqlite'}"
    write_scored(url, example_results())
    view = PcsGraphQL(ApiSettings(database_url=url, admin_token="admin", data_dir=EXAMPLE_DATA))
    fast, stock = build_schema(), build_schema(leaf_execution=False)
    assert fast.execution_context_class is LeafExecutionContext
    assert stock.execution_context_class is not LeafExecutionContext

    async def both() -> tuple:
        out = []
        for schema in (fast, stock):
            rdb = view.new_db()
            try:
                result = await schema.execute(query, context_value=view.new_context(ADMIN, rdb))
            finally:
                rdb.close()
            out.append((result.data, [(e.message, e.path) for e in result.errors or []]))
        return tuple(out)

    try:
        got, want = asyncio.run(both())
    finally:
        dispose_engines(url)
    assert got == want
    assert want[0] is not None or want[1]
