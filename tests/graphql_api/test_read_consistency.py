"""Read consistency under writes (issue 8): every GraphQL request reads one snapshot, so it sees a
month either wholly before or wholly after a concurrent rewrite, never a mix.

A real uvicorn server (``tests.support.api_server.ServerThread``) serves a database while another
process rewrites one month with ``write_results`` again and again, alternating two versions: A
(the example folder's real scoring) and B (A with a known offset added to every result table
and a suffix on every partner name; see ``tests.support.api_server.B_OFFSETS``). Several client
threads meanwhile ask for scorecards, designation pages, path scores, customers and a trend of
that month, as the admin and as a partner. Every answer must be exactly the A answer or exactly
the B answer of its query (both taken from the quiet database beforehand): since every table
differs between A and B, an answer built from rows of both equals neither. SQLite and
PostgreSQL, with the response cache on and off (off: every answer comes from the database).

``PCS_CONSISTENCY_SECONDS`` (default 8) is how long each case runs its clients.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import threading
import time
from collections import Counter
from dataclasses import dataclass, field

import httpx
import pytest

from graphql_api.app import create_app
from graphql_api.config import ApiSettings
from storage.engines import dispose_engines, get_engine
from storage.tokens import create_token
from tests.support.api_server import (
    B_NAME_SUFFIX,
    B_OFFSETS,
    Rewriter,
    ServerThread,
    example_results,
    month_versions,
    save_versions,
    write_scored,
    write_version,
)
from tests.support.paths import EXAMPLE, EXAMPLE_DATA

MONTH = dt.date(2024, 6, 1)
M = MONTH.isoformat()[:7]
SECONDS = float(os.environ.get("PCS_CONSISTENCY_SECONDS", "8"))
PARTNER = "P000001"

SCORECARD = """partnerId month attained bestTrack score
  paths { track total qualifies metrics { metric points maxPoints value option options { option value points } } }"""

# name -> (viewer, query); each reads several tables of the rewritten month in one request
QUERIES = {
    "scorecard": ("admin", f'{{ partner(id: "P000000") {{ name scorecard(month: "{M}") {{ {SCORECARD} }} }} }}'),
    "page": (
        "admin",
        f'{{ designations(month: "{M}", first: 12) {{ totalCount edges {{ cursor node {{ {SCORECARD} partner {{ name }} }} }} }} }}',
    ),
    "path_scores": (
        "admin",
        f'{{ partners(first: 30) {{ nodes {{ id name history(from: "{M}", to: "{M}") {{ score paths {{ track total qualifies }} }} }} }} }}',
    ),
    "customers": (
        "admin",
        f'{{ partner(id: "P000000") {{ name customers(month: "{M}", first: 20) {{ totalCount nodes {{ tenantId track option'
        " paidSeats maxPaidSeats workloads { workload paidSeats } } } } }",
    ),
    "trend": (
        "admin",
        '{ partner(id: "P000003") { trend(from: "2024-05", to: "2024-07") { months score { values monthOverMonth }'
        " paths { track total { values } metrics { metric points { values } } } } } }",
    ),
    "partner_token": (
        "partner",
        f'{{ partner(id: "{PARTNER}") {{ name scorecard(month: "{M}") {{ {SCORECARD} }}'
        f' customers(month: "{M}", first: 5) {{ nodes {{ tenantId paidSeats }} }} }}'
        f' designations(month: "{M}") {{ nodes {{ partnerId score }} }} }}',
    ),
}


@dataclass
class Tally:
    lock: threading.Lock = field(default_factory=threading.Lock)
    served: int = 0
    errors: list[str] = field(default_factory=list)
    mixed: list[str] = field(default_factory=list)
    seen: Counter = field(default_factory=Counter)  # (query, "A" | "B")
    cache: Counter = field(default_factory=Counter)  # x-pcs-cache values


def _post(http: httpx.Client, url: str, token: str, query: str) -> httpx.Response:
    return http.post(url, json={"query": query}, headers={"Authorization": f"Bearer {token}"})


def _answers(url: str, tokens: dict[str, str]) -> dict[str, dict]:
    with httpx.Client(timeout=60) as http:
        out = {}
        for name, (who, q) in QUERIES.items():
            r = _post(http, url, tokens[who], q)
            body = r.json()
            assert r.status_code == 200 and not body.get("errors"), (name, r.text[:500])
            out[name] = body
        return out


def _client(url: str, tokens: dict[str, str], offset: int, deadline: float, tally: Tally, expected: dict) -> None:
    names = list(QUERIES)
    with httpx.Client(timeout=60) as http:
        i = offset
        while time.monotonic() < deadline:
            name = names[i % len(names)]
            i += 1
            who, q = QUERIES[name]
            try:
                r = _post(http, url, tokens[who], q)
                body = r.json()
            except Exception as exc:
                with tally.lock:
                    tally.errors.append(f"{name}: {exc.__class__.__name__}: {exc}")
                continue
            with tally.lock:
                tally.served += 1
                tally.cache[r.headers.get("x-pcs-cache")] += 1
                if r.status_code != 200 or body.get("errors"):
                    tally.errors.append(f"{name}: HTTP {r.status_code}: {r.text[:300]}")
                elif body == expected["A"][name]:
                    tally.seen[(name, "A")] += 1
                elif body == expected["B"][name]:
                    tally.seen[(name, "B")] += 1
                else:
                    tally.mixed.append(f"{name}: {json.dumps(body)[:300]}")


def _check_versions_differ(expected: dict) -> None:
    """A is the real scoring, B is A shifted; every query's two answers differ."""
    cards = {(c["partnerId"], c["month"]): c for c in json.loads((EXAMPLE / "expected-scorecards.json").read_text())}
    a = expected["A"]["scorecard"]["data"]["partner"]
    b = expected["B"]["scorecard"]["data"]["partner"]
    assert a["scorecard"] == cards[("P000000", M)]
    assert b["name"] == a["name"] + B_NAME_SUFFIX
    assert b["scorecard"]["score"] == a["scorecard"]["score"] + B_OFFSETS["designations"]["score"]
    assert [p["total"] for p in b["scorecard"]["paths"]] == [
        p["total"] + B_OFFSETS["path_scores"]["total"] for p in a["scorecard"]["paths"]
    ]
    for name in QUERIES:
        assert expected["A"][name] != expected["B"][name], name


