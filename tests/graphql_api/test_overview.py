"""The admin's program overview and the partner search (the scorecard page's admin view), on
both backends: figures recomputed from the month's scorecards, and what a partner token gets."""

from __future__ import annotations

import pytest

from tests.support.api_server import API_PARTNERS

OVERVIEW = "query($m: Month) { programOverview(month: $m) { distributionMonth months { month partnersScored partnersAttained qualifyingEnterprise qualifyingSmb } scoreDistribution { from to partners } } }"
CARDS = "query($m: Month!, $a: String) { designations(month: $m, first: 100, after: $a) { pageInfo { hasNextPage endCursor } nodes { score attained paths { track qualifies } } } }"


def month_cards(client, month: str) -> list[dict]:
    out, after = [], None
    while True:
        page = client.data(CARDS, {"m": month, "a": after})["designations"]
        out += page["nodes"]
        if not page["pageInfo"]["hasNextPage"]:
            return out
        after = page["pageInfo"]["endCursor"]


def test_overview_counts_are_the_scorecards(api):
    months = api.client.data("{ months }")["months"]
    o = api.client.data(OVERVIEW)["programOverview"]
    assert [m["month"] for m in o["months"]] == months
    assert o["distributionMonth"] == months[-1]
    for m in o["months"]:
        cards = month_cards(api.client, m["month"])
        qualifying = {
            t: sum(p["track"] == t and p["qualifies"] for c in cards for p in c["paths"]) for t in ("ENTERPRISE", "SMB")
        }
        assert m == {
            "month": m["month"],
            "partnersScored": len(cards),
            "partnersAttained": sum(c["attained"] for c in cards),
            "qualifyingEnterprise": qualifying["ENTERPRISE"],
            "qualifyingSmb": qualifying["SMB"],
        }
    # the distribution of a given month: 10-point buckets, the top one open
    month = months[0]
    buckets = api.client.data(OVERVIEW, {"m": month})["programOverview"]["scoreDistribution"]
    assert [(b["from"], b["to"]) for b in buckets] == [(float(lo), float(lo + 10)) for lo in range(0, 100, 10)] + [
        (100.0, None)
    ]
    scores = [c["score"] for c in month_cards(api.client, month)]
    for b in buckets:
        inside = [s for s in scores if (b["from"] <= s or b["from"] == 0) and (b["to"] is None or s < b["to"])]
        assert b["partners"] == len(inside), b
    assert sum(b["partners"] for b in buckets) == len(scores)


def test_overview_of_a_month_without_scores_is_empty(api):
    o = api.client.data(OVERVIEW, {"m": "1999-01"})["programOverview"]
    assert o["distributionMonth"] == "1999-01" and o["scoreDistribution"] == []


@pytest.mark.parametrize("partner", API_PARTNERS)
def test_a_partner_token_has_no_overview_and_finds_only_itself(api, partner):
    client = api.as_partner(partner)
    assert client.data(OVERVIEW)["programOverview"] is None
    assert client.data('{ partnerSearch(text: "P0") { id } }')["partnerSearch"] == [{"id": partner}]
    other = next(p for p in API_PARTNERS if p != partner)
    assert client.data(f'{{ partnerSearch(text: "{other}") {{ id }} }}')["partnerSearch"] == []


def test_search_by_id_prefix_or_name(api):
    names = {
        p["id"]: p["name"]
        for p in api.client.data("{ partners(first: 100) { nodes { id name } } }")["partners"]["nodes"]
    }
    found = api.client.data('{ partnerSearch(text: "p00000", first: 100) { id } }')["partnerSearch"]
    assert [p["id"] for p in found] == sorted(i for i in names if i.lower().startswith("p00000"))
    some = next(n for n in names.values() if n)
    word = some.split()[-1].upper()  # any case
    found = api.client.data("query($t: String!) { partnerSearch(text: $t, first: 100) { id name } }", {"t": word})[
        "partnerSearch"
    ]
    want = sorted(
        i for i, n in names.items() if (n and word.lower() in n.lower()) or i.lower().startswith(word.lower())
    )
    assert [p["id"] for p in found] == want and some in [p["name"] for p in found]
    # LIKE's wildcards are plain characters
    assert api.client.data('{ partnerSearch(text: "%") { id } }')["partnerSearch"] == []
    assert api.client.data('{ partnerSearch(text: "  ") { id } }')["partnerSearch"] == []
    body = api.client.execute(f'{{ partnerSearch(text: "{"x" * 101}") {{ id }} }}')
    assert body["errors"][0]["message"] == "text must be at most 100 characters."
