"""The GraphQL API over HTTP: a real uvicorn server, over the example folder scored by the real
scoring and written by the real storage layer (fixtures in ``tests.support.api_server``).

The full suite runs on SQLite; ``test_smoke_*`` run on SQLite and PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
from collections import Counter

import httpx
import polars as pl
import pytest
from sqlalchemy import event

from graphql_api.app import create_app
from graphql_api.config import ApiSettings
from graphql_api.pagination import encode_cursor
from storage.engines import dispose_engines, get_engine
from storage.results import write_results
from tests.support.api_server import GraphQLClient, ServerThread, example_results, write_scored
from tests.support.paths import EXAMPLE
from tests.support.scorecards import SCORECARD, assert_close

EXPECTED_FILE = EXAMPLE / "expected-scorecards.json"


@pytest.fixture(scope="module")
def expected() -> dict[tuple[str, str], dict]:
    cards = json.loads(EXPECTED_FILE.read_text())
    return {(c["partnerId"], c["month"]): c for c in cards}


# ---- scorecards equal the expected JSON --------------------------------------------------------


def test_every_scorecard_equals_the_expected_json(api_sqlite, expected):
    data = api_sqlite.client.data(
        f"{{ partners(first: 100) {{ totalCount edges {{ node {{ id history {{ {SCORECARD} }} }} }} }} }}"
    )
    got = {}
    for edge in data["partners"]["edges"]:
        months = [c["month"] for c in edge["node"]["history"]]
        assert months == sorted(months), "history is ascending"
        for card in edge["node"]["history"]:
            assert card["partnerId"] == edge["node"]["id"]
            got[(card["partnerId"], card["month"])] = card
    assert data["partners"]["totalCount"] == 30
    assert set(got) == set(expected) and len(got) == 360
    for key, want in expected.items():
        assert_close(got[key], want, str(key))


@pytest.mark.parametrize(("partner", "month"), [("P000000", "2024-09"), ("P000003", "2024-04"), ("P000017", "2024-12")])
def test_scorecard_of_a_month(api_sqlite, expected, partner, month):
    q = f"query($id: ID!, $m: Month) {{ partner(id: $id) {{ id scorecard(month: $m) {{ {SCORECARD} }} }} }}"
    data = api_sqlite.client.data(q, {"id": partner, "m": month})
    assert_close(data["partner"]["scorecard"], expected[(partner, month)])


def test_scorecard_defaults_to_the_latest_month_and_unknowns_are_null(api_sqlite, expected):
    data = api_sqlite.client.data(
        f'{{ partner(id: "P000005") {{ scorecard {{ {SCORECARD} }} old: scorecard(month: "2023-06") {{ score }} }}'
        ' nobody: partner(id: "NOPE") { id } }'
    )
    assert_close(data["partner"]["scorecard"], expected[("P000005", "2024-12")])
    assert data["partner"]["old"] is None
    assert data["nobody"] is None


def test_scorecard_extra_fields(api_sqlite):
    data = api_sqlite.client.data(
        """{ partner(id: "P000000") { name inRegistry scorecard(month: "2024-09") {
             rulebookId partner { id }
             smb: path(track: SMB) { track metricsAtMinimum
                growth: metric(metric: USAGE_GROWTH) { option current yearAgo adjustment
                    options { option isWinner current yearAgo adjustment } } } } } }"""
    )
    p = data["partner"]
    assert p["name"] == "Partner 0" and p["inRegistry"] is True
    card = p["scorecard"]
    assert card["rulebookId"] == "2023-06-12" and card["partner"]["id"] == "P000000"
    assert card["smb"]["track"] == "SMB" and 0 <= card["smb"]["metricsAtMinimum"] <= 5
    growth = card["smb"]["growth"]
    assert [o["option"] for o in growth["options"]] == ["CPOR", "CSP"]
    assert sum(o["isWinner"] for o in growth["options"]) == 1
    winner = next(o for o in growth["options"] if o["isWinner"])
    assert (winner["option"], winner["current"], winner["yearAgo"], winner["adjustment"]) == (
        growth["option"],
        growth["current"],
        growth["yearAgo"],
        growth["adjustment"],
    )


def test_order_of_paths_metrics_and_options(api_sqlite):
    data = api_sqlite.client.data(
        '{ designations(month: "2024-03", first: 100) { nodes { paths { track metrics { metric option options { option } } } } } }'
    )
    metrics = [
        "NET_CUSTOMER_ADDS",
        "INTERMEDIATE_CERTIFICATIONS",
        "ADVANCED_CERTIFICATIONS",
        "USAGE_GROWTH",
        "DEPLOYMENTS",
    ]
    options = {"ENTERPRISE": ["CPOR", "DPOR"], "SMB": ["CPOR", "CSP"]}
    for card in data["designations"]["nodes"]:
        assert [p["track"] for p in card["paths"]] == ["ENTERPRISE", "SMB"]
        for path in card["paths"]:
            assert [m["metric"] for m in path["metrics"]] == metrics
            for m in path["metrics"]:
                want = ["ALL"] if m["metric"] in metrics[:3] else options[path["track"]]
                assert [o["option"] for o in m["options"]] == want
                assert m["option"] in want


# ---- lists -------------------------------------------------------------------------------------


def _all_designations(client: GraphQLClient, first: int, **filters) -> tuple[list[dict], list[int]]:
    args = "".join(
        f", {k}: {json.dumps(v) if isinstance(v, str) and k == 'month' else str(v).lower() if isinstance(v, bool) else v}"
        for k, v in filters.items()
    )
    q = f"""query($after: String) {{ designations(first: {first}, after: $after{args}) {{
        totalCount pageInfo {{ hasNextPage hasPreviousPage startCursor endCursor }}
        edges {{ cursor node {{ partnerId month score attained bestTrack }} }} }} }}"""
    cards, totals, after = [], [], None
    while True:
        page = client.data(q, {"after": after})["designations"]
        totals.append(page["totalCount"])
        assert page["pageInfo"]["hasPreviousPage"] is (after is not None)
        if page["edges"]:
            assert page["pageInfo"]["startCursor"] == page["edges"][0]["cursor"]
            assert page["pageInfo"]["endCursor"] == page["edges"][-1]["cursor"]
        cards += [e["node"] for e in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            return cards, totals
        after = page["pageInfo"]["endCursor"]


def test_designations_sorted_paginated_and_filtered(api_sqlite, expected):
    client = api_sqlite.client
    full, totals = _all_designations(client, 100, month="2024-10")
    assert len(full) == 30 and totals == [30]
    assert [(c["score"], c["partnerId"]) for c in full] == sorted(
        ((c["score"], c["partnerId"]) for c in full), key=lambda t: (-t[0], t[1])
    )
    for c in full:
        want = expected[(c["partnerId"], "2024-10")]
        assert (c["score"], c["attained"], c["bestTrack"]) == (want["score"], want["attained"], want["bestTrack"])
    paged, totals = _all_designations(client, 7, month="2024-10")
    assert paged == full and totals == [30] * 5
    attained, totals = _all_designations(client, 100, month="2024-10", attained=True)
    assert {c["partnerId"] for c in attained} == {"P000000", "P000003"} and totals == [2]
    not_attained, _ = _all_designations(client, 100, month="2024-10", attained=False)
    assert len(not_attained) == 28
    smb, totals = _all_designations(client, 4, month="2024-06", track="SMB")
    want_smb = {k[0] for k, c in expected.items() if k[1] == "2024-06" and c["bestTrack"] == "SMB"}
    assert {c["partnerId"] for c in smb} == want_smb and set(totals) == {len(want_smb)}
    empty, totals = _all_designations(client, 10, month="2019-01")
    assert empty == [] and totals == [0]


def test_designations_ties_are_broken_by_partner_id_across_pages(api_sqlite):
    client = api_sqlite.client
    # pages of 1: every boundary is a keyset cursor, including between equal scores
    full, _ = _all_designations(client, 100, month="2024-05")
    scores = Counter(c["score"] for c in full)
    assert sorted(s for s, n in scores.items() if n > 1) == [39.0, 48.0], "the example's ties in 2024-05"
    one_by_one, _ = _all_designations(client, 1, month="2024-05")
    assert one_by_one == full


def test_page_size_limits_and_cursor_errors(api_sqlite):
    client = api_sqlite.client
    for first in (101, 1000, -1):
        body = client.execute(f'{{ designations(month: "2024-01", first: {first}) {{ totalCount }} }}')
        assert body["errors"][0]["message"] == f"first must be between 0 and 100, not {first}."
        assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    body = client.execute("{ partners(first: 500) { totalCount } }")
    assert "between 0 and 100" in body["errors"][0]["message"]
    zero = client.data('{ designations(month: "2024-01", first: 0) { edges { cursor } pageInfo { hasNextPage } } }')
    assert zero["designations"] == {"edges": [], "pageInfo": {"hasNextPage": True}}
    for bad in ("nonsense", "WyJwIiwiUDAwMDAwMCJd", "e30"):  # garbage, a partners cursor, {}
        body = client.execute(
            'query($a: String) { designations(month: "2024-01", after: $a) { totalCount } }', {"a": bad}
        )
        assert body["errors"][0]["message"] == "Invalid cursor: use the cursor of an edge from the same list."


def test_a_customer_cursor_naming_an_unknown_track_or_option_is_invalid(api_sqlite):
    # tracks and options are stored as codes: a name outside their vocabulary cannot be bound
    q = 'query($a: String) { partner(id: "P000000") { customers(month: "2024-09", after: $a) { totalCount } } }'

    def errors(*values: str) -> list | None:
        return api_sqlite.client.execute(q, {"a": encode_cursor("c", *values)}).get("errors")

    assert errors("T0000001", "SMB", "ALL") is None  # names of the vocabularies: a valid cursor
    for values in (("T0000001", "MID_MARKET", "CPOR"), ("T0000001", "SMB", "CSP_T1")):
        assert errors(*values)[0]["message"] == "Invalid cursor: use the cursor of an edge from the same list."


def test_partners_pagination(api_sqlite):
    client = api_sqlite.client
    q = "query($a: String) { partners(first: 8, after: $a) { totalCount pageInfo { hasNextPage endCursor } nodes { id } } }"
    ids, after = [], None
    while True:
        page = client.data(q, {"a": after})["partners"]
        assert page["totalCount"] == 30
        ids += [n["id"] for n in page["nodes"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert ids == sorted(ids) and len(ids) == 30 and len(set(ids)) == 30
    default = client.data("{ partners { edges { node { id } } } }")
    assert len(default["partners"]["edges"]) == 30  # first defaults to 50


def test_months_and_freshness(api_sqlite):
    data = api_sqlite.client.data(
        "{ months scoredMonths { month rulebookId lastMaterializedAt partnersScored partnersAttained runId } lastMaterializedAt }"
    )
    months = [f"2024-{m:02d}" for m in range(1, 13)]
    assert data["months"] == months
    assert [m["month"] for m in data["scoredMonths"]] == months
    attained = {m["month"]: m["partnersAttained"] for m in data["scoredMonths"]}
    assert attained["2024-09"] == 2 and sum(attained.values()) == 8
    first = data["scoredMonths"][0]
    assert first["partnersScored"] == 30 and first["runId"] == "test-run" and first["rulebookId"] == "2023-06-12"
    assert dt.datetime.fromisoformat(first["lastMaterializedAt"]) == dt.datetime(2025, 1, 20, 6, tzinfo=dt.UTC)
    assert dt.datetime.fromisoformat(data["lastMaterializedAt"]) == dt.datetime(2025, 1, 20, 6, tzinfo=dt.UTC)


def test_history_range(api_sqlite, expected):
    data = api_sqlite.client.data(
        '{ partner(id: "P000003") { a: history(from: "2024-04", to: "2024-06") { month score }'
        ' b: history(from: "2024-11") { month } c: history(to: "2024-02") { month } d: history(from: "2025-01") { month } } }'
    )
    p = data["partner"]
    assert p["a"] == [
        {"month": m, "score": expected[("P000003", m)]["score"]} for m in ("2024-04", "2024-05", "2024-06")
    ]
    assert [c["month"] for c in p["b"]] == ["2024-11", "2024-12"]
    assert [c["month"] for c in p["c"]] == ["2024-01", "2024-02"]
    assert p["d"] == []
    body = api_sqlite.client.execute('{ partner(id: "P000003") { history(from: "2024-06", to: "2024-01") { month } } }')
    assert body["errors"][0]["message"] == "from must not be after to."


# ---- trend -------------------------------------------------------------------------------------


def test_trend_series_and_deltas(api_sqlite, expected):
    pid = "P000000"
    data = api_sqlite.client.data(
        f"""{{ partner(id: "{pid}") {{ trend(from: "2024-03", to: "2024-08") {{
              months attained bestTrack score {{ values monthOverMonth yearOverYear }}
              paths {{ track qualifies total {{ values monthOverMonth yearOverYear }}
                       metrics {{ metric points {{ values monthOverMonth }} value {{ values monthOverMonth }} }} }} }} }} }}"""
    )
    t = data["partner"]["trend"]
    months = ["2024-03", "2024-04", "2024-05", "2024-06", "2024-07", "2024-08"]
    assert t["months"] == months
    card = {m: expected[(pid, m)] for m in ["2024-02", *months]}
    assert t["score"]["values"] == pytest.approx([card[m]["score"] for m in months])
    prev = ["2024-02", *months[:-1]]
    assert t["score"]["monthOverMonth"] == pytest.approx(
        [card[m]["score"] - card[p]["score"] for m, p in zip(months, prev)]
    )
    assert t["score"]["yearOverYear"] == [None] * 6  # 2023 was not scored
    assert t["attained"] == [card[m]["attained"] for m in months]
    assert t["bestTrack"] == [card[m]["bestTrack"] for m in months]
    assert [p["track"] for p in t["paths"]] == ["ENTERPRISE", "SMB"]
    for i, path in enumerate(t["paths"]):
        assert path["total"]["values"] == pytest.approx([card[m]["paths"][i]["total"] for m in months])
        assert path["qualifies"] == [card[m]["paths"][i]["qualifies"] for m in months]
        for j, metric in enumerate(path["metrics"]):
            assert metric["metric"] == card["2024-03"]["paths"][i]["metrics"][j]["metric"]
            pts = [card[m]["paths"][i]["metrics"][j]["points"] for m in ["2024-02", *months]]
            val = [card[m]["paths"][i]["metrics"][j]["value"] for m in ["2024-02", *months]]
            assert metric["points"]["values"] == pytest.approx(pts[1:])
            assert metric["points"]["monthOverMonth"] == pytest.approx([b - a for a, b in itertools.pairwise(pts)])
            assert metric["value"]["values"] == pytest.approx(val[1:])
            assert metric["value"]["monthOverMonth"] == pytest.approx([b - a for a, b in itertools.pairwise(val)])
    first = api_sqlite.client.data(f'{{ partner(id: "{pid}") {{ trend {{ months score {{ monthOverMonth }} }} }} }}')
    assert first["partner"]["trend"]["months"][0] == "2024-01"
    assert first["partner"]["trend"]["score"]["monthOverMonth"][0] is None  # 2023-12 was not scored


def test_trend_year_over_year(tmp_path, expected):
    """Year-over-year needs two scored years: the example's 2024-12 is written again as 2023-12,
    so every 2024-12 delta against it is 0."""
    scored = example_results()
    shifted = {
        name: df.filter(pl.col("month") == dt.date(2024, 12, 1)).with_columns(month=pl.lit(dt.date(2023, 12, 1)))
        for name, df in scored.result.frames().items()
    }
    url = f"sqlite:///{tmp_path / 'yoy.sqlite'}"
    write_scored(url, scored)
    write_results(get_engine(url), months=[dt.date(2023, 12, 1)], frames=shifted, partners=scored.partners)
    settings = ApiSettings(database_url=url, admin_token="admin", data_dir=EXAMPLE / "data")
    with ServerThread(create_app(settings)) as server:
        client = GraphQLClient(server.url, "admin")
        try:
            t = client.data(
                '{ partner(id: "P000001") { trend(from: "2024-12") { months score { yearOverYear }'
                " paths { total { yearOverYear } metrics { value { yearOverYear } } } }"
                ' jan: trend(from: "2024-01", to: "2024-01") { score { monthOverMonth } } } }'
            )["partner"]
        finally:
            client.close()
    dispose_engines(url)
    assert t["trend"]["months"] == ["2024-12"]
    assert t["trend"]["score"]["yearOverYear"] == [0.0]
    for path in t["trend"]["paths"]:
        assert path["total"]["yearOverYear"] == [0.0]
        assert all(m["value"]["yearOverYear"] == [0.0] for m in path["metrics"])
    jan, dec = expected[("P000001", "2024-01")]["score"], expected[("P000001", "2024-12")]["score"]
    assert t["jan"]["score"]["monthOverMonth"] == [pytest.approx(jan - dec)]  # 2023-12 = a copy of 2024-12


# ---- customers -----------------------------------------------------------------------------------

CUSTOMER = """tenantId track option eligible seatBand maxPaidSeats workloadCount associatedOn paidSeats
  activeUsers activeRatio counted countedYearAgo deployed deployedYearAgo excluded baselineUsers
  workloads { workload associatedOn paidSeats activeUsers }"""


def _customers(client, pid: str, month: str, first: int = 100, **filters) -> tuple[list[dict], int]:
    args = "".join(f", {k}: {str(v).lower() if isinstance(v, bool) else v}" for k, v in filters.items())
    q = f"""query($after: String) {{ partner(id: "{pid}") {{ customers(month: "{month}", first: {first}, after: $after{args}) {{
        totalCount pageInfo {{ hasNextPage endCursor }} nodes {{ {CUSTOMER} }} }} }} }}"""
    rows, after = [], None
    while True:
        page = client.data(q, {"after": after})["partner"]["customers"]
        rows += page["nodes"]
        if not page["pageInfo"]["hasNextPage"]:
            return rows, page["totalCount"]
        after = page["pageInfo"]["endCursor"]


def test_customers_report_matches_the_scoring(api_sqlite):
    pid, month = "P000000", dt.date(2024, 9, 1)
    r = example_results().result
    details = r.customer_details.filter(pl.col("partner_id") == pid, pl.col("month") == month).sort(
        "tenant_id", "track", "option"
    )
    rows, total = _customers(api_sqlite.client, pid, "2024-09", first=9)
    assert total == details.height == len(rows) > 9
    seats = {
        (t, k): s
        for t, k, s in r.eligible_tenants.filter(pl.col("month") == month)
        .select("tenant_id", "track", "max_paid_seats")
        .iter_rows()
    }
    holdings = r.holdings.filter(pl.col("partner_id") == pid, pl.col("month") == month)
    for got, want in zip(rows, details.iter_rows(named=True)):
        assert (got["tenantId"], got["track"], got["option"]) == (want["tenant_id"], want["track"], want["option"])
        for api_name, col in [
            ("eligible", "eligible"), ("workloadCount", "workloads"), ("paidSeats", "paid_seats"),
            ("activeUsers", "active_users"), ("counted", "counted"), ("countedYearAgo", "counted_year_ago"),
            ("deployed", "deployed"), ("deployedYearAgo", "deployed_year_ago"), ("excluded", "excluded"),
            ("baselineUsers", "baseline_users"),
        ]:  # fmt: skip
            assert got[api_name] == want[col], (api_name, got, want)
        assert got["associatedOn"] == (want["associated_on"].isoformat() if want["associated_on"] else None)
        assert got["maxPaidSeats"] == seats.get((want["tenant_id"], want["track"]))
        assert got["eligible"] == (got["maxPaidSeats"] is not None)
        assert got["seatBand"] == {"ENTERPRISE": "301+", "SMB": "11-300"}[got["track"]]
        ratio = want["active_users"] / want["paid_seats"] if want["paid_seats"] else None
        assert got["activeRatio"] == pytest.approx(ratio)
        held = holdings.filter(pl.col("tenant_id") == want["tenant_id"], pl.col("option") == want["option"]).sort(
            "workload"
        )
        assert [w["workload"] for w in got["workloads"]] == held["workload"].to_list()
        assert [w["paidSeats"] for w in got["workloads"]] == held["paid_seats"].to_list()
        assert [w["associatedOn"] for w in got["workloads"]] == [d.isoformat() for d in held["associated_on"]]
        if want["workloads"]:
            assert want["workloads"] == len(got["workloads"])


def test_customers_filters_and_default_month(api_sqlite):
    client = api_sqlite.client
    pid = "P000003"
    everything, _ = _customers(client, pid, "2024-10")
    counted, n_counted = _customers(client, pid, "2024-10", counted=True)
    assert n_counted == len(counted) == sum(c["counted"] for c in everything)
    smb_csp, n = _customers(client, pid, "2024-10", track="SMB", option="CSP")
    assert n == len([c for c in everything if (c["track"], c["option"]) == ("SMB", "CSP")]) == len(smb_csp)
    eligible, _ = _customers(client, pid, "2024-10", eligible=False, first=5)
    assert all(not c["eligible"] for c in eligible)
    latest = client.data(f'{{ partner(id: "{pid}") {{ customers(first: 1) {{ totalCount }} }} }}')
    dec = _customers(client, pid, "2024-12")[1]
    assert latest["partner"]["customers"]["totalCount"] == dec
    # the deployments metric counts the deployed customers of the winning option
    card = client.data(
        f'{{ partner(id: "{pid}") {{ scorecard(month: "2024-10") {{ paths {{ track metrics {{ metric options {{ option current }} }} }} }} }} }}'
    )["partner"]["scorecard"]
    for path in card["paths"]:
        dep = next(m for m in path["metrics"] if m["metric"] == "DEPLOYMENTS")
        for o in dep["options"]:
            deployed = [
                c for c in everything if c["track"] == path["track"] and c["option"] == o["option"] and c["deployed"]
            ]
            assert len(deployed) == o["current"], (path["track"], o)


# ---- skilling ------------------------------------------------------------------------------------


def test_skilling_report_agrees_with_the_skilling_metrics(api_sqlite, expected):
    client = api_sqlite.client
    for pid in ("P000000", "P000004", "P000011"):
        q = f"""{{ partner(id: "{pid}") {{ {
            " ".join(
                f'm{m:02d}: skilling(month: "2024-{m:02d}") {{ month intermediatePersons advancedPersons '
                "persons { personId countsIntermediate countsAdvanced certifications { name level earnedOn expiresOn active } } }"
                for m in range(1, 13)
            )
        } }} }}"""
        data = client.data(q)["partner"]
        for m in range(1, 13):
            month = f"2024-{m:02d}"
            report = data[f"m{m:02d}"]
            assert report["month"] == month
            metrics = {x["metric"]: x["value"] for x in expected[(pid, month)]["paths"][0]["metrics"]}
            assert report["intermediatePersons"] == metrics["INTERMEDIATE_CERTIFICATIONS"], (pid, month)
            assert report["advancedPersons"] == metrics["ADVANCED_CERTIFICATIONS"], (pid, month)
            end = (dt.date(2024, m, 1) + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1)
            for person in report["persons"]:
                for c in person["certifications"]:
                    earned = dt.date.fromisoformat(c["earnedOn"])
                    expires = c["expiresOn"] and dt.date.fromisoformat(c["expiresOn"])
                    assert earned <= end
                    assert c["active"] == (expires is None or expires > end)
                active_levels = {c["level"] for c in person["certifications"] if c["active"]}
                assert person["countsIntermediate"] == ("INTERMEDIATE" in active_levels)
                assert person["countsAdvanced"] == ("ADVANCED" in active_levels)


# ---- N+1: statements per request do not grow with the page ------------------------------------


def _count_statements(api, query: str, variables: dict | None = None, client=None) -> int:
    engine = get_engine(api.db_url)
    seen: list[str] = []

    def on_execute(conn, cursor, statement, parameters, context, executemany):
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", on_execute)
    try:
        (client or api.client).data(query, variables)
    finally:
        event.remove(engine, "before_cursor_execute", on_execute)
    return len(seen)


def test_statement_count_does_not_grow_with_page_size(api_sqlite):
    page = f"""query($n: Int) {{ designations(month: "2024-05", first: $n) {{ totalCount
        edges {{ node {{ {SCORECARD} rulebookId partner {{ id name }} }} }} }} }}"""
    small = _count_statements(api_sqlite, page, {"n": 5})
    large = _count_statements(api_sqlite, page, {"n": 50})
    assert small == large <= 7, (small, large)
    history = f"""query($n: Int) {{ partners(first: $n) {{ nodes {{ id history {{ {SCORECARD} }}
        scorecard {{ score }} trend {{ months }} customers(first: 3) {{ nodes {{ tenantId workloads {{ workload }} }} }} }} }} }}"""
    small = _count_statements(api_sqlite, history, {"n": 2})
    large = _count_statements(api_sqlite, history, {"n": 30})
    assert small == large, (small, large)
    # a partner token adds its token lookup, nothing per row
    partner = api_sqlite.as_partner("P000001")
    try:
        assert _count_statements(api_sqlite, page, {"n": 50}, client=partner) <= 8
    finally:
        partner.close()


# ---- HTTP ----------------------------------------------------------------------------------------


def test_graphiql_page_needs_no_token_but_queries_do(api_sqlite):
    page = httpx.get(api_sqlite.url, headers={"Accept": "text/html"})
    assert page.status_code == 200 and "graphiql" in page.text.lower()
    get_query = httpx.get(api_sqlite.url, params={"query": "{ months }"})
    assert get_query.status_code == 401 and "data" not in get_query.json()
    ok = httpx.get(
        api_sqlite.url, params={"query": "{ months }"}, headers={"Authorization": f"Bearer {api_sqlite.admin}"}
    )
    assert ok.status_code == 200 and len(ok.json()["data"]["months"]) == 12
    assert httpx.get(api_sqlite.url.replace("/graphql", "/healthz")).json() == {"status": "ok"}


@pytest.mark.parametrize(
    "value",
    ["2024-13", "2024-00", "2024-1", "24-01", "2024/01", "2024-01-01", "", " 2024-01", "२०२४-०१", 202401, True, None],
)
def test_month_validation_errors_are_readable(api_sqlite, value):
    body = api_sqlite.client.execute("query($m: Month!) { designations(month: $m) { totalCount } }", {"m": value})
    assert body.get("data") is None
    message = body["errors"][0]["message"]
    if value is None:
        assert "must not be null" in message
    else:
        assert 'Month must be a string "YYYY-MM" with a month 01-12 (e.g. "2024-06")' in message
        assert json.dumps(value) in message
    literal = api_sqlite.client.execute('{ designations(month: "2024-13") { totalCount } }')
    assert 'Month must be a string "YYYY-MM"' in literal["errors"][0]["message"]
    assert "Traceback" not in json.dumps(body) + json.dumps(literal)


# ---- both backends -------------------------------------------------------------------------------


def test_smoke_scorecards_and_pages(api, expected):
    client = api.client
    data = client.data(
        f"""{{ designations(month: "2024-09", first: 10) {{ totalCount edges {{ node {{ {SCORECARD} }} }} }}
              months partner(id: "P000003") {{ history {{ {SCORECARD} }} }} }}"""
    )
    assert data["designations"]["totalCount"] == 30 and len(data["months"]) == 12
    for edge in data["designations"]["edges"]:
        assert_close(edge["node"], expected[(edge["node"]["partnerId"], "2024-09")])
    assert [e["node"]["partnerId"] for e in data["designations"]["edges"][:2]] == ["P000000", "P000003"]
    for card in data["partner"]["history"]:
        assert_close(card, expected[("P000003", card["month"])])
    full, _ = _all_designations(client, 100, month="2024-05")  # has tied scores
    paged, _ = _all_designations(client, 1, month="2024-05")
    assert paged == full


def test_smoke_auth(api):
    assert api.client.post("{ months }", token=None).status_code == 401
    assert api.client.post("{ months }", token="wrong").status_code == 401
    own = api.as_partner("P000001")
    try:
        data = own.data(
            '{ a: partner(id: "P000001") { id } b: partner(id: "P000000") { id } partners { nodes { id } }'
            ' designations(month: "2024-09") { nodes { partnerId } } }'
        )
    finally:
        own.close()
    assert data == {
        "a": {"id": "P000001"}, "b": None,
        "partners": {"nodes": [{"id": "P000001"}]},
        "designations": {"nodes": [{"partnerId": "P000001"}]},
    }  # fmt: skip


def test_smoke_statement_count(api):
    page = f'query($n: Int) {{ designations(month: "2024-05", first: $n) {{ nodes {{ {SCORECARD} partner {{ name }} }} }} }}'
    assert _count_statements(api, page, {"n": 5}) == _count_statements(api, page, {"n": 50})


def test_smoke_customers_and_skilling(api):
    data = api.client.data(
        '{ partner(id: "P000000") { customers(month: "2024-09", first: 5) { totalCount nodes { tenantId workloads { workload } } }'
        ' skilling(month: "2024-09") { intermediatePersons advancedPersons } trend { months } } }'
    )["partner"]
    assert data["customers"]["totalCount"] > 5 and len(data["customers"]["nodes"]) == 5
    assert data["skilling"] is not None and len(data["trend"]["months"]) == 12


def test_driver_calls_in_threads_or_in_the_loop_give_the_same_answers(api_sqlite):
    """SQLite runs its queries in the event loop by default; the worker-thread path (the one
    PostgreSQL uses) must answer the same."""
    q = f"""{{ designations(month: "2024-07", first: 30) {{ totalCount nodes {{ {SCORECARD} partner {{ name }} }} }}
              partner(id: "P000003") {{ customers(first: 5) {{ totalCount nodes {{ tenantId workloads {{ workload }} }} }}
                                       trend {{ score {{ values }} }} }} }}"""
    inline = api_sqlite.client.data(q)
    settings = ApiSettings(
        database_url=api_sqlite.db_url, admin_token="admin", data_dir=EXAMPLE / "data", db_threads=True
    )
    with ServerThread(create_app(settings)) as server:
        assert server.app.state.graphql.services.db_threads is True
        client = GraphQLClient(server.url, "admin")
        try:
            threaded = client.data(q)
        finally:
            client.close()
    assert threaded == inline
    assert api_sqlite.server.app.state.graphql.services.db_threads is False
