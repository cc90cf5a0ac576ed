"""Authorization, limits and error masking of the GraphQL API, over HTTP (SQLite)."""

from __future__ import annotations

import json
import time

import httpx
import pytest

from graphql_api.app import create_app
from graphql_api.config import ApiSettings
from graphql_api.db import queries as db
from storage.engines import get_engine
from storage.tokens import create_token, revoke_token
from tests.support.api_server import GraphQLClient, ServerThread
from tests.support.paths import EXAMPLE_DATA

OWN, OTHER = "P000001", "P000000"

# every top-level field, with everything below it that can reach partner data
TOP_LEVEL = {
    "partner_own": f'{{ partner(id: "{OWN}") {{ id scorecard {{ partnerId partner {{ id }} }} history {{ partnerId }} }} }}',
    "partner_other": f'{{ partner(id: "{OTHER}") {{ id scorecard {{ partnerId }} }} }}',
    "partners": "{ partners(first: 100) { totalCount nodes { id scorecard { partnerId } } } }",
    "designations": '{ designations(month: "2024-09", first: 100) { totalCount nodes { partnerId partner { id } } } }',
    "designations_attained": '{ designations(month: "2024-09", attained: true) { totalCount nodes { partnerId } } }',
    "months": "{ months }",
    "scoredMonths": "{ scoredMonths { month lastMaterializedAt partnersScored partnersAttained runId } }",
    "lastMaterializedAt": "{ lastMaterializedAt }",
    "viewer": "{ viewer { admin partnerId } }",
}


def _ids(value) -> set[str]:
    """Every partner id anywhere in a response's data."""
    out: set[str] = set()
    if isinstance(value, dict):
        for k, v in value.items():
            if k in ("id", "partnerId") and isinstance(v, str):
                out.add(v)
            else:
                out |= _ids(v)
    elif isinstance(value, list):
        for v in value:
            out |= _ids(v)
    return out


def _assert_401(response: httpx.Response, *, invalid_token: bool) -> None:
    assert response.status_code == 401, response.text
    body = response.json()
    assert "data" not in body
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert ('error="invalid_token"' in response.headers["www-authenticate"]) is invalid_token


# ---- authentication ----------------------------------------------------------------------------


@pytest.mark.parametrize("field", sorted(TOP_LEVEL))
@pytest.mark.parametrize(
    ("header", "invalid"),
    [
        (None, False),
        ("Bearer wrong-token", True),
        ("Token abc", True),
        ("Basic dXNlcjpwYXNz", True),
        ("bearer", True),
        ("Bearer " + "x" * 600, True),
    ],
)
def test_no_or_wrong_token_is_401_without_data(api_sqlite, field, header, invalid):
    headers = {"Authorization": header} if header is not None else {}
    r = httpx.post(api_sqlite.url, json={"query": TOP_LEVEL[field]}, headers=headers)
    _assert_401(r, invalid_token=invalid)
    g = httpx.get(api_sqlite.url, params={"query": TOP_LEVEL[field]}, headers=headers)
    _assert_401(g, invalid_token=invalid)


def test_admin_token_compares_exactly(api_sqlite):
    for near in (api_sqlite.admin[:-1], api_sqlite.admin + "x", api_sqlite.admin.upper()):
        _assert_401(api_sqlite.client.post("{ months }", token=near), invalid_token=True)
    assert api_sqlite.client.data("{ viewer { admin partnerId } }")["viewer"] == {"admin": True, "partnerId": None}


def test_bearer_scheme_is_case_insensitive(api_sqlite):
    r = httpx.post(
        api_sqlite.url, json={"query": "{ months }"}, headers={"Authorization": f"bearer {api_sqlite.admin}"}
    )
    assert r.status_code == 200 and len(r.json()["data"]["months"]) == 12


# ---- the matrix: admin / own partner / other partner over every top-level field ----------------