def _run_case(url: str, cache_mb: float, tmp_path, backend: str) -> None:
    scored = example_results()
    write_scored(url, scored)  # every month as the scoring gives it: A
    engine = get_engine(url)
    tokens = {"partner": create_token(engine, PARTNER, label="consistency")[1], "admin": "admin-consistency"}
    versions = month_versions(scored, MONTH)
    save_versions(versions, tmp_path / "versions")
    settings = ApiSettings(database_url=url, admin_token=tokens["admin"], data_dir=EXAMPLE_DATA, cache_mb=cache_mb)
    with ServerThread(create_app(settings)) as server:
        expected = {"A": _answers(server.url, tokens)}
        write_version(url, MONTH, versions["B"])
        expected["B"] = _answers(server.url, tokens)
        _check_versions_differ(expected)

        tally = Tally()
        with Rewriter(url, tmp_path / "versions", MONTH) as writer:
            writer.wait_for(2)  # the writer process is up and rewriting
            start = writer.rewrites.value
            deadline = time.monotonic() + SECONDS
            clients = [
                threading.Thread(target=_client, args=(server.url, tokens, i, deadline, tally, expected))
                for i in range(5)
            ]
            for c in clients:
                c.start()
            for c in clients:
                c.join()
            rewrites = writer.rewrites.value - start
            failures = writer.failures()
        cache = server.app.state.graphql.cache

    print(
        f"\n[read consistency] {backend}, cache {'on' if cache_mb else 'off'}: {tally.served} requests served "
        f"in {SECONDS:.0f} s by 5 clients, {rewrites} rewrites of {M} meanwhile, {len(tally.errors)} errors, "
        f"{len(tally.mixed)} mixed answers; answers A/B: {sum(n for (_, v), n in tally.seen.items() if v == 'A')}/"
        f"{sum(n for (_, v), n in tally.seen.items() if v == 'B')}; x-pcs-cache {dict(tally.cache)}"
        f" (cache hits {cache.hits}, misses {cache.misses})"
    )
    assert not failures, failures
    assert not tally.errors, tally.errors[:5]
    assert not tally.mixed, tally.mixed[:3]
    assert rewrites >= 4, f"only {rewrites} rewrites: the test did not exercise concurrent writes"
    assert tally.served >= 100
    for name in QUERIES:  # each query saw both versions: the writes really interleaved with it
        assert tally.seen[(name, "A")] and tally.seen[(name, "B")], (name, tally.seen)
    if not cache_mb:
        assert set(tally.cache) == {"bypass"}


@pytest.mark.parametrize("cache_mb", [64, 0], ids=["cache", "nocache"])
def test_sqlite_answers_are_never_a_mix_of_two_writes(tmp_path, cache_mb):
    url = f"sqlite:///{tmp_path / 'consistency.sqlite'}"
    try:
        _run_case(url, cache_mb, tmp_path, "sqlite")
    finally:
        dispose_engines(url)


@pytest.mark.parametrize("cache_mb", [64, 0], ids=["cache", "nocache"])
def test_postgresql_answers_are_never_a_mix_of_two_writes(pg_server, tmp_path, cache_mb):
    if pg_server.error:
        pytest.skip(pg_server.error)
    url = pg_server.create("pcs_test_consistency")
    try:
        _run_case(url, cache_mb, tmp_path, "postgresql")
    finally:
        pg_server.drop(url)
