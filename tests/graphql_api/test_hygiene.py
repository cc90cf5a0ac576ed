"""``Partner.hygiene`` over the examples, each finding checked against other answers of the API
(the customer report, the scorecard, the skilling report) and against the raw input files."""

from __future__ import annotations

from collections import defaultdict

import pytest

from graphql_api.app import create_app
from graphql_api.config import ApiSettings
from scoring import ingest
from scoring.calendar import add_months, parse_month
from scoring.rulebook import load_rulebooks
from tests.support.api_server import GraphQLClient, ServerThread
from tests.support.paths import EXAMPLE_DATA
from tests.support.reference import workload_key

HYGIENE = """query($id: ID!, $m: Month) { partner(id: $id) { hygiene(month: $m) { month
  otherOptionCustomers { tenantId track countedUnder winningOption metrics }
  nearBandCustomers { tenantId track workload paidSeats seatsNeeded metrics }
  certificationStops { personId certification earnedOn level stopsIn reason personStillCounts } } } }"""

CHECKS = """query($id: ID!, $m: Month) { partner(id: $id) {
  scorecard(month: $m) { paths { track metrics { metric option } } }
  customers(month: $m, counted: true, first: 100) { pageInfo { hasNextPage } nodes { tenantId track option } } } }"""

SKILLING = """query($id: ID!, $m: Month) { partner(id: $id) { skilling(month: $m) {
  persons { personId certifications { name earnedOn counts notCountingReason } } } } }"""

MONTHS = ["2024-03", "2024-12"]


def _hygiene(client, partner: str, month: str) -> dict:
    return client.data(HYGIENE, {"id": partner, "m": month})["partner"]["hygiene"]


def _partners(client) -> list[str]:
    return [n["id"] for n in client.data("{ partners(first: 100) { nodes { id } } }")["partners"]["nodes"]]


@pytest.mark.parametrize("month", MONTHS)
def test_other_option_customers_are_exactly_those_missing_from_a_winning_option(api, month):
    found_any = 0
    for pid in _partners(api.client):
        got = _hygiene(api.client, pid, month)["otherOptionCustomers"]
        data = api.client.data(CHECKS, {"id": pid, "m": month})["partner"]
        assert not data["customers"]["pageInfo"]["hasNextPage"]
        counted = defaultdict(set)
        for n in data["customers"]["nodes"]:
            counted[(n["tenantId"], n["track"])].add(n["option"])
        winners = defaultdict(set)  # (track, option) -> metrics it wins
        for path in data["scorecard"]["paths"]:
            for m in path["metrics"]:
                if m["metric"] in ("USAGE_GROWTH", "DEPLOYMENTS"):
                    winners[(path["track"], m["option"])].add(m["metric"])
        want = []
        for (tenant, track), options in sorted(counted.items()):
            for (wtrack, option), metrics in sorted(winners.items()):
                if wtrack == track and option not in options:
                    order = {"CPOR": 0, "DPOR": 1, "CSP": 2}
                    want.append(
                        {
                            "tenantId": tenant,
                            "track": track,
                            "countedUnder": sorted(options, key=order.get),
                            "winningOption": option,
                            "metrics": sorted(metrics),
                        }
                    )
        assert got == want, pid
        found_any += len(got)
    assert found_any > 0


def test_near_band_customers_match_the_raw_usage(api_sqlite):
    """Held in M (the associations file), a workload at 10 (SMB) or 300 (Enterprise) paid seats,
    and no workload of the list within the band."""
    book = load_rulebooks().for_month(parse_month("2024-12"))
    keys = {workload_key(book, w) for w in book.workloads["USAGE_GROWTH"]}
    snap = ingest.read_month(EXAMPLE_DATA, parse_month("2024-12"))
    seats = defaultdict(list)
    for tenant, workload, paid in snap.usage.select("tenant_id", "workload", "paid_seats").iter_rows():
        if workload_key(book, workload) in keys:
            seats[tenant].append((workload, paid))
    held = defaultdict(set)
    for pid, tenant in snap.associations.select("partner_id", "tenant_id").iter_rows():
        held[pid].add(tenant)
    total = 0
    for pid in _partners(api_sqlite.client):
        got = {(c["tenantId"], c["track"]) for c in _hygiene(api_sqlite.client, pid, "2024-12")["nearBandCustomers"]}
        want = set()
        for tenant in held[pid]:
            paid = [p for _, p in seats[tenant]]
            if 10 in paid and not any(11 <= p <= 300 for p in paid):
                want.add((tenant, "SMB"))
            if 300 in paid and not any(p >= 301 for p in paid):
                want.add((tenant, "ENTERPRISE"))
        assert got == want, pid
        total += len(got)
    assert total > 0


def _counts(client, pid: str, month: str) -> dict[tuple[str, str], tuple[bool, str | None]]:
    report = client.data(SKILLING, {"id": pid, "m": month})["partner"]["skilling"]
    return {
        (p["personId"], c["name"], c["earnedOn"]): (c["counts"], c["notCountingReason"])
        for p in report["persons"]
        for c in p["certifications"]
    }


def _check_stops(client, month: str) -> set[str]:
    """Each stop counts in the month and through the month before it stops, not in that month,
    for the reason given; returns the reasons seen."""
    reasons = set()
    for pid in _partners(client):
        for stop in _hygiene(client, pid, month)["certificationStops"]:
            key = (stop["personId"], stop["certification"], stop["earnedOn"])
            before = f"{add_months(parse_month(stop['stopsIn']), -1):%Y-%m}"
            assert _counts(client, pid, month)[key] == (True, None)
            assert _counts(client, pid, before)[key] == (True, None), (pid, stop)
            want = "EXPIRED" if stop["reason"] == "EXPIRES" else "PAST_COUNTS_THROUGH"
            assert _counts(client, pid, stop["stopsIn"])[key] == (False, want), (pid, stop)
            reasons.add(stop["reason"])
    return reasons


def test_certification_stops_agree_with_the_skilling_report_of_each_month(api_sqlite):
    assert _check_stops(api_sqlite.client, "2024-06") == {"EXPIRES"}


def test_certification_stops_name_the_retirement_under_the_2026_version(api_2026):
    assert _check_stops(api_2026.client, "2027-01") == {"EXPIRES", "RETIRES"}


def test_hygiene_is_null_for_an_unscored_month_and_another_partner(api_sqlite):
    assert _hygiene(api_sqlite.client, "P000001", "2023-06") is None
    partner = api_sqlite.as_partner("P000001")
    try:
        assert _hygiene(partner, "P000001", "2024-12")["month"] == "2024-12"
        assert partner.data(HYGIENE, {"id": "P000000", "m": "2024-12"})["partner"] is None
    finally:
        partner.close()


def test_hygiene_without_the_data_folder_says_so(api_sqlite, tmp_path):
    settings = ApiSettings(database_url=api_sqlite.db_url, admin_token="admin", data_dir=tmp_path / "missing")
    with ServerThread(create_app(settings)) as server:
        client = GraphQLClient(server.url, "admin")
        try:
            body = client.execute(HYGIENE, {"id": "P000001", "m": "2024-12"})
        finally:
            client.close()
    assert body["data"] == {"partner": {"hygiene": None}}
    assert body["errors"][0]["extensions"] == {"code": "DATA_UNAVAILABLE"}


def test_month_defaults_to_the_latest_scored(api_sqlite):
    assert _hygiene(api_sqlite.client, "P000001", None)["month"] == "2024-12"