@pytest.mark.parametrize("field", sorted(TOP_LEVEL))
def test_admin_reads_every_partner(api_sqlite, field):
    data = api_sqlite.client.data(TOP_LEVEL[field])
    if field == "partner_own":
        assert data["partner"]["id"] == OWN and data["partner"]["scorecard"]["partner"]["id"] == OWN
        assert len(data["partner"]["history"]) == 12
    elif field == "partner_other":
        assert data["partner"]["id"] == OTHER
    elif field == "partners":
        assert data["partners"]["totalCount"] == 30 and len(data["partners"]["nodes"]) == 30
    elif field == "designations":
        assert data["designations"]["totalCount"] == 30 and len(_ids(data)) == 30
    elif field == "designations_attained":
        assert _ids(data) == {"P000000", "P000003"}
    elif field == "months":
        assert len(data["months"]) == 12
    elif field == "scoredMonths":
        assert all(m["partnersScored"] == 30 and m["runId"] for m in data["scoredMonths"])
    elif field == "lastMaterializedAt":
        assert data["lastMaterializedAt"]
    elif field == "viewer":
        assert data["viewer"] == {"admin": True, "partnerId": None}


@pytest.mark.parametrize("field", sorted(TOP_LEVEL))
def test_partner_token_reads_only_its_own_partner(api_sqlite, field):
    client = api_sqlite.as_partner(OWN)
    try:
        data = client.data(TOP_LEVEL[field])
    finally:
        client.close()
    assert _ids(data) <= {OWN}, f"{field} leaks {_ids(data) - {OWN}}"
    if field == "partner_own":
        assert data["partner"]["id"] == OWN and len(data["partner"]["history"]) == 12
    elif field == "partner_other":
        assert data == {"partner": None}  # exactly like an unknown id: no leak of existence
    elif field == "partners":
        assert data["partners"]["totalCount"] == 1 and _ids(data) == {OWN}
    elif field == "designations":
        assert data["designations"]["totalCount"] == 1 and _ids(data) == {OWN}
    elif field == "designations_attained":
        assert data["designations"] == {"totalCount": 0, "nodes": []}  # P000001 did not attain
    elif field == "months":
        assert len(data["months"]) == 12
    elif field == "scoredMonths":  # freshness yes; program-wide counts and run ids are admin only
        assert all(
            m["partnersScored"] is None and m["partnersAttained"] is None and m["runId"] is None
            for m in data["scoredMonths"]
        )
        assert all(m["lastMaterializedAt"] for m in data["scoredMonths"])
    elif field == "viewer":
        assert data["viewer"] == {"admin": False, "partnerId": OWN}


def test_other_partner_is_null_like_an_unknown_partner(api_sqlite):
    client = api_sqlite.as_partner(OWN)
    try:
        other = client.execute(
            f'{{ partner(id: "{OTHER}") {{ id name customers {{ totalCount }} skilling {{ month }} }} }}'
        )
        unknown = client.execute('{ partner(id: "P999999") { id name customers { totalCount } skilling { month } } }')
    finally:
        client.close()
    assert other == unknown == {"data": {"partner": None}}


def test_everything_reachable_from_a_partner_token_is_its_own(api_sqlite):
    q = f"""{{ partner(id: "{OWN}") {{ id
        scorecard {{ partnerId partner {{ id }} paths {{ track }} }}
        history {{ partnerId partner {{ id scorecard {{ partnerId }} }} }}
        trend {{ months }}
        customers(first: 100) {{ totalCount nodes {{ tenantId }} }}
        skilling {{ persons {{ personId }} }} }}
      partners {{ nodes {{ id history {{ partnerId }} }} }}
      designations(month: "2024-12", first: 100) {{ nodes {{ partnerId partner {{ id }} }} }} }}"""
    client = api_sqlite.as_partner(OWN)
    try:
        data = client.data(q)
    finally:
        client.close()
    assert _ids(data) == {OWN}
    persons = {p["personId"] for p in data["partner"]["skilling"]["persons"]}
    assert persons and all(p.startswith(OWN + "-") for p in persons)  # the example's person ids
    admin = api_sqlite.client.data(f'{{ partner(id: "{OWN}") {{ customers(first: 100) {{ totalCount }} }} }}')
    assert admin["partner"]["customers"]["totalCount"] == data["partner"]["customers"]["totalCount"]


def test_revoked_and_unknown_partner_tokens(api_sqlite):
    engine = get_engine(api_sqlite.db_url)
    token_id, token = create_token(engine, "P000002", label="revoke me")
    client = GraphQLClient(api_sqlite.url, token)
    try:
        assert client.data("{ viewer { partnerId } }")["viewer"]["partnerId"] == "P000002"
        assert revoke_token(engine, token_id) is True
        _assert_401(client.post("{ months }"), invalid_token=True)
        assert revoke_token(engine, token_id) is False
    finally:
        client.close()
    _, ghost = create_token(engine, "P404", allow_unknown=True)
    client = GraphQLClient(api_sqlite.url, ghost)
    try:
        data = client.data(
            '{ partners { totalCount } designations(month: "2024-09") { totalCount } partner(id: "P404") { id } }'
        )
    finally:
        client.close()
    assert data == {"partners": {"totalCount": 0}, "designations": {"totalCount": 0}, "partner": None}


