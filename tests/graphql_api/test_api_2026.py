"""The API over the 2026 example (2026-08..2027-07, across the rule revision): every scorecard as
expected, the version that scored each month, and the skilling report under each month's version."""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict

import pytest

from scoring import ingest
from scoring.calendar import add_months
from scoring.rulebook import load_rulebooks
from tests.support.paths import EXAMPLE_2026
from tests.support.reference import workload_key
from tests.support.scorecards import SCORECARD, assert_close

FUNDAMENTALS = "Microsoft 365 Fundamentals"
MESSAGING = "Microsoft 365 Certified: Messaging Administrator Associate"


@pytest.fixture(scope="module")
def expected() -> dict[tuple[str, str], dict]:
    cards = json.loads((EXAMPLE_2026 / "expected-scorecards.json").read_text())
    return {(c["partnerId"], c["month"]): c for c in cards}


def test_every_scorecard_across_the_revision_equals_the_expected_json(api_2026, expected):
    data = api_2026.client.data(
        f"{{ partners(first: 100) {{ edges {{ node {{ id history {{ rulebookId {SCORECARD} }} }} }} }} }}"
    )
    got = {}
    for edge in data["partners"]["edges"]:
        for card in edge["node"]["history"]:
            version = card.pop("rulebookId")
            assert version == ("2023-06-12" if card["month"] == "2026-08" else "2026-09"), card["month"]
            got[(card["partnerId"], card["month"])] = card
    assert set(got) == set(expected) and len(got) == 360
    for key, want in expected.items():
        assert_close(got[key], want, str(key))


def test_scored_months_name_their_rulebook_version(api_2026):
    months = api_2026.client.data("{ scoredMonths { month rulebookId } }")["scoredMonths"]
    assert [(m["month"], m["rulebookId"]) for m in months][:2] == [("2026-08", "2023-06-12"), ("2026-09", "2026-09")]
    assert {m["rulebookId"] for m in months[1:]} == {"2026-09"} and len(months) == 12


def _certifications(api, partner_id: str, person_id: str, month: str, name: str) -> list[dict]:
    q = """query($id: ID!, $m: Month) { partner(id: $id) { skilling(month: $m) { intermediatePersons
             persons { personId countsIntermediate
                       certifications { name level active counts countsThrough notCountingReason } } } } }"""
    report = api.client.data(q, {"id": partner_id, "m": month})["partner"]["skilling"]
    (person,) = [p for p in report["persons"] if p["personId"] == person_id]
    return [c for c in person["certifications"] if c["name"] == name]


def test_a_removed_certification_counts_before_the_revision_and_says_why_not_after(api_2026):
    # P000002-002 holds the Messaging Administrator certification from 2022, without expiry
    (before,) = _certifications(api_2026, "P000002", "P000002-002", "2026-08", MESSAGING)
    assert (before["level"], before["counts"], before["notCountingReason"]) == ("INTERMEDIATE", True, None)
    (after,) = _certifications(api_2026, "P000002", "P000002-002", "2026-09", MESSAGING)
    assert (after["level"], after["active"], after["counts"], after["notCountingReason"]) == (
        None,
        True,
        False,
        "REMOVED",
    )


def test_a_retiring_certification_counts_through_its_date(api_2026):
    # P000000-018 earned Microsoft 365 Fundamentals in 2023; it never expires, it counts through 2027-03-31
    (march,) = _certifications(api_2026, "P000000", "P000000-018", "2027-03", FUNDAMENTALS)
    assert (march["counts"], march["countsThrough"], march["notCountingReason"]) == (True, "2027-03-31", None)
    (april,) = _certifications(api_2026, "P000000", "P000000-018", "2027-04", FUNDAMENTALS)
    assert (april["active"], april["counts"], april["notCountingReason"]) == (True, False, "PAST_COUNTS_THROUGH")
    (old_rules,) = _certifications(api_2026, "P000000", "P000000-018", "2026-08", FUNDAMENTALS)
    assert old_rules["countsThrough"] is None and old_rules["counts"]