# ---- limits --------------------------------------------------------------------------------------


def _no_internals(response: httpx.Response) -> None:
    text = response.text
    for leak in ("Traceback", 'File "', "graphql_api", "sqlalchemy", "site-packages", "sqlite3", "psycopg"):
        assert leak not in text, (leak, text[:500])


def test_deep_query_is_refused(api_sqlite):
    inner = "id"
    for _ in range(8):
        inner = f"scorecard {{ partner {{ {inner} }} }}"
    r = api_sqlite.client.post(f'{{ partner(id: "{OWN}") {{ {inner} }} }}')
    assert r.status_code == 200
    body = r.json()
    assert body["data"] is None
    assert body["errors"][0]["message"] == "'anonymous' exceeds maximum operation depth of 10"
    _no_internals(r)
    # fragments do not get around it
    frag = "fragment F on Partner { scorecard { partner { scorecard { partner { scorecard { partner { scorecard { partner { scorecard { partner { id } } } } } } } } } } }"
    r = api_sqlite.client.post(f'query Deep {{ partner(id: "{OWN}") {{ ...F }} }} {frag}')
    assert r.json()["errors"][0]["message"] == "'Deep' exceeds maximum operation depth of 10"


def test_a_legitimate_deep_query_passes(api_sqlite):
    q = "{ partners(first: 2) { edges { node { scorecard { paths { metrics { options { option } } } } } } } }"
    assert len(api_sqlite.client.data(q)["partners"]["edges"]) == 2


def test_alias_bomb_is_refused(api_sqlite):
    r = api_sqlite.client.post("{ " + " ".join(f"a{i}: months" for i in range(500)) + " }")
    assert r.status_code == 200 and r.json() == {
        "data": None,
        "errors": [{"message": "500 aliases found. Allowed: 15"}],
    }
    frag = "fragment F on Query { " + " ".join(f"b{i}: months" for i in range(20)) + " }"
    r = api_sqlite.client.post("{ ...F } " + frag)
    assert r.json()["errors"][0]["message"] == "20 aliases found. Allowed: 15"


def test_huge_document_is_refused(api_sqlite):
    r = api_sqlite.client.post("{ " + "months " * 50_000 + "}")
    assert r.status_code == 200
    body = r.json()
    assert body["data"] is None
    assert body["errors"][0]["message"] == "Syntax Error: Document contains more than 2000 tokens. Parsing aborted."
    _no_internals(r)


def test_graphiql_introspection_fits_the_limits(api_sqlite):
    from graphql import get_introspection_query

    data = api_sqlite.client.data(get_introspection_query(descriptions=True))
    assert data["__schema"]["queryType"]["name"] == "Query"


def test_field_suggestions_are_disabled(api_sqlite):
    r = api_sqlite.client.post(f'{{ partner(id: "{OWN}") {{ nam scorecrd {{ scor }} }} }}')
    body = r.json()
    messages = [e["message"] for e in body["errors"]]
    assert "Cannot query field 'nam' on type 'Partner'." in messages
    assert not any("Did you mean" in m for m in messages)
    r = api_sqlite.client.post('{ designations(month: "2024-01", track: SMALL) { totalCount } }')
    assert "Did you mean" not in r.text


def test_batched_and_malformed_requests_are_refused(api_sqlite):
    headers = {"Authorization": f"Bearer {api_sqlite.admin}"}
    r = httpx.post(api_sqlite.url, json=[{"query": "{ months }"}] * 2, headers=headers)
    assert r.status_code == 400
    r = httpx.post(api_sqlite.url, content=b"{nope", headers={**headers, "Content-Type": "application/json"})
    assert r.status_code == 400
    _no_internals(r)
    assert httpx.put(api_sqlite.url, json={"query": "{ months }"}, headers=headers).status_code == 405


def test_unexpected_errors_are_masked(api_sqlite, monkeypatch):
    def broken(conn):
        raise RuntimeError("connection string postgresql://secret@db/pcs exploded")

    monkeypatch.setattr(db, "scored_months", broken)
    r = api_sqlite.client.post("{ months viewer { admin } }")
    assert r.status_code == 200
    body = r.json()
    assert body["errors"] == [
        {"message": "Unexpected error.", "locations": [{"line": 1, "column": 3}], "path": ["months"]}
    ]
    assert body["data"] is None  # months is non-null, so the whole data is null
    assert "secret" not in r.text
    _no_internals(r)