@pytest.mark.parametrize(
    ("month", "days_left"), [("2026-11", None), ("2026-12", 90), ("2027-01", 59), ("2027-03", 0), ("2027-04", None)]
)
def test_warnings_name_a_counting_certification_within_90_days_of_its_counts_through_date(api_2026, month, days_left):
    q = """query($id: ID!, $m: Month) { partner(id: $id) { warnings(month: $m) {
             retiringCertifications { personId certification level countsThrough daysLeft } } } }"""
    rows = api_2026.client.data(q, {"id": "P000000", "m": month})["partner"]["warnings"]["retiringCertifications"]
    mine = [r for r in rows if r["personId"] == "P000000-018" and r["certification"] == FUNDAMENTALS]
    if days_left is None:
        assert mine == []
    else:
        assert mine == [
            {
                "personId": "P000000-018",
                "certification": FUNDAMENTALS,
                "level": "INTERMEDIATE",
                "countsThrough": "2027-03-31",
                "daysLeft": days_left,
            }
        ]


def test_a_partner_token_reads_its_own_retiring_certifications_only(api_2026):
    q = """query($id: ID!, $m: Month) { partner(id: $id) { warnings(month: $m) {
             retiringCertifications { personId certification level countsThrough daysLeft } } } }"""
    client = api_2026.as_partner("P000001")
    try:
        rows = client.data(q, {"id": "P000001", "m": "2027-04"})["partner"]["warnings"]["retiringCertifications"]
        other = client.data(q, {"id": "P000000", "m": "2027-04"})
    finally:
        client.close()
    assert rows and all(r["personId"].startswith("P000001-") for r in rows)
    # P000001-001 holds the Teams Meetings assessment (no expiry), which counts through 2027-06-15
    assert {
        "personId": "P000001-001",
        "certification": "Teams Meetings and Meeting Rooms Technical Assessment",
        "level": "ADVANCED",
        "countsThrough": "2027-06-15",
        "daysLeft": 46,
    } in rows
    assert other == {"partner": None}


def test_eligible_as_promoted_marks_exactly_the_customers_the_promoted_rule_admits(api_2026):
    """Computed here from the raw usage: an SMB customer row is eligible only as promoted when
    the tenant has no usage-growth workload within 11..300 seats in M, one above 300 in M, and
    one within 11..300 in M-12 (scoring-rules-2026 §3); never before the revision."""
    books = load_rulebooks()
    months = [add_months(dt.date(2026, 8, 1), k) for k in range(12)]
    usage = ingest.read_snapshots(EXAMPLE_2026 / "data", sorted({add_months(m, k) for m in months for k in (0, -12)}))
    seats: dict[tuple[dt.date, str], list[tuple[str, int]]] = defaultdict(list)
    for mon, tenant, workload, paid, _active in usage.usage.select(
        "month", "tenant_id", "workload", "paid_seats", "active_users"
    ).iter_rows():
        seats[(mon, tenant)].append((workload, paid))

    def band(book, m: dt.date, tenant: str, lo: int, hi: int | None) -> bool:
        keys = {workload_key(book, w) for w in book.workloads["USAGE_GROWTH"]}
        return any(
            workload_key(book, w) in keys and paid >= lo and (hi is None or paid <= hi)
            for w, paid in seats[(m, tenant)]
        )

    q = """query($id: ID!, $m: Month, $after: String) { partner(id: $id) {
             customers(month: $m, track: SMB, first: 100, after: $after) { pageInfo { hasNextPage endCursor }
               edges { node { tenantId eligible eligibleAsPromoted maxPaidSeats } } } } }"""

    def rows(pid: str, m: dt.date) -> list[dict]:
        out, after = [], None
        while True:
            page = api_2026.client.data(q, {"id": pid, "m": f"{m:%Y-%m}", "after": after})["partner"]["customers"]
            out += [e["node"] for e in page["edges"]]
            if not page["pageInfo"]["hasNextPage"]:
                return out
            after = page["pageInfo"]["endCursor"]

    partners = [
        e["node"]["id"]
        for e in api_2026.client.data("{ partners(first: 100) { edges { node { id } } } }")["partners"]["edges"]
    ]
    promoted_rows, promoted_tenants = 0, set()
    for m in months:
        book = books.for_month(m)
        for pid in partners:
            for node in rows(pid, m):
                t = node["tenantId"]
                want = (
                    book.track("SMB").keep_promoted
                    and not band(book, m, t, 11, 300)
                    and band(book, m, t, 301, None)
                    and band(book, add_months(m, -12), t, 11, 300)
                )
                assert node["eligibleAsPromoted"] is want, (pid, f"{m:%Y-%m}", node)
                if want:
                    assert node["eligible"] and node["maxPaidSeats"] > 300
                    promoted_rows += 1
                    promoted_tenants.add(t)
    assert promoted_rows > 0 and len(promoted_tenants) > 1