def test_user_errors_keep_their_message(api_sqlite):
    r = api_sqlite.client.post('{ partner(id: "P000001") { history(from: "2024-05", to: "2024-01") { month } } }')
    body = r.json()
    assert body["errors"][0]["message"] == "from must not be after to."
    assert body["errors"][0]["extensions"] == {"code": "BAD_USER_INPUT"}
    _no_internals(r)


def test_request_budget_bounds_nested_lists(api_sqlite):
    settings = ApiSettings(
        database_url=api_sqlite.db_url, admin_token="admin", data_dir=EXAMPLE_DATA, max_scorecards=100, max_customers=50
    )
    with ServerThread(create_app(settings)) as server:
        client = GraphQLClient(server.url, "admin")
        try:
            ok = client.execute("{ partners(first: 8) { nodes { history { score } } } }")  # 96 scorecards
            too_many = client.execute("{ partners(first: 9) { nodes { history { score } } } }")  # 108
            customers = client.execute(
                "{ partners(first: 3) { nodes { customers(first: 30) { nodes { tenantId } } } } }"
            )
        finally:
            client.close()
    assert "errors" not in ok
    assert too_many["errors"][0]["extensions"]["code"] == "QUERY_TOO_LARGE"
    assert too_many["errors"][0]["message"].startswith("Query too large")
    assert customers["errors"][0]["extensions"]["code"] == "QUERY_TOO_LARGE"
    assert json.dumps(too_many).count("Unexpected") == 0


def test_failure_before_execution_is_a_clean_500(api_sqlite, monkeypatch):
    from storage import tokens

    def broken(conn, token):
        raise RuntimeError("database at 10.0.0.7 is down")

    monkeypatch.setattr(tokens, "lookup_token", broken)
    client = api_sqlite.as_partner(OWN)
    try:
        r = client.post("{ months }")
    finally:
        client.close()
    assert r.status_code == 500 and r.json() == {"errors": [{"message": "Unexpected error."}]}
    _no_internals(r)
    assert "10.0.0.7" not in r.text


def test_skilling_report_without_the_data_folder_says_so(api_sqlite, tmp_path):
    settings = ApiSettings(database_url=api_sqlite.db_url, admin_token="admin", data_dir=tmp_path / "missing")
    with ServerThread(create_app(settings)) as server:
        client = GraphQLClient(server.url, "admin")
        try:
            body = client.execute(f'{{ partner(id: "{OWN}") {{ id skilling {{ advancedPersons }} }} }}')
        finally:
            client.close()
    assert body["data"] == {"partner": {"id": OWN, "skilling": None}}
    assert body["errors"][0]["message"].startswith("The skilling report is unavailable")
    assert body["errors"][0]["extensions"] == {"code": "DATA_UNAVAILABLE"}
    assert str(tmp_path) not in json.dumps(body)


@pytest.mark.parametrize("db_threads", [False, True])
def test_a_failed_field_leaves_no_connection_behind(api_sqlite, db_threads):
    """A field that fails nulls its parent and the response is built at once, while graphql-core
    lets the failed field's siblings run on; those must not take the request's connection (and
    a slot of the gate) after it was given back, or the server stops answering once the slots
    are gone (the fuzz test found it)."""
    settings = ApiSettings(
        database_url=api_sqlite.db_url, admin_token="admin", data_dir=EXAMPLE_DATA, cache_mb=0, db_threads=db_threads
    )
    failing = f"""{{ partner(id: "{OWN}") {{ history(from: "2024-05", to: "2024-01") {{ month }}
                   scorecard {{ score }} customers(first: 5) {{ nodes {{ tenantId }} }} trend {{ months }} }} }}"""
    app = create_app(settings)
    with ServerThread(app) as server:
        client = GraphQLClient(server.url, "admin", timeout=10)
        try:
            for _ in range(40):  # many times the gate's slots
                body = client.execute(failing)
                assert body["data"] == {"partner": None} and body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
            time.sleep(0.5)  # let the orphaned siblings finish
            assert client.data(f'{{ partner(id: "{OWN}") {{ scorecard {{ score }} }} }}')["partner"]["scorecard"]
        finally:
            client.close()
